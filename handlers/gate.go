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
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/live" || r.Method != http.MethodGet {
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
				h.auditDenial(c, "route."+string(role), "", "route", c.Path())
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
		h.auditDenial(c, action, patientID, "patient", patientID)
		return rpm.Access{}, errHidden
	}
	return access, nil
}

// auditEntry is an audit entry for the request's viewer. A patient id that is not an id is kept
// out of the patient column by the store (it stays in object_id).
func auditEntry(c echo.Context, action, patientID, objectType, objectID string, allowed bool) rpm.AuditEntry {
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
	return e
}

// audit records what the viewer was allowed to do. Handlers call it before they answer: if the
// trail cannot be written, the request fails rather than show patient data unrecorded.
func (h *Handlers) audit(c echo.Context, action, patientID, objectType, objectID string) error {
	return h.store.RecordAudit(c.Request().Context(), auditEntry(c, action, patientID, objectType, objectID, true))
}

// auditPatients records one entry per patient a list showed, in one transaction.
func (h *Handlers) auditPatients(c echo.Context, action string, patientIDs []string) error {
	entries := make([]rpm.AuditEntry, len(patientIDs))
	for i, id := range patientIDs {
		entries[i] = auditEntry(c, action, id, "patient", id, true)
	}
	if len(entries) == 0 {
		entries = append(entries, auditEntry(c, action, "", "patient", "", true))
	}
	return h.store.RecordAudit(c.Request().Context(), entries...)
}

// auditDenial records a refusal. The refusal stands whether or not it could be recorded; a failure
// to record it is logged.
func (h *Handlers) auditDenial(c echo.Context, action, patientID, objectType, objectID string) {
	e := auditEntry(c, action, patientID, objectType, objectID, false)
	if err := h.store.RecordAudit(c.Request().Context(), e); err != nil {
		h.log.Error("recording a denial in the audit trail failed", "action", action, "err", err)
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
