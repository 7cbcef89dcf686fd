package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
)

var errNoShare = rpm.Errorf(rpm.ENotFound, "There is no such share, or you may not change it.")

// ShareRevoke stops a share at once. The patient may stop shares of their own record; a clinician
// on the patient's team may stop any share of the patient.
func (h *Handlers) ShareRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	sh, err := h.store.Share(ctx, c.Param("share"))
	if err != nil {
		return notFoundAs(err, errNoShare)
	}
	if _, err := h.authorize(c, sh.PatientID, rpm.ActionShareRevoke, rpm.AccessSelf); err != nil {
		return errNoShare
	}
	u, _ := auth.Viewer(c)
	if err := h.store.RevokeShare(ctx, sh.ID, u.ID, h.now()); err != nil {
		return notFoundAs(err, errNoShare)
	}
	if err := h.audit(c, rpm.ActionShareRevoke, sh.PatientID, "share", sh.ID); err != nil {
		return err
	}
	if hasRole(u, rpm.RolePatient) && !hasRole(u, rpm.RoleClinician) {
		return c.Redirect(http.StatusSeeOther, "/me#who")
	}
	return c.Redirect(http.StatusSeeOther, "/patients/"+sh.PatientID+"#sharing")
}
