package provider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	// authRequestLifetime bounds how long the login page of one sign-in stays usable.
	authRequestLifetime = 10 * time.Minute
	// codeLifetime bounds how long an authorization code can be exchanged.
	codeLifetime = time.Minute
	// maxAuthRequests bounds the memory that unfinished sign-ins can take.
	maxAuthRequests = 10_000
)

var (
	errUnknownRequest = errors.New("provider: sign-in request unknown or expired")
	errBadCredentials = errors.New("provider: unknown username or password")
)

// storage implements op.Storage in memory. Accounts, clients and the key never change after
// newStorage; auth requests, codes and tokens are guarded by mu and pruned when they expire.
type storage struct {
	now            func() time.Time
	accessLifetime time.Duration
	roleClaim      string
	log            *slog.Logger
	key            signingKey
	byUsername     map[string]*account
	bySubject      map[string]*account
	clients        map[string]*client
	dummy          secretHash // compared against when the username or client is unknown

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]*codeGrant
	tokens   map[string]*accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func newStorage(cfg Config) (*storage, error) {
	s := &storage{
		now: cfg.Now, accessLifetime: cfg.AccessTokenLifetime, roleClaim: cfg.RoleClaim, log: cfg.Log,
		byUsername: map[string]*account{}, bySubject: map[string]*account{}, clients: map[string]*client{},
		dummy:    hashSecret(rand.Text()),
		requests: map[string]*authRequest{}, codes: map[string]*codeGrant{}, tokens: map[string]*accessToken{},
	}
	if err := s.addUsers(cfg.Users); err != nil {
		return nil, err
	}
	loginURL := func(id string) string {
		return strings.TrimSuffix(cfg.Issuer, "/") + loginPath + "?" + url.Values{"authRequestID": {id}}.Encode()
	}
	for _, c := range cfg.Clients {
		if err := s.addClient(c, loginURL, cfg.IDTokenLifetime); err != nil {
			return nil, err
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("provider: signing key: %w", err)
	}
	s.key = signingKey{id: rand.Text(), key: key}
	return s, nil
}

func (s *storage) addUsers(users []User) error {
	for _, u := range users {
		if u.Subject == "" || u.Username == "" || u.Password == "" {
			return fmt.Errorf("provider: user %q needs a subject, a username and a password", u.Username)
		}
		if s.byUsername[u.Username] != nil || s.bySubject[u.Subject] != nil {
			return fmt.Errorf("provider: duplicate user %q (subject %q)", u.Username, u.Subject)
		}
		a := &account{subject: u.Subject, username: u.Username, name: u.Name, email: u.Email,
			roles: append([]string{}, u.Roles...), password: hashSecret(u.Password)}
		s.byUsername[a.username], s.bySubject[a.subject] = a, a
	}
	return nil
}

func (s *storage) addClient(c Client, loginURL func(string) string, idTokenLifetime time.Duration) error {
	if c.ID == "" || c.Secret == "" || len(c.RedirectURIs) == 0 {
		return fmt.Errorf("provider: client %q needs an id, a secret and a redirect URI", c.ID)
	}
	if s.clients[c.ID] != nil {
		return fmt.Errorf("provider: duplicate client %q", c.ID)
	}
	for _, u := range slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs) {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Fragment != "" {
			return fmt.Errorf("provider: client %q: %q is not an absolute http(s) URL without fragment", c.ID, u)
		}
	}
	s.clients[c.ID] = &client{
		id: c.ID, secret: hashSecret(c.Secret), loginURL: loginURL, idTokenLifetime: idTokenLifetime,
		redirectURIs: slices.Clone(c.RedirectURIs), logoutURIs: slices.Clone(c.PostLogoutRedirectURIs),
	}
	return nil
}

// prune forgets expired auth requests, codes and tokens; the caller holds mu.
func (s *storage) prune(now time.Time) {
	deleteExpired(s.requests, now, func(r *authRequest) time.Time { return r.expires })
	deleteExpired(s.codes, now, func(c *codeGrant) time.Time { return c.expires })
	deleteExpired(s.tokens, now, func(t *accessToken) time.Time { return t.expires })
}

func deleteExpired[V any](m map[string]V, now time.Time, expires func(V) time.Time) {
	for k, v := range m {
		if !now.Before(expires(v)) {
			delete(m, k)
		}
	}
}

// CreateAuthRequest stores a validated authorization request. Beyond op's checks it requires the
// openid scope, PKCE with S256 and the query response mode, and refuses prompt=none (there are
// no provider sessions to sign in silently with).
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if err := checkAuthRequest(req); err != nil {
		return nil, err
	}
	now := s.now()
	r := &authRequest{
		id: rand.Text(), clientID: req.ClientID, redirectURI: req.RedirectURI, state: req.State,
		nonce: req.Nonce, challenge: req.CodeChallenge, expires: now.Add(authRequestLifetime),
		scopes: slices.DeleteFunc(slices.Clone(req.Scopes), func(sc string) bool {
			return sc != oidc.ScopeOpenID && sc != oidc.ScopeProfile && sc != oidc.ScopeEmail
		}),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now)
	if len(s.requests) >= maxAuthRequests {
		return nil, oidc.ErrServerError().WithDescription("too many sign-ins in progress; try again later")
	}
	s.requests[r.id] = r
	cp := *r
	return &cp, nil
}

func checkAuthRequest(req *oidc.AuthRequest) error {
	switch {
	case req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required")
	case !slices.Contains(req.Scopes, oidc.ScopeOpenID):
		return oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery:
		return oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	case slices.Contains(req.Prompt, oidc.PromptNone):
		return oidc.ErrLoginRequired().WithDescription("the demo provider keeps no sessions; sign-in is required")
	}
	return nil
}

// liveRequest returns the stored (not a copy) unexpired request; the caller holds mu.
func (s *storage) liveRequest(id string) *authRequest {
	r := s.requests[id]
	if r == nil || !s.now().Before(r.expires) {
		return nil
	}
	return r
}

// AuthRequestByID returns a copy of an unexpired auth request.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.liveRequest(id)
	if r == nil {
		return nil, errUnknownRequest
	}
	cp := *r
	return &cp, nil
}

// AuthRequestByCode redeems a code: it succeeds once per code, within codeLifetime, and removes
// the auth request. Redeeming a used code revokes the tokens issued for it (RFC 6749 §4.1.2).
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.codes[code]
	if g == nil || !s.now().Before(g.expires) {
		return nil, errors.New("provider: code unknown or expired")
	}
	if g.used {
		n := s.revokeWhere(func(t *accessToken) bool { return t.requestID == g.requestID })
		s.log.Warn("oidc provider: authorization code replayed; tokens revoked", "tokens", n)
		return nil, errors.New("provider: code already used")
	}
	g.used = true
	r := s.requests[g.requestID]
	delete(s.requests, g.requestID)
	if r == nil || !r.done || r.code != code {
		return nil, errors.New("provider: code no longer valid")
	}
	cp := *r
	return &cp, nil
}

// SaveAuthCode records the code issued for a signed-in request. A request has at most one
// valid code: a new one replaces the previous one.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.prune(now)
	r := s.liveRequest(id)
	if r == nil || !r.done {
		return errUnknownRequest
	}
	if r.code != "" {
		delete(s.codes, r.code)
	}
	r.code = code
	g := &codeGrant{requestID: id, expires: now.Add(codeLifetime)}
	s.codes[code] = g
	r.expires = later(r.expires, g.expires)
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// DeleteAuthRequest forgets a request once its tokens are issued. Its code is kept, marked used,
// until it expires.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	return nil
}

// requestPending reports whether the login page may be shown for the auth request id.
func (s *storage) requestPending(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveRequest(id) != nil
}

// signIn checks a username and password for the auth request id and, if they match, marks the
// request signed in (dropping any code issued to an earlier sign-in). It returns the request's
// client id for logging, errUnknownRequest or errBadCredentials.
func (s *storage) signIn(id, username, password string) (clientID string, err error) {
	acct := s.byUsername[username]
	hash := s.dummy
	if acct != nil {
		hash = acct.password
	}
	ok := hash.matches(password) && acct != nil
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.liveRequest(id)
	if r == nil {
		return "", errUnknownRequest
	}
	if !ok {
		return r.clientID, errBadCredentials
	}
	if r.code != "" {
		delete(s.codes, r.code)
		r.code = ""
	}
	r.subject, r.authTime, r.done = acct.subject, s.now(), true
	return r.clientID, nil
}
