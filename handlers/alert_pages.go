package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// AlertInbox is the alert inbox (/alerts?state=open|resolved|all): the alerts of every patient the
// viewer may see, open ones first and most urgent first, with actions for the care team. Each
// patient listed is audited.
func (h *Handlers) AlertInbox(c echo.Context) error {
	state := c.QueryParam("state")
	if state == "" {
		state = "open"
	}
	filter, ok := alertStates[state]
	if !ok {
		return errBadState
	}
	ctx := c.Request().Context()
	u, _ := auth.Viewer(c)
	now := h.now()
	list, err := h.store.VisibleAlerts(ctx, u.ID, now, store.AlertFilter{States: filter})
	if err != nil {
		return err
	}
	items, err := h.alertItems(ctx, u.ID, now, list)
	if err != nil {
		return err
	}
	if err := h.auditPatients(c, rpm.ActionAlertList, listedPatients(list)); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AlertInbox(views.AlertInboxPage{Items: items, State: state, Problem: problemKey(c), Now: now}))
}

// AlertPage shows one alert and its whole history (/alerts/{id}) to whoever may see its patient.
func (h *Handlers) AlertPage(c echo.Context) error {
	a, access, err := h.alertOf(c, c.Param("alert"), rpm.ActionAlertView, rpm.AccessShared)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := h.store.Patient(ctx, a.PatientID)
	if err != nil {
		return notFoundAs(err, errNoAlert)
	}
	events, err := h.store.AlertEvents(ctx, a.ID)
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionAlertView, a.PatientID, "alert", a.ID); err != nil {
		return err
	}
	item := views.AlertItem{Alert: a, PatientName: p.Name(), CanAct: access.Level == rpm.AccessCare}
	return render(c, http.StatusOK, views.AlertHistory(views.AlertHistoryPage{Item: item, Events: events, Problem: problemKey(c), Now: h.now()}))
}

// alertItems pairs listed alerts with whether the viewer may act on them (care of the patient).
func (h *Handlers) alertItems(ctx context.Context, userID string, now time.Time, list []store.AlertListing) ([]views.AlertItem, error) {
	if len(list) == 0 {
		return nil, nil
	}
	patients, err := h.store.VisiblePatients(ctx, userID, now)
	if err != nil {
		return nil, err
	}
	care := map[string]bool{}
	for _, p := range patients {
		care[p.ID] = p.Access.Level == rpm.AccessCare
	}
	items := make([]views.AlertItem, len(list))
	for i, l := range list {
		items[i] = views.AlertItem{Alert: l.Alert, PatientName: l.PatientName, CanAct: care[l.PatientID]}
	}
	return items, nil
}

// problemKey is the ?problem= an alert form came back with, if it is one the pages know.
func problemKey(c echo.Context) string {
	if k := c.QueryParam("problem"); views.AlertProblemKnown(k) {
		return k
	}
	return ""
}
