package web

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// queryRow asks the fixture's database directly, for checks the store has no method for.
func queryRow(t *testing.T, f *intakeFixture, sql string, args ...any) pgx.Row {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(context.Background(), sql, args...)
}
