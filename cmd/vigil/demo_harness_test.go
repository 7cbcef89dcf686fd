package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/net/html"

	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

// demoApp is the real demo wiring, on port 0, on a fresh database of its own.
type demoApp struct {
	base  string
	app   *app
	store *store.Store
	db    *pgx.Conn
	dbURL string
}

// startDemo starts the demo for one test, on a fresh database, and stops it when the test ends.
func startDemo(t *testing.T) *demoApp {
	t.Helper()
	return startDemoOn(t, storetest.URL(t))
}

// startDemoOn starts a demo instance on an existing database (a second instance shares it).
func startDemoOn(t *testing.T, url string) *demoApp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *demoApp, 1)
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, demoOptions{Addr: "127.0.0.1:0", DatabaseURL: url, Log: quiet, LiveRecheck: 200 * time.Millisecond,
			Ready: func(u string, a *app) { ready <- &demoApp{base: u, app: a} }}, io.Discard)
	}()
	var d *demoApp
	select {
	case d = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("demo stopped: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("demo did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	d.store = st
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	d.db, d.dbURL = conn, url
	return d
}

// browser is an HTTP client with its own cookies, like one person's browser.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func (d *demoApp) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: d.base, client: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// response is a finished request: final status, URL and body.
type response struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(path), nil)
	return b.do(req)
}

// post sends a form; redirects are followed as a browser would.
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) abs(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return b.base + path
}

// signIn goes through the whole OpenID Connect flow: Vigil → provider's login form → provider →
// Vigil's callback, and returns the page the user lands on.
func (b *browser) signIn(username, password string) response {
	b.t.Helper()
	login := b.get("/signin")
	if login.status != http.StatusOK {
		b.t.Fatalf("sign-in page: %d %s", login.status, login.body)
	}
	action, fields := parseForm(b.t, login.body)
	fields.Set("username", username)
	fields.Set("password", password)
	target := login.url.ResolveReference(mustParse(b.t, action))
	return b.post(target.String(), fields)
}

func mustParse(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// parseForm returns the first form's action and its hidden fields.
func parseForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	action, fields, found := "", url.Values{}, false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && !found {
			found = true
			action = attr(n, "action")
			var inputs func(*html.Node)
			inputs = func(m *html.Node) {
				if m.Type == html.ElementNode && m.Data == "input" && attr(m, "type") == "hidden" {
					fields.Set(attr(m, "name"), attr(m, "value"))
				}
				for c := m.FirstChild; c != nil; c = c.NextSibling {
					inputs(c)
				}
			}
			inputs(n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !found {
		t.Fatalf("no form on the page:\n%s", page)
	}
	return action, fields
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// csrfToken reads the token every page exposes in <meta name="csrf-token">.
func csrfToken(t *testing.T, page string) string {
	t.Helper()
	const marker = `<meta name="csrf-token" content="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no csrf-token meta tag")
	}
	rest := page[i+len(marker):]
	return rest[:strings.Index(rest, `"`)]
}

// id looks up one id with a query, failing the test if there is none.
func (d *demoApp) id(t *testing.T, query string, args ...any) string {
	t.Helper()
	var id string
	if err := d.db.QueryRow(context.Background(), query, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return id
}

func (d *demoApp) patientID(t *testing.T, mrn string) string {
	return d.id(t, "SELECT id FROM patients WHERE mrn = $1", mrn)
}

func (d *demoApp) userID(t *testing.T, username string) string {
	return d.id(t, "SELECT id FROM users WHERE username = $1", username)
}

func storeURL(t *testing.T) string { return storetest.URL(t) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}
