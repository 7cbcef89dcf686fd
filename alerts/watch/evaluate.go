package watch

import (
	"bytes"
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// lateAfter is how long after it was taken a reading may arrive and still be on time — wearables
// and home hubs upload in batches every few minutes: an onset confirmed by one that came later (a
// device uploading what it stored while offline) is raised late, and latches, whether or not the
// device's newer readings came first.
const lateAfter = 15 * time.Minute

// EvaluateStored runs the rules in force for the readings' patients over the readings, inside the
// transaction that stored them (store.Evaluator). Each device's readings are taken in time order;
// a reading older than one its device already had evaluated is replayed in order with its
// neighbours. States, alerts and events are saved in the same transaction.
func (e *Engine) EvaluateStored(ctx context.Context, tx *store.AlertTx, stored []rpm.Reading) error {
	news2 := slices.ContainsFunc(stored, func(r rpm.Reading) bool { return slices.Contains(alerts.NEWS2Codes, r.Code) })
	sc, err := tx.Load(ctx, news2)
	if err != nil {
		return err
	}
	byPatient := map[string][]rpm.Reading{}
	for _, r := range stored {
		byPatient[r.PatientID] = append(byPatient[r.PatientID], r)
	}
	ev := e.evaluation(tx, sc)
	for _, p := range tx.Patients() {
		ev.closeRetired(p)
		readings := byPatient[p]
		slices.SortStableFunc(readings, func(a, b rpm.Reading) int { return a.EffectiveAt.Compare(b.EffectiveAt) })
		for _, s := range sc.Rules[p] {
			rule, ok := e.rule(s)
			if !ok {
				continue
			}
			switch rule.Kind {
			case rpm.Threshold, rpm.RateOfChange:
				if err := ev.series(ctx, p, rule, readings); err != nil {
					return err
				}
			case rpm.FlatLine:
				ev.flatLine(p, rule, readings)
			case rpm.NEWS2Rule:
				if at, ok := latestNEWS2Reading(readings); ok {
					ev.news2(p, rule, at)
				}
			}
		}
	}
	return ev.save(ctx)
}

// evaluation is one transaction's work: the alerts it changes and the states it writes.
type evaluation struct {
	engine *Engine
	tx     *store.AlertTx
	scope  *store.AlertScope
	open   map[store.OpenAlertKey]rpm.Alert
	now    time.Time
	states map[store.RuleStateKey]alerts.State // decoded and perhaps changed, written at save
	writes map[store.OpenAlertKey]*store.AlertWrite
	closed []store.AlertWrite // alerts resolved (saved first, freeing their key)
	drops  []store.StateWrite // states of rules no longer in force
}

func (e *Engine) evaluation(tx *store.AlertTx, sc *store.AlertScope) *evaluation {
	return &evaluation{engine: e, tx: tx, scope: sc, open: sc.Open, now: e.txNow(tx), states: map[store.RuleStateKey]alerts.State{}}
}

// state is a rule's state for a patient as this evaluation has it.
func (ev *evaluation) state(key store.RuleStateKey) alerts.State {
	st, ok := ev.states[key]
	if !ok {
		st = alerts.DecodeState(ev.scope.States[key])
		ev.states[key] = st
	}
	return st
}

// series feeds a threshold or rate-of-change rule the patient's readings of its code, and replays
// the late ones.
func (ev *evaluation) series(ctx context.Context, patient string, rule alerts.Rule, readings []rpm.Reading) error {
	key := store.RuleStateKey{Patient: patient, Rule: rule.ID}
	st := ev.state(key)
	late := map[string][]rpm.Reading{}
	for _, r := range readings {
		if !rule.Watches(r.Code) {
			continue
		}
		next, tr := rule.Evaluate(st, r)
		if tr == alerts.Late {
			late[r.DeviceID] = append(late[r.DeviceID], r)
			continue
		}
		st = next
		if _, open := ev.current(ev.keyOf(patient, rule, "")); tr == alerts.Confirmed && !open && r.ReceivedAt.Sub(r.EffectiveAt) > lateAfter {
			ev.openLate(ev.keyOf(patient, rule, ""), rule, alerts.Onset{Reading: r})
			continue
		}
		ev.apply(ev.keyOf(patient, rule, ""), rule, tr, r.EffectiveAt, r.DeviceID, rule.Summary(r.Value), rule.Severity)
	}
	for _, device := range slices.Sorted(maps.Keys(late)) {
		var err error
		if st, err = ev.replayLate(ctx, patient, rule, st, device, late[device]); err != nil {
			return err
		}
	}
	ev.states[key] = st
	return nil
}

// replayLate evaluates a device's late readings in order: it replays the device's readings from
// before the earliest late one to far enough after the latest to see what they confirm or clear,
// and raises — marked late — each episode the replay finds that no alert covered. The device's
// memory becomes the replay's when the replay reached its newest reading. Late readings inside a
// pause of the episode fill it; a pause that stands restarts the replayed run at its end.
func (ev *evaluation) replayLate(ctx context.Context, patient string, rule alerts.Rule, st alerts.State, device string, late []rpm.Reading) (alerts.State, error) {
	first, lastLate := late[0].EffectiveAt, late[len(late)-1].EffectiveAt
	newest := st.Sources[device].LastAt
	end := minTime(newest, lastLate.Add(rule.ReplayLookback()))
	window, err := ev.tx.DeviceReadings(ctx, patient, device, rule.Code, first.Add(-rule.ReplayLookback()), end, max(rule.Repeat, 1))
	if err != nil {
		return st, err
	}
	times := make([]time.Time, len(late))
	for i, r := range late {
		times[i] = r.EffectiveAt
	}
	st = st.Filled(times) // a pause the late readings fill was none
	var restart time.Time
	if st.Paused {
		restart = st.PausedTo
	}
	rp := rule.ReplaySource(window, restart)
	reached := end.Equal(newest) && len(window) < store.MaxReplay
	if reached {
		st = st.Replayed(device, rp)
	} else {
		st = st.HeldBack(rp.LastNotClear)
	}
	key := ev.keyOf(patient, rule, "")
	var spans []store.AlertSpan
	for _, on := range rp.Onsets {
		at := on.Reading.EffectiveAt
		if at.Before(first) {
			continue // the late readings cannot have changed an onset before them
		}
		to := on.Cleared
		if to.IsZero() {
			to = end
		}
		if spans == nil {
			if spans, err = ev.tx.AlertSpans(ctx, patient, rule.Kind, rule.Code, rule.Direction, first.Add(-rule.ReplayLookback())); err != nil {
				return st, err
			}
		}
		if ev.covered(key, at, to, spans) {
			continue
		}
		ev.openLate(key, rule, on)
		st.Firing = st.Firing || on.Cleared.IsZero() && rp.Ongoing && reached
	}
	return st, nil
}

// covered reports whether an alert of key already stands for an episode from from to to: one
// whose time overlaps it, or the alert open now — on which an episode outside its own time, found
// in late readings, is noted instead of raised again.
func (ev *evaluation) covered(key store.OpenAlertKey, from, to time.Time, spans []store.AlertSpan) bool {
	if al, open := ev.current(key); open {
		if to.Before(al.OpenedAt) || !al.RecoveredAt.IsZero() && from.After(al.RecoveredAt) {
			ev.put(key, al, rpm.AlertEvent{Kind: rpm.EventNote, At: ev.now,
				Note: "readings that arrived late show the condition also from " + ev.engine.opts.Clock.Stamp(from) + " to " + ev.engine.opts.Clock.Stamp(to)})
		}
		return true
	}
	for _, w := range ev.closed {
		spans = append(spans, store.AlertSpan{Opened: w.Alert.OpenedAt, Resolved: w.Alert.ResolvedAt})
	}
	return slices.ContainsFunc(spans, func(s store.AlertSpan) bool {
		return !s.Opened.After(to) && (s.Resolved.IsZero() || !s.Resolved.Before(from))
	})
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// openLate raises an alert for an episode found in late readings. Nobody saw it as it happened,
// so it stays until acknowledged, with its recovery shown when it is already over.
func (ev *evaluation) openLate(key store.OpenAlertKey, rule alerts.Rule, on alerts.Onset) {
	r := on.Reading
	al, event := alerts.Open(rpm.Alert{PatientID: key.Patient, RuleID: rule.ID, RuleKind: rule.Kind, Code: rule.Code,
		SourceDeviceID: r.DeviceID, Direction: rule.Direction, Severity: rule.Severity, Summary: rule.Summary(r.Value), Late: true}, r.EffectiveAt)
	event.Note = "raised late: readings taken from " + ev.engine.opts.Clock.Stamp(r.EffectiveAt) + " arrived " + shortDuration(r.ReceivedAt.Sub(r.EffectiveAt).Round(time.Second)) + " later"
	events := []rpm.AlertEvent{event}
	if !on.Cleared.IsZero() {
		var rec rpm.AlertEvent
		al, rec, _ = alerts.Recover(al, on.Cleared)
		events = append(events, rec)
	}
	al.EscalatedAt = ev.now
	ev.put(key, al, events...)
}

// flatLine feeds a flat-line rule the patient's readings, one episode per device.
func (ev *evaluation) flatLine(patient string, rule alerts.Rule, readings []rpm.Reading) {
	key := store.RuleStateKey{Patient: patient, Rule: rule.ID}
	st := ev.state(key)
	for _, r := range readings {
		if !rule.Watches(r.Code) {
			continue
		}
		dev, tr := rule.Evaluate(st.Device(r.DeviceID), r)
		if tr == alerts.Late {
			continue // a stuck sensor shows in what arrives now; late readings add nothing
		}
		st = st.WithDevice(r.DeviceID, dev)
		if tr != alerts.Ongoing {
			of := rule
			of.Code = r.Code // the summary names the measure that is stuck
			ev.apply(ev.keyOf(patient, rule, r.DeviceID), rule, tr, r.EffectiveAt, r.DeviceID, of.Summary(r.Value), rule.Severity)
		}
	}
	ev.states[key] = st
}

// latestNEWS2Reading is the time of the latest reading of a NEWS2 parameter among readings (in
// time order).
func latestNEWS2Reading(readings []rpm.Reading) (time.Time, bool) {
	for i := len(readings) - 1; i >= 0; i-- {
		if slices.Contains(alerts.NEWS2Codes, readings[i].Code) {
			return readings[i].EffectiveAt, true
		}
	}
	return time.Time{}, false
}

// news2 scores the patient as of at — the time of the reading (or the clinician's entry) that
// changed the score — and steps the NEWS2 rule's episode.
func (ev *evaluation) news2(patient string, rule alerts.Rule, at time.Time) {
	key := store.RuleStateKey{Patient: patient, Rule: rule.ID}
	st := ev.state(key)
	if last := st.Sources[""].LastAt; at.Before(last) {
		at = last // a late reading may still be its parameter's latest: score as of the last look
	}
	score := ev.engine.NEWS2(ev.scope.NEWS2[patient], at)
	st, tr := rule.Step(st, rule.ObserveNEWS2(score, at))
	ev.states[key] = st
	ev.apply(ev.keyOf(patient, rule, ""), rule, tr, at, "", alerts.NEWS2Summary(score), rule.NEWS2Severity(score))
}

// keyOf is the open-alert key of a rule's alert for the patient (and device, for a per-device rule).
func (ev *evaluation) keyOf(patient string, rule alerts.Rule, device string) store.OpenAlertKey {
	return store.OpenAlertKey{Patient: patient, Rule: rule.ID, Direction: rule.Direction, Device: device}
}

// current is the open alert of key as this evaluation has left it so far.
func (ev *evaluation) current(key store.OpenAlertKey) (rpm.Alert, bool) {
	if w, ok := ev.writes[key]; ok {
		return w.Alert, true
	}
	a, ok := ev.open[key]
	return a, ok
}

// apply turns a rule's transition into the alert's next step. device is the device whose reading
// it was ("" for NEWS2).
func (ev *evaluation) apply(key store.OpenAlertKey, rule alerts.Rule, tr alerts.Transition, at time.Time, device, summary string, severity rpm.Severity) {
	al, open := ev.current(key)
	switch {
	case tr == alerts.NoChange:
	case tr == alerts.Cleared:
		if open {
			ev.recover(key, at)
		}
	case !open: // a new episode, or the condition holds on after a clinician resolved the last one
		var event rpm.AlertEvent
		al, event = alerts.Open(rpm.Alert{PatientID: key.Patient, RuleID: rule.ID, RuleKind: rule.Kind, Code: rule.Code,
			DeviceID: key.Device, SourceDeviceID: device, Direction: rule.Direction, Severity: severity, Summary: summary}, at)
		al.EscalatedAt = ev.now // escalation counts from when Vigil raised it, even for a late upload
		ev.put(key, al, event)
	default:
		ev.retrigger(key, al, at, summary, severity, tr == alerts.Resumed)
	}
}

// retrigger records that the open alert's condition holds again: counted, and announced only when
// it got worse, came back before anyone acknowledged its recovery, returned after a quiet spell
// while nobody has acknowledged it yet, or resumed after its readings had been normal and then
// stopped. An acknowledgement covers the episode until it clears (the alert then resolves; a
// return is a new alert), gets worse, or resumes after such a pause — whereupon someone must look
// again: it fires again, and escalates afresh. A snooze covers it for its chosen time whatever
// happens but getting worse.
func (ev *evaluation) retrigger(key store.OpenAlertKey, al rpm.Alert, at time.Time, summary string, severity rpm.Severity, resumed bool) {
	quiet := at.Sub(al.LastTriggeredAt)
	recovered := !al.RecoveredAt.IsZero()
	wasState := al.State
	al, event, err := alerts.Retrigger(al, at)
	if err != nil {
		return
	}
	al.Summary, al.TriggerCount = summary, al.TriggerCount+1
	worse := severity.Rank() > al.Severity.Rank()
	if worse {
		al.Severity = severity
	}
	// A snooze is a chosen silence: a resumed episode waits for it to run out (SnoozeEnded fires
	// the alert then if it is still open); only getting worse breaks it.
	snoozed := al.SnoozedUntil.After(at)
	if why := resumedNote(resumed, quiet); (worse || resumed && !snoozed) && al.State == rpm.AlertAcknowledged {
		if worse {
			why = "worse: now " + string(al.Severity)
		}
		al, event = alerts.Refire(al, at, why)
	}
	switch {
	case al.State != wasState:
		al.EscalatedAt = ev.now
		ev.put(key, al, event)
	case worse:
		event.Note = "worse: now " + string(al.Severity)
		ev.put(key, al, event)
	case recovered, resumed, quiet >= alerts.PauseAfter && al.State == rpm.AlertFiring:
		if event.Note == "" {
			event.Note = cmp.Or(resumedNote(resumed, quiet), "came back after "+shortDuration(quiet)+" quiet")
		}
		ev.put(key, al, event)
	default:
		ev.put(key, al) // one more reading of the same: counted, not announced
	}
}

// closeRetired deals with the patient's open alerts whose rule is no longer in force: one that a
// rule now in force replaces (an override, or the default again) — same kind, code and direction —
// carries on under it, acknowledgement, tier and what the rule remembered included; any other is
// resolved, saying why. The states of rules no longer in force are dropped, so a rule that comes
// back starts afresh.
func (ev *evaluation) closeRetired(patient string) {
	inForce := map[string]rpm.AlertRule{}
	for _, r := range ev.scope.Rules[patient] {
		inForce[r.ID] = r
	}
	for key, al := range ev.open {
		if key.Patient != patient {
			continue
		}
		if _, ok := inForce[key.Rule]; ok {
			continue
		}
		next, ok := ev.successor(patient, al, inForce)
		if !ok {
			ev.resolve(key, ev.now, "the rule is no longer in force for this patient")
			continue
		}
		delete(ev.open, key)
		oldState := store.RuleStateKey{Patient: patient, Rule: key.Rule}
		newState := store.RuleStateKey{Patient: patient, Rule: next.ID}
		if _, has := ev.scope.States[newState]; !has && ev.scope.States[oldState] != nil {
			ev.scope.States[newState] = ev.scope.States[oldState]
			ev.states[newState] = alerts.DecodeState(ev.scope.States[oldState])
		}
		al.RuleID = next.ID
		key.Rule = next.ID
		ev.open[key] = al
		ev.put(key, al, rpm.AlertEvent{Kind: rpm.EventNote, At: ev.now, Note: "now under the rule in force for this patient"})
	}
	for k, st := range ev.scope.States {
		if _, ok := inForce[k.Rule]; k.Patient == patient && !ok && st != nil {
			ev.drops = append(ev.drops, store.StateWrite{Key: k})
			delete(ev.scope.States, k)
			delete(ev.states, k)
		}
	}
}

// successor is the one rule in force of the same kind, code and direction as an alert's, without
// an open alert of its own.
func (ev *evaluation) successor(patient string, al rpm.Alert, inForce map[string]rpm.AlertRule) (alerts.Rule, bool) {
	var found []alerts.Rule
	for _, s := range inForce {
		r, ok := ev.engine.rule(s)
		if ok && r.Kind == al.RuleKind && r.Code == al.Code && r.Direction == al.Direction {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return alerts.Rule{}, false
	}
	_, taken := ev.current(store.OpenAlertKey{Patient: patient, Rule: found[0].ID, Direction: al.Direction, Device: al.DeviceID})
	return found[0], !taken
}

// resumedNote says why a resumed episode is announced again ("" when it did not resume).
func resumedNote(resumed bool, quiet time.Duration) string {
	if !resumed {
		return ""
	}
	return "back after its readings were normal and then stopped: past the limit again " + shortDuration(quiet) + " after the last time"
}

// recover is the open alert's step when its clear condition held: latched (recovery noted) or
// resolved.
func (ev *evaluation) recover(key store.OpenAlertKey, at time.Time) {
	al, _ := ev.current(key)
	al, event, ok := alerts.Recover(al, at)
	if !ok {
		return
	}
	if al.State != rpm.AlertResolved {
		ev.put(key, al, event)
		return
	}
	w := ev.take(key)
	w.Alert = al
	w.Events = append(w.Events, event)
	delete(ev.open, key)
	ev.closed = append(ev.closed, w)
}

// resolve auto-resolves the open alert of key, whatever it latches, saying why.
func (ev *evaluation) resolve(key store.OpenAlertKey, at time.Time, note ...string) {
	al, _ := ev.current(key)
	al, event, err := alerts.AutoResolve(al, at)
	if err != nil {
		return
	}
	event.Note = strings.Join(note, "")
	w := ev.take(key)
	w.Alert = al
	w.Events = append(w.Events, event)
	delete(ev.open, key)
	ev.closed = append(ev.closed, w)
}

// put records the open alert of key with more events.
func (ev *evaluation) put(key store.OpenAlertKey, al rpm.Alert, events ...rpm.AlertEvent) {
	if ev.writes == nil {
		ev.writes = map[store.OpenAlertKey]*store.AlertWrite{}
	}
	w := ev.writes[key]
	if w == nil {
		w = &store.AlertWrite{Quiet: true}
		ev.writes[key] = w
	}
	w.Alert, w.Events = al, append(w.Events, events...)
	w.Quiet = w.Quiet && len(w.Events) == 0 && al.ID != ""
}

// take removes and returns key's pending write (empty if none).
func (ev *evaluation) take(key store.OpenAlertKey) store.AlertWrite {
	w := ev.writes[key]
	delete(ev.writes, key)
	if w == nil {
		return store.AlertWrite{}
	}
	return *w
}

// save writes the evaluation: states, then resolved alerts, then open ones, in a fixed order.
func (ev *evaluation) save(ctx context.Context) error {
	changes := ev.drops
	for _, k := range slices.SortedFunc(maps.Keys(ev.states), compareStateKeys) {
		after := alerts.EncodeState(ev.states[k])
		if !bytes.Equal(ev.scope.States[k], after) {
			changes = append(changes, store.StateWrite{Key: k, State: after})
		}
	}
	if err := ev.tx.SaveStates(ctx, changes); err != nil {
		return err
	}
	for _, w := range ev.closed {
		if _, err := ev.tx.SaveAlert(ctx, w); err != nil {
			return err
		}
	}
	keys := slices.SortedFunc(maps.Keys(ev.writes), func(a, b store.OpenAlertKey) int {
		return cmp.Or(cmp.Compare(a.Patient, b.Patient), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Device, b.Device))
	})
	for _, k := range keys {
		if _, err := ev.tx.SaveAlert(ctx, *ev.writes[k]); err != nil {
			return err
		}
	}
	return nil
}

func compareStateKeys(a, b store.RuleStateKey) int {
	return cmp.Or(cmp.Compare(a.Patient, b.Patient), cmp.Compare(a.Rule, b.Rule))
}

// ruleCache keeps parsed rules by id and version, so a batch does not re-read every rule's JSON.
type ruleCache struct {
	mu    sync.Mutex
	rules map[string]cachedRule
}

type cachedRule struct {
	version time.Time
	rule    alerts.Rule
	ok      bool
}

// rule parses a stored rule, once per version. A rule that does not parse is skipped, and said so
// once.
func (e *Engine) rule(s rpm.AlertRule) (alerts.Rule, bool) {
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	if c, ok := e.cache.rules[s.ID]; ok && c.version.Equal(s.UpdatedAt) {
		return c.rule, c.ok
	}
	r, err := alerts.ParseRule(s)
	if err != nil {
		e.log.Warn("an alert rule is not valid and is not evaluated", "rule", s.ID, "err", err)
	}
	if e.cache.rules == nil {
		e.cache.rules = map[string]cachedRule{}
	}
	e.cache.rules[s.ID] = cachedRule{version: s.UpdatedAt, rule: r, ok: err == nil}
	return r, err == nil
}
