package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/vigil-rpm/vigil/auth/provider"
	"github.com/vigil-rpm/vigil/rpm"
)

const callbackURL = "http://127.0.0.1:1/auth/callback"

// newProvider runs the built-in provider with one clinician and two clients, and returns a
// relying party for client "vigil".
func newProvider(t *testing.T) (*RelyingParty, string) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	issuer := srv.URL + "/oidc"
	p, err := provider.New(provider.Config{
		Issuer: issuer,
		Users: []provider.User{{Subject: "s-kim", Username: "nurse.kim", Password: "pw", Name: "Jisoo Kim",
			Email: "kim@example.test", Roles: []string{"vigil-clinician", "unrelated"}}},
		Clients: []provider.Client{
			{ID: "vigil", Secret: "s1", RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:1/"}},
			{ID: "other", Secret: "s2", RedirectURIs: []string{callbackURL}},
		},
		RoleClaim: "groups",
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/oidc/", http.StripPrefix("/oidc", p))
	return NewRelyingParty(RelyingPartyConfig{Issuer: issuer, ClientID: "vigil", ClientSecret: "s1",
		RedirectURL: callbackURL, PostLogoutURL: "http://127.0.0.1:1/", RoleClaim: "groups"}), issuer
}

var authRequestID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// login signs in at the provider with a browser and returns the code and state it sends back.
func login(t *testing.T, authURL string) (code, state string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var back *url.URL
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), callbackURL) {
			back = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(resp)
	m := authRequestID.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no login form:\n%s", page)
	}
	resp, err = browser.PostForm(resp.Request.URL.String(), url.Values{"authRequestID": {m[1]}, "username": {"nurse.kim"}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if back == nil {
		t.Fatal("the provider did not send the browser back")
	}
	return back.Query().Get("code"), back.Query().Get("state")
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestSignInThroughTheProvider(t *testing.T) {
	ctx := context.Background()
	rp, issuer := newProvider(t)
	ch := NewChallenge()
	authURL, err := rp.AuthURL(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(authURL, "code_challenge_method=S256") || !strings.Contains(authURL, "nonce=") {
		t.Errorf("authorization URL lacks PKCE or nonce: %s", authURL)
	}
	code, state := login(t, authURL)
	id, err := rp.Finish(ctx, ch, state, code)
	if err != nil {
		t.Fatal(err)
	}
	want := rpm.User{Issuer: issuer, Subject: "s-kim", Username: "nurse.kim", DisplayName: "Jisoo Kim",
		Email: "kim@example.test", Roles: []rpm.Role{rpm.RoleClinician}}
	if got := id.User; got.Issuer != want.Issuer || got.Subject != want.Subject || got.Username != want.Username ||
		got.DisplayName != want.DisplayName || got.Email != want.Email || len(got.Roles) != 1 || got.Roles[0] != rpm.RoleClinician {
		t.Errorf("identity = %+v, want %+v", got, want)
	}
	logout := rp.LogoutURL(ctx, id.RawIDToken)
	if !strings.Contains(logout, "id_token_hint=") || !strings.Contains(logout, "post_logout_redirect_uri=") {
		t.Errorf("logout URL %s", logout)
	}
}

func TestSignInRefusals(t *testing.T) {
	ctx := context.Background()
	rp, issuer := newProvider(t)
	start := func() (Challenge, string, string) {
		ch := NewChallenge()
		authURL, err := rp.AuthURL(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		code, state := login(t, authURL)
		return ch, code, state
	}

	t.Run("wrong state", func(t *testing.T) {
		ch, code, _ := start()
		if _, err := rp.Finish(ctx, ch, "forged", code); !errors.Is(err, ErrSignIn) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("wrong nonce", func(t *testing.T) {
		ch, code, state := start()
		ch.Nonce = "another sign-in's nonce"
		if _, err := rp.Finish(ctx, ch, state, code); !errors.Is(err, ErrSignIn) || !strings.Contains(err.Error(), "nonce") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		ch, code, state := start()
		ch.Verifier = NewChallenge().Verifier
		if _, err := rp.Finish(ctx, ch, state, code); !errors.Is(err, ErrSignIn) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("replayed code", func(t *testing.T) {
		ch, code, state := start()
		if _, err := rp.Finish(ctx, ch, state, code); err != nil {
			t.Fatal(err)
		}
		if _, err := rp.Finish(ctx, ch, state, code); !errors.Is(err, ErrSignIn) {
			t.Errorf("second use: err = %v", err)
		}
	})
	t.Run("token for another audience", func(t *testing.T) {
		ch, code, state := start()
		p, err := oidc.NewProvider(ctx, issuer)
		if err != nil {
			t.Fatal(err)
		}
		saved := rp.verifier
		rp.verifier = p.Verifier(&oidc.Config{ClientID: "other"})
		defer func() { rp.verifier = saved }()
		if _, err := rp.Finish(ctx, ch, state, code); !errors.Is(err, ErrSignIn) || !strings.Contains(err.Error(), "audience") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("expired ID token", func(t *testing.T) {
		ch, code, state := start()
		p, err := oidc.NewProvider(ctx, issuer)
		if err != nil {
			t.Fatal(err)
		}
		saved := rp.verifier
		rp.verifier = p.Verifier(&oidc.Config{ClientID: "vigil", Now: func() time.Time { return time.Now().Add(time.Hour) }})
		defer func() { rp.verifier = saved }()
		if _, err := rp.Finish(ctx, ch, state, code); !errors.Is(err, ErrSignIn) || !strings.Contains(err.Error(), "expired") {
			t.Errorf("err = %v", err)
		}
	})
}
