package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vigil-rpm/vigil/rpm"
)

// recordSockets makes every page the tab opens from now on keep its WebSockets in
// window.__sockets and every frame they receive in window.__frames ({sock, frame}), before the
// page's own handler sees it; a test can then close the live socket as a dropped network would.
func (tb *tab) recordSockets() {
	tb.t.Helper()
	const script = `(() => {
		if (window.__sockets) return;
		const Native = window.WebSocket;
		window.__sockets = [];
		window.__frames = [];
		window.WebSocket = class extends Native {
			constructor(...args) {
				super(...args);
				const sock = window.__sockets.push(this) - 1;
				this.addEventListener("message", (ev) => {
					try { window.__frames.push({ sock, frame: JSON.parse(ev.data) }); } catch { /* not JSON */ }
				});
			}
		};
	})()`
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// poll waits, in the page, until a JavaScript condition holds.
func (tb *tab) poll(expr, what string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 40*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		tb.t.Fatalf("waiting for %s: %v; the page: %s", what, err, tb.where())
	}
}

// postReadingAt posts one reading taken at a given instant, as a device does.
func postReadingAt(t *testing.T, base, token, id, code string, value float64, unit string, at time.Time) {
	t.Helper()
	body := fmt.Sprintf(`{"readings": [{"id": %q, "code": %q, "value": %v, "unit": %q, "at": %q}]}`,
		id, code, value, unit, at.UTC().Format(time.RFC3339Nano))
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/readings", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting reading %s: %d", id, resp.StatusCode)
	}
}

// TestReadingsTableShowsEachReadingOnce opens a patient view in headless Chromium and has the same
// readings delivered again and again — a reading shown by the server that the page's first
// subscription replays, and everything replayed after the socket drops and the page resumes with
// `since` — and checks that the "Last 7 days" table shows each reading exactly once, and both
// readings of the same measure that two devices took at the same instant.
func TestReadingsTableShowsEachReadingOnce(t *testing.T) {
	chromium(t)
	d := startDemo(t)
	nakamura := d.patientID(t, "H1000002")
	first, second := liveDevice(t, d.store, "ONCE-1", nakamura), liveDevice(t, d.store, "ONCE-2", nakamura)
	base := time.Now().UTC().Truncate(time.Second)
	type reading struct {
		token, id string
		value     float64
		at        time.Time
	}
	rendered := reading{first, "once-1", 71, base.Add(-40 * time.Second)}
	same := []reading{{first, "once-2", 72, base.Add(-30 * time.Second)}, {second, "once-2", 73, base.Add(-30 * time.Second)}}
	all := append([]reading{rendered}, same...)

	kim := newTab(t, d.base, "nurse.kim")
	kim.recordSockets()
	// Stored just before the page is rendered: in the server's table, and in the replay the page's
	// first subscription asks for (it reaches back before the render).
	postReadingAt(t, d.base, rendered.token, rendered.id, rpm.CodeHeartRate, rendered.value, "/min", rendered.at)
	kim.do(chromedp.Navigate(d.base+"/patients/"+nakamura), chromedp.WaitVisible(chromedp.CSS(`#readings-table`)))

	// rows counts the table's rows showing a reading: its time, measure and value as shown.
	rows := func(r reading) string {
		return fmt.Sprintf(`Array.from(document.querySelectorAll('#readings-table tbody tr')).filter((tr) =>
			tr.cells.length === 3 && tr.cells[0].textContent.trim() === %q && tr.cells[1].textContent.trim() === 'Heart rate' &&
			tr.cells[2].textContent.trim() === %q).length`, r.at.Format("2 Jan 2006, 15:04:05"), fmt.Sprintf("%.0f /min", r.value))
	}
	// delivered holds once socket n has received every one of these readings in a frame.
	delivered := func(n int, rs ...reading) string {
		var conds []string
		for _, r := range rs {
			conds = append(conds, fmt.Sprintf(`window.__frames.some((f) => f.sock === %d && f.frame.type === 'readings' &&
				(f.frame.readings || []).some((x) => x.code === %q && x.value === %v && Date.parse(x.at) === %d))`,
				n, rpm.CodeHeartRate, r.value, r.at.UnixMilli()))
		}
		return strings.Join(conds, " && ")
	}
	check := func(when string, rs ...reading) {
		t.Helper()
		for _, r := range rs {
			if n := kim.eval(rows(r)); n != 1 {
				t.Errorf("%s: the table shows the reading of %v at %s %v times, want once", when, r.value, r.at.Format(time.TimeOnly), n)
			}
		}
	}

	kim.poll(`window.vigilLive && window.vigilLive.state === 'open'`, "the live connection")
	kim.poll(delivered(0, rendered), "the first subscription's replay of the reading shown by the server")
	check("after the first subscription's replay", rendered)

	// Two devices, the same measure, the same instant: two readings.
	for _, r := range same {
		postReadingAt(t, d.base, r.token, r.id, rpm.CodeHeartRate, r.value, "/min", r.at)
	}
	kim.poll(delivered(0, same...), "both devices' readings over the live socket")
	check("after two devices' readings of the same instant", all...)

	// The network drops: the page reconnects and asks for everything since a minute before it last
	// heard from the server, which repeats every reading above.
	kim.eval(`(window.__sockets[0].close(), 1)`)
	kim.poll(`window.__sockets.length > 1 && window.vigilLive.state === 'open'`, "the page reconnecting")
	kim.poll(delivered(1, all...), "the replay after reconnecting")
	check("after the replay that followed a reconnect", all...)

	// Each row the table shows is a reading of its own (the rows name their device and reading).
	if dup := kim.text(`(() => { const keys = Array.from(document.querySelectorAll('#readings-table tbody tr'),
			(tr) => JSON.stringify([tr.dataset.device, tr.dataset.reading]));
		return keys.filter((k, i) => keys.indexOf(k) !== i).join(' '); })()`); dup != "" {
		t.Errorf("rows repeat a device's reading: %s", dup)
	}
	if n := kim.eval(`document.querySelectorAll('#readings-table tbody tr:not([data-device][data-reading])').length`); n != 0 {
		t.Errorf("%v rows do not say which device's reading they show", n)
	}
	kim.screenshot("patient-readings-once")
}
