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

func TestErrorPageEscapes(t *testing.T) {
	html := renderString(t, context.Background(), ErrorPage("Oops", `<script>alert(1)</script>`, "req-1"))
	if strings.Contains(html, "<script>alert") || !strings.Contains(html, "req-1") {
		t.Errorf("error page:\n%s", html)
	}
}

// TestReadingHistoryRowsNameTheirReading: each row of the "Last 7 days" table names its reading —
// the device and the device's id of it, escaped — and its precise time, which live.js uses to
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
