package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// queryID runs a query of one text column and one row.
func queryID(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var id string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return id
}

// inForce returns the ids of the rules in force for a patient.
func inForce(t *testing.T, s *store.Store, patient string) []string {
	t.Helper()
	rules, _, err := s.RulesFor(context.Background(), patient)
	if err != nil {
		t.Fatal(err)
	}
	return ruleIDs(rules)
}

// TestTeamOverrideAppliesToTheTeamsPatientsOnly: a cardiology override of the low-pulse default
// is in force for cardiology patients and not for pulmonary ones; a patient's override on top of
// it wins; an override a patient already had of the default now overrides the team's rule; and
// when the team goes back to the default, the patients' overrides override the default again.
func TestTeamOverrideAppliesToTheTeamsPatientsOnly(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	demoWithPatient(t, s)
	cardiology := queryID(t, conn, `SELECT id::text FROM care_teams WHERE name = 'Cardiology RPM'`)
	inTeam := `SELECT patient_id::text FROM patient_care_teams WHERE team_id = $1 ORDER BY patient_id`
	first := queryID(t, conn, inTeam, cardiology)
	second := queryID(t, conn, inTeam+` OFFSET 1`, cardiology)
	pulmonary := queryID(t, conn, `SELECT pct.patient_id::text FROM patient_care_teams pct JOIN care_teams t ON t.id = pct.team_id
		WHERE t.name = 'Pulmonary RPM' AND pct.patient_id NOT IN (SELECT patient_id FROM patient_care_teams WHERE team_id = $1) LIMIT 1`, cardiology)
	admin := queryID(t, conn, `SELECT id::text FROM users WHERE username = 'admin'`)
	rules, _, _ := s.RulesFor(ctx, first)
	def := hospitalRule(t, rules, rpm.CodeHeartRate, rpm.Below)
	tuned := func(limit, clear float64) []byte {
		r, _ := alerts.ParseRule(def)
		r.Limit, r.Clear = limit, clear
		return r.Params()
	}

	// The second patient already has their own rule of the default.
	early, err := s.SaveOverride(ctx, rpm.AlertRule{Scope: rpm.ScopePatient, PatientID: second, Overrides: def.ID,
		Severity: rpm.SeverityHigh, Params: tuned(30, 35), Enabled: true, ChangeReason: "Athlete"})
	if err != nil {
		t.Fatal(err)
	}
	team, err := s.SaveOverride(ctx, rpm.AlertRule{Scope: rpm.ScopeTeam, TeamID: cardiology, Overrides: def.ID,
		Severity: rpm.SeverityMedium, Params: tuned(45, 50), Enabled: true, UpdatedBy: admin, ChangeReason: "Beta-blocked population"})
	if err != nil {
		t.Fatal(err)
	}
	if ids := inForce(t, s, first); !slices.Contains(ids, team) || slices.Contains(ids, def.ID) {
		t.Errorf("cardiology patient: in force %v, want the team's %s instead of the default %s", ids, team, def.ID)
	}
	if ids := inForce(t, s, pulmonary); slices.Contains(ids, team) || !slices.Contains(ids, def.ID) {
		t.Errorf("pulmonary patient: in force %v, want the default %s and not the team's %s", ids, def.ID, team)
	}
	if ids := inForce(t, s, second); !slices.Contains(ids, early) || slices.Contains(ids, team) || slices.Contains(ids, def.ID) {
		t.Errorf("patient with an earlier override: in force %v, want only theirs %s", ids, early)
	}
	if got := queryID(t, conn, `SELECT overrides::text FROM alert_rules WHERE id = $1`, early); got != team {
		t.Errorf("the earlier patient override overrides %s, want the team's rule %s", got, team)
	}

	// A patient override of the team's rule wins over it.
	own, err := s.SaveOverride(ctx, rpm.AlertRule{Scope: rpm.ScopePatient, PatientID: first, Overrides: team,
		Severity: rpm.SeverityHigh, Params: tuned(35, 40), Enabled: true, ChangeReason: "Pacemaker at 50"})
	if err != nil {
		t.Fatal(err)
	}
	if ids := inForce(t, s, first); !slices.Contains(ids, own) || slices.Contains(ids, team) || slices.Contains(ids, def.ID) {
		t.Errorf("with the patient's own rule: in force %v, want only %s of this lineage", ids, own)
	}

	// The team's rules list it with who changed it; a team cannot override its own rule.
	list, err := s.TeamRules(ctx, cardiology)
	if err != nil || len(list) != 1 || list[0].ID != team || list[0].UpdatedName == "" || list[0].ChangeReason != "Beta-blocked population" {
		t.Fatalf("team rules: %+v, %v", list, err)
	}
	if _, err := s.SaveOverride(ctx, rpm.AlertRule{Scope: rpm.ScopeTeam, TeamID: cardiology, Overrides: team,
		Severity: rpm.SeverityLow, Params: tuned(45, 50), Enabled: true, ChangeReason: "nested"}); err != store.ErrNotFound {
		t.Errorf("a team override of a team rule: %v, want ErrNotFound", err)
	}

	// Back to the hospital default: the patients' overrides override the default again.
	if err := s.RetireOverride(ctx, team, admin, "Back to the hospital's"); err != nil {
		t.Fatal(err)
	}
	if ids := inForce(t, s, first); !slices.Contains(ids, own) || slices.Contains(ids, def.ID) || slices.Contains(ids, team) {
		t.Errorf("after the team's reset: in force %v, want the patient's own %s only", ids, own)
	}
	if ids := inForce(t, s, queryID(t, conn, inTeam+` OFFSET 2`, cardiology)); !slices.Contains(ids, def.ID) {
		t.Errorf("after the team's reset, a cardiology patient without an override: %v lacks the default", ids)
	}
	if list, _ := s.TeamRules(ctx, cardiology); len(list) != 0 {
		t.Errorf("team rules after the reset: %+v", list)
	}
}

// TestHospitalRuleUpdate: a default's new settings are in force for everyone, with who and why;
// switched off, it is in force for no one; only hospital rules are updated this way.
func TestHospitalRuleUpdate(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	patient := demoWithPatient(t, s)
	admin := queryID(t, conn, `SELECT id::text FROM users WHERE username = 'admin'`)
	defaults, err := s.HospitalRules(ctx)
	var seeded int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM alert_rules WHERE scope = 'hospital'`).Scan(&seeded); err != nil {
		t.Fatal(err)
	}
	if err != nil || len(defaults) != seeded || seeded == 0 {
		t.Fatalf("hospital rules: %d of %d, %v", len(defaults), seeded, err)
	}
	def := hospitalRule(t, defaults, rpm.CodeSpO2, rpm.Below)
	r, _ := alerts.ParseRule(def)
	r.Limit, r.Clear = 88, 90
	def.Params, def.Severity, def.UpdatedBy, def.ChangeReason = r.Params(), rpm.SeverityMedium, admin, "Hospital policy 12"
	if err := s.UpdateHospitalRule(ctx, def); err != nil {
		t.Fatal(err)
	}
	defaults, _ = s.HospitalRules(ctx)
	got := hospitalRule(t, defaults, rpm.CodeSpO2, rpm.Below)
	if p, _ := alerts.ParseRule(got); p.Limit != 88 || got.Severity != rpm.SeverityMedium || got.UpdatedName == "" ||
		got.ChangeReason != "Hospital policy 12" || got.UpdatedBy != admin {
		t.Errorf("after the update: %+v", got)
	}
	def.Enabled = false
	if err := s.UpdateHospitalRule(ctx, def); err != nil {
		t.Fatal(err)
	}
	if ids := inForce(t, s, patient); slices.Contains(ids, def.ID) {
		t.Errorf("switched off, yet in force: %v", ids)
	}
	team := queryID(t, conn, `SELECT id::text FROM care_teams LIMIT 1`)
	id, err := s.SaveOverride(ctx, rpm.AlertRule{Scope: rpm.ScopeTeam, TeamID: team, Overrides: def.ID, Severity: rpm.SeverityLow,
		Params: def.Params, Enabled: true, ChangeReason: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateHospitalRule(ctx, rpm.AlertRule{ID: id, Severity: rpm.SeverityLow, Params: def.Params, ChangeReason: "x"}); err != store.ErrNotFound {
		t.Errorf("updating a team rule as a default: %v, want ErrNotFound", err)
	}
}

// TestRuleNoise: each rule's alerts of the last days, an override's counted with the rule it
// overrides, with what clinicians marked them.
func TestRuleNoise(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	patient := demoWithPatient(t, s)
	def := queryID(t, conn, `SELECT id::text FROM alert_rules WHERE scope = 'hospital' AND code = '59408-5' AND kind = 'threshold'`)
	override := queryID(t, conn, `
		INSERT INTO alert_rules (scope, patient_id, overrides, kind, code, severity, params, change_reason)
		SELECT 'patient', $1, id, kind, code, severity, params, 'test' FROM alert_rules WHERE id = $2 RETURNING id::text`, patient, def)
	for _, a := range []struct {
		rule       string
		actionable *bool
		age        string
	}{{def, ptr(true), "1 day"}, {override, ptr(false), "2 days"}, {override, ptr(false), "3 days"}, {def, nil, "4 days"}, {def, ptr(true), "40 days"}} {
		if _, err := conn.Exec(ctx, `
			INSERT INTO alerts (patient_id, rule_id, severity, state, summary, opened_at, resolved_at, actionable)
			VALUES ($1, $2, 'high', 'resolved', 'x', now() - $3::interval, now(), $4)`, patient, a.rule, a.age, a.actionable); err != nil {
			t.Fatal(err)
		}
	}
	noise, err := s.RuleNoiseSince(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := noise[def], (store.RuleNoise{Alerts: 4, Actionable: 1, NotActionable: 2}); got != want {
		t.Errorf("noise of the SpO₂ rule: %+v, want %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
