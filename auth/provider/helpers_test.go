package provider

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	password   = "vigil-demo"
	roleClaim  = "vigil_roles"
	redirectA  = "https://vigil.example.test/auth/callback"
	logoutA    = "https://vigil.example.test/auth/signed-out"
	redirectB  = "http://127.0.0.1:9/other/callback"
	clientA    = "vigil"
	secretA    = "vigil-client-secret"
	clientB    = "other-app"
	secretB    = "other-client-secret"
	wrongInput = "not-it"
)

// clock is a provider clock that tests can move forward.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// fixture is a provider mounted at /oidc of a test server.
type fixture struct {
	issuer string
	clock  *clock
}

func testConfig() Config {
	return Config{
		Users: []User{
			{Subject: "u-alice", Username: "alice", Password: password, Name: "Alice Nurse",
				Email: "alice@example.test", Roles: []string{"clinician", "admin"}},
			{Subject: "u-bob", Username: "bob", Password: password, Name: "Bob Patient", Email: "bob@example.test"},
		},
		Clients: []Client{
			{ID: clientA, Secret: secretA, RedirectURIs: []string{redirectA}, PostLogoutRedirectURIs: []string{logoutA}},
			{ID: clientB, Secret: secretB, RedirectURIs: []string{redirectB}},
		},
		RoleClaim: roleClaim,
	}
}

// newFixture starts a provider; edit may change its configuration (the issuer is set after).
func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := &fixture{issuer: srv.URL + "/oidc", clock: &clock{}}
	cfg := testConfig()
	cfg.Now = f.clock.now
	if edit != nil {
		edit(&cfg)
	}
	cfg.Issuer = f.issuer
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux.Handle("/oidc/", http.StripPrefix("/oidc", p))
	return f
}

// rp is a relying party of the fixture, as Vigil would be, plus its user's browser.
type rp struct {
	t        *testing.T
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	browser  *http.Client
}

func (f *fixture) rp(t *testing.T, clientID, secret, redirect string) *rp {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), f.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	endpoint := p.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rp{
		t: t, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		oauth: &oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Endpoint: endpoint,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
		browser: &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: stopAtClient},
	}
}

// stopAtClient lets the browser follow redirects within the provider and stops at any of the
// clients' registered URIs, returning that redirect as the response.
func stopAtClient(req *http.Request, _ []*http.Request) error {
	u := *req.URL
	u.RawQuery = ""
	switch u.String() {
	case redirectA, logoutA, redirectB:
		return http.ErrUseLastResponse
	}
	return nil
}

// flow is one sign-in attempt: its PKCE verifier, state and nonce.
type flow struct {
	verifier, state, nonce string
}

func newFlow() flow {
	return flow{verifier: oauth2.GenerateVerifier(), state: "state-" + oauth2.GenerateVerifier()[:8],
		nonce: "nonce-" + oauth2.GenerateVerifier()[:8]}
}

// authURL is the authorization URL with PKCE S256 unless opts replace it.
func (r *rp) authURL(fl flow, opts ...oauth2.AuthCodeOption) string {
	if opts == nil {
		opts = []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(fl.verifier)}
	}
	return r.oauth.AuthCodeURL(fl.state, append(opts, oidc.Nonce(fl.nonce))...)
}

func (r *rp) get(rawURL string) (*http.Response, string) {
	r.t.Helper()
	resp, err := r.browser.Get(rawURL)
	if err != nil {
		r.t.Fatalf("GET %s: %v", rawURL, err)
	}
	return resp, readBody(r.t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var hiddenID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// submitLogin posts the login form of page (served at pageURL) with the credentials.
func (r *rp) submitLogin(pageURL *url.URL, page, username, pass string) (*http.Response, string) {
	r.t.Helper()
	m := hiddenID.FindStringSubmatch(page)
	if m == nil {
		r.t.Fatalf("no auth request id in login page:\n%s", page)
	}
	form := url.Values{"authRequestID": {m[1]}, "username": {username}, "password": {pass}}
	resp, err := r.browser.PostForm(pageURL.String(), form)
	if err != nil {
		r.t.Fatalf("POST login: %v", err)
	}
	return resp, readBody(r.t, resp)
}

// signIn goes authorize → login form → POST and returns where the provider finally redirected.
func (r *rp) signIn(authURL, username, pass string) *url.URL {
	r.t.Helper()
	resp, page := r.get(authURL)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("login page: status %d: %s", resp.StatusCode, page)
	}
	resp, body := r.submitLogin(resp.Request.URL, page, username, pass)
	return redirectOf(r.t, resp, body)
}

func redirectOf(t *testing.T, resp *http.Response, body string) *url.URL {
	t.Helper()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("expected a redirect to the client, got %d: %s", resp.StatusCode, body)
	}
	return loc
}

// code signs in with PKCE S256 and returns the code after checking the state.
func (r *rp) code(fl flow, username string) string {
	r.t.Helper()
	loc := r.signIn(r.authURL(fl), username, password)
	q := loc.Query()
	if q.Get("code") == "" || q.Get("state") != fl.state {
		r.t.Fatalf("redirect %s: want code and state %q", loc, fl.state)
	}
	return q.Get("code")
}

func (r *rp) exchange(code, verifier string) (*oauth2.Token, error) {
	return r.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
}

// tokens signs in and exchanges the code; it returns the token and the verified ID token.
func (r *rp) tokens(fl flow, username string) (*oauth2.Token, string) {
	r.t.Helper()
	tok, err := r.exchange(r.code(fl, username), fl.verifier)
	if err != nil {
		r.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		r.t.Fatal("no id_token in token response")
	}
	return tok, raw
}

func wantOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Fatalf("want OAuth error %q, got %v", code, err)
	}
}

func (r *rp) userinfo(tok *oauth2.Token) (*oidc.UserInfo, error) {
	return r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
}

func assertContains(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("body lacks %q:\n%s", p, body)
		}
	}
}

func decodeSegment(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
