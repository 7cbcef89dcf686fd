package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vigil-rpm/vigil/static"
)

// recordProblems makes every page the tab opens from now on keep in window.__problems what went
// wrong in it: CSP violations, uncaught errors and rejected promises, console errors.
func (tb *tab) recordProblems() {
	tb.t.Helper()
	const script = `(() => {
		if (window.__problems) return;
		const problems = (window.__problems = []);
		document.addEventListener("securitypolicyviolation",
			(ev) => problems.push("CSP " + ev.violatedDirective + " blocked " + (ev.blockedURI || "inline")), true);
		window.addEventListener("error", (ev) => problems.push("error: " + (ev.message || ev.target?.src || ev.type)), true);
		window.addEventListener("unhandledrejection", (ev) => problems.push("rejection: " + ev.reason));
		const consoleError = console.error;
		console.error = (...args) => { problems.push("console: " + args.join(" ")); consoleError(...args); };
	})()`
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// TestLivePagesLoadTheirModulesUnderTheCSP: the census and the patient view load every script
// module by its content-hashed URL (the import map turns the modules' relative imports into
// those), under the strict CSP, with no violation and no script error.
func TestLivePagesLoadTheirModulesUnderTheCSP(t *testing.T) {
	chromium(t)
	d := startDemo(t)
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	var hashed []string
	for _, u := range assets.ImportMap() {
		hashed = append(hashed, u)
	}
	const live = `(window.vigilLive && window.vigilLive.state === 'open')`
	kim := newTab(t, d.base, "nurse.kim")
	kim.recordProblems()

	kim.do(chromedp.Navigate(d.base+"/patients"), chromedp.WaitVisible(chromedp.CSS(`#census`)))
	kim.poll(live+` || window.__problems.length > 0`, "the census's live connection or a problem")
	if p := kim.text(`JSON.stringify(window.__problems)`); p != "[]" {
		t.Fatalf("the census: %s", p)
	}
	var fetched []string
	list := kim.text(`JSON.stringify(performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
		.filter((p) => p.startsWith('/static/js/')))`)
	if err := json.Unmarshal([]byte(list), &fetched); err != nil {
		t.Fatalf("the page's resources: %s", list)
	}
	for _, u := range hashed {
		if !slices.Contains(fetched, u) {
			t.Errorf("the census did not load %s; it loaded %v", u, fetched)
		}
	}
	for _, u := range fetched {
		if !slices.Contains(hashed, u) {
			t.Errorf("the census loaded %s, which is not a module's hashed URL", u)
		}
	}

	kim.do(chromedp.Navigate(d.base+"/patients/"+d.patientID(t, "H1000002")), chromedp.WaitVisible(chromedp.CSS(`#main`)))
	kim.poll(live+` || window.__problems.length > 0`, "the patient view's live connection or a problem")
	if p := kim.text(`JSON.stringify(window.__problems)`); p != "[]" {
		t.Errorf("the patient view: %s", p)
	}
}
