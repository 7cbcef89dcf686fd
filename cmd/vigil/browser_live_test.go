package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's Chromium; browser tests skip without it (CI installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine (apt-get install chromium)")
	return ""
}

// artifacts is where browser tests leave their screenshots: $VIGIL_TEST_ARTIFACTS, or
// cmd/vigil/testdata/artifacts.
func artifacts(t *testing.T) string {
	dir := os.Getenv("VIGIL_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one signed-in browser tab.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func newTab(t *testing.T, base, username string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The browser lives as long as the context of its first run: start it without a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	tb := &tab{t: t, ctx: ctx}
	tb.do(
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "vigil-demo"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.site-header`)),
	)
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%v; the page: %s", err, tb.where())
	}
}

// where says which page the tab is on and how it begins (the demo's data is invented), to explain
// a failure.
func (tb *tab) where() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " — " + (document.body ? document.body.innerText.slice(0, 300) : "")`))
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return s
}

// eval evaluates a JavaScript expression that yields a number.
func (tb *tab) eval(expr string) float64 {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		tb.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// text evaluates a JavaScript expression that yields a string.
func (tb *tab) text(expr string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return err.Error()
	}
	return v
}

// waitTrueOr polls a JavaScript condition until it holds, and says how long it took, or -1 when the
// time is up.
func (tb *tab) waitTrueOr(expr string, within time.Duration) time.Duration {
	tb.t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if tb.eval("("+expr+") ? 1 : 0") == 1 {
			return time.Since(start)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return -1
}

// waitTrue polls a JavaScript condition until it holds or the time is up, and says how long it took.
func (tb *tab) waitTrue(expr string, within time.Duration, what string) time.Duration {
	tb.t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if tb.eval("("+expr+") ? 1 : 0") == 1 {
			return time.Since(start)
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.t.Fatalf("%s: not within %s", what, within)
	return 0
}

func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatal(err)
	}
	path := filepath.Join(artifacts(tb.t), name+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", path)
}

// demoAt runs a demo instance on a database at a fixed address; stop ends it.
func demoAt(t *testing.T, url, addr string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, demoOptions{Addr: addr, DatabaseURL: url, Log: quiet, Ready: func(string, *app) { close(ready) }}, io.Discard)
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("demo at %s: %v", addr, err)
	}
	var once bool
	return func() {
		if !once {
			once = true
			cancel()
			<-done
		}
	}
}

func postHeartRate(t *testing.T, addr, token, id string, value int) {
	t.Helper()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	body := fmt.Sprintf(`{"readings": [{"id": %q, "code": "8867-4", "value": %d, "unit": "/min", "at": %q}]}`, id, value, now)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/readings", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post: %d", resp.StatusCode)
	}
}

// TestCensusAndChartsInTheBrowser drives the live pages in headless Chromium: the census shows
// exactly nurse.kim's patients and changes within 2 s of a reading, without reload; the patient
// view's chart and table move; after the server restarts, the page reconnects and shows what was
// posted while it was down; nurse.lee never receives a cardiology frame, even asking by hand.
func TestCensusAndChartsInTheBrowser(t *testing.T) {
	chromium(t)
	url, addr, other := storeURL(t), freeAddr(t), freeAddr(t)
	stop := demoAt(t, url, addr)
	defer func() { stop() }()
	base := "http://" + addr
	conn := connect(t, url)
	var nakamura string
	if err := conn.QueryRow(context.Background(), `SELECT id FROM patients WHERE mrn = 'H1000002'`).Scan(&nakamura); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, url)
	token := liveDevice(t, st, "BROWSER-1", nakamura)

	kim := newTab(t, base, "nurse.kim")
	kim.do(chromedp.Navigate(base+"/patients"), chromedp.WaitVisible(chromedp.CSS(`#census`)))
	if n := kim.eval(`document.querySelectorAll('#census tbody tr').length`); n != 7 {
		t.Errorf("the census shows %v patients, want kim's 7", n)
	}
	if kim.eval(`document.body.innerText.includes('Mensah') ? 1 : 0`) == 1 {
		t.Error("the census shows a pulmonary patient")
	}
	kim.waitTrue(`window.vigilLive && window.vigilLive.state === 'open'`, 5*time.Second, "live connection")
	cell := fmt.Sprintf(`document.querySelector('#census tr[data-patient="%s"] td[data-code="8867-4"] .value').textContent`, nakamura)
	postHeartRate(t, addr, token, "b-1", 123)
	took := kim.waitTrue(cell+` === '123'`, 2*time.Second, "census cell update")
	t.Logf("reading → census cell in %s", took)
	news2 := fmt.Sprintf(`document.querySelector('#census tr[data-patient="%s"] td.news2 .band').textContent`, nakamura)
	// Only the pulse is measured: the score counts its 2 points but is incomplete, never a green low.
	if took := kim.waitTrueOr(news2+` === '2 · incomplete'`, 2*time.Second); took < 0 {
		t.Fatalf("NEWS2 update on the census (pulse 123 scores 2, the rest missing): not within 2 s; it shows %q", kim.text(news2))
	}
	kim.screenshot("census")

	kim.do(chromedp.Navigate(base+"/patients/"+nakamura), chromedp.WaitVisible(chromedp.CSS(`#charts`)))
	kim.waitTrue(`window.vigilLive && window.vigilLive.state === 'open'`, 5*time.Second, "live connection on the patient view")
	kim.waitTrue(`document.querySelector('figure.chart[data-code="8867-4"] canvas') !== null`, 5*time.Second, "heart-rate chart")
	postHeartRate(t, addr, token, "b-2", 124)
	kim.waitTrue(`document.querySelector('#readings-table tbody tr').textContent.includes('124')`, 2*time.Second, "readings table update")
	kim.waitTrue(`(document.querySelector('figure.chart[data-code="8867-4"] .chart-canvas').getAttribute('aria-label') || '').includes('latest 124')`,
		2*time.Second, "heart-rate chart update")
	kim.screenshot("patient")

	// Restart: while this instance is down, readings go to another instance on the same database.
	stop()
	stopOther := demoAt(t, url, other)
	postHeartRate(t, other, token, "b-3", 131)
	stopOther()
	stop = demoAt(t, url, addr)
	kim.waitTrue(`document.querySelector('#readings-table tbody tr').textContent.includes('131')`, 40*time.Second, "reading posted while down")

	lee := newTab(t, base, "nurse.lee")
	lee.do(chromedp.Navigate(base+"/patients"), chromedp.WaitVisible(chromedp.CSS(`#census`)))
	script := fmt.Sprintf(`(() => { window.sneaked = 0; window.sneakErrors = 0;
		const ws = new WebSocket(location.origin.replace('http', 'ws') + '/live');
		ws.onmessage = (e) => { const f = JSON.parse(e.data); if (f.type === 'readings' && f.patient === %q) window.sneaked++; if (f.type === 'error') window.sneakErrors++; };
		ws.onopen = () => ws.send(JSON.stringify({type: 'subscribe', patients: [%q], since: '2000-01-01T00:00:00Z'}));
		return 1; })()`, nakamura, nakamura)
	lee.eval(script)
	lee.waitTrue(`window.sneakErrors > 0`, 5*time.Second, "refusal of lee's hand-made subscription")
	postHeartRate(t, addr, token, "b-4", 99)
	time.Sleep(time.Second)
	if n := lee.eval(`window.sneaked`); n != 0 {
		t.Errorf("nurse.lee received %v frames of a cardiology patient", n)
	}
}

// TestAlertBannerInTheBrowser: a reading that crosses a threshold raises a banner on nurse.kim's
// census within 2 s; when she acknowledges it, dr.osei's screen (another session watching the same
// patient) drops it from his banner too.
func TestAlertBannerInTheBrowser(t *testing.T) {
	chromium(t)
	url, addr := storeURL(t), freeAddr(t)
	stop := demoAt(t, url, addr)
	defer stop()
	base := "http://" + addr
	conn := connect(t, url)
	var nakamura string
	if err := conn.QueryRow(context.Background(), `SELECT id FROM patients WHERE mrn = 'H1000002'`).Scan(&nakamura); err != nil {
		t.Fatal(err)
	}
	token := liveDevice(t, openStore(t, url), "BANNER-1", nakamura)

	kim, osei := newTab(t, base, "nurse.kim"), newTab(t, base, "dr.osei")
	for _, tb := range []*tab{kim, osei} {
		tb.do(chromedp.Navigate(base+"/patients"), chromedp.WaitVisible(chromedp.CSS(`#census`)))
		tb.waitTrue(`window.vigilLive && window.vigilLive.state === 'open'`, 5*time.Second, "live connection")
	}
	banner := `document.querySelector('#alert-banner [data-alert]')`
	if kim.eval(banner+` ? 1 : 0`) == 1 {
		t.Fatal("a banner before any alert")
	}
	// Glucose below 70 mg/dL fires at once (a hospital default).
	now := time.Now().UTC().Format(time.RFC3339Nano)
	body := fmt.Sprintf(`{"readings": [{"id": "g-1", "code": "2339-0", "value": 58, "unit": "mg/dL", "at": %q}]}`, now)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/readings", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	took := kim.waitTrue(banner+` !== null`, 2*time.Second, "alert banner on nurse.kim's census")
	t.Logf("threshold reading → banner in %s", took)
	osei.waitTrue(banner+` !== null`, 2*time.Second, "alert banner on dr.osei's census")
	if text := kim.eval(`document.querySelector('#alert-banner').innerText.includes('58') && document.querySelector('#alert-banner').innerText.includes('High') ? 1 : 0`); text != 1 {
		t.Error("the banner does not say the value and the severity in words")
	}
	kim.screenshot("alert-banner")

	kim.do(chromedp.Click(chromedp.CSS(`#alert-banner button[data-ack]`)))
	took = osei.waitTrue(banner+` === null`, 2*time.Second, "acknowledgement reaching dr.osei's screen")
	t.Logf("acknowledgement → dr.osei's banner in %s", took)
	kim.waitTrue(banner+` === null`, 2*time.Second, "nurse.kim's own banner after acknowledging")
	var state, actor string
	if err := conn.QueryRow(context.Background(), `
		SELECT a.state, u.username FROM alerts a JOIN alert_events e ON e.alert_id = a.id AND e.kind = 'acknowledged'
		JOIN users u ON u.id = e.actor_id WHERE a.patient_id = $1`, nakamura).Scan(&state, &actor); err != nil {
		t.Fatal(err)
	}
	if state != "acknowledged" || actor != "nurse.kim" {
		t.Errorf("alert %s by %s, want acknowledged by nurse.kim", state, actor)
	}
}
