// Package provider is Vigil's built-in OpenID Provider, used by `vigil demo` and by tests so that
// Vigil can sign users in without an external identity provider.
//
// It is built on zitadel/oidc's op package and serves, relative to its issuer URL: discovery
// (/.well-known/openid-configuration), the key set (/keys), /authorize, /oauth/token, /userinfo,
// RP-initiated logout (/end_session) and a plain HTML login page (/login). Only the authorization
// code flow with PKCE (S256) and confidential clients is supported. Everything is kept in memory:
// restarting the provider forgets every key, code and token.
//
// Mount it under the path of its issuer, e.g. for the issuer http://127.0.0.1:8080/oidc:
//
//	mux.Handle("/oidc/", http.StripPrefix("/oidc", p))
package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// defaultLifetime is the lifetime of access and ID tokens when Config leaves it zero.
const defaultLifetime = 5 * time.Minute

// User is an account of the provider. Subject is its stable, unique "sub" claim; Username (unique)
// and Password are what the login page asks for. Name, Email and Roles are asserted in ID tokens
// and at /userinfo. New keeps only a SHA-256 hash of Password and compares it in constant time.
type User struct {
	Subject, Username, Password, Name, Email string
	Roles                                    []string
}

// Client is a relying party registered with the provider: a confidential client (it authenticates
// to the token endpoint with HTTP Basic ID and Secret) that uses the authorization code flow with
// PKCE. A redirect_uri or post_logout_redirect_uri must equal one of the registered URIs exactly.
type Client struct {
	ID, Secret                           string
	RedirectURIs, PostLogoutRedirectURIs []string
}

// Config configures a Provider.
type Config struct {
	// Issuer is the provider's absolute URL, e.g. http://127.0.0.1:8080/oidc. It must use https,
	// except on a loopback host (127.0.0.1, ::1, localhost), where http is allowed.
	Issuer string
	// Users are the accounts that may sign in; at least one is required.
	Users []User
	// Clients are the registered relying parties; at least one is required.
	Clients []Client
	// RoleClaim names the ID-token (and userinfo) claim that carries a user's Roles as a JSON
	// array of strings; "" means "roles". It may not contain a dot or name a standard claim.
	RoleClaim string
	// Log receives sign-in and security events; nil discards them. Passwords, codes and tokens
	// are never logged. (zitadel/oidc's own error logs go to slog.Default.)
	Log *slog.Logger
	// Stylesheet is the URL of a stylesheet for the login page (Vigil passes its own); empty for none.
	Stylesheet string
	// Now is the provider's clock; nil means time.Now. It decides when auth requests, codes and
	// access tokens expire, so tests can expire them. The iat and exp of ID tokens are stamped
	// by zitadel/oidc from the system clock; relying parties check their expiry.
	Now func() time.Time
	// AccessTokenLifetime and IDTokenLifetime default to 5 minutes when zero.
	AccessTokenLifetime, IDTokenLifetime time.Duration
}

// Provider is a running OpenID Provider. It is an http.Handler serving every endpoint relative
// to the issuer's path; it is safe for concurrent use.
type Provider struct {
	mux *http.ServeMux
}

// New validates cfg and returns a provider with a fresh RSA-2048 signing key and a fresh 32-byte
// key for encrypting codes and access tokens, so nothing it issued survives a restart.
func New(cfg Config) (*Provider, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	insecure, err := checkIssuer(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	store, err := newStorage(cfg)
	if err != nil {
		return nil, err
	}
	opts := []op.Option{op.WithCORSOptions(nil)} // relying parties call the provider server-side
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	handler, err := op.NewProvider(opConfig(cfg), store, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	return &Provider{mux: routes(cfg, store, handler)}, nil
}

// routes serves the login and signed-out pages itself and everything else through op.
func routes(cfg Config, store *storage, handler *op.Provider) *http.ServeMux {
	callback := op.AuthCallbackURL(handler)
	l := &login{store: store, log: cfg.Log, stylesheet: cfg.Stylesheet, callback: func(id string) string {
		return callback(op.ContextWithIssuer(context.Background(), cfg.Issuer), id)
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, l.show)
	mux.HandleFunc("POST "+loginPath, l.submit)
	mux.HandleFunc("GET "+loggedOutPath, l.showLoggedOut)
	mux.Handle("/", handler)
	return mux
}

// ServeHTTP serves every endpoint of the provider. Paths are relative to the issuer: strip the
// issuer's path before calling it (http.StripPrefix).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mux.ServeHTTP(w, r)
}

func opConfig(cfg Config) *op.Config {
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:]) // never fails since Go 1.24
	return &op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              rand.Text(),
		DefaultLogoutRedirectURI: strings.TrimSuffix(cfg.Issuer, "/") + loggedOutPath,
		CodeMethodS256:           true,
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail},
		SupportedClaims:          append(slices.Clone(op.DefaultSupportedClaims), cfg.RoleClaim),
	}
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "roles"
	}
	if strings.Contains(cfg.RoleClaim, ".") || slices.Contains(reservedClaims, cfg.RoleClaim) {
		return cfg, fmt.Errorf("provider: role claim %q is a standard claim or contains a dot", cfg.RoleClaim)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccessTokenLifetime <= 0 {
		cfg.AccessTokenLifetime = defaultLifetime
	}
	if cfg.IDTokenLifetime <= 0 {
		cfg.IDTokenLifetime = defaultLifetime
	}
	if len(cfg.Users) == 0 || len(cfg.Clients) == 0 {
		return cfg, errors.New("provider: at least one user and one client are required")
	}
	return cfg, nil
}

// reservedClaims are claims the ID token already carries; a role claim of that name would be
// silently overwritten.
var reservedClaims = append(slices.Clone(op.DefaultSupportedClaims), "jti", "nbf", "sid", "address",
	"middle_name", "nickname", "profile", "picture", "website", "gender", "birthdate", "zoneinfo",
	"updated_at")

// checkIssuer validates the issuer URL and reports whether it is an http issuer on a loopback
// host, the only case in which op.WithAllowInsecure is used.
func checkIssuer(issuer string) (insecure bool, err error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return false, fmt.Errorf("provider: issuer %q is not an absolute URL without query or fragment", issuer)
	}
	switch u.Scheme {
	case "https":
		return false, nil
	case "http":
		if isLoopback(u.Hostname()) {
			return true, nil
		}
		return false, fmt.Errorf("provider: issuer %q: http is allowed only on a loopback host", issuer)
	}
	return false, fmt.Errorf("provider: issuer %q: scheme must be https", issuer)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
