package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/demo"
)

// seeded returns a connection to a fresh database holding the demo hospital.
func seeded(t *testing.T) *pgx.Conn {
	t.Helper()
	s, conn := openFresh(t)
	if err := s.SeedDemo(context.Background(), demo.New(), "http://issuer.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	return conn
}

// The schema itself refuses what must never happen, whatever the code above it does.
func TestSchemaConstraints(t *testing.T) {
	ctx := context.Background()
	conn := seeded(t)
	var device, patient, other string
	if err := conn.QueryRow(ctx, `SELECT device_id, patient_id FROM device_assignments LIMIT 1`).Scan(&device, &patient); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT id FROM patients WHERE id <> $1 LIMIT 1`, patient).Scan(&other); err != nil {
		t.Fatal(err)
	}
	mustFail := map[string]struct {
		sql  string
		args []any
	}{
		"a reading stored twice for one device reading id": {`
			INSERT INTO readings (effective_at, value, patient_id, device_id, code, unit, device_reading_id)
			VALUES (now(), 72, $1, $2, '8867-4', '/min', 'r1'), (now(), 73, $1, $2, '8867-4', '/min', 'r1')`,
			[]any{patient, device}},
		"a device on two patients at once": {`
			INSERT INTO device_assignments (device_id, patient_id, started_at) VALUES ($1, $2, now())`,
			[]any{device, other}},
		"an audit entry changed":  {`UPDATE audit_log SET allowed = true`, nil},
		"an audit entry deleted":  {`DELETE FROM audit_log`, nil},
		"the audit log truncated": {`TRUNCATE audit_log`, nil},
		"a share that expires before it starts": {`
			INSERT INTO shares (patient_id, grantee_id, granted_by, reason, expires_at)
			SELECT $1, id, id, 'x', now() - interval '1 day' FROM users LIMIT 1`, []any{patient}},
		"an unknown role": {`UPDATE users SET roles = '{superuser}'`, nil},
	}
	// Audit rows exist so that the update and delete have something to refuse.
	if _, err := conn.Exec(ctx, `INSERT INTO audit_log (actor_kind, action, allowed) VALUES ('system', 'test', false)`); err != nil {
		t.Fatal(err)
	}
	for name, tc := range mustFail {
		t.Run(name, func(t *testing.T) {
			if _, err := conn.Exec(ctx, tc.sql, tc.args...); err == nil {
				t.Errorf("the database accepted %s", name)
			}
		})
	}
}
