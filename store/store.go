// Package store is Vigil's storage on PostgreSQL: every SQL statement lives here, as a literal string
// in the method that runs it, on pgx v5. Methods take a context and return rpm types; callers never
// see pgx types. A missing row is ErrNotFound, a clash with existing data is ErrConflict.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound means the thing asked for does not exist (or the caller may not know that it does).
var ErrNotFound = errors.New("not found")

// ErrConflict means the change clashes with data already stored.
var ErrConflict = errors.New("conflict")

// defaultMaxConns is the pool size when the database URL does not set pool_max_conns.
const defaultMaxConns = 20

// Store is a pool of connections to Vigil's database. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (a PostgreSQL URL or key=value string) and checks that it
// answers. It does not check or change the schema: see Migrate and CheckSchema.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error can echo the URL, password included: keep it out of the message.
		return nil, errors.New("store: the database URL is not a valid PostgreSQL connection string")
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "vigil"
	// Roll-ups bucket by date_trunc, which follows the session's time zone: every session is UTC,
	// whatever the server's default, so hours start on the hour everywhere.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (4 on two cores) is too few: each instance holds some connections for
		// good — the listeners of the live relay and the webhook sender, and the timers' leader —
		// besides intake's writers and the requests.
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: database unreachable: %w", err)
	}
	return nil
}

// Close waits for connections in use to be returned and closes them all.
func (s *Store) Close() { s.pool.Close() }

// isUniqueViolation reports whether err is PostgreSQL's unique_violation (23505).
func isUniqueViolation(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == "23505"
}

// isForeignKeyViolation reports whether err is PostgreSQL's foreign_key_violation (23503): the row
// referred to does not exist.
func isForeignKeyViolation(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == "23503"
}

// collect scans every row of a query's result, as pgx.CollectRows does; an error of the query or
// of a row is wrapped to say what was being read. It takes the query's error so that a call reads
// as the query and then what to make of it:
//
//	rows, err := s.pool.Query(ctx, `SELECT …`, id)
//	return collect("alert events", rows, err, scanEvent)
func collect[T any](what string, rows pgx.Rows, err error, scan pgx.RowToFunc[T]) ([]T, error) {
	if err == nil {
		var out []T
		if out, err = pgx.CollectRows(rows, scan); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: %s: %w", what, err)
}

// collectOne is collect for a query that finds exactly one row: ErrNotFound when it finds none.
func collectOne[T any](what string, rows pgx.Rows, err error, scan pgx.RowToFunc[T]) (T, error) {
	var out T
	if err == nil {
		if out, err = pgx.CollectExactlyOneRow(rows, scan); err == nil {
			return out, nil
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return out, ErrNotFound
	}
	return out, fmt.Errorf("store: %s: %w", what, err)
}
