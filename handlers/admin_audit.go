package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// auditActions are offered in the audit log's action filter.
var auditActions = []string{
	rpm.ActionSignIn, rpm.ActionSignOut, rpm.ActionPatientList, rpm.ActionPatientView, rpm.ActionPortalView,
	rpm.ActionReadingsView, rpm.ActionShareCreate, rpm.ActionShareRevoke, rpm.ActionTeamChange,
	rpm.ActionUserDisable, rpm.ActionUserEnable, rpm.ActionUserSettings, rpm.ActionAuditView,
}

// datetimeLocal is the format of an <input type="datetime-local">, read as UTC.
const datetimeLocal = "2006-01-02T15:04"

const auditPageSize = 100

// AdminAudit lets an IT admin browse the audit trail by user, patient, action and time.
func (h *Handlers) AdminAudit(c echo.Context) error {
	ctx := c.Request().Context()
	f := views.AuditFilter{User: c.QueryParam("user"), Patient: c.QueryParam("patient"), Action: c.QueryParam("action"),
		From: c.QueryParam("from"), To: c.QueryParam("to")}
	q := store.AuditFilter{ActorID: f.User, PatientID: f.Patient, Action: f.Action, Limit: auditPageSize}
	q.From, _ = time.Parse(datetimeLocal, f.From)
	q.To, _ = time.Parse(datetimeLocal, f.To)
	q.Before, _ = strconv.ParseInt(c.QueryParam("before"), 10, 64)
	entries, err := h.store.AuditEntries(ctx, q)
	if err != nil {
		return err
	}
	users, err := h.store.Users(ctx, "")
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionAuditView, "", "audit_log", ""); err != nil {
		return err
	}
	p := views.AuditPage{Entries: entries, Actions: auditActions, Filter: f}
	for _, u := range users {
		p.Users = append(p.Users, views.Option{Value: u.ID, Label: u.DisplayName})
	}
	if len(entries) == auditPageSize {
		next := c.QueryParams()
		next.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		p.NextPage = "/admin/audit?" + url.Values(next).Encode()
	}
	return render(c, http.StatusOK, views.Audit(p))
}
