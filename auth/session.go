package auth

import (
	"context"
	"encoding/gob"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

func init() {
	gob.Register(Challenge{})
	gob.Register(time.Time{})
}

// Session keys.
const (
	keyUserID     = "user_id"
	keyIDToken    = "id_token"
	keyChallenge  = "challenge"
	keyReturnTo   = "return_to"
	keySignedInAt = "signed_in_at"
)

// SessionConfig configures sessions. Zero durations take the defaults (30 minutes idle, 12 hours
// in all).
type SessionConfig struct {
	IdleTimeout time.Duration
	Lifetime    time.Duration
	// Secure marks cookies Secure and gives them the __Host- prefix: set it when Vigil is served
	// over HTTPS.
	Secure bool
}

// Sessions keeps signed-in users' sessions server-side in PostgreSQL; the cookie carries only a
// random token.
type Sessions struct {
	sm    *scs.SessionManager
	users *store.Store
	log   *slog.Logger
}

// NewSessions returns the session manager over the store's session table.
func NewSessions(st *store.Store, cfg SessionConfig, log *slog.Logger) *Sessions {
	sm := scs.New()
	sm.Store = st.Sessions()
	sm.IdleTimeout, sm.Lifetime = 30*time.Minute, 12*time.Hour
	if cfg.IdleTimeout > 0 {
		sm.IdleTimeout = cfg.IdleTimeout
	}
	if cfg.Lifetime > 0 {
		sm.Lifetime = cfg.Lifetime
	}
	sm.Cookie.Name = "vigil_session"
	if cfg.Secure {
		sm.Cookie.Name = "__Host-vigil_session"
	}
	sm.Cookie.HttpOnly, sm.Cookie.Secure, sm.Cookie.SameSite, sm.Cookie.Path = true, cfg.Secure, http.SameSiteLaxMode, "/"
	sm.Cookie.Persist = false
	return &Sessions{sm: sm, users: st, log: log}
}

const viewerKey = "vigil.viewer"

// Middleware loads the session of every request and, if someone is signed in, their current user
// record: a user disabled since signing in is signed out on the spot. It writes the session back,
// with its cookie, just before the response's headers go out.
func (s *Sessions) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		token := ""
		if ck, err := r.Cookie(s.sm.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := s.sm.Load(r.Context(), token)
		if err != nil {
			return err
		}
		c.SetRequest(r.WithContext(ctx))
		c.Response().Before(func() { s.commit(c) })
		c.Response().Header().Add("Vary", "Cookie")
		if id := s.sm.GetString(ctx, keyUserID); id != "" {
			if err := s.loadViewer(c, id); err != nil {
				return err
			}
		}
		return next(c)
	}
}

func (s *Sessions) loadViewer(c echo.Context, id string) error {
	ctx := c.Request().Context()
	u, err := s.users.User(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return s.sm.Destroy(ctx)
	}
	if err != nil {
		return err
	}
	c.Set(viewerKey, u)
	return nil
}

// commit saves a changed session and sets (or clears) its cookie.
func (s *Sessions) commit(c echo.Context) {
	ctx := c.Request().Context()
	w := c.Response().Writer
	switch s.sm.Status(ctx) {
	case scs.Modified:
		token, expiry, err := s.sm.Commit(ctx)
		if err != nil {
			s.log.Error("saving the session failed", slog.Any("err", err))
			return
		}
		s.sm.WriteSessionCookie(ctx, w, token, expiry)
	case scs.Destroyed:
		s.sm.WriteSessionCookie(ctx, w, "", time.Time{})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
}

// Viewer returns the signed-in user of a request.
func Viewer(c echo.Context) (rpm.User, bool) {
	u, ok := c.Get(viewerKey).(rpm.User)
	return u, ok
}

// BeginSignIn remembers a challenge and where to go afterwards, for the callback.
func (s *Sessions) BeginSignIn(ctx context.Context, ch Challenge, returnTo string) {
	s.sm.Put(ctx, keyChallenge, ch)
	s.sm.Put(ctx, keyReturnTo, returnTo)
}

// PendingSignIn returns (and forgets) the challenge and return path of the sign-in under way; a
// challenge can be used once.
func (s *Sessions) PendingSignIn(ctx context.Context) (Challenge, string) {
	ch, _ := s.sm.Pop(ctx, keyChallenge).(Challenge)
	return ch, s.sm.PopString(ctx, keyReturnTo)
}

// SignIn starts a signed-in session for u under a new session token (so a token planted before
// sign-in is worthless after it).
func (s *Sessions) SignIn(ctx context.Context, u rpm.User, rawIDToken string, at time.Time) error {
	if err := s.sm.RenewToken(ctx); err != nil {
		return err
	}
	s.sm.Put(ctx, keyUserID, u.ID)
	s.sm.Put(ctx, keyIDToken, rawIDToken)
	s.sm.Put(ctx, keySignedInAt, at)
	s.newCSRFToken(ctx)
	return nil
}

// SignOut ends the session and returns the ID token it held, for the provider's logout.
func (s *Sessions) SignOut(ctx context.Context) (string, error) {
	idToken := s.sm.GetString(ctx, keyIDToken)
	return idToken, s.sm.Destroy(ctx)
}

// DeleteExpired removes expired sessions from the database; Run calls it periodically.
func (s *Sessions) DeleteExpired(ctx context.Context) (int64, error) {
	return s.sm.Store.(store.Sessions).DeleteExpired(ctx)
}

// Token is the request's session token (to check later, from a long-lived connection, that the
// session still exists).
func (s *Sessions) Token(ctx context.Context) string { return s.sm.Token(ctx) }

// Alive reports whether a session token still names an unexpired session: false after sign-out,
// expiry or deletion.
func (s *Sessions) Alive(ctx context.Context, token string) (bool, error) {
	_, found, err := s.users.Sessions().FindCtx(ctx, token)
	return found, err
}

// SetViewer makes u the request's viewer, as just after signing in.
func SetViewer(c echo.Context, u rpm.User) { c.Set(viewerKey, u) }
