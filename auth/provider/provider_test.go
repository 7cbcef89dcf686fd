package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestSignInIssuesVerifiedIDToken(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	fl := newFlow()
	tok, raw := r.tokens(fl, "alice")

	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c struct {
		Sub      string   `json:"sub"`
		Username string   `json:"preferred_username"`
		Name     string   `json:"name"`
		Email    string   `json:"email"`
		Roles    []string `json:"vigil_roles"`
		Nonce    string   `json:"nonce"`
		Iat, Exp int64
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Sub != "u-alice" || c.Username != "alice" || c.Name != "Alice Nurse" || c.Email != "alice@example.test" {
		t.Errorf("claims = %+v", c)
	}
	if !slices.Equal(c.Roles, []string{"clinician", "admin"}) || c.Nonce != fl.nonce || idt.Nonce != fl.nonce {
		t.Errorf("roles %v, nonce %q; want [clinician admin], %q", c.Roles, c.Nonce, fl.nonce)
	}
	if idt.Issuer != f.issuer || !slices.Equal(idt.Audience, []string{clientA}) {
		t.Errorf("iss %q aud %v", idt.Issuer, idt.Audience)
	}
	info, err := r.userinfo(tok)
	if err != nil || info.Subject != "u-alice" || info.Email != "alice@example.test" {
		t.Fatalf("userinfo = %+v, %v", info, err)
	}
}

func TestUserWithoutRolesGetsEmptyArray(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RoleClaim = "" })
	r := f.rp(t, clientA, secretA, redirectA)
	_, raw := r.tokens(newFlow(), "bob")
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if roles, ok := c["roles"].([]any); !ok || len(roles) != 0 {
		t.Errorf("roles claim = %#v, want []", c["roles"])
	}
}

func TestDiscovery(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	var d struct {
		EndSession string   `json:"end_session_endpoint"`
		Methods    []string `json:"code_challenge_methods_supported"`
		Token      string   `json:"token_endpoint"`
		Auth       string   `json:"authorization_endpoint"`
		Claims     []string `json:"claims_supported"`
	}
	if err := r.provider.Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d.EndSession != f.issuer+"/end_session" || d.Token != f.issuer+"/oauth/token" || d.Auth != f.issuer+"/authorize" {
		t.Errorf("endpoints = %+v", d)
	}
	if !slices.Equal(d.Methods, []string{"S256"}) || !slices.Contains(d.Claims, roleClaim) {
		t.Errorf("code challenge methods %v, claims %v", d.Methods, d.Claims)
	}
}

func TestLoginPageStylesheet(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Stylesheet = "/static/css/vigil.0123456789.css" })
	r := f.rp(t, clientA, secretA, redirectA)
	_, page := r.get(r.authURL(newFlow()))
	assertContains(t, page, `<link rel="stylesheet" href="/static/css/vigil.0123456789.css">`)
}

func TestLoginPage(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	resp, page := r.get(r.authURL(newFlow()))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), f.issuer+"/login?") {
		t.Fatalf("login page at %s: %d", resp.Request.URL, resp.StatusCode)
	}
	assertContains(t, page, "<title>Vigil demo sign-in</title>", `<form method="post">`, `name="username"`,
		`name="password"`, `type="hidden" name="authRequestID"`, `<label for="username">`, `<label for="password">`,
		`<button type="submit" class="button button-primary">Sign in</button>`, "vigil-demo")
	if strings.Contains(page, "stylesheet") {
		t.Error("a login page without a configured stylesheet links one")
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "style=") {
		t.Error("login page has a script or a style attribute")
	}
	resp, page = r.get(f.issuer + "/login?authRequestID=unknown")
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(page, "<form") {
		t.Errorf("unknown auth request: %d\n%s", resp.StatusCode, page)
	}
}

func TestWrongPasswordKeepsRequestUsable(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	fl := newFlow()
	resp, page := r.get(r.authURL(fl))
	pageURL := resp.Request.URL
	for _, user := range []string{"alice", "nobody"} {
		resp, body := r.submitLogin(pageURL, page, user, wrongInput)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
			t.Fatalf("%s with wrong password: %d, location %q", user, resp.StatusCode, resp.Header.Get("Location"))
		}
		assertContains(t, body, "Unknown username or password.", `<form method="post">`)
		page = body
	}
	resp, body := r.submitLogin(pageURL, page, "alice", password)
	loc := redirectOf(t, resp, body)
	if loc.Query().Get("code") == "" || loc.Query().Get("state") != fl.state {
		t.Fatalf("after retry: redirect %s", loc)
	}
}

func TestCodeCanBeExchangedOnce(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	fl := newFlow()
	code := r.code(fl, "alice")
	tok, err := r.exchange(code, fl.verifier)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.exchange(code, fl.verifier)
	wantOAuthError(t, err, "invalid_grant")
	if _, err := r.userinfo(tok); err == nil {
		t.Error("access token from a replayed code still works")
	}
}

func TestPKCERequired(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	fl := newFlow()
	cases := map[string][]oauth2.AuthCodeOption{
		"missing": {oauth2.AccessTypeOnline},
		"plain": {oauth2.SetAuthURLParam("code_challenge", fl.verifier),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := r.get(r.authURL(fl, opts...))
			q := redirectOf(t, resp, body).Query()
			if q.Get("error") != "invalid_request" || q.Get("code") != "" || q.Get("state") != fl.state {
				t.Errorf("redirect query %v, want invalid_request", q)
			}
		})
	}
}

func TestWrongVerifierRefused(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	fl := newFlow()
	_, err := r.exchange(r.code(fl, "alice"), oauth2.GenerateVerifier())
	wantOAuthError(t, err, "invalid_grant")

	fl = newFlow()
	_, err = r.oauth.Exchange(context.Background(), r.code(fl, "alice"))
	wantOAuthError(t, err, "invalid_request")
}

func TestClientAndRedirectURIChecks(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	fl := newFlow()
	for name, edit := range map[string]func(*oauth2.Config){
		"unregistered redirect": func(c *oauth2.Config) { c.RedirectURL = redirectA + "/evil" },
		"other client's URI":    func(c *oauth2.Config) { c.RedirectURL = redirectB },
		"redirect with query":   func(c *oauth2.Config) { c.RedirectURL = redirectA + "?x=1" },
		"unknown client":        func(c *oauth2.Config) { c.ClientID = "nope" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := *r.oauth
			edit(&cfg)
			resp, err := r.browser.Get(cfg.AuthCodeURL(fl.state, oauth2.S256ChallengeOption(fl.verifier)))
			if err != nil {
				t.Fatal(err)
			}
			if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Path != "/oidc/authorize" {
				t.Errorf("got %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		code := r.code(fl, "alice")
		bad := *r.oauth
		bad.ClientSecret = wrongInput
		_, err := bad.Exchange(context.Background(), code, oauth2.VerifierOption(fl.verifier))
		wantOAuthError(t, err, "invalid_client")
	})
}

func TestTokenForOtherClientFailsAudienceCheck(t *testing.T) {
	f := newFixture(t, nil)
	a := f.rp(t, clientA, secretA, redirectA)
	b := f.rp(t, clientB, secretB, redirectB)
	_, raw := a.tokens(newFlow(), "alice")
	if _, err := b.verifier.Verify(context.Background(), raw); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("client B accepted client A's ID token: %v", err)
	}
	// Client B cannot redeem client A's code either.
	fl := newFlow()
	code := a.code(fl, "alice")
	_, err := b.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(fl.verifier))
	wantOAuthError(t, err, "invalid_grant")
}

func TestEndSessionRedirectsToPostLogoutURI(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	tok, raw := r.tokens(newFlow(), "alice")
	q := url.Values{"id_token_hint": {raw}, "client_id": {clientA}, "post_logout_redirect_uri": {logoutA}, "state": {"bye"}}
	resp, body := r.get(f.issuer + "/end_session?" + q.Encode())
	if loc := redirectOf(t, resp, body); loc.String() != logoutA+"?state=bye" {
		t.Errorf("logout redirect = %s", loc)
	}
	if _, err := r.userinfo(tok); err == nil {
		t.Error("access token still valid after logout")
	}
	q.Set("post_logout_redirect_uri", "https://evil.example.test/")
	if resp, body = r.get(f.issuer + "/end_session?" + q.Encode()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered post-logout URI: %d %s", resp.StatusCode, body)
	}
	resp, body = r.get(f.issuer + "/end_session")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Errorf("plain logout: %d %s", resp.StatusCode, body)
	}
}

func TestExpiredIDTokenRejected(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.IDTokenLifetime = 2 * time.Minute })
	r := f.rp(t, clientA, secretA, redirectA)
	_, raw := r.tokens(newFlow(), "alice")
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if life := idt.Expiry.Sub(idt.IssuedAt); life != 2*time.Minute {
		t.Errorf("ID token lifetime %v, want 2m", life)
	}
	later := r.provider.Verifier(&oidc.Config{ClientID: clientA, Now: func() time.Time { return time.Now().Add(3 * time.Minute) }})
	var expired *oidc.TokenExpiredError
	if _, err := later.Verify(context.Background(), raw); !errors.As(err, &expired) {
		t.Fatalf("want TokenExpiredError, got %v", err)
	}
}

func TestProviderClockExpiresCodesAndAccessTokens(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AccessTokenLifetime = time.Minute })
	r := f.rp(t, clientA, secretA, redirectA)
	fl := newFlow()
	code := r.code(fl, "alice")
	f.clock.advance(61 * time.Second)
	_, err := r.exchange(code, fl.verifier)
	wantOAuthError(t, err, "invalid_grant")

	tok, _ := r.tokens(newFlow(), "alice")
	if _, err := r.userinfo(tok); err != nil {
		t.Fatalf("fresh access token: %v", err)
	}
	f.clock.advance(2 * time.Minute)
	if _, err := r.userinfo(tok); err == nil {
		t.Error("expired access token accepted at userinfo")
	}
}

func TestConcurrentSignIns(t *testing.T) {
	f := newFixture(t, nil)
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				r := f.rp(t, clientA, secretA, redirectA)
				_, raw := r.tokens(newFlow(), []string{"alice", "bob"}[i%2])
				if _, err := r.verifier.Verify(context.Background(), raw); err != nil {
					t.Errorf("verify: %v", err)
				}
			})
		}
	})
}

func TestNewValidatesConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		ok   bool
	}{
		"https issuer":            {func(c *Config) { c.Issuer = "https://idp.example.test/oidc" }, true},
		"http localhost":          {func(c *Config) { c.Issuer = "http://localhost:8080/oidc" }, true},
		"http ::1":                {func(c *Config) { c.Issuer = "http://[::1]:8080/oidc" }, true},
		"http non-loopback":       {func(c *Config) { c.Issuer = "http://idp.example.test/oidc" }, false},
		"relative issuer":         {func(c *Config) { c.Issuer = "/oidc" }, false},
		"issuer with query":       {func(c *Config) { c.Issuer = "http://127.0.0.1/oidc?x=1" }, false},
		"standard role claim":     {func(c *Config) { c.RoleClaim = "email" }, false},
		"dotted role claim":       {func(c *Config) { c.RoleClaim = "realm_access.roles" }, false},
		"no users":                {func(c *Config) { c.Users = nil }, false},
		"duplicate username":      {func(c *Config) { c.Users[1].Username = "alice" }, false},
		"user without password":   {func(c *Config) { c.Users[0].Password = "" }, false},
		"client without secret":   {func(c *Config) { c.Clients[0].Secret = "" }, false},
		"relative redirect URI":   {func(c *Config) { c.Clients[0].RedirectURIs = []string{"/cb"} }, false},
		"duplicate client":        {func(c *Config) { c.Clients[1].ID = clientA }, false},
		"custom scheme post-auth": {func(c *Config) { c.Clients[0].PostLogoutRedirectURIs = []string{"app://x"} }, false},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Issuer = "http://127.0.0.1:8080/oidc"
			tc.edit(&cfg)
			if _, err := New(cfg); (err == nil) != tc.ok {
				t.Errorf("New: err = %v, want ok = %v", err, tc.ok)
			}
		})
	}
}

// TestIDTokenIsRS256 checks the header of the signed ID token.
func TestIDTokenIsRS256(t *testing.T) {
	f := newFixture(t, nil)
	r := f.rp(t, clientA, secretA, redirectA)
	_, raw := r.tokens(newFlow(), "alice")
	var hdr struct{ Alg, Kid string }
	if err := json.Unmarshal(decodeSegment(t, strings.Split(raw, ".")[0]), &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.Alg != "RS256" || hdr.Kid == "" {
		t.Errorf("header = %+v", hdr)
	}
}
