package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// userColumns are selected by every query that returns an rpm.User, in scanUser's order.
const userColumns = `id, issuer, subject, username, display_name, email, roles, disabled_at IS NOT NULL, time_zone, hour12`

func scanUser(row pgx.Row) (rpm.User, error) {
	var u rpm.User
	var roles []string
	err := row.Scan(&u.ID, &u.Issuer, &u.Subject, &u.Username, &u.DisplayName, &u.Email, &roles, &u.Disabled, &u.TimeZone, &u.Hour12)
	if errors.Is(err, pgx.ErrNoRows) {
		return rpm.User{}, ErrNotFound
	}
	for _, r := range roles {
		u.Roles = append(u.Roles, rpm.Role(r))
	}
	return u, err
}

// SignIn records a sign-in: it creates the user keyed by issuer and subject, or brings their
// username, name, e-mail and roles up to date from the identity provider's claims. A disabled
// user stays disabled; the caller must check.
func (s *Store) SignIn(ctx context.Context, u rpm.User, at time.Time) (rpm.User, error) {
	got, err := scanUser(s.pool.QueryRow(ctx, `
		INSERT INTO users (issuer, subject, username, display_name, email, roles, last_login_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (issuer, subject) DO UPDATE
		SET username = EXCLUDED.username, display_name = EXCLUDED.display_name, email = EXCLUDED.email,
		    roles = EXCLUDED.roles, last_login_at = EXCLUDED.last_login_at, updated_at = now()
		RETURNING `+userColumns,
		u.Issuer, u.Subject, u.Username, u.DisplayName, u.Email, roleNames(u.Roles), at))
	if err != nil {
		return rpm.User{}, fmt.Errorf("store: sign in: %w", err)
	}
	return got, nil
}

// User returns the user with the given id, or ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (rpm.User, error) {
	if !rpm.IsID(id) {
		return rpm.User{}, ErrNotFound
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return rpm.User{}, fmt.Errorf("store: user: %w", err)
	}
	return u, err
}

// Users lists every user, by name; with a role, only the users holding it.
func (s *Store) Users(ctx context.Context, role rpm.Role) ([]rpm.User, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+userColumns+` FROM users
		WHERE $1 = '' OR $1 = ANY(roles)
		ORDER BY display_name, username`, string(role))
	return collect("users", rows, err, func(row pgx.CollectableRow) (rpm.User, error) { return scanUser(row) })
}

// SetUserDisabled disables or re-enables a user. A disabled user's sessions stop working at their
// next request. It returns ErrNotFound for an unknown user.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	if !rpm.IsID(id) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END, updated_at = now()
		WHERE id = $1`, id, disabled)
	if err != nil {
		return fmt.Errorf("store: disable user: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// SetUserClock records how a user reads times: their time zone (an IANA name, checked by the
// caller; "" for the hospital's) and whether on a 12-hour clock. It returns ErrNotFound for an
// unknown user.
func (s *Store) SetUserClock(ctx context.Context, id, zone string, hour12 bool) error {
	if !rpm.IsID(id) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `UPDATE users SET time_zone = $2, hour12 = $3, updated_at = now() WHERE id = $1`, id, zone, hour12)
	if err != nil {
		return fmt.Errorf("store: set user clock: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
