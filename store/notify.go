package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify sends a notification on a channel to every instance listening. The payload must carry no
// patient data — ids only — and at most 8000 bytes (PostgreSQL's limit).
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("store: notify: %w", err)
	}
	return nil
}

// listenBackoff bounds how long Listen waits before reconnecting.
const listenBackoff = 5 * time.Second

// Listen holds one connection that listens on a channel and calls fn with each payload, until
// ctx ends. A lost connection is re-established with backoff; onConnect, if set, is called each
// time listening (re)starts, so the caller can catch up on what it missed meanwhile.
func (s *Store) Listen(ctx context.Context, channel string, fn func(payload string), onConnect func()) error {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channel, fn, onConnect)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			wait = 100 * time.Millisecond
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, listenBackoff)
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, channel string, fn func(string), onConnect func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	defer func() {
		// Leave the pooled connection as it was found; if that fails, drop it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "UNLISTEN *"); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if onConnect != nil {
		onConnect()
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return err
		}
		fn(n.Payload)
	}
}
