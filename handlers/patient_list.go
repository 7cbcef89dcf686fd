package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// PatientList shows the patients the viewer may see (filtered in SQL by the access policy).
func (h *Handlers) PatientList(c echo.Context) error {
	u, _ := auth.Viewer(c)
	now := h.now()
	list, err := h.store.VisiblePatients(c.Request().Context(), u.ID, now)
	if err != nil {
		return err
	}
	p := views.PatientListPage{Now: now}
	ids := make([]string, len(list))
	for i, ps := range list {
		ids[i] = ps.ID
		p.Rows = append(p.Rows, views.PatientRow{Patient: ps.Patient, Teams: ps.Teams, SharedUntil: ps.Access.SharedUntil})
	}
	if err := h.auditPatients(c, rpm.ActionPatientList, ids); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.PatientList(p))
}
