package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// lowPulseDefault is the hospital's low heart-rate rule.
const lowPulseDefault = `SELECT id::text FROM alert_rules WHERE scope = 'hospital' AND code = '8867-4' AND params->>'direction' = 'below'`

// ruleForm is a low-pulse rule's edit form, with changes (name, value, name, value…).
func ruleForm(token, rule string, changes ...string) url.Values {
	v := url.Values{"_csrf": {token}, "rule": {rule}, "action": {"save"}, "severity": {"high"}, "unit": {"/min"},
		"limit": {"38"}, "for": {"2m"}, "clear": {"43"}, "clear_for": {"2m"}, "reason": {"Hospital policy AR-12"}}
	for i := 0; i < len(changes); i += 2 {
		v.Set(changes[i], changes[i+1])
	}
	return v
}

// invalidRuleForms are settings that must be refused, each with its specific message.
var invalidRuleForms = []struct{ name, field, value, message string }{
	{"unknown unit", "unit", "bpm", `are in /min, not &#34;bpm&#34;`},
	{"clear on the wrong side", "clear", "30", "the clear limit must be on the normal side of the limit"},
	{"limit not a number", "limit", "thirty", "The limit must be a number."},
	{"limit not finite", "limit", "NaN", "The limit must be a number."},
	{"clear limit infinite", "clear", "Inf", "The clear limit must be a number."},
	{"bad duration", "for", "two minutes", "How long it must hold must be a duration such as 90s, 2m or 72h."},
	{"repeat not whole", "repeat", "1.5", "Readings in a row must be a whole number."},
}

// TestAdminEditsAHospitalDefault: the admin sees the defaults with who changed them and why;
// invalid settings and a missing reason are refused with the specific message and nothing saved;
// a valid change is in force for every patient, kept with who and why, and audited; a default can
// be switched off and on again.
func TestAdminEditsAHospitalDefault(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	admin := d.browser(t)
	token := csrfToken(t, admin.signIn("admin", "vigil-demo").body)
	def := d.id(t, lowPulseDefault)

	page := admin.get("/admin/rules")
	if page.status != http.StatusOK || !strings.Contains(page.body, "below 40") || !strings.Contains(page.body, "by Vigil") ||
		!strings.Contains(page.body, "Vigil default") || !strings.Contains(page.body, "Last 30 days: 0 alerts") {
		t.Fatalf("defaults page: %d\n%.400s", page.status, page.body)
	}
	unchanged := func(name string) {
		t.Helper()
		var limit string
		var changed bool
		err := d.db.QueryRow(ctx, `SELECT params->>'limit', updated_by IS NOT NULL FROM alert_rules WHERE id = $1`, def).Scan(&limit, &changed)
		if err != nil || limit != "40" || changed {
			t.Fatalf("%s: the default was changed (limit %s, %v)", name, limit, err)
		}
	}
	for _, tc := range append(invalidRuleForms, struct{ name, field, value, message string }{
		"missing reason", "reason", " ", "Say why the hospital needs this change"}) {
		got := admin.post("/admin/rules", ruleForm(token, def, tc.field, tc.value))
		if got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, tc.message) {
			t.Errorf("%s: %d, want 422 with %q\n%.300s", tc.name, got.status, tc.message, got.body)
		}
		unchanged(tc.name)
	}
	if got := admin.post("/admin/rules", url.Values{"_csrf": {token}, "rule": {def}, "action": {"off"}}); got.status != http.StatusUnprocessableEntity {
		t.Errorf("switching off without a reason: %d", got.status)
	}
	unchanged("switching off without a reason")

	got := admin.post("/admin/rules", ruleForm(token, def))
	if got.status != http.StatusOK || got.url.Path != "/admin/rules" || !strings.Contains(got.body, "below 38") ||
		!strings.Contains(got.body, "by Morgan Blake") || !strings.Contains(got.body, "Hospital policy AR-12") {
		t.Fatalf("saving: %d at %s\n%.400s", got.status, got.url, got.body)
	}
	d.id(t, `SELECT id::text FROM alert_rules WHERE id = $1 AND params->>'limit' = '38' AND enabled
		AND change_reason = 'Hospital policy AR-12' AND updated_by = (SELECT id FROM users WHERE username = 'admin')`, def)
	d.id(t, `SELECT id::text FROM audit_log WHERE action = 'alert_rule.change' AND object_type = 'alert_rule' AND object_id = $1
		AND actor_id = (SELECT id FROM users WHERE username = 'admin')`, def)

	// Every patient now has the new default.
	kim := d.browser(t)
	kim.signIn("nurse.kim", "vigil-demo")
	if got := kim.get("/patients/" + d.patientID(t, "H1000002") + "/rules"); !strings.Contains(got.body, "below 38") || strings.Contains(got.body, "below 40") {
		t.Errorf("a patient's rules after the change: %d\n%.400s", got.status, got.body)
	}

	switchedOff := strings.Count(admin.get("/admin/rules").body, "Switched off:") // the defaults Vigil ships switched off
	off := url.Values{"_csrf": {token}, "rule": {def}, "action": {"off"}, "reason": {"Trial without it"}}
	if got := admin.post("/admin/rules", off); got.status != http.StatusOK || strings.Count(got.body, "Switched off:") != switchedOff+1 {
		t.Errorf("switching off: %d", got.status)
	}
	d.id(t, `SELECT id::text FROM alert_rules WHERE id = $1 AND NOT enabled AND change_reason = 'Trial without it'`, def)
	off.Set("action", "on")
	if got := admin.post("/admin/rules", off); got.status != http.StatusOK || strings.Count(got.body, "Switched off:") != switchedOff {
		t.Errorf("switching on: %d", got.status)
	}
	d.id(t, `SELECT id::text FROM alert_rules WHERE id = $1 AND enabled AND params->>'limit' = '38'`, def)
	var audited int
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'alert_rule.change' AND object_id = $1`, def).Scan(&audited); err != nil || audited != 3 {
		t.Errorf("audit rows for the default: %d (%v), want 3", audited, err)
	}
}

// TestAdminTeamOverride: the admin overrides the low-pulse default for Cardiology RPM. It is in
// force for cardiology patients, with its scope, and not for pulmonary ones; a clinician's override
// for one patient overrides the team's rule; switching off and going back to the default need a
// reason; everything is audited.
func TestAdminTeamOverride(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	admin := d.browser(t)
	token := csrfToken(t, admin.signIn("admin", "vigil-demo").body)
	def := d.id(t, lowPulseDefault)
	team := d.id(t, `SELECT id::text FROM care_teams WHERE name = 'Cardiology RPM'`)
	base := "/admin/teams/" + team + "/rules"
	if got := admin.get("/admin/teams"); !strings.Contains(got.body, base) {
		t.Errorf("the teams page does not link to %s", base)
	}
	if got := admin.get(base); got.status != http.StatusOK || !strings.Contains(got.body, "below 40") {
		t.Fatalf("team rules page: %d\n%.300s", got.status, got.body)
	}
	overrides := func() int {
		var n int
		if err := d.db.QueryRow(ctx, `SELECT count(*) FROM alert_rules WHERE team_id = $1`, team).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range append(invalidRuleForms, struct{ name, field, value, message string }{
		"missing reason", "reason", "", "Say why this team needs this change"}) {
		got := admin.post(base, ruleForm(token, def, tc.field, tc.value))
		if got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, tc.message) {
			t.Errorf("%s: %d, want 422 with %q\n%.300s", tc.name, got.status, tc.message, got.body)
		}
		if n := overrides(); n != 0 {
			t.Fatalf("%s: %d team overrides saved", tc.name, n)
		}
	}

	got := admin.post(base, ruleForm(token, def, "limit", "45", "clear", "50", "severity", "medium", "reason", "Beta-blocked patients"))
	if got.status != http.StatusOK || got.url.Path != base || !strings.Contains(got.body, "For this team") || !strings.Contains(got.body, "below 45") {
		t.Fatalf("saving: %d at %s\n%.400s", got.status, got.url, got.body)
	}
	override := d.id(t, `SELECT id::text FROM alert_rules WHERE scope = 'team' AND team_id = $1 AND overrides = $2 AND enabled
		AND severity = 'medium' AND change_reason = 'Beta-blocked patients' AND updated_by = (SELECT id FROM users WHERE username = 'admin')`, team, def)
	d.id(t, `SELECT id::text FROM audit_log WHERE action = 'alert_rule.change' AND object_type = 'alert_rule' AND object_id = $1`, override)

	// In force for the team's patients, with its scope; not for another team's.
	kim, lee := d.browser(t), d.browser(t)
	kimToken := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	lee.signIn("nurse.lee", "vigil-demo")
	cardio := "/patients/" + d.patientID(t, "H1000002") + "/rules"
	if got := kim.get(cardio); !strings.Contains(got.body, "team Cardiology RPM") || !strings.Contains(got.body, "below 45") || strings.Contains(got.body, "below 40") {
		t.Errorf("a cardiology patient's rules: %d\n%.400s", got.status, got.body)
	}
	if got := lee.get("/patients/" + d.patientID(t, "H1000101") + "/rules"); got.status != http.StatusOK ||
		strings.Contains(got.body, "Cardiology RPM") || !strings.Contains(got.body, "below 40") {
		t.Errorf("a pulmonary patient's rules: %d\n%.400s", got.status, got.body)
	}

	// A clinician's override for one patient overrides the team's rule.
	if got := kim.post(cardio, url.Values{"_csrf": {kimToken}, "rule": {override}, "action": {"save"}, "severity": {"high"},
		"unit": {"/min"}, "limit": {"35"}, "for": {"2m"}, "clear": {"40"}, "reason": {"Pacemaker at 50"}}); got.status != http.StatusOK ||
		!strings.Contains(got.body, "below 35") || strings.Contains(got.body, "below 45") {
		t.Fatalf("the patient's override: %d\n%.400s", got.status, got.body)
	}
	d.id(t, `SELECT id::text FROM alert_rules WHERE scope = 'patient' AND overrides = $1`, override)

	// Switched off for the team, then back to the hospital default; each needs a reason.
	off := url.Values{"_csrf": {token}, "rule": {def}, "action": {"off"}}
	if got := admin.post(base, off); got.status != http.StatusUnprocessableEntity {
		t.Errorf("switching off without a reason: %d", got.status)
	}
	off.Set("reason", "Not wanted on this ward")
	if got := admin.post(base, off); got.status != http.StatusOK || !strings.Contains(got.body, "switched off") {
		t.Errorf("switching off: %d", got.status)
	}
	d.id(t, `SELECT id::text FROM alert_rules WHERE id = $1 AND NOT enabled AND change_reason = 'Not wanted on this ward'`, override)
	reset := url.Values{"_csrf": {token}, "rule": {def}}
	if got := admin.post(base+"/reset", reset); got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, "Say why this team") {
		t.Errorf("reset without a reason: %d", got.status)
	}
	reset.Set("reason", "Hospital default suits us")
	if got := admin.post(base+"/reset", reset); got.status != http.StatusOK || strings.Contains(got.body, "For this team") {
		t.Errorf("reset: %d\n%.400s", got.status, got.body)
	}
	d.id(t, `SELECT id::text FROM alert_rules WHERE id = $1 AND overrides IS NULL AND NOT enabled AND change_reason = 'Hospital default suits us'`, override)
	d.id(t, `SELECT id::text FROM alert_rules WHERE scope = 'patient' AND overrides = $1 AND change_reason = 'Pacemaker at 50'`, def)
	var audited int
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'alert_rule.change' AND object_id = $1`, override).Scan(&audited); err != nil || audited != 3 {
		t.Errorf("audit rows for the team's override: %d (%v), want 3", audited, err)
	}
	if got := admin.get("/admin/teams/00000000-0000-4000-8000-000000000000/rules"); got.status != http.StatusNotFound {
		t.Errorf("an unknown team: %d", got.status)
	}
}
