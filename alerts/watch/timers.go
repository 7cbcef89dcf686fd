package watch

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// timersLock is the advisory lock whose holder runs the timers: one instance at a time.
const timersLock int64 = 0x5669_6769_6c54 // "VigilT"

// RunTimers runs the clock-driven checks — devices not reporting, low on battery or with a fast
// clock, no data, escalation, the end of a snooze — every Tick while this instance leads (one
// instance at a time), until ctx ends. Everything they need is in the database, so a new leader,
// or a restarted one, fires what fell due meanwhile at its first check.
func (e *Engine) RunTimers(ctx context.Context) {
	e.store.Lead(ctx, timersLock, e.opts.Tick, func(ctx context.Context) {
		t := time.NewTicker(e.opts.Tick)
		defer t.Stop()
		for {
			if err := e.CheckTimers(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("alert timers failed; will retry", slog.Any("err", err))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// CheckTimers does one round of the clock-driven checks at the engine's now.
func (e *Engine) CheckTimers(ctx context.Context) error {
	now := e.opts.Now()
	return errors.Join(e.escalate(ctx, now), e.endSnoozes(ctx, now), e.checkDevices(ctx, now), e.resolveOrphans(ctx, now),
		e.rescoreNEWS2(ctx))
}

// onLockedAlert runs step on one alert under its patient's alert lock, reloaded: the timers'
// "lock, reload, step, save". step returns the alert to save with its events, or ok false when
// there is nothing to do any more (someone acted meanwhile).
func (e *Engine) onLockedAlert(ctx context.Context, a rpm.Alert, step func(al rpm.Alert, now time.Time) (rpm.Alert, []rpm.AlertEvent, bool)) error {
	return e.store.InAlertTx(ctx, []string{a.PatientID}, func(tx *store.AlertTx) error {
		al, err := tx.LockedAlert(ctx, a.ID)
		if err != nil {
			return err
		}
		next, events, ok := step(al, e.txNow(tx))
		if !ok {
			return nil
		}
		_, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: next, Events: events})
		return err
	})
}

// resolveOrphans resolves technical alerts of devices taken off the patient, or out of service.
func (e *Engine) resolveOrphans(ctx context.Context, _ time.Time) error {
	orphans, err := e.store.OrphanedNoData(ctx)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		err := e.onLockedAlert(ctx, o, func(al rpm.Alert, now time.Time) (rpm.Alert, []rpm.AlertEvent, bool) {
			next, ev, err := alerts.AutoResolve(al, now)
			ev.Note = "the device is no longer on this patient, or out of service"
			return next, []rpm.AlertEvent{ev}, err == nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// escalate moves firing alerts nobody acknowledged within the team's window to the next tier that
// has someone on it, and says so on the alert when no one higher has.
func (e *Engine) escalate(ctx context.Context, now time.Time) error {
	due, err := e.store.DueEscalations(ctx, now)
	if err != nil {
		return err
	}
	for _, d := range due {
		err := e.onLockedAlert(ctx, d.Alert, func(al rpm.Alert, _ time.Time) (rpm.Alert, []rpm.AlertEvent, bool) {
			next, ev, ok := alerts.Escalate(al, now, d.Window, d.Staffed)
			next.EscalationStuck = next.Tier == al.Tier
			return next, []rpm.AlertEvent{ev}, ok
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// endSnoozes fires again the snoozed alerts that are still open when their snooze runs out.
func (e *Engine) endSnoozes(ctx context.Context, now time.Time) error {
	ended, err := e.store.EndedSnoozes(ctx, now)
	if err != nil {
		return err
	}
	for _, a := range ended {
		err := e.onLockedAlert(ctx, a, func(al rpm.Alert, _ time.Time) (rpm.Alert, []rpm.AlertEvent, bool) {
			next, ev, ok := alerts.SnoozeEnded(al, now)
			return next, []rpm.AlertEvent{ev}, ok
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// timerKinds are the technical rule kinds the timers check, for want of readings.
var timerKinds = []string{string(rpm.NoData), string(rpm.NotReporting), string(rpm.LowBattery), string(rpm.ClockSkew)}

// deviceCheck is what the timers watch on one patient: the devices that may need a technical
// alert, and the codes devices have gone quiet on.
type deviceCheck struct {
	devices []store.DeviceWatch
	feeds   []store.DeviceFeed
	rules   []rpm.AlertRule
}

// checkDevices steps the technical rules of the devices that may need them: those quiet for at
// least the shortest silence of any rule, low on battery, with a fast clock, or with a technical
// alert open or under way. The silence, charge and skew each rule allows come from the rule in
// force for the patient.
func (e *Engine) checkDevices(ctx context.Context, now time.Time) error {
	stored, err := e.store.RulesOfKinds(ctx, timerKinds)
	if err != nil || len(stored) == 0 {
		return err
	}
	look := store.DeviceCheck{Now: now, Missed: 1 << 30, MinSilence: 1 << 62, Ahead: 1 << 62}
	noData := time.Duration(-1)
	for _, s := range stored {
		r, ok := e.rule(s)
		switch {
		case !ok:
		case r.Kind == rpm.NotReporting:
			look.Missed, look.MinSilence = min(look.Missed, r.Missed), min(look.MinSilence, r.MinSilence)
		case r.Kind == rpm.NoData && (noData < 0 || r.Silence < noData):
			noData = r.Silence
		case r.Kind == rpm.LowBattery:
			look.Battery = max(look.Battery, r.Limit)
		case r.Kind == rpm.ClockSkew:
			look.Ahead = min(look.Ahead, r.Skew)
		}
	}
	if look.Missed == 1<<30 { // no not-reporting rule anywhere
		look.Missed = 0
	}
	byPatient := map[string]*deviceCheck{}
	check := func(p string, rules []rpm.AlertRule) *deviceCheck {
		if byPatient[p] == nil {
			byPatient[p] = &deviceCheck{rules: rules}
		}
		return byPatient[p]
	}
	devices, rules, err := e.store.WatchedDevices(ctx, look)
	if err != nil {
		return err
	}
	for _, d := range devices {
		c := check(d.Patient, rules[d.Patient])
		c.devices = append(c.devices, d)
	}
	if noData >= 0 {
		feeds, rules, err := e.store.DeviceFeeds(ctx, now.Add(-noData))
		if err != nil {
			return err
		}
		for _, f := range feeds {
			c := check(f.Patient, rules[f.Patient])
			c.feeds = append(c.feeds, f)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(byPatient)) {
		if err := e.checkPatientDevices(ctx, p, byPatient[p]); err != nil {
			return err
		}
	}
	return nil
}

// checkPatientDevices steps one patient's technical rules for the devices in c, under the
// patient's alert lock.
func (e *Engine) checkPatientDevices(ctx context.Context, patient string, c *deviceCheck) error {
	return e.evaluate(ctx, patient, false, func(ev *evaluation) {
		for _, s := range ev.scope.Rules[patient] {
			rule, ok := e.rule(s)
			if !ok {
				continue
			}
			for _, d := range c.devices {
				if o, summary, ok := observeDevice(rule, d, ev.now, e.opts.Clock); ok {
					ev.observeDevice(patient, rule, d.Device, o, summary)
				}
			}
			for _, f := range c.feeds {
				if rule.Kind == rpm.NoData && rule.Code == f.Code {
					silent := rule.Silent(time.Time{}, f.Since, ev.now)
					ev.observeDevice(patient, rule, f.Device, alerts.Observation{At: ev.now, Breach: silent, Clear: !silent},
						rule.Summary(0)+"; last reading "+e.opts.Clock.Stamp(f.Since))
				}
			}
		}
	})
}

// evaluate runs fn as an evaluation of one patient — "lock the patient, reload, step, save" —
// with the patient's NEWS2 inputs loaded if news2.
func (e *Engine) evaluate(ctx context.Context, patient string, news2 bool, fn func(*evaluation)) error {
	return e.store.InAlertTx(ctx, []string{patient}, func(tx *store.AlertTx) error {
		sc, err := tx.Load(ctx, news2)
		if err != nil {
			return err
		}
		ev := e.evaluation(tx, sc)
		fn(ev)
		return ev.save(ctx)
	})
}

// observeDevice is a timer rule's observation of one device at now, with the alert's summary (its
// times on clock); ok is false for a rule that does not look at devices this way.
func observeDevice(rule alerts.Rule, d store.DeviceWatch, now time.Time, clock rpm.Clock) (alerts.Observation, string, bool) {
	switch rule.Kind {
	case rpm.NotReporting:
		last := maxTime(d.LastReadingAt, d.Since)
		silent := now.Sub(last) >= rule.SilenceFor(d.Interval())
		summary := rule.Summary(0) + ": nothing since " + clock.Stamp(last) + ", expected every " + shortDuration(d.Interval())
		return alerts.Observation{At: now, Breach: silent, Clear: !silent}, summary, true
	case rpm.LowBattery:
		if d.Battery == nil {
			return alerts.Observation{}, "", false
		}
		return rule.ObserveBattery(*d.Battery, now), rule.Summary(*d.Battery), true
	case rpm.ClockSkew:
		if d.ClockAhead == nil {
			return alerts.Observation{}, "", false
		}
		return rule.ObserveClock(*d.ClockAhead, now), rule.Summary(d.ClockAhead.Seconds()), true
	}
	return alerts.Observation{}, "", false
}

// observeDevice steps a per-device rule's episode of one device and applies what it did. A
// condition that simply goes on is not written again each tick.
func (ev *evaluation) observeDevice(patient string, rule alerts.Rule, device string, o alerts.Observation, summary string) {
	key := store.RuleStateKey{Patient: patient, Rule: rule.ID}
	st := ev.state(key)
	dev, tr := rule.Step(st.Device(device), o)
	ev.states[key] = st.WithDevice(device, dev)
	if tr != alerts.Ongoing {
		ev.apply(ev.keyOf(patient, rule, device), rule, tr, o.At, device, summary, rule.Severity)
	}
}

// rescoreNEWS2 scores again, as time passes, the patients whose NEWS2 episode is under way — an
// onset being confirmed, or an alert open: a patient measured only by spot checks sends nothing
// for hours, and a confirmation or a clear must not wait for the next reading.
func (e *Engine) rescoreNEWS2(ctx context.Context) error {
	patients, err := e.store.NEWS2UnderWay(ctx)
	if err != nil {
		return err
	}
	for _, p := range patients {
		if err := e.ReevaluateNEWS2(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// ReevaluateNEWS2 scores the patient now and steps the NEWS2 rule's episode — after a clinician
// records oxygen or consciousness, or changes the SpO₂ scale, and as time passes (rescoreNEWS2).
func (e *Engine) ReevaluateNEWS2(ctx context.Context, patientID string) error {
	return e.evaluate(ctx, patientID, true, func(ev *evaluation) {
		for _, s := range ev.scope.Rules[patientID] {
			if r, ok := e.rule(s); ok && r.Kind == rpm.NEWS2Rule {
				ev.news2(patientID, r, ev.now)
			}
		}
	})
}

// shortDuration prints 15m rather than 15m0s.
func shortDuration(d time.Duration) string { return alerts.ShortDuration(d) }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// RulesChanged resolves the patient's open alerts whose rule is no longer in force, at once after
// a clinician switches a rule off or replaces it (the next reading would, too).
func (e *Engine) RulesChanged(ctx context.Context, patientID string) error {
	return e.evaluate(ctx, patientID, false, func(ev *evaluation) { ev.closeRetired(patientID) })
}
