package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// errHidden is what a viewer is told about a patient they may not see: the same as for a patient
// that does not exist, so ids cannot be probed.
var errHidden = &rpm.Error{Code: rpm.ENotFound, Message: "There is no such patient, or you may not see them."}

// RequireViewer is middleware for routes that need a signed-in user: a page sends the browser to
// sign in (and back afterwards); an API call gets 401.
func (h *Handlers) RequireViewer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := auth.Viewer(c); ok {
			return next(c)
		}
		r := c.Request()
		if strings.HasPrefix(r.URL.Path, "/api/") || r.Method != http.MethodGet {
			return rpm.Errorf(rpm.EUnauthorized, "Please sign in.")
		}
		return c.Redirect(http.StatusSeeOther, "/signin?"+url.Values{"return_to": {r.URL.RequestURI()}}.Encode())
	}
}

// RequireRole returns middleware that lets only viewers holding role through; others get 404,
// as if the route did not exist. Use after RequireViewer.
func (h *Handlers) RequireRole(role rpm.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u, _ := auth.Viewer(c)
			if !hasRole(u, role) {
				h.audit(c, "route."+string(role), "", "route", c.Path(), false)
				return rpm.Errorf(rpm.ENotFound, "There is nothing here, or you may not see it.")
			}
			return next(c)
		}
	}
}

func hasRole(u rpm.User, role rpm.Role) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// authorize is the one gate between a request and a patient's data. It asks the access policy what
// the viewer may do with the patient now; if that is less than need, it audits the denial and
// returns the same 404 as for a patient that does not exist.
func (h *Handlers) authorize(c echo.Context, patientID, action string, need rpm.AccessLevel) (rpm.Access, error) {
	u, _ := auth.Viewer(c)
	access, err := h.store.PatientAccess(c.Request().Context(), u.ID, patientID, h.now())
	if err != nil {
		return rpm.Access{}, err
	}
	if !access.Allows(need) {
		h.audit(c, action, auditPatientID(patientID), "patient", patientID, false)
		return rpm.Access{}, errHidden
	}
	return access, nil
}

// auditPatientID keeps malformed ids out of the audit log's patient column (they stay in
// object_id, which is text).
func auditPatientID(id string) string {
	if len(id) != 36 {
		return ""
	}
	return id
}

// audit records one entry of the audit trail for the request's viewer. A failure to record is
// logged; it does not undo what was done.
func (h *Handlers) audit(c echo.Context, action, patientID, objectType, objectID string, allowed bool) {
	u, _ := auth.Viewer(c)
	e := rpm.AuditEntry{
		ActorKind: "user", ActorID: u.ID, ActorRole: roleList(u.Roles), Action: action,
		PatientID: patientID, ObjectType: objectType, ObjectID: objectID, Allowed: allowed,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID), RemoteAddr: c.RealIP(),
		UserAgent: c.Request().UserAgent(),
	}
	if u.ID == "" {
		e.ActorKind = "anonymous"
	}
	if err := h.store.RecordAudit(c.Request().Context(), e); err != nil {
		h.log.Error("recording an audit entry failed", "action", action, "err", err)
	}
}

func roleList(roles []rpm.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// notFoundAs turns store.ErrNotFound into the given safe error.
func notFoundAs(err error, safe *rpm.Error) error {
	if errors.Is(err, store.ErrNotFound) {
		return safe
	}
	return err
}
