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

// Acknowledge records that actorID is on the alert: it stops escalating.
func (e *Engine) Acknowledge(ctx context.Context, alertID, patientID, actorID, note string, audit ...rpm.AuditEntry) (rpm.Alert, error) {
	return e.act(ctx, alertID, patientID, audit, func(a alerts.Alert, now time.Time) (alerts.Alert, alerts.Event, error) {
		return a.Acknowledge(now, actorID, note)
	}, false)
}

// Snooze acknowledges the alert until until; if it is still open then, it fires again.
func (e *Engine) Snooze(ctx context.Context, alertID, patientID, actorID string, until time.Time, note string, audit ...rpm.AuditEntry) (rpm.Alert, error) {
	return e.act(ctx, alertID, patientID, audit, func(a alerts.Alert, now time.Time) (alerts.Alert, alerts.Event, error) {
		return a.Snooze(now, until, actorID, note)
	}, false)
}

// Resolve ends the alert by hand, with a note. The rule forgets what it remembered about the
// patient, so it raises a new alert only when its condition holds afresh — for its full duration
// and repeat count, or a whole new silence — and a clinician can close an alert they judge an
// artefact.
func (e *Engine) Resolve(ctx context.Context, alertID, patientID, actorID, note string, audit ...rpm.AuditEntry) (rpm.Alert, error) {
	return e.act(ctx, alertID, patientID, audit, func(a alerts.Alert, now time.Time) (alerts.Alert, alerts.Event, error) {
		return a.Resolve(now, actorID, note)
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
		kind := "marked_actionable"
		if !actionable {
			kind = "marked_not_actionable"
		}
		if out, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: al, Events: []rpm.AlertEvent{{Kind: kind, At: tx.Now(), ActorID: actorID, Note: note}}}); err != nil {
			return err
		}
		return tx.Audit(ctx, audit...)
	})
	return out, err
}

// act applies one lifecycle step to the alert under its patient's alert lock.
func (e *Engine) act(ctx context.Context, alertID, patientID string, audit []rpm.AuditEntry, step func(alerts.Alert, time.Time) (alerts.Alert, alerts.Event, error), rearm bool) (rpm.Alert, error) {
	var out rpm.Alert
	err := e.store.InAlertTx(ctx, []string{patientID}, func(tx *store.AlertTx) error {
		al, err := tx.LockedAlert(ctx, alertID)
		if err != nil {
			return err
		}
		next, ev, err := step(lifecycleOf(al), tx.Now())
		if err != nil {
			return err
		}
		if out, err = tx.SaveAlert(ctx, store.AlertWrite{Alert: withLifecycle(al, next), Events: []rpm.AlertEvent{eventOf(ev)}}); err != nil {
			return err
		}
		if rearm {
			if err := tx.SaveStates(ctx, []store.StateWrite{{Key: store.RuleStateKey{Patient: al.PatientID, Rule: al.RuleID}}}); err != nil {
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

// lifecycleOf is the stored alert as the pure lifecycle sees it.
func lifecycleOf(a rpm.Alert) alerts.Alert {
	return alerts.Alert{State: alerts.AlertState(a.State), Severity: alerts.Severity(a.Severity),
		Direction: alerts.Direction(a.Direction), Tier: a.Tier, OpenedAt: a.OpenedAt, LastTriggeredAt: a.LastTriggeredAt,
		EscalatedAt: a.EscalatedAt, AcknowledgedAt: a.AcknowledgedAt, SnoozedUntil: a.SnoozedUntil, ResolvedAt: a.ResolvedAt}
}

// withLifecycle puts the lifecycle's fields back on the stored alert.
func withLifecycle(a rpm.Alert, l alerts.Alert) rpm.Alert {
	a.State, a.Severity, a.Direction, a.Tier = string(l.State), string(l.Severity), string(l.Direction), l.Tier
	a.OpenedAt, a.LastTriggeredAt, a.EscalatedAt = l.OpenedAt, l.LastTriggeredAt, l.EscalatedAt
	a.AcknowledgedAt, a.SnoozedUntil, a.ResolvedAt = l.AcknowledgedAt, l.SnoozedUntil, l.ResolvedAt
	return a
}

func eventOf(ev alerts.Event) rpm.AlertEvent {
	return rpm.AlertEvent{Kind: string(ev.Kind), At: ev.At, ActorID: ev.Actor, Note: ev.Note}
}
