package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/demo"
)

// counts returns the number of rows in each table that seeding writes.
func counts(t *testing.T, conn *pgx.Conn) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, table := range []string{"users", "care_teams", "care_team_members", "patients",
		"patient_care_teams", "devices", "device_assignments", "shares"} {
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		got[table] = n
	}
	return got
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)

	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	hospital := demo.New()
	if err := s.SeedDemo(ctx, hospital, "http://127.0.0.1:8080/oidc", now); err != nil {
		t.Fatal(err)
	}
	first := counts(t, conn)
	devices := 0
	for _, p := range hospital.Patients {
		devices += len(p.Devices)
	}
	want := map[string]int{
		"users": 6, "care_teams": 2, "care_team_members": 3, "patients": len(hospital.Patients),
		"patient_care_teams": len(hospital.Patients), "devices": devices, "device_assignments": devices, "shares": 1,
	}
	for table, n := range want {
		if first[table] != n {
			t.Errorf("%s: %d rows after seeding, want %d", table, first[table], n)
		}
	}
	if len(hospital.Patients) < 12 {
		t.Errorf("demo hospital has %d patients, want at least 12", len(hospital.Patients))
	}

	// Again, later, and on another address: nothing is duplicated.
	if err := s.SeedDemo(ctx, hospital, "http://127.0.0.1:9999/oidc", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if second := counts(t, conn); !equal(first, second) {
		t.Errorf("second seeding changed row counts: %v → %v", first, second)
	}
	var issuer string
	if err := conn.QueryRow(ctx, "SELECT DISTINCT issuer FROM users").Scan(&issuer); err != nil || issuer != "http://127.0.0.1:9999/oidc" {
		t.Errorf("demo users' issuer = %q (%v), want the latest", issuer, err)
	}

	// Every device is on its patient from demo.History before the first seeding, for the demo's history.
	var earliest, latest time.Time
	if err := conn.QueryRow(ctx, "SELECT min(started_at), max(started_at) FROM device_assignments").Scan(&earliest, &latest); err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-demo.History); !earliest.Equal(want) || !latest.Equal(want) {
		t.Errorf("assignments start between %v and %v, want all at %v", earliest, latest, want)
	}

	// The patient link and the share are in place.
	var sharedWith string
	err := conn.QueryRow(ctx, `
		SELECT g.username FROM shares s
		JOIN patients p ON p.id = s.patient_id JOIN users g ON g.id = s.grantee_id JOIN users pu ON pu.id = p.user_id
		WHERE pu.username = 'pat.rivera' AND s.revoked_at IS NULL AND s.expires_at > $1`, now).Scan(&sharedWith)
	if err != nil || sharedWith != "dr.patel" {
		t.Errorf("Pat Rivera's share: %q, %v", sharedWith, err)
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
