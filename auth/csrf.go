package auth

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
)

// CSRF token transport, as docs/API.md fixes it.
const (
	CSRFHeader    = "X-CSRF-Token"
	CSRFFormField = "_csrf"
	// CSRFContextKey is where CSRF leaves the request's token for the page's meta tag and forms.
	CSRFContextKey = "csrf"
	keyCSRF        = "csrf"
)

var errCSRF = rpm.Errorf(rpm.EForbidden, "This form has expired or did not come from Vigil. Reload the page and try again.")

// CSRF is middleware that refuses every state-changing request (anything but GET, HEAD, OPTIONS)
// that does not carry the session's CSRF token in the X-CSRF-Token header or the _csrf form
// field. The token is made at sign-in and lives in the server-side session, so a request from
// another site cannot know it. Safe requests only receive the token, for the page to expose.
func (s *Sessions) CSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		want := s.sm.GetString(c.Request().Context(), keyCSRF)
		c.Set(CSRFContextKey, want)
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if want == "" { // no signed-in session: there is nothing to change
			return rpm.Errorf(rpm.EUnauthorized, "Please sign in.")
		}
		got := c.Request().Header.Get(CSRFHeader)
		if got == "" {
			got = c.FormValue(CSRFFormField)
		}
		if !equal(want, got) {
			return errCSRF
		}
		return next(c)
	}
}

// newCSRFToken gives a session its CSRF token.
func (s *Sessions) newCSRFToken(ctx context.Context) { s.sm.Put(ctx, keyCSRF, randomToken(32)) }
