package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPatientThresholds: nurse.kim tunes a patient's low-pulse threshold. Invalid settings and a
// missing reason are refused with the specific message and nothing saved; the what-if answers
// htmx; a valid change is saved with its reason and audited; "back to the default" restores the
// hospital rule.
func TestPatientThresholds(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	kim := d.browser(t)
	token := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	patient := d.patientID(t, "H1000002")
	def := d.id(t, `SELECT id::text FROM alert_rules WHERE scope = 'hospital' AND code = '8867-4' AND params->>'direction' = 'below'`)
	base := "/patients/" + patient + "/rules"

	page := kim.get(base)
	if page.status != http.StatusOK || !strings.Contains(page.body, "hospital default") || !strings.Contains(page.body, "below 40") {
		t.Fatalf("rules page: %d\n%.400s", page.status, page.body)
	}
	form := func(changes ...string) url.Values {
		v := url.Values{"_csrf": {token}, "rule": {def}, "action": {"save"}, "severity": {"high"}, "unit": {"/min"},
			"limit": {"35"}, "for": {"2m"}, "clear": {"40"}, "clear_for": {"2m"}, "reason": {"Resting pulse 48"}}
		for i := 0; i < len(changes); i += 2 {
			v.Set(changes[i], changes[i+1])
		}
		return v
	}
	overrides := func() int {
		var n int
		if err := d.db.QueryRow(ctx, `SELECT count(*) FROM alert_rules WHERE patient_id = $1`, patient).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct{ name, field, value, message string }{
		{"unknown unit", "unit", "bpm", `are in /min, not &#34;bpm&#34;`},
		{"clear on the wrong side", "clear", "30", "the clear limit must be on the normal side of the limit"},
		{"missing reason", "reason", " ", "Say why this patient needs this change"},
		{"limit not a number", "limit", "thirty", "The limit must be a number."},
		{"bad duration", "for", "two minutes", "How long it must hold must be a duration such as 90s, 2m or 72h."},
		{"no onset confirmation", "for", "", "confirm an onset with a duration or readings in a row, or mark the limit critical"},
		{"a clear time under 2 minutes", "clear_for", "1m", "How long it must stay clear must be at least 2m"},
	} {
		got := kim.post(base, form(tc.field, tc.value))
		if got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, tc.message) {
			t.Errorf("%s: %d, want 422 with %q\n%.300s", tc.name, got.status, tc.message, got.body)
		}
		if n := overrides(); n != 0 {
			t.Fatalf("%s: %d overrides saved", tc.name, n)
		}
	}

	// Every problem at once, not only the first.
	all := form("limit", "thirty", "for", "two minutes", "reason", "")
	if got := kim.post(base, all); got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, "The limit must be a number.") ||
		!strings.Contains(got.body, "How long it must hold must be a duration") || !strings.Contains(got.body, "Say why this patient needs this change") {
		t.Errorf("three problems: %d, want all three reported\n%.300s", got.status, got.body)
	}

	// The what-if, as htmx asks for it: just the result.
	req, _ := http.NewRequest(http.MethodPost, d.base+base+"/preview", strings.NewReader(form().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	if got := kim.do(req); got.status != http.StatusOK || !strings.Contains(got.body, "Over the last 7 days") || strings.Contains(got.body, "<html") {
		t.Errorf("what-if: %d\n%.300s", got.status, got.body)
	}
	if got := kim.post(base+"/preview", form()); got.status != http.StatusOK || !strings.Contains(got.body, "the proposed one") {
		t.Errorf("what-if without htmx: %d", got.status)
	}

	if got := kim.post(base, form()); got.status != http.StatusOK || !strings.Contains(got.body, "this patient") || !strings.Contains(got.body, "below 35") {
		t.Fatalf("saving: %d at %s\n%.400s", got.status, got.url, got.body)
	}
	override := d.id(t, `SELECT id::text FROM alert_rules WHERE patient_id = $1 AND overrides = $2 AND enabled
		AND change_reason = 'Resting pulse 48' AND updated_by = (SELECT id FROM users WHERE username = 'nurse.kim')`, patient, def)
	d.id(t, `SELECT id::text FROM audit_log WHERE action = 'alert_rule.change' AND object_type = 'alert_rule' AND object_id = $1 AND patient_id = $2`, override, patient)

	// Back to the default needs a reason too.
	if got := kim.post(base+"/reset", url.Values{"_csrf": {token}, "rule": {override}}); got.status != http.StatusUnprocessableEntity {
		t.Errorf("reset without a reason: %d", got.status)
	}
	if got := kim.post(base+"/reset", url.Values{"_csrf": {token}, "rule": {override}, "reason": {"Pulse back to normal"}}); got.status != http.StatusOK ||
		!strings.Contains(got.body, "below 40 /min") || strings.Contains(got.body, "below 35 /min") {
		t.Errorf("reset: %d\n%.400s", got.status, got.body)
	}
}

// TestNEWS2InputsRecorded: oxygen recorded on scale 2 reaches the patient page and the API, and
// is audited.
func TestNEWS2InputsRecorded(t *testing.T) {
	d := startDemo(t)
	kim := d.browser(t)
	token := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	patient := d.patientID(t, "H1000002")
	got := kim.post("/patients/"+patient+"/news2-inputs", url.Values{"_csrf": {token}, "oxygen": {"oxygen"}, "consciousness": {"alert"}, "spo2_scale": {"2"}})
	if got.status != http.StatusOK || !strings.Contains(got.body, "scored on scale 2") || !strings.Contains(got.body, "supplemental oxygen") ||
		!strings.Contains(got.body, "by ") {
		t.Fatalf("recording: %d\n%.400s", got.status, got.body)
	}
	d.id(t, `SELECT id::text FROM audit_log WHERE action = 'assessment.record' AND object_type = 'spo2_scale' AND patient_id = $1`, patient)
	if got := kim.post("/patients/"+patient+"/news2-inputs", url.Values{"_csrf": {token}, "oxygen": {"nasal"}}); got.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown value: %d", got.status)
	}
}
