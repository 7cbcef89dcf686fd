package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// alertJSONBody is the part of the JSON API's alert object the tests read.
type alertJSONBody struct {
	ID             string     `json:"id"`
	Patient        string     `json:"patient"`
	PatientName    string     `json:"patient_name"`
	Severity       string     `json:"severity"`
	State          string     `json:"state"`
	Tier           int        `json:"tier"`
	Summary        string     `json:"summary"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	SnoozedUntil   *time.Time `json:"snoozed_until"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	Actionable     *bool      `json:"actionable"`
}

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// openAlert inserts a firing alert of one of the hospital's rules (code and severity) for a patient,
// as the engine would have opened it, with its "fired" event, and returns its id. The actions on it
// go through the real API.
func (d *demoApp) openAlert(t *testing.T, mrn, code, severity, summary string, tier int) string {
	t.Helper()
	id := d.id(t, `
		INSERT INTO alerts (patient_id, rule_id, direction, severity, summary, tier)
		SELECT p.id, r.id, coalesce(r.params->>'direction', ''), r.severity, $4, $5
		FROM patients p, alert_rules r
		WHERE p.mrn = $1 AND r.scope = 'hospital' AND r.code = $2 AND r.severity = $3
		LIMIT 1 RETURNING id::text`, mrn, code, severity, summary, tier)
	if _, err := d.db.Exec(context.Background(), `INSERT INTO alert_events (alert_id, kind) VALUES ($1, 'fired')`, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func alertIDs(list []alertJSONBody) map[string]alertJSONBody {
	m := map[string]alertJSONBody{}
	for _, a := range list {
		m[a.ID] = a
	}
	return m
}

func (d *demoApp) auditCount(t *testing.T, username, action, patientID string, allowed bool) int {
	t.Helper()
	var n int
	err := d.db.QueryRow(context.Background(), `
		SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
		WHERE u.username = $1 AND a.action = $2 AND a.patient_id = $3 AND a.allowed = $4`, username, action, patientID, allowed).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAlertAPI: each viewer lists only the alerts of patients they may see; only the care team
// acts, through the engine; the alert's state decides what is possible; everything is audited.
func TestAlertAPI(t *testing.T) {
	d := startDemo(t)
	kim, lee, patel := d.browser(t), d.browser(t), d.browser(t)
	kimToken := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	leeToken := csrfToken(t, lee.signIn("nurse.lee", "vigil-demo").body)
	patelToken := csrfToken(t, patel.signIn("dr.patel", "vigil-demo").body)
	rivera := d.patientID(t, "H1000001")

	onRivera := d.openAlert(t, "H1000001", "59408-5", "high", "SpO₂ below 90 % for 2 min", 1)
	onCardio := d.openAlert(t, "H1000002", "8867-4", "medium", "Pulse above 130 /min for 5 min", 2)
	onPulm := d.openAlert(t, "H1000101", "59408-5", "high", "SpO₂ below 90 % for 2 min", 1)

	for _, c := range []struct {
		who     *browser
		name    string
		see     []string
		notSeen []string
	}{
		{kim, "nurse.kim", []string{onRivera, onCardio}, []string{onPulm}},
		{lee, "nurse.lee", []string{onPulm}, []string{onRivera, onCardio}},
		{patel, "dr.patel", []string{onRivera}, []string{onCardio, onPulm}},
	} {
		var got struct{ Alerts []alertJSONBody }
		if code := c.who.jsonRequest(http.MethodGet, "/api/v1/alerts?state=open", "", nil, &got); code != http.StatusOK {
			t.Fatalf("%s: list %d", c.name, code)
		}
		ids := alertIDs(got.Alerts)
		for _, id := range c.see {
			if _, ok := ids[id]; !ok {
				t.Errorf("%s does not see alert %s", c.name, id)
			}
		}
		for _, id := range c.notSeen {
			if _, ok := ids[id]; ok {
				t.Errorf("%s sees alert %s of a patient hidden from them", c.name, id)
			}
		}
	}
	var kimList struct{ Alerts []alertJSONBody }
	kim.jsonRequest(http.MethodGet, "/api/v1/alerts?state=firing&category=clinical&patient="+rivera, "", nil, &kimList)
	if len(kimList.Alerts) != 1 || kimList.Alerts[0].PatientName != "Pat Rivera" || kimList.Alerts[0].Severity != "high" ||
		kimList.Alerts[0].Patient != rivera || kimList.Alerts[0].State != "firing" {
		t.Errorf("nurse.kim's firing alerts of Pat Rivera: %+v", kimList.Alerts)
	}
	if n := d.auditCount(t, "nurse.kim", "alert.list", rivera, true); n < 2 {
		t.Errorf("nurse.kim's alert lists of Pat Rivera audited %d times, want 2", n)
	}
	if code := kim.jsonRequest(http.MethodGet, "/api/v1/alerts?state=bogus", "", nil, nil); code != http.StatusBadRequest {
		t.Errorf("state=bogus: %d", code)
	}
	if code := kim.jsonRequest(http.MethodGet, "/api/v1/alerts?category=bogus", "", nil, nil); code != http.StatusBadRequest {
		t.Errorf("category=bogus: %d", code)
	}
	if code := lee.jsonRequest(http.MethodGet, "/api/v1/alerts?patient="+rivera, "", nil, nil); code != http.StatusNotFound {
		t.Errorf("nurse.lee asking for Pat Rivera's alerts: %d, want 404", code)
	}

	// Acting: nurse.lee may not see Pat Rivera; dr.patel may see her alerts but not act on them.
	note := map[string]string{"note": "On it"}
	if code := lee.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/acknowledge", leeToken, note, nil); code != http.StatusNotFound {
		t.Errorf("nurse.lee acknowledged a hidden patient's alert: %d", code)
	}
	if code := patel.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/acknowledge", patelToken, note, nil); code != http.StatusNotFound {
		t.Errorf("dr.patel (read-only share) acknowledged: %d, want 404", code)
	}
	if d.auditCount(t, "nurse.lee", "alert.acknowledge", rivera, false) != 1 || d.auditCount(t, "dr.patel", "alert.acknowledge", rivera, false) != 1 {
		t.Error("the refused acknowledgements are not audited")
	}
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/acknowledge", "", note, nil); code != http.StatusForbidden {
		t.Errorf("acknowledging without the CSRF token: %d", code)
	}
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/00000000-0000-4000-8000-000000000000/acknowledge", kimToken, note, nil); code != http.StatusNotFound {
		t.Errorf("acknowledging an alert that does not exist: %d", code)
	}

	var acked alertJSONBody
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/acknowledge", kimToken, note, &acked); code != http.StatusOK ||
		acked.State != "acknowledged" || acked.AcknowledgedAt == nil || acked.ID != onRivera {
		t.Fatalf("acknowledging: %d %+v", code, acked)
	}
	var conflict apiError
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/acknowledge", kimToken, nil, &conflict); code != http.StatusConflict ||
		!strings.Contains(conflict.Message, "already acknowledged") {
		t.Errorf("acknowledging twice: %d %+v", code, conflict)
	}

	// Snooze: bounded to 5 min … 24 h.
	for _, body := range []any{map[string]int{"minutes": 1}, map[string]int{"minutes": 1441}, map[string]string{"note": "no minutes"},
		map[string]any{"minutes": 30, "colour": "red"}} {
		var e apiError
		if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onCardio+"/snooze", kimToken, body, &e); code != http.StatusBadRequest || e.Message == "" {
			t.Errorf("snooze %v: %d %+v", body, code, e)
		}
	}
	var snoozed alertJSONBody
	before := time.Now()
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onCardio+"/snooze", kimToken, map[string]any{"minutes": 30, "note": "Rechecking"}, &snoozed); code != http.StatusOK ||
		snoozed.State != "acknowledged" || snoozed.SnoozedUntil == nil ||
		snoozed.SnoozedUntil.Before(before.Add(29*time.Minute)) || snoozed.SnoozedUntil.After(time.Now().Add(31*time.Minute)) {
		t.Errorf("snoozing 30 min: %d %+v", code, snoozed)
	}

	// Resolve with a note; the note is in the alert's history.
	var resolved alertJSONBody
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/resolve", kimToken, map[string]string{"note": "Sensor was off the finger"}, &resolved); code != http.StatusOK ||
		resolved.State != "resolved" || resolved.ResolvedAt == nil {
		t.Fatalf("resolving: %d %+v", code, resolved)
	}
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/resolve", kimToken, nil, &conflict); code != http.StatusConflict {
		t.Errorf("resolving twice: %d", code)
	}
	var marked alertJSONBody
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/actionable", kimToken, map[string]bool{"actionable": false}, &marked); code != http.StatusOK ||
		marked.Actionable == nil || *marked.Actionable {
		t.Errorf("marking not actionable: %d %+v", code, marked)
	}
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/alerts/"+onRivera+"/actionable", kimToken, nil, nil); code != http.StatusBadRequest {
		t.Errorf("marking without saying how: %d", code)
	}
	history := kim.get("/alerts/" + onRivera)
	for _, want := range []string{"Sensor was off the finger", "Jisoo Kim, RN", "Acknowledged", "Resolved", "Marked not actionable", "Fired", "On it"} {
		if !strings.Contains(history.body, want) {
			t.Errorf("the alert's history lacks %q", want)
		}
	}
	if page := patel.get("/alerts/" + onRivera); page.status != http.StatusOK || strings.Contains(page.body, "/actionable\"") {
		t.Errorf("dr.patel's view of the history: %d, with actions: %v", page.status, strings.Contains(page.body, "/actionable\""))
	}
	if page := lee.get("/alerts/" + onRivera); page.status != http.StatusNotFound {
		t.Errorf("nurse.lee's view of a hidden patient's alert: %d", page.status)
	}
	for _, action := range []string{"alert.acknowledge", "alert.resolve", "alert.mark"} {
		if d.auditCount(t, "nurse.kim", action, rivera, true) != 1 {
			t.Errorf("%s by nurse.kim not audited once", action)
		}
	}
	if d.auditCount(t, "nurse.kim", "alert.snooze", d.patientID(t, "H1000002"), true) != 1 {
		t.Error("the snooze is not audited")
	}
}

// TestAlertInbox: the inbox lists open alerts most urgent first, in words, with actions only for
// the care team; its plain forms act and come back; the census banner shows what is firing.
func TestAlertInbox(t *testing.T) {
	d := startDemo(t)
	kim, patel := d.browser(t), d.browser(t)
	kimToken := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	patel.signIn("dr.patel", "vigil-demo")
	medium := d.openAlert(t, "H1000002", "8867-4", "medium", "Pulse above 130 /min for 5 min", 2)
	high := d.openAlert(t, "H1000001", "59408-5", "high", "SpO₂ below 90 % for 2 min", 1)
	old := d.openAlert(t, "H1000002", "8310-5", "medium", "Temperature above 39 °C", 1)
	if _, err := d.db.Exec(context.Background(), `UPDATE alerts SET state = 'resolved', resolved_at = now() WHERE id = $1`, old); err != nil {
		t.Fatal(err)
	}

	inbox := kim.get("/alerts")
	if inbox.status != http.StatusOK {
		t.Fatalf("inbox: %d", inbox.status)
	}
	hi, me := strings.Index(inbox.body, `data-alert="`+high+`"`), strings.Index(inbox.body, `data-alert="`+medium+`"`)
	if hi < 0 || me < 0 || hi > me {
		t.Errorf("the high alert is not listed before the medium one (%d, %d)", hi, me)
	}
	for _, want := range []string{"High", "Medium", "escalated to tier 2", "Firing — not acknowledged", "Pat Rivera",
		`action="/alerts/` + high + `/acknowledge"`, `action="/alerts/` + high + `/snooze"`, `action="/alerts/` + high + `/resolve"`,
		`action="/alerts/` + high + `/actionable"`, `href="/alerts"`} {
		if !strings.Contains(inbox.body, want) {
			t.Errorf("the inbox lacks %q", want)
		}
	}
	if strings.Contains(inbox.body, `data-alert="`+old+`"`) {
		t.Error("a resolved alert is listed among the open ones")
	}
	if page := kim.get("/alerts?state=resolved"); !strings.Contains(page.body, `data-alert="`+old+`"`) || strings.Contains(page.body, `data-alert="`+high+`"`) {
		t.Error("the resolved filter is wrong")
	}
	pp := patel.get("/alerts")
	if !strings.Contains(pp.body, `data-alert="`+high+`"`) || strings.Contains(pp.body, `data-alert="`+medium+`"`) || strings.Contains(pp.body, "/acknowledge\"") {
		t.Errorf("dr.patel's inbox: sees the shared patient's alert %v, another's %v, actions %v", strings.Contains(pp.body, high),
			strings.Contains(pp.body, medium), strings.Contains(pp.body, "/acknowledge\""))
	}

	// The census banner lists what is firing, with the acknowledge button for the care team only.
	census := kim.get("/patients")
	if !strings.Contains(census.body, `id="alert-banner"`) || !strings.Contains(census.body, `data-ack="`+high+`"`) ||
		!strings.Contains(census.body, `data-open-alerts="`+medium) {
		t.Error("nurse.kim's census lacks the banner, its acknowledge button or the open alert ids")
	}
	if pc := patel.get("/patients"); !strings.Contains(pc.body, `data-alert="`+high+`"`) || strings.Contains(pc.body, "data-ack") {
		t.Error("dr.patel's banner should show the shared patient's alert without an acknowledge button")
	}

	// The plain forms: acknowledge, come back to the inbox; again, and the page says it changed.
	form := url.Values{"_csrf": {kimToken}, "return_to": {"/alerts?state=open"}}
	page := kim.post("/alerts/"+high+"/acknowledge", form)
	if page.status != http.StatusOK || page.url.Path != "/alerts" || strings.Contains(page.body, `action="/alerts/`+high+`/acknowledge"`) {
		t.Errorf("acknowledging from the inbox: %d at %s", page.status, page.url)
	}
	page = kim.post("/alerts/"+high+"/acknowledge", form)
	if page.status != http.StatusOK || page.url.Query().Get("problem") != "changed" || !strings.Contains(page.body, "had changed meanwhile") {
		t.Errorf("acknowledging twice from the inbox: %d at %s", page.status, page.url)
	}
	page = kim.post("/alerts/"+medium+"/snooze", url.Values{"_csrf": {kimToken}, "minutes": {"2"}, "return_to": {"https://evil.example/"}})
	if page.url.Path != "/alerts/"+medium || !strings.Contains(page.body, "Choose how long to snooze") {
		t.Errorf("a bad snooze went to %s", page.url)
	}
	rivera := d.patientID(t, "H1000001")
	page = kim.post("/alerts/"+high+"/resolve", url.Values{"_csrf": {kimToken}, "note": {"Called her; fine"}, "return_to": {"/patients/" + rivera}})
	if page.status != http.StatusOK || page.url.Path != "/patients/"+rivera || !strings.Contains(page.body, `href="/alerts/`+high+`"`) {
		t.Errorf("resolving from the patient view: %d at %s", page.status, page.url)
	}
	if h := kim.get("/alerts/" + high); !strings.Contains(h.body, "Called her; fine") {
		t.Error("the note is not in the history")
	}
	if c := kim.get("/patients"); strings.Contains(c.body, `data-alert="`+high+`"`) {
		t.Error("a resolved alert is still in the banner")
	}
}
