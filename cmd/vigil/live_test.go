package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// dashboard is a WebSocket connection to /live with a browser's session.
type dashboard struct {
	t    *testing.T
	conn *websocket.Conn
}

func (b *browser) dashboard(base string) *dashboard {
	b.t.Helper()
	dialer := websocket.Dialer{Jar: b.client.Jar, HandshakeTimeout: 5 * time.Second}
	header := http.Header{"Origin": {base}}
	conn, resp, err := dialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/live", header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		b.t.Fatalf("dial /live: %v (status %d)", err, status)
	}
	b.t.Cleanup(func() { conn.Close() })
	return &dashboard{t: b.t, conn: conn}
}

func (d *dashboard) subscribe(since string, patients ...string) {
	d.t.Helper()
	if err := d.conn.WriteJSON(map[string]any{"type": "subscribe", "patients": patients, "since": since}); err != nil {
		d.t.Fatal(err)
	}
}

type liveFrame struct {
	Type    string
	Patient string
	Message string
	NEWS2   *struct {
		Score   int
		Band    string
		Partial bool
	}
	Readings []struct {
		Code  string
		Value float64
		Unit  string
		At    time.Time
	}
}

// next returns the next frame, or ok=false if none comes within d.
func (d *dashboard) next(within time.Duration) (liveFrame, bool) {
	_ = d.conn.SetReadDeadline(time.Now().Add(within))
	var f liveFrame
	_, data, err := d.conn.ReadMessage()
	if err != nil {
		return f, false
	}
	if err := json.Unmarshal(data, &f); err != nil {
		d.t.Fatalf("frame %s: %v", data, err)
	}
	return f, true
}

// liveDevice provisions a device on a patient and returns its token.
func liveDevice(t *testing.T, st *store.Store, serial, patientID string) string {
	t.Helper()
	token, hash := auth.NewDeviceToken()
	id, err := st.ProvisionDevice(context.Background(), rpm.Device{Serial: serial, Vendor: "Live", Kind: rpm.KindPulseOximeter}, hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AssignDevice(context.Background(), id, patientID, "", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	return token
}

func TestLiveStreamFollowsTheAccessPolicy(t *testing.T) {
	d := startDemo(t)
	kim, lee := d.browser(t), d.browser(t)
	kim.signIn("nurse.kim", "vigil-demo")
	lee.signIn("nurse.lee", "vigil-demo")
	nakamura, pulmonary := d.patientID(t, "H1000002"), d.patientID(t, "H1000101")
	token := liveDevice(t, d.store, "LIVE-1", nakamura)

	kimLive, leeLive := kim.dashboard(d.base), lee.dashboard(d.base)
	kimLive.subscribe("", nakamura, pulmonary)
	if f, ok := kimLive.next(2 * time.Second); !ok || f.Type != "error" || f.Patient != pulmonary || strings.Contains(f.Message, "Mensah") {
		t.Fatalf("kim's subscription to a pulmonary patient: %+v %v", f, ok)
	}
	leeLive.subscribe("", nakamura) // by hand: an id lee may not see
	if f, ok := leeLive.next(2 * time.Second); !ok || f.Type != "error" {
		t.Fatalf("lee's subscription to a cardiology patient: %+v %v", f, ok)
	}

	posted := time.Now()
	if !postPair(&http.Client{Timeout: 5 * time.Second}, strings.TrimPrefix(d.base, "http://"), token, []string{"live-1", "live-2"}) {
		t.Fatal("posting readings failed")
	}
	f, ok := kimLive.next(2 * time.Second)
	if !ok || f.Type != "readings" || f.Patient != nakamura || len(f.Readings) != 2 {
		t.Fatalf("kim's frame: %+v %v", f, ok)
	}
	t.Logf("reading → kim's dashboard in %s", time.Since(posted))
	if f, ok := kimLive.next(2 * time.Second); !ok || f.Type != "news2" || f.Patient != nakamura || f.NEWS2 == nil || f.NEWS2.Score != 0 || !f.NEWS2.Partial {
		t.Errorf("kim's NEWS2 frame after pulse 71 and SpO2 96: %+v %v", f, ok)
	}
	if f, ok := leeLive.next(time.Second); ok {
		t.Errorf("lee received a frame: %+v", f)
	}

	// A dashboard that reconnects with since gets what was stored meanwhile.
	again := kim.dashboard(d.base)
	again.subscribe(posted.Add(-time.Second).UTC().Format(time.RFC3339Nano), nakamura)
	if f, ok := again.next(2 * time.Second); !ok || f.Type != "readings" || len(f.Readings) != 2 {
		t.Errorf("replay after reconnecting: %+v %v", f, ok)
	}

	var denials int
	d.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
		WHERE u.username = 'nurse.lee' AND a.action = 'live.subscribe' AND NOT a.allowed`).Scan(&denials)
	if denials != 1 {
		t.Errorf("%d audited live denials for lee, want 1", denials)
	}
}

func TestLiveRequiresASignedInViewer(t *testing.T) {
	d := startDemo(t)
	dialer := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	_, resp, err := dialer.Dial("ws"+strings.TrimPrefix(d.base, "http")+"/live", http.Header{"Origin": {d.base}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous dial: %v, %v", err, resp)
	}
	kim := d.browser(t)
	kim.signIn("nurse.kim", "vigil-demo")
	dialer.Jar = kim.client.Jar
	_, resp, err = dialer.Dial("ws"+strings.TrimPrefix(d.base, "http")+"/live", http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("dial from another origin: %v, %v", err, resp)
	}
}

// TestTwoInstancesBehaveAsOne: a reading posted to instance A reaches a dashboard on instance B.
func TestTwoInstancesBehaveAsOne(t *testing.T) {
	a := startDemo(t)
	b := startDemoOn(t, a.dbURL)
	nakamura := a.patientID(t, "H1000002")
	token := liveDevice(t, a.store, "TWO-1", nakamura)
	kim := b.browser(t)
	kim.signIn("nurse.kim", "vigil-demo")
	dash := kim.dashboard(b.base)
	dash.subscribe("", nakamura, a.patientID(t, "H1000101")) // the pulmonary refusal marks the subscription done
	if f, ok := dash.next(2 * time.Second); !ok || f.Type != "error" {
		t.Fatalf("no refusal: %+v %v", f, ok)
	}
	if !postPair(&http.Client{Timeout: 5 * time.Second}, strings.TrimPrefix(a.base, "http://"), token, []string{"two-1", "two-2"}) {
		t.Fatal("posting to A failed")
	}
	f, ok := dash.next(3 * time.Second)
	if !ok || f.Type != "readings" || f.Patient != nakamura || len(f.Readings) != 2 {
		t.Fatalf("B's dashboard: %+v %v", f, ok)
	}
}

// TestLiveAccessEndsWithTheShare: a primary care physician watching a shared patient stops
// receiving frames as soon as the share is revoked — the stream re-applies the policy — and a
// disabled user's stream ends.
func TestLiveAccessEndsWithTheShare(t *testing.T) {
	d := startDemo(t)
	rivera := d.patientID(t, "H1000001")
	token := liveDevice(t, d.store, "SHARE-1", rivera)
	patel := d.browser(t)
	patel.signIn("dr.patel", "vigil-demo")
	dash := patel.dashboard(d.base)
	// The refusal of a second, hidden patient comes after the first is subscribed: a sync point.
	dash.subscribe("", rivera, d.patientID(t, "H1000002"))
	if f, ok := dash.next(2 * time.Second); !ok || f.Type != "error" {
		t.Fatalf("the hidden patient was not refused: %+v %v", f, ok)
	}
	addr := strings.TrimPrefix(d.base, "http://")
	client := &http.Client{Timeout: 5 * time.Second}
	if !postPair(client, addr, token, []string{"s-1", "s-2"}) {
		t.Fatal("post failed")
	}
	if f, ok := dash.next(2 * time.Second); !ok || f.Type != "readings" {
		t.Fatalf("before revocation: %+v %v", f, ok)
	}
	if _, err := d.db.Exec(context.Background(), `UPDATE shares SET revoked_at = now(), revoked_by = granted_by WHERE patient_id = $1`, rivera); err != nil {
		t.Fatal(err)
	}
	// Drain until the refusal: a news2 frame may still come first.
	deadline := time.Now().Add(3 * time.Second)
	refused := false
	for !refused && time.Now().Before(deadline) {
		f, ok := dash.next(time.Second)
		refused = ok && f.Type == "error" && f.Patient == rivera
	}
	if !refused {
		t.Fatal("the stream did not end the revoked share")
	}
	if !postPair(client, addr, token, []string{"s-3", "s-4"}) {
		t.Fatal("post failed")
	}
	if f, ok := dash.next(time.Second); ok {
		t.Errorf("after revocation a frame arrived: %+v", f)
	}

	osei := d.browser(t)
	page := osei.signIn("dr.osei", "vigil-demo")
	oseiDash := osei.dashboard(d.base)
	osei.post("/signout", url.Values{"_csrf": {csrfToken(t, page.body)}})
	if !closedWithin(oseiDash, 3*time.Second) {
		t.Error("a stream outlived its session's sign-out")
	}

	kim := d.browser(t)
	kim.signIn("nurse.kim", "vigil-demo")
	kimDash := kim.dashboard(d.base)
	if _, err := d.db.Exec(context.Background(), `UPDATE users SET disabled_at = now() WHERE username = 'nurse.kim'`); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(kimDash, 3*time.Second) {
		t.Error("a disabled user's stream stayed open")
	}
}

// closedWithin reports whether the server closes the dashboard's connection in time.
func closedWithin(d *dashboard, within time.Duration) bool {
	for end := time.Now().Add(within); time.Now().Before(end); {
		_ = d.conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := d.conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return true
			}
		}
	}
	return false
}
