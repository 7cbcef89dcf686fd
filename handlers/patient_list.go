package handlers

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// censusAlertLimit bounds the open alerts the census loads for its banner and live counts.
const censusAlertLimit = 1000

// PatientList is the census: every patient the viewer may see (filtered in SQL by the access
// policy) with their latest vitals, open alerts and device state; the page then updates live.
func (h *Handlers) PatientList(c echo.Context) error {
	u, _ := auth.Viewer(c)
	now := h.now()
	rows, err := h.store.Census(c.Request().Context(), u.ID, now)
	if err != nil {
		return err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	deviceRules, err := h.alerts.DeviceRulesOf(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	p := views.CensusPage{Now: now}
	open, err := h.store.VisibleAlerts(c.Request().Context(), u.ID, now, store.AlertFilter{States: openStates, Limit: censusAlertLimit})
	if err != nil {
		return err
	}
	openIDs := map[string][]string{}
	care := map[string]bool{}
	for _, r := range rows {
		care[r.ID] = r.Access.Level == rpm.AccessCare
	}
	for _, a := range open {
		if a.Technical() {
			continue // shown with the devices, not as the patient's alerts
		}
		openIDs[a.PatientID] = append(openIDs[a.PatientID], a.ID)
		if a.State == rpm.AlertFiring && !a.Technical() {
			p.Firing = append(p.Firing, views.AlertItem{Alert: a.Alert, PatientName: a.PatientName, CanAct: care[a.PatientID]})
		}
	}
	for _, r := range rows {
		row := views.CensusRow{Patient: r.Patient, Teams: r.Teams, SharedUntil: r.Access.SharedUntil,
			Latest: r.Latest, OpenAlerts: r.OpenAlerts, NEWS2: news2Badge(h.alerts.NEWS2(r.NEWS2, now)),
			Devices: deviceBadges(r.Devices, deviceRules[r.ID]), OpenAlertIDs: openIDs[r.ID], Care: care[r.ID]}
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
		return cmp.Or(cmp.Compare(riskRank(b.NEWS2), riskRank(a.NEWS2)), cmp.Compare(b.OpenAlerts, a.OpenAlerts))
	})
	if err := h.auditPatients(c, rpm.ActionPatientList, ids); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Census(p))
}

// riskRank orders the census: by NEWS2, with a patient whose risk is unknown — no data, or a low
// score with two or more parameters missing — right after those at medium risk or higher, never
// sunk below the patients known to be well.
func riskRank(n views.NEWS2View) float64 {
	if n.NoData || n.Incomplete && (n.Band == "low" || n.Band == "low-medium") {
		return 4.5
	}
	return float64(n.Score)
}

// deviceBadges are the devices on a patient as the census counts them: silent after the
// not-reporting rule's silence for each one's expected interval, low at the low-battery rule's
// limit.
func deviceBadges(devices []store.DeviceWatch, rules watch.DeviceRules) []views.DeviceBadge {
	out := make([]views.DeviceBadge, len(devices))
	for i, d := range devices {
		last := d.Since
		if d.LastReadingAt.After(last) {
			last = d.LastReadingAt
		}
		out[i] = views.DeviceBadge{ID: d.Device, LastReading: last, SilentAfter: rules.NotReporting.SilenceFor(d.Interval()),
			LowBattery: d.Battery != nil && *d.Battery <= rules.LowBattery.Limit}
	}
	return out
}
