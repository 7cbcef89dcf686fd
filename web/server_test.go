package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/handlers"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/static"
	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// secret stands for what an internal error can carry: SQL, a patient's name, an MRN.
const secret = "Rivera H1000001 SELECT * FROM patients"

// newTestServer builds the real server on a real database, logging into the returned buffer.
func newTestServer(t *testing.T, secure bool, trusted ...*net.IPNet) (*Server, *bytes.Buffer) {
	t.Helper()
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := storetest.New(t)
	sessions := auth.NewSessions(st, auth.SessionConfig{Secure: secure}, log)
	rp := auth.NewRelyingParty(auth.RelyingPartyConfig{Issuer: "https://login.invalid", ClientID: "vigil"})
	h := handlers.New(st, handlers.Options{Sessions: sessions, RelyingParty: rp, AssetURL: assets.URL, Modules: assets.ImportMap(), Log: log})
	return New(Config{Handlers: h, Sessions: sessions, Assets: assets, Log: log, Secure: secure, TrustedProxies: trusted}), &logs
}

func get(s *Server, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestErrorHandlerNeverLeaksTheCause(t *testing.T) {
	s, logs := newTestServer(t, false)
	failures := map[string]struct {
		handler    echo.HandlerFunc
		status     int
		causeInLog bool
	}{
		"plain": {func(echo.Context) error { return fmt.Errorf("query failed: %s", secret) }, 500, true},
		"wrapped safe error": {func(echo.Context) error {
			return &rpm.Error{Code: rpm.ENotFound, Message: "No such patient.", Cause: errors.New(secret)}
		}, 404, false},
		"unavailable": {func(echo.Context) error {
			return &rpm.Error{Code: rpm.EUnavailable, Message: secret, Cause: errors.New(secret)}
		}, 503, true},
		"http error": {func(echo.Context) error {
			return echo.NewHTTPError(http.StatusBadRequest, secret).SetInternal(errors.New(secret))
		}, 400, false},
		"panic": {func(echo.Context) error { panic(secret) }, 500, true},
	}
	for name, f := range failures {
		route := "/fail/" + strings.ReplaceAll(name, " ", "-")
		s.echo.GET(route, f.handler)
		s.echo.GET("/api"+route, f.handler)
		for _, path := range []string{route, "/api" + route} {
			t.Run(path, func(t *testing.T) {
				logs.Reset()
				rec := get(s, path)
				body := rec.Body.String()
				if rec.Code != f.status {
					t.Errorf("status %d, want %d", rec.Code, f.status)
				}
				if strings.Contains(body, "Rivera") || strings.Contains(body, "SELECT") {
					t.Errorf("response leaks the internal error:\n%s", body)
				}
				id := rec.Header().Get("X-Request-Id")
				if id == "" || !strings.Contains(body, id) {
					t.Errorf("response does not show the request id %q", id)
				}
				if f.causeInLog && !strings.Contains(logs.String(), id) {
					t.Errorf("log lacks the request id %q:\n%s", id, logs)
				}
				if f.causeInLog && !strings.Contains(logs.String(), "H1000001") {
					t.Errorf("log lacks the cause:\n%s", logs)
				}
				if strings.HasPrefix(path, "/api/") {
					var e errorBody
					if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Message == "" || e.RequestID != id {
						t.Errorf("JSON error body %q (%v)", body, err)
					}
				} else if !strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
					t.Errorf("a page request got %s", rec.Header().Get("Content-Type"))
				}
			})
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s, _ := newTestServer(t, secure)
		rec := get(s, "/")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET / = %d", rec.Code)
		}
		h := rec.Header()
		for _, directive := range []string{"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"} {
			if !strings.Contains(h.Get("Content-Security-Policy"), directive) {
				t.Errorf("CSP %q lacks %s", h.Get("Content-Security-Policy"), directive)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("missing nosniff or Referrer-Policy: %v", h)
		}
		if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != secure {
			t.Errorf("secure=%v: HSTS = %q", secure, hsts)
		}
	}
}

// TestEachResponseHasItsOwnCSPNonce: the CSP allows inline script only with a nonce that is new
// for every response, and the views find that nonce in the request's context.
func TestEachResponseHasItsOwnCSPNonce(t *testing.T) {
	s, _ := newTestServer(t, false)
	s.echo.GET("/nonce", func(c echo.Context) error { return c.String(http.StatusOK, templ.GetNonce(c.Request().Context())) })
	nonce := regexp.MustCompile(`script-src 'self' 'nonce-([A-Za-z0-9+/]{22}==)';`)
	seen := map[string]bool{}
	for range 3 {
		rec := get(s, "/nonce")
		csp := rec.Header().Get("Content-Security-Policy")
		m := nonce.FindStringSubmatch(csp)
		if m == nil || strings.Contains(csp, "unsafe") {
			t.Fatalf("CSP %q: want script-src 'self' and one nonce, nothing unsafe", csp)
		}
		if rec.Body.String() != m[1] {
			t.Errorf("the views got nonce %q, the CSP says %q", rec.Body.String(), m[1])
		}
		if seen[m[1]] {
			t.Errorf("nonce %q used twice", m[1])
		}
		seen[m[1]] = true
	}
}

func TestRequestIDs(t *testing.T) {
	s, _ := newTestServer(t, false)
	if got := get(s, "/healthz", "X-Request-Id", "lb-0123456789").Header().Get("X-Request-Id"); got != "lb-0123456789" {
		t.Errorf("a proxy's well-formed id was replaced by %q", got)
	}
	got := get(s, "/healthz", "X-Request-Id", "evil\nlog line").Header().Get("X-Request-Id")
	if got == "" || strings.Contains(got, "evil") {
		t.Errorf("a malformed id was kept: %q", got)
	}
	a, b := get(s, "/healthz").Header().Get("X-Request-Id"), get(s, "/healthz").Header().Get("X-Request-Id")
	if a == "" || a == b {
		t.Errorf("request ids %q and %q", a, b)
	}
}

// TestRequestLogsHoldNoPatientData: a log line names the route, not the URL with its query.
func TestRequestLogsHoldNoPatientData(t *testing.T) {
	s, logs := newTestServer(t, false)
	get(s, "/?search=Rivera&mrn=H1000001")
	get(s, "/no/such/page/Rivera")
	if strings.Contains(logs.String(), "Rivera") || strings.Contains(logs.String(), "H1000001") {
		t.Errorf("request log holds what the URL held:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"route":"/"`) || !strings.Contains(logs.String(), `"route":"unmatched"`) {
		t.Errorf("request log lacks the routes:\n%s", logs)
	}
}

func TestMetricsAndAssets(t *testing.T) {
	s, _ := newTestServer(t, false)
	page := get(s, "/").Body.String()
	i := strings.Index(page, "/static/css/vigil.")
	if i < 0 {
		t.Fatalf("the page links no hashed stylesheet:\n%s", page)
	}
	href := page[i : i+strings.Index(page[i:], `"`)]
	rec := get(s, href)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s = %d, Cache-Control %q", href, rec.Code, rec.Header().Get("Cache-Control"))
	}
	metrics := get(s, "/metrics")
	if !strings.HasPrefix(metrics.Header().Get("Content-Type"), "text/plain") ||
		!strings.Contains(metrics.Body.String(), `vigil_http_requests_total{method="GET",route="/",status="200"} 1`) {
		t.Errorf("metrics:\n%s", metrics.Body)
	}
}

// TestClientAddress: X-Forwarded-For is believed only from a configured proxy.
func TestClientAddress(t *testing.T) {
	_, proxies, _ := net.ParseCIDR("192.0.2.0/24") // httptest requests come from 192.0.2.1
	for _, tc := range []struct {
		trusted []*net.IPNet
		want    string
	}{{nil, `"remote":"192.0.2.1"`}, {[]*net.IPNet{proxies}, `"remote":"203.0.113.9"`}} {
		s, logs := newTestServer(t, false, tc.trusted...)
		get(s, "/", "X-Forwarded-For", "203.0.113.9")
		if !strings.Contains(logs.String(), tc.want) {
			t.Errorf("trusted %v: log lacks %s:\n%s", tc.trusted, tc.want, logs)
		}
	}
}

// TestFavicon: every page links the icon, and the address browsers ask for regardless leads to it.
func TestFavicon(t *testing.T) {
	s, _ := newTestServer(t, false)
	page := get(s, "/")
	m := regexp.MustCompile(`<link rel="icon" href="([^"]+)" type="image/svg\+xml">`).FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatal("the page links no icon")
	}
	if rec := get(s, "/favicon.ico"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != m[1] {
		t.Errorf("/favicon.ico: %d to %q, want the linked icon %q", rec.Code, rec.Header().Get("Location"), m[1])
	}
	if rec := get(s, m[1]); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("the icon: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}
