package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sessions is the server-side session store, for scs (it implements scs.CtxStore): the browser's
// cookie holds only a random token; the session's data stays in the database.
type Sessions struct{ s *Store }

// Sessions returns the session store over this database.
func (s *Store) Sessions() Sessions { return Sessions{s} }

// FindCtx returns the data of an unexpired session; found is false when there is none.
func (ss Sessions) FindCtx(ctx context.Context, token string) (data []byte, found bool, err error) {
	err = ss.s.pool.QueryRow(ctx, `SELECT data FROM sessions WHERE token = $1 AND now() < expiry`, token).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	return data, true, nil
}

// CommitCtx saves a session's data until expiry. It never brings an ended session back: a request
// that was under way when its user signed out must not save the session again.
func (ss Sessions) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	_, err := ss.s.pool.Exec(ctx, `
		INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry
		WHERE sessions.expiry > now()`, token, data, expiry)
	if err != nil {
		return fmt.Errorf("store: commit session: %w", err)
	}
	return nil
}

// DeleteCtx ends a session. The row stays, expired and emptied, as a tombstone that CommitCtx will
// not overwrite, until DeleteExpired clears it a day later.
func (ss Sessions) DeleteCtx(ctx context.Context, token string) error {
	if _, err := ss.s.pool.Exec(ctx, `UPDATE sessions SET data = '', expiry = least(expiry, now()) WHERE token = $1`, token); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// AllCtx returns every unexpired session's data by token (scs's IterableCtxStore).
func (ss Sessions) AllCtx(ctx context.Context) (map[string][]byte, error) {
	rows, err := ss.s.pool.Query(ctx, `SELECT token, data FROM sessions WHERE now() < expiry`)
	if err != nil {
		return nil, fmt.Errorf("store: all sessions: %w", err)
	}
	all := map[string][]byte{}
	var token string
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&token, &data}, func() error { all[token] = data; return nil })
	if err != nil {
		return nil, fmt.Errorf("store: all sessions: %w", err)
	}
	return all, nil
}

// Find, Commit and Delete satisfy scs.Store; scs calls the Ctx forms when they exist.
func (ss Sessions) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}

// Commit saves a session; see CommitCtx.
func (ss Sessions) Commit(token string, data []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, data, expiry)
}

// Delete removes a session; see DeleteCtx.
func (ss Sessions) Delete(token string) error { return ss.DeleteCtx(context.Background(), token) }

// DeleteExpired removes sessions that ended more than a day ago (longer than any request runs)
// and returns how many.
func (ss Sessions) DeleteExpired(ctx context.Context) (int64, error) {
	tag, err := ss.s.pool.Exec(ctx, `DELETE FROM sessions WHERE expiry < now() - interval '1 day'`)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
