package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/vigil-rpm/vigil/rpm"
)

func renderString(t *testing.T, ctx context.Context, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestLayoutCarriesThePageContext(t *testing.T) {
	ctx := WithPage(context.Background(), Page{
		Asset:     func(name string) string { return "/static/hashed/" + name },
		CSRFToken: "tok-123",
		Demo:      true,
		Path:      "/",
	})
	html := renderString(t, ctx, Landing(LandingPage{Accounts: []DemoAccount{{Username: "nurse.kim", Role: "Clinician", Sees: "cardiology"}}}))
	for _, want := range []string{
		`<meta name="csrf-token" content="tok-123">`,
		`href="/static/hashed/css/vigil.css"`,
		`src="/static/hashed/vendor/htmx/htmx.min.js"`,
		`<a href="/" aria-current="page">Home</a>`,
		"Demo mode",
		"<code>nurse.kim</code>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	plain := renderString(t, WithPage(context.Background(), Page{Path: "/elsewhere"}), Landing(LandingPage{}))
	if strings.Contains(plain, "Demo mode") || strings.Contains(plain, "Demo accounts") || strings.Contains(plain, `aria-current`) {
		t.Error("a non-demo page shows demo content or marks the wrong navigation entry")
	}
}

// TestLayoutLoadsTheLiveModules: a signed-in viewer's pages publish the modules' import map in an
// inline script that carries the request's CSP nonce, before the entry module, which is loaded by
// its hashed URL; a visitor's pages load no module.
func TestLayoutLoadsTheLiveModules(t *testing.T) {
	modules := map[string]string{"/static/js/live/format.js": "/static/js/live/format.0123456789.js"}
	ctx := templ.WithNonce(WithPage(context.Background(), Page{
		Asset:   func(name string) string { return "/static/hashed/" + name },
		Modules: modules,
		Viewer:  &Viewer{Name: "Jisoo Kim", Roles: []rpm.Role{rpm.RoleClinician}},
	}), "n0nce")
	html := renderString(t, ctx, Landing(LandingPage{}))
	importMap := `<script type="importmap" nonce="n0nce">{"imports":{"/static/js/live/format.js":"/static/js/live/format.0123456789.js"}}`
	entry := `<script type="module" src="/static/hashed/js/live/main.js"></script>`
	at, entryAt := strings.Index(html, importMap), strings.Index(html, entry)
	if at < 0 || entryAt < 0 || entryAt < at {
		t.Errorf("the page lacks the import map with the nonce, then the entry module:\n%s", html)
	}
	if strings.Count(html, "<script") != strings.Count(html, "<script src=")+2 {
		t.Errorf("an inline script other than the import map:\n%s", html)
	}
	visitor := renderString(t, WithPage(context.Background(), Page{Modules: modules}), Landing(LandingPage{}))
	if strings.Contains(visitor, "importmap") || strings.Contains(visitor, `type="module"`) {
		t.Error("a visitor's page loads the live modules")
	}
}

func TestErrorPageEscapes(t *testing.T) {
	html := renderString(t, context.Background(), ErrorPage("Oops", `<script>alert(1)</script>`, "req-1"))
	if strings.Contains(html, "<script>alert") || !strings.Contains(html, "req-1") {
		t.Errorf("error page:\n%s", html)
	}
}

// TestReadingHistoryRowsNameTheirReading: each row of the "Last 7 days" table names its reading —
// the device and the device's id of it, escaped — and its precise time, which the live modules use to
// never show a reading that arrives in a live frame twice.
func TestReadingHistoryRowsNameTheirReading(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)
	html := renderString(t, context.Background(), readingHistory([]rpm.Reading{
		{DeviceID: "0c8e5a52-1d7e-4bd4-9a55-2f3c1f0e6b1a", DeviceReadingID: `r"7`, Code: rpm.CodeHeartRate, Value: 72, Unit: "/min", EffectiveAt: at},
	}, false))
	want := `<tr data-device="0c8e5a52-1d7e-4bd4-9a55-2f3c1f0e6b1a" data-reading="r&#34;7" data-at="2026-11-21T10:00:00.123456Z">`
	if !strings.Contains(html, want) {
		t.Errorf("the row lacks %s:\n%s", want, html)
	}
}
