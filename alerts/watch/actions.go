package watch

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// ErrNotNow is an action the alert's state does not allow, such as acknowledging a resolved alert.
var ErrNotNow = alerts.ErrNotNow

// The actions take the audit entries that record them, written in the same transaction as the
// change, so a change is never without its audit row.

// Acknowledge records that actorID is on the alert: it stops escalating. An alert that stayed
// latched after its condition cleared is resolved by the acknowledgement, saying so.
func (e *Engine) Acknowledge(ctx context.Context, alertID, patientID, actorID, note string, audit ...rpm.AuditEntry) (rpm.Alert, error) {
	return e.act(ctx, alertID, patientID, audit, func(a rpm.Alert, now time.Time) (rpm.Alert, rpm.AlertEvent, error) {
		return alerts.Acknowledge(a, now, actorID, note)
	}, false)
}

// Snooze acknowledges the alert until until; if it is still open then, it fires again.
func (e *Engine) Snooze(ctx context.Context, alertID, patientID, actorID string, until time.Time, note string, audit ...rpm.AuditEntry) (rpm.Alert, error) {
	return e.act(ctx, alertID, patientID, audit, func(a rpm.Alert, now time.Time) (rpm.Alert, rpm.AlertEvent, error) {
		return alerts.Snooze(a, now, until, actorID, note)
	}, false)
}

// Resolve ends the alert by hand, with a note. The rule forgets what it remembered about the
// patient, so it raises a new alert only when its condition holds afresh — for its full duration
// and repeat count, or a whole new silence — and a clinician can close an alert they judge an
// artefact.
func (e *Engine) Resolve(ctx context.Context, alertID, patientID, actorID, note string, audit ...rpm.AuditEntry) (rpm.Alert, error) {
	return e.act(ctx, alertID, patientID, audit, func(a rpm.Alert, now time.Time) (rpm.Alert, rpm.AlertEvent, error) {
		return alerts.Resolve(a, now, actorID, note)
	}, true)
}

// Mark records whether the alert was worth answering, so the rules that cause noise show up.
func (e *Engine) Mark(ctx context.Context, alertID, patientID, actorID string, actionable bool, note string, audit ...rpm.AuditEntry) (rpm.Alert, error) {
	var out rpm.Alert
	err := e.store.InAlertTx(ctx, []string{patientID}, func(tx *store.AlertTx) error {
		al, err := tx.LockedAlert(ctx, alertID)
		if err != nil {
			return err
		}
		al.Actionable = &actionable
		kind := rpm.EventMarkedActionable
		if !actionable {
			kind = rpm.EventMarkedNotActionable
		}
		if out, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: al, Events: []rpm.AlertEvent{{Kind: kind, At: e.txNow(tx), ActorID: actorID, Note: note}}}); err != nil {
			return err
		}
		return tx.Audit(ctx, audit...)
	})
	return out, err
}

// act applies one lifecycle step to the alert under its patient's alert lock. An acknowledgement
// of an alert whose condition had already cleared also resolves it; a resolution by hand re-arms
// the rule (for a per-device rule, for that device only).
func (e *Engine) act(ctx context.Context, alertID, patientID string, audit []rpm.AuditEntry, step func(rpm.Alert, time.Time) (rpm.Alert, rpm.AlertEvent, error), rearm bool) (rpm.Alert, error) {
	var out rpm.Alert
	err := e.store.InAlertTx(ctx, []string{patientID}, func(tx *store.AlertTx) error {
		al, err := tx.LockedAlert(ctx, alertID)
		if err != nil {
			return err
		}
		now := e.txNow(tx)
		next, ev, err := step(al, now)
		if err != nil {
			return err
		}
		events := []rpm.AlertEvent{ev}
		if next.State == rpm.AlertAcknowledged && !next.RecoveredAt.IsZero() {
			var done rpm.AlertEvent
			if next, done, err = alerts.AutoResolve(next, now); err != nil {
				return err
			}
			done.Note = "it had recovered at " + e.opts.Clock.Stamp(next.RecoveredAt) + " before anyone acknowledged it"
			events = append(events, done)
		}
		if out, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: next, Events: events}); err != nil {
			return err
		}
		if rearm {
			if err := e.rearm(ctx, tx, al); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, audit...)
	})
	if errors.Is(err, alerts.ErrNotNow) {
		return out, ErrNotNow
	}
	return out, err
}

// rearm makes the alert's rule forget what it remembered about the patient, so it raises a new
// alert only when its condition holds afresh for its whole confirmation. A per-device rule, whose
// conditions need no confirmation (a device silent, a battery low), holds the device back instead
// until its condition has been seen clear: a device known to be off is not alarmed again until it
// came back and failed again.
func (e *Engine) rearm(ctx context.Context, tx *store.AlertTx, al rpm.Alert) error {
	key := store.RuleStateKey{Patient: al.PatientID, Rule: al.RuleID}
	if al.DeviceID == "" {
		return tx.SaveStates(ctx, []store.StateWrite{{Key: key}})
	}
	stored, err := tx.RuleState(ctx, key)
	if err != nil {
		return err
	}
	st := alerts.DecodeState(stored).WithDevice(al.DeviceID, alerts.State{Held: true})
	return tx.SaveStates(ctx, []store.StateWrite{{Key: key, State: alerts.EncodeState(st)}})
}
