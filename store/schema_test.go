package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

func openEmpty(t *testing.T) (*store.Store, string) {
	t.Helper()
	url := storetest.EmptyURL(t)
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, url
}

func TestMigrateFromEmpty(t *testing.T) {
	ctx := context.Background()
	s, url := openEmpty(t)

	var behind *store.SchemaBehindError
	if err := s.CheckSchema(ctx); !errors.As(err, &behind) || behind.Current != 0 {
		t.Fatalf("CheckSchema on an empty database = %v, want SchemaBehindError at 0", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after Migrate: %v", err)
	}
	latest, _ := store.LatestSchemaVersion()
	if v, _ := s.SchemaVersion(ctx); v != latest || latest < 4 {
		t.Errorf("schema version %d, latest %d", v, latest)
	}
	// Migrating again is a no-op.
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, table := range []string{"users", "care_teams", "care_team_members", "patients", "patient_care_teams",
		"shares", "devices", "device_credentials", "device_assignments", "readings", "rejected_readings",
		"alert_rules", "alerts", "alert_events", "audit_log", "sessions"} {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil || !exists {
			t.Errorf("table %s missing after migration (%v)", table, err)
		}
	}
}

// TestConcurrentMigrate: instances starting together apply each migration once and all succeed.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	_, url := openEmpty(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := store.Open(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.Migrate(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}

func TestSchemaBehindIsReported(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t)
	url := storetest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE schema_version SET version = version - 1"); err != nil {
		t.Fatal(err)
	}
	behindStore, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer behindStore.Close()
	var behind *store.SchemaBehindError
	if err := behindStore.CheckSchema(ctx); !errors.As(err, &behind) || behind.Latest-behind.Current != 1 {
		t.Errorf("CheckSchema = %v, want one migration behind", err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Errorf("a current database reported %v", err)
	}
}

func TestOpenHidesTheURL(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://vigil:s3cret-pw@[::1/db")
	if err == nil {
		t.Fatal("Open accepted a malformed URL")
	}
	if got := err.Error(); strings.Contains(got, "s3cret-pw") {
		t.Errorf("error text leaks the password: %q", got)
	}
}
