package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// historyWindow and historyLimit bound the readings table of a record page.
const (
	historyWindow = 7 * 24 * time.Hour
	historyLimit  = 300
)

// PatientPage shows one patient's record to a clinician on their team (with sharing) or to a
// primary care physician with an active share (read-only).
func (h *Handlers) PatientPage(c echo.Context) error {
	id := c.Param("patient")
	access, err := h.authorize(c, id, rpm.ActionPatientView, rpm.AccessShared)
	if err != nil {
		return err
	}
	p, err := h.patientPage(c, id, access)
	if err != nil {
		return err
	}
	p.AlertProblem = problemKey(c)
	if err := h.audit(c, rpm.ActionPatientView, id, "patient", id); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Patient(p))
}

func (h *Handlers) patientPage(c echo.Context, id string, access rpm.Access) (views.PatientPage, error) {
	ctx := c.Request().Context()
	now := h.now()
	p := views.PatientPage{Access: access, Now: now}
	var err error
	if p.Patient, err = h.store.Patient(ctx, id); err != nil {
		return p, notFoundAs(err, errHidden)
	}
	rec, err := h.record(ctx, id, now)
	if err != nil {
		return p, err
	}
	p.Teams, p.Latest, p.History, p.Devices = rec.teams, rec.latest, rec.history, rec.devices
	inputs, err := h.store.NEWS2Inputs(ctx, []string{id})
	if err != nil {
		return p, err
	}
	p.NEWS2 = h.news2View(inputs[id], now)
	if p.Alerts, p.Firing, err = h.patientAlerts(c, id, access, now); err != nil {
		return p, err
	}
	if access.Level == rpm.AccessCare {
		if p.Shares, err = h.store.PatientShares(ctx, id); err != nil {
			return p, err
		}
		if p.Grantees, err = h.granteeOptions(ctx); err != nil {
			return p, err
		}
		p.ReportingChoices = reportingChoices
		if p.Pool, err = h.store.Devices(ctx, store.DeviceFilter{Status: rpm.DeviceActive, Unassigned: true}); err != nil {
			return p, err
		}
	}
	return p, nil
}

// patientAlerts are the patient's latest alerts (open ones first) and those firing, for the alert
// section and the banner.
func (h *Handlers) patientAlerts(c echo.Context, id string, access rpm.Access, now time.Time) (all, firing []views.AlertItem, err error) {
	u, _ := auth.Viewer(c)
	list, err := h.store.VisibleAlerts(c.Request().Context(), u.ID, now, store.AlertFilter{Patient: id, Limit: 50})
	if err != nil {
		return nil, nil, err
	}
	for _, l := range list {
		it := views.AlertItem{Alert: l.Alert, PatientName: l.PatientName, CanAct: access.Level == rpm.AccessCare}
		all = append(all, it)
		if l.State == rpm.AlertFiring && !l.Technical() {
			firing = append(firing, it)
		}
	}
	return all, firing, nil
}

// patientRecord is what both a clinician's page and a patient's portal show of a record.
type patientRecord struct {
	teams           []views.TeamSummary
	latest, history []rpm.Reading
	devices         []rpm.Device
}

func (h *Handlers) record(ctx context.Context, patientID string, now time.Time) (patientRecord, error) {
	var r patientRecord
	teams, err := h.store.PatientTeams(ctx, patientID)
	if err != nil {
		return r, err
	}
	r.teams = teamSummaries(teams)
	if r.latest, err = h.store.LatestReadings(ctx, patientID); err != nil {
		return r, err
	}
	if r.history, err = h.store.Readings(ctx, patientID, "", now.Add(-historyWindow), now.Add(time.Minute), historyLimit); err != nil {
		return r, err
	}
	r.devices, err = h.store.PatientDevices(ctx, patientID)
	return r, err
}

func teamSummaries(teams []store.TeamWithMembers) []views.TeamSummary {
	out := make([]views.TeamSummary, len(teams))
	for i, t := range teams {
		names := make([]string, len(t.Members))
		for j, m := range t.Members {
			names[j] = m.DisplayName
		}
		out[i] = views.TeamSummary{Name: t.Name, Members: strings.Join(names, ", ")}
	}
	return out
}

// granteeOptions lists the primary care physicians a patient can be shared with.
func (h *Handlers) granteeOptions(ctx context.Context) ([]views.Option, error) {
	pcps, err := h.store.Users(ctx, rpm.RolePCP)
	if err != nil {
		return nil, err
	}
	var opts []views.Option
	for _, u := range pcps {
		if !u.Disabled {
			opts = append(opts, views.Option{Value: u.ID, Label: u.DisplayName})
		}
	}
	return opts, nil
}
