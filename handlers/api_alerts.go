package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// alertJSON is an alert in the JSON API's lists: the live stream's alert object and the patient's
// name.
type alertJSON struct {
	*live.AlertFrame
	PatientName string `json:"patient_name"`
}

// alertStates maps the API's and the inbox's state filter to the alert states it lists; "" means
// "open" (firing or acknowledged), "all" every state.
var alertStates = map[string][]rpm.AlertState{"": openStates, "open": openStates, "firing": {rpm.AlertFiring},
	"acknowledged": {rpm.AlertAcknowledged}, "resolved": {rpm.AlertResolved}, "all": nil}

var openStates = []rpm.AlertState{rpm.AlertFiring, rpm.AlertAcknowledged}

var errBadState = rpm.Errorf(rpm.EInvalid, "state must be open, firing, acknowledged, resolved or all.")

var errBadCategory = rpm.Errorf(rpm.EInvalid, "category must be clinical or technical, or left out for both.")

// APIAlerts lists the alerts the viewer may see: GET /api/v1/alerts?state=open&patient=<id>
// &category=clinical|technical. A patient named in the query must be one the viewer may see (404
// otherwise, audited). Each patient listed is audited.
func (h *Handlers) APIAlerts(c echo.Context) error {
	state, ok := alertStates[c.QueryParam("state")]
	if !ok {
		return errBadState
	}
	category := c.QueryParam("category")
	if category != "" && category != "clinical" && category != "technical" {
		return errBadCategory
	}
	patient := c.QueryParam("patient")
	if patient != "" {
		if _, err := h.authorize(c, patient, rpm.ActionAlertList, rpm.AccessShared); err != nil {
			return err
		}
	}
	u, _ := auth.Viewer(c)
	list, err := h.store.VisibleAlerts(c.Request().Context(), u.ID, h.now(), store.AlertFilter{States: state, Patient: patient, Category: category})
	if err != nil {
		return err
	}
	out := make([]alertJSON, len(list))
	for i, l := range list {
		out[i] = alertJSON{AlertFrame: live.AlertFrameOf(l.Alert), PatientName: l.PatientName}
	}
	if err := h.auditPatients(c, rpm.ActionAlertList, listedPatients(list)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"alerts": out})
}

// listedPatients is each patient of a list of alerts, once.
func listedPatients(list []store.AlertListing) []string {
	seen := map[string]bool{}
	var ids []string
	for _, l := range list {
		if !seen[l.PatientID] {
			seen[l.PatientID] = true
			ids = append(ids, l.PatientID)
		}
	}
	return ids
}

// alertBody is what the alert actions take; every field is optional except where an action says.
type alertBody struct {
	Note       string `json:"note"`
	Minutes    *int   `json:"minutes"`
	Actionable *bool  `json:"actionable"`
}

var errBadAlertBody = rpm.Errorf(rpm.EInvalid, `The body must be empty or JSON {"note": "…"} (snooze: "minutes"; actionable: "actionable").`)

// alertRequest reads an action's body; problem says what to correct. An empty body is no note.
func alertRequest(c echo.Context) (body alertBody, problem error) {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return body, errBadAlertBody
	}
	note, ok := cleanText(body.Note, maxAlertNote)
	if !ok {
		return body, errBadNote
	}
	body.Note = note
	return body, nil
}

// answerAlert sends the alert as the action left it, or the error.
func answerAlert(c echo.Context, a rpm.Alert, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, live.AlertFrameOf(a))
}

// APIAlertAcknowledge: POST /api/v1/alerts/{id}/acknowledge {"note"} — a clinician on the
// patient's care team is on it; 409 unless the alert is firing.
func (h *Handlers) APIAlertAcknowledge(c echo.Context) error {
	body, problem := alertRequest(c)
	a, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertAcknowledge, problem, h.acknowledgeStep(body.Note))
	return answerAlert(c, a, err)
}

// APIAlertResolve: POST /api/v1/alerts/{id}/resolve {"note"}; 409 when already resolved.
func (h *Handlers) APIAlertResolve(c echo.Context) error {
	body, problem := alertRequest(c)
	a, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertResolve, problem, h.resolveStep(body.Note))
	return answerAlert(c, a, err)
}

// APIAlertSnooze: POST /api/v1/alerts/{id}/snooze {"minutes": 5–1440, "note"} — acknowledged
// until then; if still open, it fires again. 409 when resolved.
func (h *Handlers) APIAlertSnooze(c echo.Context) error {
	body, problem := alertRequest(c)
	var d time.Duration
	if problem == nil && body.Minutes == nil {
		problem = errBadSnooze
	} else if problem == nil {
		d, problem = snoozeFor(*body.Minutes)
	}
	a, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertSnooze, problem, h.snoozeStep(d, body.Note))
	return answerAlert(c, a, err)
}

// APIAlertActionable: POST /api/v1/alerts/{id}/actionable {"actionable": true|false, "note"} —
// whether the alert was worth answering, in any state.
func (h *Handlers) APIAlertActionable(c echo.Context) error {
	body, problem := alertRequest(c)
	if problem == nil && body.Actionable == nil {
		problem = errNoMark
	}
	actionable := body.Actionable != nil && *body.Actionable
	a, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertMark, problem, h.markStep(actionable, body.Note))
	return answerAlert(c, a, err)
}
