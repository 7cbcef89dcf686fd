package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// timersLock is the advisory lock whose holder runs the timers: one instance at a time.
const timersLock int64 = 0x5669_6769_6c54 // "VigilT"

// maxTier is the last escalation tier of a care team.
const maxTier = int(rpm.TierSenior)

// RunTimers runs the clock-driven checks — no data, escalation, the end of a snooze — every Tick
// while this instance leads (one instance at a time), until ctx ends. Everything they need is in
// the database, so a new leader, or a restarted one, fires what fell due meanwhile at its first
// check.
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
	return errors.Join(e.escalate(ctx, now), e.endSnoozes(ctx, now), e.checkSilence(ctx, now), e.resolveOrphans(ctx))
}

// resolveOrphans resolves no-data alerts of devices taken off the patient, or out of service.
func (e *Engine) resolveOrphans(ctx context.Context) error {
	orphans, err := e.store.OrphanedNoData(ctx)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		err := e.store.InAlertTx(ctx, []string{o.PatientID}, func(tx *store.AlertTx) error {
			al, err := tx.LockedAlert(ctx, o.ID)
			if err != nil {
				return err
			}
			next, ev, err := lifecycleOf(al).AutoResolve(tx.Now())
			if err != nil {
				return nil // resolved meanwhile
			}
			ev.Note = "the device is no longer on this patient, or out of service"
			_, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: withLifecycle(al, next), Events: []rpm.AlertEvent{eventOf(ev)}})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// escalate moves firing alerts nobody acknowledged within the team's window to the next tier.
func (e *Engine) escalate(ctx context.Context, now time.Time) error {
	due, err := e.store.DueEscalations(ctx, now, maxTier)
	if err != nil {
		return err
	}
	for _, d := range due {
		err := e.store.InAlertTx(ctx, []string{d.Alert.PatientID}, func(tx *store.AlertTx) error {
			al, err := tx.LockedAlert(ctx, d.Alert.ID)
			if err != nil {
				return err
			}
			next, ev, ok := lifecycleOf(al).Escalate(now, d.Window, maxTier)
			if !ok {
				return nil // acknowledged or escalated meanwhile
			}
			ev.Note = fmt.Sprintf("not acknowledged within %s: now tier %d", shortDuration(d.Window), next.Tier)
			_, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: withLifecycle(al, next), Events: []rpm.AlertEvent{eventOf(ev)}})
			return err
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
		err := e.store.InAlertTx(ctx, []string{a.PatientID}, func(tx *store.AlertTx) error {
			al, err := tx.LockedAlert(ctx, a.ID)
			if err != nil {
				return err
			}
			next, ev, ok := lifecycleOf(al).SnoozeEnded(now)
			if !ok {
				return nil
			}
			_, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: withLifecycle(al, next), Events: []rpm.AlertEvent{eventOf(ev)}})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSilence raises a no-data alert for each assigned device that has not sent a code a no-data
// rule watches for the rule's silence.
func (e *Engine) checkSilence(ctx context.Context, now time.Time) error {
	// Only devices quiet for at least the shortest silence of any no-data rule can be due.
	noData, err := e.store.NoDataRules(ctx)
	if err != nil {
		return err
	}
	shortest := time.Duration(-1)
	for _, s := range noData {
		if r, ok := e.rule(s); ok && (shortest < 0 || r.Silence < shortest) {
			shortest = r.Silence
		}
	}
	if shortest < 0 {
		return nil
	}
	feeds, rules, err := e.store.DeviceFeeds(ctx, now.Add(-shortest))
	if err != nil {
		return err
	}
	type silent struct {
		feed store.DeviceFeed
		rule alerts.Rule
	}
	byPatient := map[string][]silent{}
	for _, f := range feeds {
		for _, s := range rules[f.Patient] {
			r, ok := e.rule(s)
			if ok && r.Kind == alerts.NoData && r.Code == f.Code && r.Silent(time.Time{}, f.Since, now) {
				byPatient[f.Patient] = append(byPatient[f.Patient], silent{f, r})
			}
		}
	}
	for patient, list := range byPatient {
		err := e.store.InAlertTx(ctx, []string{patient}, func(tx *store.AlertTx) error {
			sc, err := tx.Load(ctx, nil)
			if err != nil {
				return err
			}
			for _, s := range list {
				key := store.OpenAlertKey{Patient: patient, Rule: s.rule.ID, Device: s.feed.Device}
				if _, open := sc.Open[key]; open {
					continue
				}
				l, ev := alerts.Open(now, s.rule.Severity, "")
				al := withLifecycle(rpm.Alert{PatientID: patient, RuleID: s.rule.ID, RuleKind: string(s.rule.Kind),
					Code: s.rule.Code, DeviceID: s.feed.Device, Summary: s.rule.Summary(0), TriggerCount: 1}, l)
				ev.Note = "last reading " + s.feed.Since.UTC().Format(time.RFC3339)
				if _, err := tx.SaveAlert(ctx, store.AlertWrite{Alert: al, Events: []rpm.AlertEvent{eventOf(ev)}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ReevaluateNEWS2 scores the patient now and fires or resolves the NEWS2 rule's alert — after a
// clinician records oxygen or consciousness, or changes the SpO₂ scale.
func (e *Engine) ReevaluateNEWS2(ctx context.Context, patientID string) error {
	return e.store.InAlertTx(ctx, []string{patientID}, func(tx *store.AlertTx) error {
		sc, err := tx.Load(ctx, news2Codes)
		if err != nil {
			return err
		}
		ev := &evaluation{engine: e, tx: tx, scope: sc, open: sc.Open, now: tx.Now()}
		for _, s := range sc.Rules[patientID] {
			if r, ok := e.rule(s); ok && r.Kind == alerts.NEWS2Rule {
				ev.news2(patientID, r, tx.Now())
			}
		}
		return ev.save(ctx)
	})
}

// shortDuration prints 15m rather than 15m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	for _, suffix := range []string{"m0s", "h0m"} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			s = s[:len(s)-len(suffix)+1]
		}
	}
	return s
}

// RulesChanged resolves the patient's open alerts whose rule is no longer in force, at once after
// a clinician switches a rule off or replaces it (the next reading would, too).
func (e *Engine) RulesChanged(ctx context.Context, patientID string) error {
	return e.store.InAlertTx(ctx, []string{patientID}, func(tx *store.AlertTx) error {
		sc, err := tx.Load(ctx, nil)
		if err != nil {
			return err
		}
		ev := &evaluation{engine: e, tx: tx, scope: sc, open: sc.Open, now: tx.Now()}
		ev.closeRetired(patientID)
		return ev.save(ctx)
	})
}
