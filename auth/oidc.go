package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-rpm/vigil/rpm"
)

// RelyingPartyConfig configures sign-in with an OpenID Connect provider.
type RelyingPartyConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is Vigil's callback, e.g. https://vigil.example.org/auth/callback.
	RedirectURL string
	// PostLogoutURL is where the provider sends the browser after RP-initiated logout.
	PostLogoutURL string
	// RoleClaim names the ID-token claim holding the user's roles; a dotted path reaches into
	// nested claims (Keycloak: "realm_access.roles").
	RoleClaim string
	// HTTPClient talks to the provider; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// RelyingParty signs users in with an OpenID Connect provider. It discovers the provider on first
// use (and again after a failure), so Vigil starts even while the provider is briefly away.
type RelyingParty struct {
	cfg RelyingPartyConfig

	mu         sync.Mutex
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      *oauth2.Config
	endSession string
}

// NewRelyingParty returns a relying party for cfg.
func NewRelyingParty(cfg RelyingPartyConfig) *RelyingParty {
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "roles"
	}
	return &RelyingParty{cfg: cfg}
}

func (rp *RelyingParty) withClient(ctx context.Context) context.Context {
	if rp.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, rp.cfg.HTTPClient)
	}
	return ctx
}

// discover fetches the provider's configuration once.
func (rp *RelyingParty) discover(ctx context.Context) error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.provider != nil {
		return nil
	}
	p, err := oidc.NewProvider(rp.withClient(ctx), rp.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("auth: discover OpenID provider: %w", err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	rp.provider, rp.endSession = p, extra.EndSession
	rp.verifier = p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID})
	rp.oauth = &oauth2.Config{
		ClientID: rp.cfg.ClientID, ClientSecret: rp.cfg.ClientSecret, RedirectURL: rp.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
	return nil
}

// Challenge is what a sign-in must remember between the redirect to the provider and the callback.
type Challenge struct {
	State, Nonce, Verifier string
}

// NewChallenge returns fresh random state, nonce and PKCE verifier.
func NewChallenge() Challenge {
	return Challenge{State: randomToken(24), Nonce: randomToken(24), Verifier: oauth2.GenerateVerifier()}
}

// AuthURL is the provider's sign-in address for a challenge (PKCE S256).
func (rp *RelyingParty) AuthURL(ctx context.Context, ch Challenge) (string, error) {
	if err := rp.discover(ctx); err != nil {
		return "", err
	}
	return rp.oauth.AuthCodeURL(ch.State, oidc.Nonce(ch.Nonce), oauth2.S256ChallengeOption(ch.Verifier)), nil
}

// ErrSignIn is returned (wrapped) when a sign-in callback must be refused: wrong state or nonce, a
// code the provider will not exchange, an ID token that fails verification.
var ErrSignIn = errors.New("auth: sign-in refused")

// Identity is what a verified ID token says about the user.
type Identity struct {
	User       rpm.User
	RawIDToken string
}

// Finish completes a sign-in: it checks the returned state against the challenge, exchanges the
// code (with the PKCE verifier), verifies the ID token (signature, issuer, audience, expiry) and its
// nonce, and reads the user's identity and roles.
func (rp *RelyingParty) Finish(ctx context.Context, ch Challenge, state, code string) (Identity, error) {
	if !equal(ch.State, state) {
		return Identity{}, fmt.Errorf("%w: state does not match", ErrSignIn)
	}
	if err := rp.discover(ctx); err != nil {
		return Identity{}, err
	}
	tok, err := rp.oauth.Exchange(rp.withClient(ctx), code, oauth2.VerifierOption(ch.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: code exchange: %v", ErrSignIn, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return Identity{}, fmt.Errorf("%w: no ID token", ErrSignIn)
	}
	idt, err := rp.verifier.Verify(rp.withClient(ctx), raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: ID token: %v", ErrSignIn, err)
	}
	if !equal(ch.Nonce, idt.Nonce) {
		return Identity{}, fmt.Errorf("%w: nonce does not match", ErrSignIn)
	}
	u, err := rp.userFromToken(idt)
	if err != nil {
		return Identity{}, err
	}
	return Identity{User: u, RawIDToken: raw}, nil
}

func (rp *RelyingParty) userFromToken(idt *oidc.IDToken) (rpm.User, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return rpm.User{}, fmt.Errorf("%w: claims: %v", ErrSignIn, err)
	}
	str := func(name string) string { s, _ := claims[name].(string); return s }
	u := rpm.User{
		Issuer: idt.Issuer, Subject: idt.Subject,
		Username: str("preferred_username"), DisplayName: str("name"), Email: str("email"),
		Roles: MapRoles(claimStrings(claims, rp.cfg.RoleClaim)),
	}
	if u.Username == "" {
		u.Username = firstNonEmpty(u.Email, idt.Subject)
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	return u, nil
}

// claimStrings reads a claim at a dotted path as a list of strings (an array, or one string of
// space-separated values).
func claimStrings(claims map[string]any, path string) []string {
	var v any = claims
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// LogoutURL is the provider's RP-initiated logout address for a user's ID token, or "" when the
// provider offers none (the local sign-out alone then applies).
func (rp *RelyingParty) LogoutURL(ctx context.Context, rawIDToken string) string {
	if rp.discover(ctx) != nil || rp.endSession == "" {
		return ""
	}
	q := url.Values{"client_id": {rp.cfg.ClientID}}
	if rawIDToken != "" {
		q.Set("id_token_hint", rawIDToken)
	}
	if rp.cfg.PostLogoutURL != "" {
		q.Set("post_logout_redirect_uri", rp.cfg.PostLogoutURL)
	}
	sep := "?"
	if strings.Contains(rp.endSession, "?") {
		sep = "&"
	}
	return rp.endSession + sep + q.Encode()
}
