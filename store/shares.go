package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// shareColumns selects a share aliased s with its grantee g and grantor b, in scanShare's order.
const shareColumns = `s.id, s.patient_id, s.grantee_id, g.display_name, s.granted_by, b.display_name,
	s.reason, s.created_at, s.expires_at, s.revoked_at`

const shareFrom = ` FROM shares s JOIN users g ON g.id = s.grantee_id JOIN users b ON b.id = s.granted_by`

func scanShare(row pgx.Row) (rpm.Share, error) {
	var sh rpm.Share
	var revoked *time.Time
	err := row.Scan(&sh.ID, &sh.PatientID, &sh.GranteeID, &sh.GranteeName, &sh.GrantedBy, &sh.GrantorName,
		&sh.Reason, &sh.CreatedAt, &sh.ExpiresAt, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return rpm.Share{}, ErrNotFound
	}
	if revoked != nil {
		sh.RevokedAt = *revoked
	}
	return sh, err
}

// CreateShare records a share of a patient with a grantee and returns its id. The caller has
// checked that the grantor may share. It returns ErrNotFound unless the grantee is an active
// primary care physician: shares are how they, and only they, see a patient.
func (s *Store) CreateShare(ctx context.Context, sh rpm.Share) (string, error) {
	if !rpm.IsID(sh.GranteeID) {
		return "", ErrNotFound
	}
	var id string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO shares (patient_id, grantee_id, granted_by, reason, created_at, expires_at)
		SELECT $1, u.id, $3, $4, $5, $6 FROM users u
		WHERE u.id = $2 AND u.disabled_at IS NULL AND 'pcp' = ANY(u.roles)
		RETURNING id`, sh.PatientID, sh.GranteeID, sh.GrantedBy, sh.Reason, sh.CreatedAt, sh.ExpiresAt).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: create share: %w", err)
	}
	return id, nil
}

// Share returns one share, or ErrNotFound.
func (s *Store) Share(ctx context.Context, id string) (rpm.Share, error) {
	if !rpm.IsID(id) {
		return rpm.Share{}, ErrNotFound
	}
	sh, err := scanShare(s.pool.QueryRow(ctx, `SELECT `+shareColumns+shareFrom+` WHERE s.id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return rpm.Share{}, fmt.Errorf("store: share: %w", err)
	}
	return sh, err
}

// PatientShares lists a patient's shares, newest first, revoked and expired ones included.
func (s *Store) PatientShares(ctx context.Context, patientID string) ([]rpm.Share, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+shareColumns+shareFrom+`
		WHERE s.patient_id = $1 ORDER BY s.created_at DESC`, patientID)
	return collect("patient shares", rows, err, func(row pgx.CollectableRow) (rpm.Share, error) { return scanShare(row) })
}

// RevokeShare ends a share at once. Revoking an already revoked share changes nothing; an unknown
// share is ErrNotFound.
func (s *Store) RevokeShare(ctx context.Context, id, by string, at time.Time) error {
	if !rpm.IsID(id) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE shares SET revoked_at = coalesce(revoked_at, $3), revoked_by = coalesce(revoked_by, $2)
		WHERE id = $1`, id, by, at)
	if err != nil {
		return fmt.Errorf("store: revoke share: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
