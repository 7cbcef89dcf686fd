package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"

	"github.com/vigil-rpm/vigil/migrations"
)

// versionTable records how many migrations the database has applied.
const versionTable = "schema_version"

// SchemaBehindError says the database has not yet applied every migration this build carries.
type SchemaBehindError struct {
	Current, Latest int
}

func (e *SchemaBehindError) Error() string {
	return fmt.Sprintf("the database schema is at version %d, and this build of Vigil needs version %d", e.Current, e.Latest)
}

// LatestSchemaVersion is the number of migrations this build carries.
func LatestSchemaVersion() (int, error) {
	names, err := migrate.FindMigrations(migrations.FS)
	if err != nil {
		return 0, fmt.Errorf("store: list migrations: %w", err)
	}
	return len(names), nil
}

// Migrate applies the pending migrations, each in its own transaction, in order. It holds an
// advisory lock while it works, so instances starting together apply each migration once.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return fmt.Errorf("store: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// SchemaVersion is the number of migrations the database has applied (0 for an empty database).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: never migrated
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return v, nil
}

// CheckSchema returns a *SchemaBehindError when the database lacks migrations this build needs. A
// database ahead of this build (a newer instance migrated it) is accepted: migrations only add.
func (s *Store) CheckSchema(ctx context.Context) error {
	latest, err := LatestSchemaVersion()
	if err != nil {
		return err
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return &SchemaBehindError{Current: current, Latest: latest}
	}
	return nil
}
