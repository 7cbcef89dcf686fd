package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// maxShareDays bounds how long one share may last; a longer need is a new share.
const maxShareDays = 365

// ShareCreate lets a clinician on the patient's team share the patient with a primary care
// physician, for a reason and a number of days.
func (h *Handlers) ShareCreate(c echo.Context) error {
	id := c.Param("patient")
	access, err := h.authorize(c, id, rpm.ActionShareCreate, rpm.AccessCare)
	if err != nil {
		return err
	}
	u, _ := auth.Viewer(c)
	sh, problem := h.shareFromForm(c, id, u.ID)
	if problem == "" {
		var shareID string
		shareID, err = h.store.CreateShare(c.Request().Context(), sh)
		if err == nil {
			if err := h.audit(c, rpm.ActionShareCreate, id, "share", shareID); err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, "/patients/"+id+"#sharing")
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		problem = "Choose a physician from the list."
	}
	p, err := h.patientPage(c, id, access)
	if err != nil {
		return err
	}
	p.Problem = problem
	return render(c, http.StatusUnprocessableEntity, views.Patient(p))
}

// shareFromForm reads and checks the share form; problem says what to correct.
func (h *Handlers) shareFromForm(c echo.Context, patientID, grantorID string) (rpm.Share, string) {
	reason, ok := formText(c, "reason", 200)
	days, err := strconv.Atoi(c.FormValue("days"))
	switch {
	case c.FormValue("grantee") == "":
		return rpm.Share{}, "Choose a physician from the list."
	case !ok || reason == "":
		return rpm.Share{}, "Give a reason for sharing (at most 200 characters)."
	case err != nil || days < 1 || days > maxShareDays:
		return rpm.Share{}, "Share for between 1 and 365 days."
	}
	now := h.now()
	return rpm.Share{
		PatientID: patientID, GranteeID: c.FormValue("grantee"), GrantedBy: grantorID, Reason: reason,
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour),
	}, ""
}
