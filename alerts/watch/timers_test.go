package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// clock is a test's now, moved by hand.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func postHR(t *testing.T, in *instance, device string, start time.Time, from, to int, v float64) {
	t.Helper()
	type reading struct {
		ID    string  `json:"id"`
		Code  string  `json:"code"`
		Value float64 `json:"value"`
		Unit  string  `json:"unit"`
		At    string  `json:"at"`
	}
	var body struct {
		Readings []reading `json:"readings"`
	}
	for sec := from; sec <= to; sec += 30 {
		body.Readings = append(body.Readings, reading{ID: fmt.Sprint("hr-", sec), Code: rpm.CodeHeartRate, Value: v, Unit: "/min",
			At: start.Add(time.Duration(sec) * time.Second).Format(time.RFC3339)})
	}
	b, _ := json.Marshal(body)
	if _, err := in.intake.Accept(context.Background(), device, b); err != nil {
		t.Fatal(err)
	}
}

// alertState is an open alert, keyed in openAlerts by its direction — or, for a rule without one,
// its kind.
type alertState struct {
	ID, Direction, Events string
	State                 rpm.AlertState
	Severity              rpm.Severity
	Tier                  int
}

func openAlerts(t *testing.T, h *hospital, patient string) map[string]alertState {
	t.Helper()
	rows, err := h.conn.Query(context.Background(), `
		SELECT a.id::text, a.state, a.severity, coalesce(nullif(a.direction, ''), r.kind), a.tier,
		       (SELECT string_agg(kind || coalesce(':' || nullif(note, ''), ''), ',' ORDER BY at, id) FROM alert_events e WHERE e.alert_id = a.id)
		FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.patient_id = $1 AND a.state <> 'resolved'`, patient)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]alertState{}
	for rows.Next() {
		var a alertState
		if err := rows.Scan(&a.ID, &a.State, &a.Severity, &a.Direction, &a.Tier, &a.Events); err != nil {
			t.Fatal(err)
		}
		out[a.Direction] = a
	}
	return out
}

// TestEscalationAcknowledgementAndSnooze: an unacknowledged alert escalates after the team's
// window, one tier at a time, with raised urgency; acknowledging stops it; acknowledging the low
// heart rate alert does not touch a later high one; a snooze that runs out fires the alert again.
func TestEscalationAcknowledgementAndSnooze(t *testing.T) {
	h := newHospital(t)
	clk := &clock{now: time.Now()}
	in := newInstance(t, h.url, clk.Now)
	ctx := context.Background()
	d := h.devices[0]
	patient := h.patient[d.DeviceID]
	if _, err := h.conn.Exec(ctx, `UPDATE care_teams SET ack_window = '5 minutes'`); err != nil {
		t.Fatal(err)
	}
	start := clk.now.Add(-3 * time.Minute)       // the device uploads every few minutes: on time
	postHR(t, in, d.DeviceID, start, 0, 180, 35) // below 40 for 3 min: the "below" alert (high)
	low := openAlerts(t, h, patient)["below"]
	if low.State != rpm.AlertFiring || low.Tier != 1 {
		t.Fatalf("low heart rate alert: %+v", low)
	}

	clk.now = clk.now.Add(4 * time.Minute)
	if err := in.engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}
	if a := openAlerts(t, h, patient)["below"]; a.Tier != 1 {
		t.Fatalf("escalated before the window ran out: %+v", a)
	}
	clk.now = clk.now.Add(2 * time.Minute)
	if err := in.engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}
	if a := openAlerts(t, h, patient)["below"]; a.Tier != 2 || a.Events != "fired,escalated:not acknowledged within 5m: now with tier 2" {
		t.Fatalf("after the window: %+v", a)
	}
	// The team has no one at tier 3: the alert stays with tier 2 and says so, once.
	for range 2 {
		clk.now = clk.now.Add(6 * time.Minute)
		if err := in.engine.CheckTimers(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if a := openAlerts(t, h, patient)["below"]; a.Tier != 2 ||
		!strings.HasSuffix(a.Events, "now with tier 2,note:not acknowledged, and no one at tier 3 to escalate to: still with tier 2") {
		t.Fatalf("after more windows with no one at tier 3: %+v", a)
	}

	if _, err := in.engine.Acknowledge(ctx, low.ID, patient, "", "on my way"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.engine.Acknowledge(ctx, low.ID, patient, "", ""); err != watch.ErrNotNow {
		t.Errorf("acknowledging twice: %v, want ErrNotNow", err)
	}
	postHR(t, in, d.DeviceID, start, 600, 960, 140) // above 130 for 6 min: the "above" alert
	both := openAlerts(t, h, patient)
	// The fast rate cleared the acknowledged low alert; the high one is a new alert, firing: the
	// acknowledgement was the low alert's only.
	if _, open := both["below"]; open || both["above"].State != rpm.AlertFiring || both["above"].Severity != rpm.SeverityMedium {
		t.Fatalf("acknowledging the low alert must not silence the high one: %+v", both)
	}

	high := both["above"]
	if _, err := in.engine.Snooze(ctx, high.ID, patient, "", clk.now.Add(time.Minute), "rechecking"); err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(30 * time.Second)
	if err := in.engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}
	if a := openAlerts(t, h, patient)["above"]; a.State != rpm.AlertAcknowledged {
		t.Fatalf("snoozed alert fired before its snooze ended: %+v", a)
	}
	clk.now = clk.now.Add(2 * time.Minute)
	if err := in.engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}
	if a := openAlerts(t, h, patient)["above"]; a.State != rpm.AlertFiring || a.Events != "fired,snoozed:rechecking,retriggered:snooze ended" {
		t.Fatalf("after the snooze: %+v", a)
	}
	if _, err := in.engine.Resolve(ctx, high.ID, patient, "", "rate controlled"); err != nil {
		t.Fatal(err)
	}
	if a, open := openAlerts(t, h, patient)["above"]; open {
		t.Fatalf("resolved by hand, still open: %+v", a)
	}
}

// TestNoDataTimer: a device that stops sending SpO₂ raises its no-data alert once the rule's
// silence has run out, not before; it clears only after the device has kept sending for the clear
// time — one reading after a silence is not yet a signal back.
func TestNoDataTimer(t *testing.T) {
	h := newHospital(t)
	ctx := context.Background()
	d := h.devices[1]
	patient := h.patient[d.DeviceID]
	if _, err := h.conn.Exec(ctx, `
		INSERT INTO alert_rules (scope, patient_id, overrides, kind, code, severity, params, change_reason)
		SELECT 'patient', $1, id, kind, code, severity, jsonb_set(params, '{silence}', '"6s"'), 'test'
		FROM alert_rules WHERE scope = 'hospital' AND kind = 'no_data'`, patient); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now().Truncate(time.Second)}
	in := newInstance(t, h.url, clk.Now)
	sent := func(at time.Time) {
		t.Helper()
		if err := in.store.RecordDeviceMetrics(ctx, map[store.DeviceMetric]time.Time{{DeviceID: d.DeviceID, Code: rpm.CodeSpO2}: at}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(after time.Duration) (alertState, bool) {
		t.Helper()
		clk.now = clk.now.Add(after)
		if err := in.engine.CheckTimers(ctx); err != nil {
			t.Fatal(err)
		}
		a, ok := openAlerts(t, h, patient)["no_data"]
		return a, ok
	}
	last := clk.now
	post(t, in, d.DeviceID, last.Add(-20*time.Second), "a", point{0, 97}, point{10, 97}, point{20, 96})
	sent(last)
	if a, open := check(5900 * time.Millisecond); open {
		t.Fatalf("raised before the 6 s silence ran out: %+v", a)
	}
	if a, open := check(100 * time.Millisecond); !open || a.State != rpm.AlertFiring {
		t.Fatalf("no no-data alert 6 s after the last reading: %+v", a)
	}
	post(t, in, d.DeviceID, clk.now, "b", point{0, 97})
	sent(clk.now)
	if _, open := check(time.Second); !open {
		t.Fatal("one reading after the silence cleared the alert at once")
	}
	post(t, in, d.DeviceID, clk.now, "c", point{0, 97})
	sent(clk.now)
	for range 24 { // 2 minutes of readings every 5 s
		post(t, in, d.DeviceID, clk.now, fmt.Sprint("d", clk.now.UnixMilli()), point{0, 97})
		sent(clk.now)
		if _, open := check(5 * time.Second); !open {
			return
		}
	}
	t.Error("two minutes of readings after the silence left the no-data alert open")
}

// TestAlertsOfARuleSwitchedOff: when a clinician switches a rule off for a patient, its open alert
// is resolved, saying why — nothing else would ever resolve it.
func TestAlertsOfARuleSwitchedOff(t *testing.T) {
	h := newHospital(t)
	in := newInstance(t, h.url, time.Now)
	ctx := context.Background()
	d := h.devices[0]
	patient := h.patient[d.DeviceID]
	start := h.start.Add(time.Hour)
	postHR(t, in, d.DeviceID, start, 0, 180, 35)
	if a := openAlerts(t, h, patient)["below"]; a.State != rpm.AlertFiring {
		t.Fatalf("low heart rate alert: %+v", a)
	}
	if _, err := h.conn.Exec(ctx, `
		INSERT INTO alert_rules (scope, patient_id, overrides, kind, code, severity, params, enabled, change_reason)
		SELECT 'patient', $1, id, kind, code, severity, params, false, 'paced at 35'
		FROM alert_rules WHERE scope = 'hospital' AND code = '8867-4' AND params->>'direction' = 'below'`, patient); err != nil {
		t.Fatal(err)
	}
	if err := in.engine.RulesChanged(ctx, patient); err != nil {
		t.Fatal(err)
	}
	if a, open := openAlerts(t, h, patient)["below"]; open {
		t.Fatalf("the alert of a rule switched off is still open: %+v", a)
	}
	var note string
	if err := h.conn.QueryRow(ctx, `SELECT note FROM alert_events WHERE kind = 'auto_resolved'`).Scan(&note); err != nil || !strings.Contains(note, "no longer in force") {
		t.Errorf("resolution note %q (%v)", note, err)
	}
	postHR(t, in, d.DeviceID, start, 600, 780, 35) // the rule is off: no new alert
	if a, open := openAlerts(t, h, patient)["below"]; open {
		t.Errorf("a rule switched off raised %+v", a)
	}
}

// TestAcknowledgementsAndResolutionsHoldUp: an acknowledgement covers an episode that never
// cleared, dips included; a clinician's override carries the open alert on, acknowledged; an alert
// resolved by hand does not come back until its condition holds afresh for the rule's whole
// duration.
func TestAcknowledgementsAndResolutionsHoldUp(t *testing.T) {
	h := newHospital(t)
	in := newInstance(t, h.url, time.Now)
	ctx := context.Background()
	d := h.devices[0]
	patient := h.patient[d.DeviceID]
	start := h.start.Add(time.Hour)
	var pts []point
	for sec := 0; sec <= 180; sec += 10 {
		pts = append(pts, point{sec, 87})
	}
	post(t, in, d.DeviceID, start, "a", pts...)
	a := openAlerts(t, h, patient)["below"]
	if _, err := in.engine.Acknowledge(ctx, a.ID, patient, "", ""); err != nil {
		t.Fatal(err)
	}
	// 20 minutes between the limits (neither breaching nor clear), then a dip.
	pts = nil
	for sec := 190; sec < 1400; sec += 60 {
		pts = append(pts, point{sec, 91})
	}
	// Never clear (91 is between the limit and the clear limit), the episode goes on: the
	// acknowledgement covers it, a dip included.
	post(t, in, d.DeviceID, start, "b", append(pts, point{1400, 86})...)
	post(t, in, d.DeviceID, start, "c", point{1460, 86}, point{1520, 85})
	if got := openAlerts(t, h, patient)["below"]; got.State != rpm.AlertAcknowledged || got.ID != a.ID {
		t.Fatalf("an acknowledged episode that never cleared: %+v", got)
	}

	// A clinician sets this patient's limit to 88: the open alert carries on under the override.
	if _, err := h.conn.Exec(ctx, `
		INSERT INTO alert_rules (scope, patient_id, overrides, kind, code, severity, params, change_reason)
		SELECT 'patient', $1, id, kind, code, severity, jsonb_set(params, '{limit}', '88'), 'scale 2 target'
		FROM alert_rules WHERE scope = 'hospital' AND code = '59408-5' AND kind = 'threshold'`, patient); err != nil {
		t.Fatal(err)
	}
	if err := in.engine.RulesChanged(ctx, patient); err != nil {
		t.Fatal(err)
	}
	carried := openAlerts(t, h, patient)["below"]
	if carried.ID != a.ID || carried.State != rpm.AlertAcknowledged || !strings.HasSuffix(carried.Events, "note:now under the rule in force for this patient") {
		t.Fatalf("the open alert under the override: %+v", carried)
	}

	// Resolved by hand while still low: the next low readings do not raise a new alert until they
	// have held for the rule's 2 minutes.
	if _, err := in.engine.Resolve(ctx, a.ID, patient, "", "probe off the finger"); err != nil {
		t.Fatal(err)
	}
	post(t, in, d.DeviceID, start, "d", point{1580, 86}, point{1640, 86})
	if got, open := openAlerts(t, h, patient)["below"]; open {
		t.Fatalf("an alert resolved by hand came back at once: %+v", got)
	}
	post(t, in, d.DeviceID, start, "e", point{1700, 86})
	if got := openAlerts(t, h, patient)["below"]; got.State != rpm.AlertFiring || got.ID == a.ID {
		t.Fatalf("after 2 minutes low again: %+v", got)
	}
}

// TestAcknowledgedAlertFiresAgainAfterAPause: an acknowledgement covers an episode while its
// readings show it going on; when they were back to normal and then stopped (a spot-check patient
// overnight, a probe taken off), a confirmed return fires the alert again, saying why — it does
// not resolve it.
func TestAcknowledgedAlertFiresAgainAfterAPause(t *testing.T) {
	h := newHospital(t)
	start := h.start.Add(time.Hour)
	clk := &clock{now: start}
	in := newInstance(t, h.url, clk.Now)
	ctx := context.Background()
	d := h.devices[0]
	patient := h.patient[d.DeviceID]
	send := func(id string, pts ...point) { // as a device does: each reading as it is taken
		t.Helper()
		clk.now = start.Add(time.Duration(pts[len(pts)-1].sec) * time.Second)
		post(t, in, d.DeviceID, start, id, pts...)
	}
	for sec := 0; sec <= 180; sec += 10 {
		send(fmt.Sprint("a", sec), point{sec, 87})
	}
	a := openAlerts(t, h, patient)["below"]
	if _, err := in.engine.Acknowledge(ctx, a.ID, patient, "", "on my way"); err != nil {
		t.Fatal(err)
	}
	send("b", point{190, 96}) // one normal reading, then nothing
	send("c1", point{2590, 86})
	send("c2", point{2650, 86})
	if got := openAlerts(t, h, patient)["below"]; got.ID != a.ID || got.State != rpm.AlertAcknowledged {
		t.Fatalf("low again after the pause, not yet for the rule's 2 minutes: %+v", got)
	}
	send("d", point{2710, 85})
	got := openAlerts(t, h, patient)["below"]
	if got.ID != a.ID || got.State != rpm.AlertFiring ||
		got.Events != "fired,acknowledged:on my way,retriggered:back after its readings were normal and then stopped: past the limit again 42m10s after the last time" {
		t.Fatalf("the return after the pause: %+v", got)
	}
}

// TestABacklogIsNoPause: a device that sends its newest reading first and the readings it took
// meanwhile after (a hub back online) did not pause: the acknowledged alert stays acknowledged.
func TestABacklogIsNoPause(t *testing.T) {
	h := newHospital(t)
	start := h.start.Add(time.Hour)
	clk := &clock{now: start}
	in := newInstance(t, h.url, clk.Now)
	ctx := context.Background()
	d := h.devices[0]
	patient := h.patient[d.DeviceID]
	for sec := 0; sec <= 180; sec += 10 {
		clk.now = start.Add(time.Duration(sec) * time.Second)
		post(t, in, d.DeviceID, start, fmt.Sprint("a", sec), point{sec, 87})
	}
	a := openAlerts(t, h, patient)["below"]
	if _, err := in.engine.Acknowledge(ctx, a.ID, patient, "", "on my way"); err != nil {
		t.Fatal(err)
	}
	post(t, in, d.DeviceID, start, "b", point{190, 96})
	clk.now = start.Add(190*time.Second + 20*time.Minute)
	post(t, in, d.DeviceID, start, "live", point{1390, 86}) // the newest first…
	var backlog []point
	for sec := 200; sec < 1390; sec += 10 {
		backlog = append(backlog, point{sec, 86})
	}
	post(t, in, d.DeviceID, start, "backlog", backlog...) // …then what it took meanwhile
	for sec := 1400; sec <= 1600; sec += 10 {
		clk.now = start.Add(time.Duration(sec) * time.Second)
		post(t, in, d.DeviceID, start, fmt.Sprint("c", sec), point{sec, 86})
	}
	if got := openAlerts(t, h, patient)["below"]; got.ID != a.ID || got.State != rpm.AlertAcknowledged {
		t.Fatalf("after a backlog that leaves no gap: %+v", got)
	}
}

// TestSnoozeHoldsThroughAPause: a snooze is a chosen silence — an episode that resumes after a
// pause during it is recorded but does not fire until the snooze runs out; then it does, because
// the alert is still open.
func TestSnoozeHoldsThroughAPause(t *testing.T) {
	h := newHospital(t)
	start := h.start.Add(time.Hour)
	clk := &clock{now: start}
	in := newInstance(t, h.url, clk.Now)
	ctx := context.Background()
	d := h.devices[0]
	patient := h.patient[d.DeviceID]
	send := func(id string, pts ...point) {
		t.Helper()
		clk.now = start.Add(time.Duration(pts[len(pts)-1].sec) * time.Second)
		post(t, in, d.DeviceID, start, id, pts...)
	}
	for sec := 0; sec <= 180; sec += 10 {
		send(fmt.Sprint("a", sec), point{sec, 87})
	}
	a := openAlerts(t, h, patient)["below"]
	if _, err := in.engine.Snooze(ctx, a.ID, patient, "", clk.now.Add(2*time.Hour), "known, asleep"); err != nil {
		t.Fatal(err)
	}
	send("b", point{190, 96})
	for i, sec := range []int{2590, 2650, 2710} {
		send(fmt.Sprint("c", i), point{sec, 86})
	}
	got := openAlerts(t, h, patient)["below"]
	if got.ID != a.ID || got.State != rpm.AlertAcknowledged ||
		got.Events != "fired,snoozed:known, asleep,retriggered:back after its readings were normal and then stopped: past the limit again 42m10s after the last time" {
		t.Fatalf("resumed during the snooze: %+v", got)
	}
	clk.now = start.Add(180*time.Second + 2*time.Hour)
	if err := in.engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}
	if got := openAlerts(t, h, patient)["below"]; got.ID != a.ID || got.State != rpm.AlertFiring {
		t.Fatalf("the snooze ran out with the alert still open: %+v", got)
	}
}

// TestNotReportingAlertOfADeviceTakenOff: a technical alert is resolved when its device leaves
// the patient.
func TestNotReportingAlertOfADeviceTakenOff(t *testing.T) {
	h := newHospital(t)
	clk := &clock{now: time.Now()}
	in := newInstance(t, h.url, clk.Now)
	ctx := context.Background()
	d := h.devices[1]
	post(t, in, d.DeviceID, clk.now.Add(-time.Minute), "a", point{0, 97})
	in.intake.FlushStatus(ctx)
	clk.now = clk.now.Add(20 * time.Minute)
	if err := in.engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := h.conn.QueryRow(ctx, `SELECT id FROM alerts WHERE device_id = $1 AND state = 'firing'`, d.DeviceID).Scan(&id); err != nil {
		t.Fatalf("no not-reporting alert after 20 silent minutes: %v", err)
	}
	if _, err := h.conn.Exec(ctx, `UPDATE device_assignments SET ended_at = now() WHERE device_id = $1 AND ended_at IS NULL`, d.DeviceID); err != nil {
		t.Fatal(err)
	}
	if err := in.engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}
	var state, note string
	if err := h.conn.QueryRow(ctx, `SELECT a.state, e.note FROM alerts a JOIN alert_events e ON e.alert_id = a.id AND e.kind = 'auto_resolved'
		WHERE a.id = $1`, id).Scan(&state, &note); err != nil || !strings.Contains(note, "no longer on this patient") {
		t.Errorf("the not-reporting alert of a device taken off the patient: %s %q (%v)", state, note, err)
	}
}
