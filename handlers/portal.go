package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// Portal shows a patient their own record: readings, devices, and everyone who can see them.
func (h *Handlers) Portal(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := auth.Viewer(c)
	patient, err := h.store.PatientOfUser(ctx, u.ID)
	if err != nil {
		return notFoundAs(err, rpm.Errorf(rpm.ENotFound, "Your account is not linked to a patient record. Please contact your care team."))
	}
	if _, err := h.authorize(c, patient.ID, rpm.ActionPortalView, rpm.AccessSelf); err != nil {
		return err
	}
	now := h.now()
	rec, err := h.record(ctx, patient.ID, now)
	if err != nil {
		return err
	}
	shares, err := h.store.PatientShares(ctx, patient.ID)
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionPortalView, patient.ID, "patient", patient.ID); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Portal(views.PortalPage{
		Patient: patient, Now: now, Latest: rec.latest, History: rec.history, Devices: rec.devices,
		Teams: rec.teams, Shares: shares,
	}))
}
