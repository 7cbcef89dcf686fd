package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// A snooze lasts from minSnooze to maxSnooze; a note on an alert is at most maxAlertNote bytes.
const (
	minSnooze    = 5 * time.Minute
	maxSnooze    = 24 * time.Hour
	maxAlertNote = 1000
)

var (
	errNoAlert   = rpm.Errorf(rpm.ENotFound, "There is no such alert, or you may not see it.")
	errBadNote   = rpm.Errorf(rpm.EInvalid, "A note must be one line of at most 1000 characters.")
	errBadSnooze = rpm.Errorf(rpm.EInvalid, "Snooze for 5 to 1440 minutes (24 hours).")
	errNoMark    = rpm.Errorf(rpm.EInvalid, `Say whether the alert was actionable: {"actionable": true} or false.`)
	errChanged   = rpm.Errorf(rpm.EConflict, "This alert changed a moment ago; look at its current state before acting.")
	errAcked     = rpm.Errorf(rpm.EConflict, "This alert is already acknowledged; only a firing alert can be acknowledged.")
	errResolved  = rpm.Errorf(rpm.EConflict, "This alert is already resolved.")
)

// alertStep is one clinician's action on an alert, carried out by the alert engine.
type alertStep func(ctx context.Context, a rpm.Alert, actorID string, audit rpm.AuditEntry) (rpm.Alert, error)

// alertOf loads an alert and passes the viewer through the gate for its patient at need. An alert
// of a patient the viewer may not reach at that level is errNoAlert, like one that does not exist,
// and the denial is audited against the patient.
func (h *Handlers) alertOf(c echo.Context, id, action string, need rpm.AccessLevel) (rpm.Alert, rpm.Access, error) {
	a, err := h.store.Alert(c.Request().Context(), id)
	if err != nil {
		return rpm.Alert{}, rpm.Access{}, notFoundAs(err, errNoAlert)
	}
	access, err := h.authorize(c, a.PatientID, action, need)
	if err == errHidden {
		return rpm.Alert{}, access, errNoAlert
	}
	if err != nil {
		return rpm.Alert{}, access, err
	}
	return a, access, nil
}

// actOnAlert carries out a step on an alert for a clinician on its patient's care team, and
// audits it. Anyone else gets errNoAlert (a primary care physician with a share sees alerts but
// does not act on them); problem, if any, is what to correct in the request, reported only after
// the gate; a step the alert's state does not allow is a conflict.
func (h *Handlers) actOnAlert(c echo.Context, id, action string, problem error, step alertStep) (rpm.Alert, error) {
	a, _, err := h.alertOf(c, id, action, rpm.AccessCare)
	if err != nil {
		return a, err
	}
	if problem != nil {
		return a, problem
	}
	u, _ := auth.Viewer(c)
	out, err := step(c.Request().Context(), a, u.ID, auditEntry(c, action, a.PatientID, "alert", a.ID, true))
	switch {
	case errors.Is(err, watch.ErrNotNow):
		return a, notNow(a.State)
	case errors.Is(err, store.ErrNotFound):
		return a, errNoAlert
	case err != nil:
		return a, err
	}
	return out, nil // audited in the step's transaction
}

// notNow says why a step was refused, from the state the alert was in when loaded.
func notNow(state rpm.AlertState) error {
	switch state {
	case rpm.AlertAcknowledged:
		return errAcked
	case rpm.AlertResolved:
		return errResolved
	}
	return errChanged
}

func (h *Handlers) acknowledgeStep(note string) alertStep {
	return func(ctx context.Context, a rpm.Alert, actor string, audit rpm.AuditEntry) (rpm.Alert, error) {
		return h.alerts.Acknowledge(ctx, a.ID, a.PatientID, actor, note, audit)
	}
}

func (h *Handlers) snoozeStep(d time.Duration, note string) alertStep {
	return func(ctx context.Context, a rpm.Alert, actor string, audit rpm.AuditEntry) (rpm.Alert, error) {
		return h.alerts.Snooze(ctx, a.ID, a.PatientID, actor, h.now().Add(d), note, audit)
	}
}

func (h *Handlers) resolveStep(note string) alertStep {
	return func(ctx context.Context, a rpm.Alert, actor string, audit rpm.AuditEntry) (rpm.Alert, error) {
		return h.alerts.Resolve(ctx, a.ID, a.PatientID, actor, note, audit)
	}
}

func (h *Handlers) markStep(actionable bool, note string) alertStep {
	return func(ctx context.Context, a rpm.Alert, actor string, audit rpm.AuditEntry) (rpm.Alert, error) {
		return h.alerts.Mark(ctx, a.ID, a.PatientID, actor, actionable, note, audit)
	}
}

// snoozeFor checks a snooze length in minutes.
func snoozeFor(minutes int) (time.Duration, error) {
	d := time.Duration(minutes) * time.Minute
	if d < minSnooze || d > maxSnooze {
		return 0, errBadSnooze
	}
	return d, nil
}

// firstProblem is the first non-nil error.
func firstProblem(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
