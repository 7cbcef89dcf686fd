package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// patientJSON is a patient in the JSON API. Latest holds each metric's most recent reading.
type patientJSON struct {
	ID          string           `json:"id"`
	MRN         string           `json:"mrn"`
	Name        string           `json:"name"`
	BirthDate   string           `json:"birth_date"`
	Teams       []string         `json:"teams"`
	Access      string           `json:"access"`
	SharedUntil *time.Time       `json:"shared_until,omitempty"`
	Latest      []readingJSON    `json:"latest"`
	NEWS2       *live.ScoreFrame `json:"news2"` // as the live stream's news2 frames carry it
	OpenAlerts  int              `json:"open_alerts"`
	Devices     []deviceJSON     `json:"devices,omitempty"`
}

type readingJSON struct {
	Code  string    `json:"code"`
	Value float64   `json:"value"`
	Unit  string    `json:"unit"`
	At    time.Time `json:"at"`
}

var accessNames = map[rpm.AccessLevel]string{rpm.AccessShared: "shared", rpm.AccessSelf: "self", rpm.AccessCare: "care"}

func readingsJSON(rs []rpm.Reading) []readingJSON {
	out := make([]readingJSON, len(rs))
	for i, r := range rs {
		out[i] = readingJSON{Code: r.Code, Value: r.Value, Unit: r.Unit, At: r.EffectiveAt}
	}
	return out
}

func sharedUntil(a rpm.Access) *time.Time {
	if a.SharedUntil.IsZero() {
		return nil
	}
	return &a.SharedUntil
}

// APIPatients lists the patients the viewer may see, with their latest vitals, NEWS2 and open
// alerts — the census as JSON.
func (h *Handlers) APIPatients(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := auth.Viewer(c)
	now := h.now()
	rows, err := h.store.Census(ctx, u.ID, now)
	if err != nil {
		return err
	}
	out := make([]patientJSON, 0, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	for _, r := range rows {
		latest := make([]rpm.Reading, 0, len(r.Latest))
		for _, code := range store.CensusCodes {
			if rd, ok := r.Latest[code]; ok {
				latest = append(latest, rd)
			}
		}
		out = append(out, patientJSON{ID: r.ID, MRN: r.MRN, Name: r.Name(), BirthDate: r.BirthDate.Format(time.DateOnly),
			Teams: r.Teams, Access: accessNames[r.Access.Level], SharedUntil: sharedUntil(r.Access), Latest: readingsJSON(latest),
			NEWS2: live.ScoreFrameOf(h.alerts.NEWS2(r.NEWS2, now)), OpenAlerts: r.OpenAlerts})
	}
	if err := h.auditPatients(c, rpm.ActionPatientList, ids); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"patients": out})
}

// APIPatient returns one patient's summary with devices.
func (h *Handlers) APIPatient(c echo.Context) error {
	id := c.Param("patient")
	access, err := h.authorize(c, id, rpm.ActionPatientView, rpm.AccessShared)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := h.store.Patient(ctx, id)
	if err != nil {
		return notFoundAs(err, errHidden)
	}
	rec, err := h.record(ctx, id, h.now())
	if err != nil {
		return err
	}
	scores, err := h.alerts.NEWS2Of(ctx, []string{id}, h.now())
	if err != nil {
		return err
	}
	out := patientJSON{ID: p.ID, MRN: p.MRN, Name: p.Name(), BirthDate: p.BirthDate.Format(time.DateOnly),
		Access: accessNames[access.Level], SharedUntil: sharedUntil(access), Latest: readingsJSON(rec.latest),
		NEWS2: live.ScoreFrameOf(scores[id])}
	past, err := h.store.PatientAlerts(ctx, id, 1000)
	if err != nil {
		return err
	}
	for _, a := range past {
		if a.State != rpm.AlertResolved {
			out.OpenAlerts++
		}
	}
	for _, t := range rec.teams {
		out.Teams = append(out.Teams, t.Name)
	}
	for _, d := range rec.devices {
		out.Devices = append(out.Devices, toDeviceJSON(d))
	}
	if err := h.audit(c, rpm.ActionPatientView, id, "patient", id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// maxAPIReadings bounds one readings answer; ask for a shorter range to see more.
const maxAPIReadings = 10000

// APIReadings returns a patient's readings of one code (or all) in a time range, in canonical
// units, newest first. from and to are RFC 3339; they default to the last 24 hours.
func (h *Handlers) APIReadings(c echo.Context) error {
	id := c.Param("patient")
	if _, err := h.authorize(c, id, rpm.ActionReadingsView, rpm.AccessShared); err != nil {
		return err
	}
	to, from := h.now().Add(time.Minute), h.now().Add(-24*time.Hour)
	var err error
	if v := c.QueryParam("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			return rpm.Errorf(rpm.EInvalid, "to must be an RFC 3339 time, e.g. 2026-11-21T10:00:00Z.")
		}
	}
	if v := c.QueryParam("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			return rpm.Errorf(rpm.EInvalid, "from must be an RFC 3339 time, e.g. 2026-11-20T10:00:00Z.")
		}
	}
	code := c.QueryParam("code")
	if _, ok := rpm.MetricByCode(code); code != "" && !ok {
		return rpm.Errorf(rpm.EInvalid, "code must be one of the LOINC codes Vigil accepts.")
	}
	readings, err := h.store.Readings(c.Request().Context(), id, code, from, to, maxAPIReadings)
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionReadingsView, id, "readings", code); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"patient": id, "readings": readingsJSON(readings)})
}
