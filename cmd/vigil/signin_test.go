package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEverDemoUserSignsIn signs each demo user in through the built-in provider — real redirects,
// real code exchange, a verified ID token — and checks where they land and what they may see.
func TestEveryDemoUserSignsIn(t *testing.T) {
	d := startDemo(t)
	landing := map[string]string{
		"admin": "/admin/teams", "nurse.kim": "/patients", "dr.osei": "/patients", "nurse.lee": "/patients",
		"dr.patel": "/patients", "pat.rivera": "/me",
	}
	seesPatients := map[string]int{"nurse.kim": 7, "dr.osei": 7, "nurse.lee": 7, "dr.patel": 1}
	for username, home := range landing {
		t.Run(username, func(t *testing.T) {
			b := d.browser(t)
			page := b.signIn(username, "vigil-demo")
			if page.status != http.StatusOK || page.url.Path != home {
				t.Fatalf("landed on %s (%d), want %s:\n%.400s", page.url, page.status, home, page.body)
			}
			if !strings.Contains(page.body, "Sign out") {
				t.Error("signed-in page offers no sign-out")
			}
			if want, ok := seesPatients[username]; ok {
				if got := strings.Count(page.body, `<a href="/patients/`); got != want {
					t.Errorf("%s sees %d patients, want %d", username, got, want)
				}
			}
			var signIns int
			d.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
				WHERE u.username = $1 AND a.action = 'session.sign_in' AND a.allowed`, username).Scan(&signIns)
			if signIns != 1 {
				t.Errorf("%d audited sign-ins", signIns)
			}
		})
	}
}

func TestWrongPasswordDoesNotSignIn(t *testing.T) {
	d := startDemo(t)
	b := d.browser(t)
	page := b.signIn("nurse.kim", "not-the-password")
	if page.status != http.StatusUnauthorized || strings.Contains(page.body, "Sign out") {
		t.Errorf("wrong password: %d at %s", page.status, page.url)
	}
	if got := b.get("/patients"); got.url.Path == "/patients" {
		t.Error("patients page reachable without signing in")
	}
}

// stopAtCallback makes the browser stop before following the provider's redirect to Vigil's
// callback, and returns that callback URL.
func (b *browser) signInUntilCallback(username string) *url.URL {
	b.t.Helper()
	var callback *url.URL
	b.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" {
			callback = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	defer func() { b.client.CheckRedirect = nil }()
	b.signIn(username, "vigil-demo")
	if callback == nil {
		b.t.Fatal("the provider never redirected to the callback")
	}
	return callback
}

func TestCallbackRefusals(t *testing.T) {
	d := startDemo(t)

	t.Run("wrong state", func(t *testing.T) {
		b := d.browser(t)
		cb := b.signInUntilCallback("nurse.kim")
		q := cb.Query()
		q.Set("state", "forged")
		cb.RawQuery = q.Encode()
		if page := b.get(cb.String()); page.status != http.StatusBadRequest || strings.Contains(page.body, "Sign out") {
			t.Errorf("forged state: %d", page.status)
		}
	})
	t.Run("replayed code", func(t *testing.T) {
		b := d.browser(t)
		cb := b.signInUntilCallback("nurse.kim")
		if page := b.get(cb.String()); page.url.Path != "/patients" {
			t.Fatalf("first use of the code: landed on %s", page.url)
		}
		// The same callback again, in another browser that started its own sign-in (so its state
		// matches): the provider refuses the used code.
		other := d.browser(t)
		otherCb := other.signInUntilCallback("nurse.lee")
		q := otherCb.Query()
		q.Set("code", cb.Query().Get("code"))
		otherCb.RawQuery = q.Encode()
		if page := other.get(otherCb.String()); page.status != http.StatusBadRequest {
			t.Errorf("replayed code: %d at %s", page.status, page.url)
		}
	})
	t.Run("callback without a sign-in under way", func(t *testing.T) {
		b := d.browser(t)
		cb := b.signInUntilCallback("nurse.kim")
		fresh := d.browser(t)
		if page := fresh.get(cb.String()); page.status != http.StatusBadRequest {
			t.Errorf("someone else's callback: %d", page.status)
		}
	})
}

func TestExpiredAndEndedSessions(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()

	b := d.browser(t)
	b.signIn("nurse.kim", "vigil-demo")
	if _, err := d.db.Exec(ctx, `UPDATE sessions SET expiry = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if page := b.get("/patients"); page.url.Path == "/patients" {
		t.Error("an expired session still shows the patient list")
	}

	lee := d.browser(t)
	lee.signIn("nurse.lee", "vigil-demo")
	admin := d.browser(t)
	users := admin.signIn("admin", "vigil-demo")
	users = admin.get("/admin/users")
	token := csrfToken(t, users.body)
	if page := admin.post("/admin/users/"+d.userID(t, "nurse.lee")+"/disable", url.Values{"_csrf": {token}}); page.status != http.StatusOK {
		t.Fatalf("disable: %d", page.status)
	}
	if page := lee.get("/patients"); page.url.Path == "/patients" {
		t.Error("a disabled user's session still works")
	}
	if page := d.browser(t).signIn("nurse.lee", "vigil-demo"); page.status != http.StatusForbidden {
		t.Errorf("a disabled user signed in again: %d", page.status)
	}

	out := d.browser(t)
	page := out.signIn("dr.osei", "vigil-demo")
	page = out.post("/signout", url.Values{"_csrf": {csrfToken(t, page.body)}})
	if page.status != http.StatusOK || page.url.Path != "/" {
		t.Errorf("sign-out ended at %s (%d)", page.url, page.status)
	}
	if page := out.get("/patients"); page.url.Path == "/patients" {
		t.Error("signed out, yet the patient list shows")
	}
}

// TestSignInReplacesTheSessionToken: a session token planted before sign-in is worthless after.
func TestSignInReplacesTheSessionToken(t *testing.T) {
	d := startDemo(t)
	b := d.browser(t)
	b.get("/signin") // starts a session to hold the challenge
	base := mustParse(t, d.base)
	before := sessionCookie(b, base)
	if before == "" {
		t.Fatal("no session cookie while signing in")
	}
	b.signIn("nurse.kim", "vigil-demo")
	after := sessionCookie(b, base)
	if after == "" || after == before {
		t.Errorf("session token before %q, after %q: not replaced at sign-in", before, after)
	}
	planted := d.browser(t)
	planted.client.Jar.SetCookies(base, []*http.Cookie{{Name: "vigil_session", Value: before, Path: "/"}})
	if page := planted.get("/patients"); page.url.Path == "/patients" {
		t.Error("the pre-sign-in token opens the signed-in session")
	}
}

func sessionCookie(b *browser, u *url.URL) string {
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "vigil_session" {
			return c.Value
		}
	}
	return ""
}
