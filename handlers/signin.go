package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
)

var errSignIn = &rpm.Error{Code: rpm.EInvalid, Message: "This sign-in could not be completed (it may have expired or been used already). Please sign in again."}

// SignIn sends the browser to the identity provider, remembering state, nonce, PKCE verifier and
// where to come back to.
func (h *Handlers) SignIn(c echo.Context) error {
	ch := auth.NewChallenge()
	target, err := h.rp.AuthURL(c.Request().Context(), ch)
	if err != nil {
		return &rpm.Error{Code: rpm.EUnavailable, Message: "The sign-in service cannot be reached just now; please try again shortly.", Cause: err}
	}
	h.sessions.BeginSignIn(c.Request().Context(), ch, localPath(c.QueryParam("return_to")))
	return c.Redirect(http.StatusSeeOther, target)
}

// SignInCallback finishes a sign-in: it checks state and nonce, verifies the ID token, records the
// user, starts a fresh session and sends them on.
func (h *Handlers) SignInCallback(c echo.Context) error {
	ctx := c.Request().Context()
	ch, returnTo := h.sessions.PendingSignIn(ctx)
	if e := c.QueryParam("error"); e != "" {
		return &rpm.Error{Code: rpm.EInvalid, Message: "The identity provider did not sign you in. Please try again.", Cause: errors.New("provider error: " + e)}
	}
	id, err := h.rp.Finish(ctx, ch, c.QueryParam("state"), c.QueryParam("code"))
	if errors.Is(err, auth.ErrSignIn) {
		h.auditDenial(c, rpm.ActionSignIn, "", "session", "")
		return &rpm.Error{Code: errSignIn.Code, Message: errSignIn.Message, Cause: err}
	}
	if err != nil {
		return &rpm.Error{Code: rpm.EUnavailable, Message: "The sign-in service cannot be reached just now; please try again shortly.", Cause: err}
	}
	u, err := h.store.SignIn(ctx, id.User, h.now())
	if err != nil {
		return err
	}
	if u.Disabled {
		return rpm.Errorf(rpm.EForbidden, "Your account is disabled. Please contact your administrator.")
	}
	if err := h.sessions.SignIn(ctx, u, id.RawIDToken, h.now()); err != nil {
		return err
	}
	auth.SetViewer(c, u) // so that the audit entry names who signed in
	if err := h.audit(c, rpm.ActionSignIn, "", "session", ""); err != nil {
		return err
	}
	if returnTo == "" {
		returnTo = homeFor(u)
	}
	return c.Redirect(http.StatusSeeOther, returnTo)
}

// SignOut ends the session and, where the provider offers it, the provider's session too.
func (h *Handlers) SignOut(c echo.Context) error {
	if err := h.audit(c, rpm.ActionSignOut, "", "session", ""); err != nil {
		return err
	}
	idToken, err := h.sessions.SignOut(c.Request().Context())
	if err != nil {
		return err
	}
	if target := h.rp.LogoutURL(c.Request().Context(), idToken); target != "" {
		return c.Redirect(http.StatusSeeOther, target)
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// homeFor is where a user lands after signing in.
func homeFor(u rpm.User) string {
	switch {
	case hasRole(u, rpm.RoleClinician), hasRole(u, rpm.RolePCP):
		return "/patients"
	case hasRole(u, rpm.RolePatient):
		return "/me"
	case hasRole(u, rpm.RoleAdmin):
		return "/admin/teams"
	}
	return "/"
}

// localPath accepts only a path on this site ("/patients?x=1"), never another host, so a sign-in
// link cannot send a user elsewhere afterwards.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\') {
		return ""
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f { // browsers drop tabs and newlines from URLs: "/\t/evil" is "//evil"
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return ""
	}
	return p
}
