package watch

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// news2Codes are the measured NEWS2 parameters.
var news2Codes = []string{rpm.CodeRespRate, rpm.CodeSpO2, rpm.CodeSystolicBP, rpm.CodeHeartRate, rpm.CodeBodyTemp}

// newEpisode is how long a condition must have been quiet for its return to be recorded as a new
// "retriggered" event on the open alert; closer repeats only count.
const newEpisode = 15 * time.Minute

// EvaluateStored runs the rules in force for the readings' patients over the readings, inside the
// transaction that stored them (store.Evaluator). Readings are taken in time order per patient;
// states, alerts and events are saved in the same transaction.
func (e *Engine) EvaluateStored(ctx context.Context, tx *store.AlertTx, stored []rpm.Reading) error {
	var codes []string
	if slices.ContainsFunc(stored, func(r rpm.Reading) bool { return slices.Contains(news2Codes, r.Code) }) {
		codes = news2Codes
	}
	sc, err := tx.Load(ctx, codes)
	if err != nil {
		return err
	}
	byPatient := map[string][]rpm.Reading{}
	for _, r := range stored {
		byPatient[r.PatientID] = append(byPatient[r.PatientID], r)
	}
	ev := &evaluation{engine: e, tx: tx, scope: sc, open: sc.Open, now: tx.Now()}
	for _, p := range tx.Patients() {
		ev.closeRetired(p)
		readings := byPatient[p]
		slices.SortStableFunc(readings, func(a, b rpm.Reading) int { return a.EffectiveAt.Compare(b.EffectiveAt) })
		for _, stored := range sc.Rules[p] {
			rule, ok := e.rule(stored)
			if !ok {
				continue
			}
			switch rule.Kind {
			case alerts.Threshold, alerts.RateOfChange:
				ev.series(p, rule, readings)
			case alerts.NoData:
				ev.dataArrived(p, rule, readings)
			case alerts.NEWS2Rule:
				if at, ok := latestNEWS2Reading(readings); ok && codes != nil {
					ev.news2(p, rule, at)
				}
			}
		}
	}
	return ev.save(ctx)
}

// evaluation is one transaction's work: the alerts it changes and the states it writes.
type evaluation struct {
	engine  *Engine
	tx      *store.AlertTx
	scope   *store.AlertScope
	open    map[store.OpenAlertKey]rpm.Alert
	now     time.Time
	writes  map[store.OpenAlertKey]*store.AlertWrite // open alerts changed or opened
	closed  []store.AlertWrite                       // alerts resolved (saved first, freeing their key)
	changes []store.StateWrite
}

// series feeds a threshold or rate-of-change rule the patient's readings of its code.
func (ev *evaluation) series(patient string, rule alerts.Rule, readings []rpm.Reading) {
	key := store.RuleStateKey{Patient: patient, Rule: rule.ID}
	before := ev.scope.States[key]
	st := alerts.DecodeState(before)
	for _, r := range readings {
		if r.Code != rule.Code {
			continue
		}
		var tr alerts.Transition
		st, tr = rule.Evaluate(st, r)
		ev.apply(patient, rule, tr, r.EffectiveAt, rule.Summary(r.Value), rule.Severity)
	}
	ev.setState(key, before, alerts.EncodeState(st))
}

// latestNEWS2Reading is the time of the latest reading of a NEWS2 parameter among readings (in
// time order).
func latestNEWS2Reading(readings []rpm.Reading) (time.Time, bool) {
	for i := len(readings) - 1; i >= 0; i-- {
		if slices.Contains(news2Codes, readings[i].Code) {
			return readings[i].EffectiveAt, true
		}
	}
	return time.Time{}, false
}

// news2 scores the patient now and fires or resolves the NEWS2 rule's alert; at is the time of
// the reading (or the clinician's entry) that changed the score.
func (ev *evaluation) news2(patient string, rule alerts.Rule, at time.Time) {
	key := store.RuleStateKey{Patient: patient, Rule: rule.ID}
	before := ev.scope.States[key]
	st := alerts.DecodeState(before)
	in := alerts.NEWS2Input{Latest: ev.scope.Latest[patient], Scale2: ev.scope.Scale2[patient]}
	fresh := ev.engine.opts.AssessmentFreshness
	if a, ok := ev.scope.Assessments[patient][rpm.AssessOxygen]; ok && ev.now.Sub(a.RecordedAt) <= fresh {
		on := a.Value == rpm.OnOxygen
		in.OnOxygen = &on
	}
	if a, ok := ev.scope.Assessments[patient][rpm.AssessConsciousness]; ok && ev.now.Sub(a.RecordedAt) <= fresh {
		in.Consciousness = alerts.Consciousness(a.Value)
	}
	score := alerts.ComputeNEWS2(in, ev.now, ev.engine.opts.NEWS2Freshness)
	holds := rule.EvaluateNEWS2(score)
	switch {
	case holds && !st.Firing:
		st.Firing = true
		ev.apply(patient, rule, alerts.Fire, at, alerts.NEWS2Summary(score), rule.NEWS2Severity(score))
	case holds:
		ev.apply(patient, rule, alerts.Retrigger, at, alerts.NEWS2Summary(score), rule.NEWS2Severity(score))
	case st.Firing && !rule.EvaluateNEWS2(score.Ceiling()):
		// Resolved only on fresh evidence: while a parameter that counted is merely stale, the
		// score can only underestimate.
		st.Firing = false
		ev.apply(patient, rule, alerts.Resolve, at, "", "")
	}
	ev.setState(key, before, alerts.EncodeState(st))
}

// dataArrived resolves a no-data rule's open alerts of the devices that sent its code again.
func (ev *evaluation) dataArrived(patient string, rule alerts.Rule, readings []rpm.Reading) {
	for _, r := range readings {
		if r.Code != rule.Code {
			continue
		}
		key := store.OpenAlertKey{Patient: patient, Rule: rule.ID, Device: r.DeviceID}
		if _, open := ev.current(key); open {
			ev.resolve(key, r.EffectiveAt)
		}
	}
}

func (ev *evaluation) setState(key store.RuleStateKey, before, after []byte) {
	if !bytes.Equal(before, after) {
		ev.changes = append(ev.changes, store.StateWrite{Key: key, State: after})
	}
}

// current is the open alert of key as this evaluation has left it so far.
func (ev *evaluation) current(key store.OpenAlertKey) (rpm.Alert, bool) {
	if w, ok := ev.writes[key]; ok {
		return w.Alert, true
	}
	a, ok := ev.open[key]
	return a, ok
}

// apply turns a rule's transition into the alert's next step.
func (ev *evaluation) apply(patient string, rule alerts.Rule, tr alerts.Transition, at time.Time, summary string, severity alerts.Severity) {
	key := store.OpenAlertKey{Patient: patient, Rule: rule.ID, Direction: string(rule.Direction)}
	al, open := ev.current(key)
	switch {
	case tr == alerts.None:
	case tr == alerts.Resolve:
		if open {
			ev.resolve(key, at)
		}
	case !open: // a new alert, or the condition holds on after a clinician resolved the last one
		l, event := alerts.Open(at, severity, rule.Direction)
		al = withLifecycle(rpm.Alert{PatientID: patient, RuleID: rule.ID, RuleKind: string(rule.Kind), Code: rule.Code,
			Summary: summary, TriggerCount: 1}, l)
		al.EscalatedAt = ev.now // escalation counts from when Vigil raised it, even for a late upload
		ev.put(key, al, eventOf(event))
	default:
		quiet := at.Sub(al.LastTriggeredAt)
		l, event, err := lifecycleOf(al).Retrigger(at)
		if err != nil {
			return
		}
		wasState := al.State
		al = withLifecycle(al, l)
		al.Summary, al.TriggerCount = summary, al.TriggerCount+1
		worse := severity != "" && rank(severity) > rank(alerts.Severity(al.Severity))
		if worse {
			al.Severity = string(severity)
		}
		// An acknowledgement covers the alert as it was: if it gets worse, or comes back after a
		// quiet spell, someone must look again.
		if al.State == string(alerts.Acknowledged) && (worse || quiet >= newEpisode) {
			note := "came back after " + shortDuration(quiet) + " quiet"
			if worse {
				note = "worse: now " + al.Severity
			}
			l, event = lifecycleOf(al).Refire(at, note)
			al = withLifecycle(al, l)
		}
		switch {
		case al.State != wasState:
			al.EscalatedAt = ev.now
			ev.put(key, al, eventOf(event))
		case worse:
			event.Note = "worse: now " + al.Severity
			ev.put(key, al, eventOf(event))
		case quiet >= newEpisode:
			ev.put(key, al, eventOf(event))
		default:
			ev.put(key, al) // one more reading of the same: counted, not announced
		}
	}
}

func rank(s alerts.Severity) int {
	return map[alerts.Severity]int{alerts.Low: 1, alerts.Medium: 2, alerts.High: 3}[s]
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
			ev.changes = append(ev.changes, store.StateWrite{Key: newState, State: ev.scope.States[oldState]})
		}
		al.RuleID = next.ID
		key.Rule = next.ID
		ev.open[key] = al
		ev.put(key, al, rpm.AlertEvent{Kind: "note", At: ev.now, Note: "now under the rule in force for this patient"})
	}
	for k, st := range ev.scope.States {
		if _, ok := inForce[k.Rule]; k.Patient == patient && !ok && st != nil {
			ev.changes = append(ev.changes, store.StateWrite{Key: k})
			delete(ev.scope.States, k)
		}
	}
}

// successor is the one rule in force of the same kind, code and direction as an alert's, without
// an open alert of its own.
func (ev *evaluation) successor(patient string, al rpm.Alert, inForce map[string]rpm.AlertRule) (alerts.Rule, bool) {
	var found []alerts.Rule
	for _, s := range inForce {
		r, ok := ev.engine.rule(s)
		if ok && string(r.Kind) == al.RuleKind && r.Code == al.Code && string(r.Direction) == al.Direction {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return alerts.Rule{}, false
	}
	_, taken := ev.current(store.OpenAlertKey{Patient: patient, Rule: found[0].ID, Direction: al.Direction, Device: al.DeviceID})
	return found[0], !taken
}

// resolve auto-resolves the open alert of key.
func (ev *evaluation) resolve(key store.OpenAlertKey, at time.Time, note ...string) {
	al, _ := ev.current(key)
	l, event, err := lifecycleOf(al).AutoResolve(at)
	if err != nil {
		return
	}
	event.Note = strings.Join(note, "")
	w := ev.take(key)
	w.Alert = withLifecycle(al, l)
	w.Events = append(w.Events, eventOf(event))
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
	if err := ev.tx.SaveStates(ctx, ev.changes); err != nil {
		return err
	}
	for _, w := range ev.closed {
		if _, err := ev.tx.SaveAlert(ctx, w); err != nil {
			return err
		}
	}
	keys := make([]store.OpenAlertKey, 0, len(ev.writes))
	for k := range ev.writes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.OpenAlertKey) int {
		return cmp.Or(cmp.Compare(a.Patient, b.Patient), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Device, b.Device))
	})
	for _, k := range keys {
		if _, err := ev.tx.SaveAlert(ctx, *ev.writes[k]); err != nil {
			return err
		}
	}
	return nil
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
