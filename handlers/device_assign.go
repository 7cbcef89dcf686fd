package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

var (
	errDeviceUnavailable = rpm.Errorf(rpm.EConflict, "That device is lost, retired or already on a patient.")
	errNotOnPatient      = rpm.Errorf(rpm.ENotFound, "That device is not assigned to this patient.")
)

// assign puts a device on the patient from now on, for a clinician on the patient's team.
func (h *Handlers) assign(c echo.Context, patientID, deviceID string) error {
	if _, err := h.authorize(c, patientID, rpm.ActionDeviceAssign, rpm.AccessCare); err != nil {
		return err
	}
	u, _ := auth.Viewer(c)
	err := h.store.AssignDevice(c.Request().Context(), deviceID, patientID, u.ID, h.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rpm.Errorf(rpm.EInvalid, "Choose a device from the pool of unassigned devices.")
	case errors.Is(err, store.ErrDeviceUnavailable):
		return errDeviceUnavailable
	case err != nil:
		return err
	}
	return h.audit(c, rpm.ActionDeviceAssign, patientID, "device", deviceID)
}

// unassign ends a device's assignment to the patient now; its earlier readings stay the patient's.
func (h *Handlers) unassign(c echo.Context, patientID, deviceID string) error {
	if _, err := h.authorize(c, patientID, rpm.ActionDeviceUnassign, rpm.AccessCare); err != nil {
		return err
	}
	u, _ := auth.Viewer(c)
	if err := h.store.EndAssignment(c.Request().Context(), deviceID, patientID, u.ID, h.now()); err != nil {
		return notFoundAs(err, errNotOnPatient)
	}
	return h.audit(c, rpm.ActionDeviceUnassign, patientID, "device", deviceID)
}

// APIPatientDeviceAssign assigns a device: POST /api/v1/patients/{id}/devices {"device_id": "…"}.
func (h *Handlers) APIPatientDeviceAssign(c echo.Context) error {
	var body struct {
		DeviceID string `json:"device_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4096)).Decode(&body); err != nil {
		body.DeviceID = ""
	}
	if err := h.assign(c, c.Param("patient"), body.DeviceID); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"patient": c.Param("patient"), "device_id": body.DeviceID})
}

// APIPatientDeviceEnd ends an assignment: DELETE /api/v1/patients/{id}/devices/{device_id}.
func (h *Handlers) APIPatientDeviceEnd(c echo.Context) error {
	if err := h.unassign(c, c.Param("patient"), c.Param("device")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// PatientDeviceAssign is the patient page's assign form.
func (h *Handlers) PatientDeviceAssign(c echo.Context) error {
	id := c.Param("patient")
	err := h.assign(c, id, c.FormValue("device"))
	if e, ok := errors.AsType[*rpm.Error](err); ok && (e.Code == rpm.EInvalid || e.Code == rpm.EConflict) {
		return h.rerenderPatient(c, id, e.Message)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/patients/"+id+"#devices")
}

// PatientDeviceEnd is the patient page's "end assignment" button.
func (h *Handlers) PatientDeviceEnd(c echo.Context) error {
	id := c.Param("patient")
	if err := h.unassign(c, id, c.Param("device")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/patients/"+id+"#devices")
}

// rerenderPatient shows the patient page again with a problem to correct.
func (h *Handlers) rerenderPatient(c echo.Context, id, problem string) error {
	access, err := h.authorize(c, id, rpm.ActionPatientView, rpm.AccessShared)
	if err != nil {
		return err
	}
	p, err := h.patientPage(c, id, access)
	if err != nil {
		return err
	}
	p.DeviceProblem = problem
	return render(c, http.StatusUnprocessableEntity, views.Patient(p))
}

// reportingChoices are the reporting intervals a care plan may set for a device, in the words the
// page shows; "" is the device kind's usual interval.
var reportingChoices = []views.Option{
	{Value: "", Label: "usual for its kind"}, {Value: "10s", Label: "every 10 seconds"}, {Value: "30s", Label: "every 30 seconds"},
	{Value: "1m", Label: "every minute"}, {Value: "5m", Label: "every 5 minutes"}, {Value: "15m", Label: "every 15 minutes"},
	{Value: "1h", Label: "every hour"}, {Value: "4h", Label: "every 4 hours"}, {Value: "8h", Label: "every 8 hours"},
	{Value: "12h", Label: "twice a day"}, {Value: "24h", Label: "once a day"}, {Value: "48h", Label: "every 2 days"},
	{Value: "168h", Label: "once a week"},
}

// PatientDeviceInterval sets, for a clinician on the patient's team, how often the care plan
// expects a device on the patient to report: the not-reporting alert and the census's "silent"
// follow it. Audited.
func (h *Handlers) PatientDeviceInterval(c echo.Context) error {
	id, device := c.Param("patient"), c.Param("device")
	if _, err := h.authorize(c, id, rpm.ActionDeviceInterval, rpm.AccessCare); err != nil {
		return err
	}
	choice := c.FormValue("every")
	if !slices.ContainsFunc(reportingChoices, func(o views.Option) bool { return o.Value == choice }) {
		return h.rerenderPatient(c, id, "Choose how often the device reports from the list.")
	}
	var every time.Duration
	if choice != "" {
		every, _ = time.ParseDuration(choice)
	}
	if err := h.store.SetExpectedInterval(c.Request().Context(), id, device, every); err != nil {
		return notFoundAs(err, errNotOnPatient)
	}
	if err := h.audit(c, rpm.ActionDeviceInterval, id, "device", device); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/patients/"+id+"#devices")
}
