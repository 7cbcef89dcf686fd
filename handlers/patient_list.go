package handlers

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// Device state on the census: silent after this long without a post, low at this charge.
const (
	censusSilentAfter = 6 * time.Hour
	censusLowBattery  = 0.2
	// news2Freshness is how recent a reading must be to count towards NEWS2 (continuous monitoring).
	news2Freshness = time.Hour
	// censusAlertLimit bounds the open alerts the census loads for its banner and live counts.
	censusAlertLimit = 1000
)

// PatientList is the census: every patient the viewer may see (filtered in SQL by the access
// policy) with their latest vitals, open alerts and device state; the page then updates live.
func (h *Handlers) PatientList(c echo.Context) error {
	u, _ := auth.Viewer(c)
	now := h.now()
	rows, err := h.store.Census(c.Request().Context(), u.ID, now, now.Add(-censusSilentAfter), censusLowBattery)
	if err != nil {
		return err
	}
	p := views.CensusPage{Now: now}
	open, err := h.store.VisibleAlerts(c.Request().Context(), u.ID, now, store.AlertFilter{State: "open", Limit: censusAlertLimit})
	if err != nil {
		return err
	}
	openIDs := map[string][]string{}
	care := map[string]bool{}
	for _, r := range rows {
		care[r.ID] = r.Access.Level == rpm.AccessCare
	}
	for _, a := range open {
		openIDs[a.PatientID] = append(openIDs[a.PatientID], a.ID)
		if a.State == "firing" {
			p.Firing = append(p.Firing, views.AlertItem{Alert: a.Alert, PatientName: a.PatientName, CanAct: care[a.PatientID]})
		}
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	inputs, err := h.news2InputsFor(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	for _, r := range rows {
		score := news2Of(r.Latest, inputs[r.ID], now)
		row := views.CensusRow{Patient: r.Patient, Teams: r.Teams, SharedUntil: r.Access.SharedUntil,
			Latest: r.Latest, OpenAlerts: r.OpenAlerts, Devices: r.Devices, Silent: r.SilentDevices, LowBattery: r.LowBatteryDevices,
			NEWS2: score.Score, NEWS2Band: string(score.Band), OpenAlertIDs: openIDs[r.ID], Care: care[r.ID]}
		for _, prm := range score.Parameters {
			if prm.Missing || prm.Stale {
				row.NEWS2Missing = append(row.NEWS2Missing, prm.Name)
			}
		}
		p.Rows = append(p.Rows, row)
		for _, t := range r.Teams {
			if !slices.Contains(p.Teams, t) {
				p.Teams = append(p.Teams, t)
			}
		}
	}
	slices.Sort(p.Teams)
	// Sickest first: by NEWS2, then open alerts; the list's own order (by name) breaks ties.
	slices.SortStableFunc(p.Rows, func(a, b views.CensusRow) int {
		return cmp.Or(cmp.Compare(b.NEWS2, a.NEWS2), cmp.Compare(b.OpenAlerts, a.OpenAlerts))
	})
	if err := h.auditPatients(c, rpm.ActionPatientList, ids); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Census(p))
}
