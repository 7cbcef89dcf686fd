package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// Webhook is a care team's outbound webhook as an admin sees it. Its secret is never read back
// after creation: Fingerprint (the first 6 hex digits of the secret's SHA-256) tells secrets apart.
type Webhook struct {
	ID          string
	TeamID      string
	URL         string
	Enabled     bool
	Fingerprint string
	CreatedAt   time.Time
	CreatedBy   string
}

// WebhookDelivery is one alert event's delivery to one webhook, as the admin page shows it. It
// carries no payload: that holds clinical data.
type WebhookDelivery struct {
	ID            int64
	WebhookID     string
	Event         string // the alert event's kind: fired, acknowledged, resolved…
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	FailedAt      time.Time
	LastStatus    int // the last HTTP status; 0 when there was no answer
	LastError     string
}

// DueDelivery is a delivery claimed for sending, with what sending it takes.
type DueDelivery struct {
	ID        int64
	WebhookID string
	URL       string
	Secret    string
	Payload   []byte
	Attempt   int // this attempt's number, from 1
}

// DeliveryResult is the outcome of one attempt. Exactly one of DeliveredAt, RetryAt and FailedAt
// is set: delivered, to be tried again then, or given up.
type DeliveryResult struct {
	Status      int    // the HTTP status; 0 when there was no answer
	Error       string // a short, safe description; never the payload or the secret
	DeliveredAt time.Time
	RetryAt     time.Time
	FailedAt    time.Time
}

// webhookSecretBytes is the entropy of a new secret: 32 random bytes, 43 characters in base64url.
const webhookSecretBytes = 32

// CreateWebhook adds a webhook to a team, enabled, with a new random secret, and returns it with
// the secret — the only time the secret leaves the store. It returns ErrNotFound when the team does
// not exist. The caller checks the URL (the schema only insists on http or https).
func (s *Store) CreateWebhook(ctx context.Context, teamID, url, createdBy string) (Webhook, string, error) {
	if !rpm.IsID(teamID) {
		return Webhook{}, "", ErrNotFound
	}
	raw := make([]byte, webhookSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return Webhook{}, "", fmt.Errorf("store: create webhook: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	rows, err := s.pool.Query(ctx, `
		INSERT INTO team_webhooks (team_id, url, secret, created_by) VALUES ($1, $2, $3, $4)
		RETURNING `+webhookColumns, teamID, url, secret, nullID(createdBy))
	if err != nil {
		return Webhook{}, "", fmt.Errorf("store: create webhook: %w", err)
	}
	w, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
	if isForeignKeyViolation(err) {
		return Webhook{}, "", ErrNotFound
	}
	if err != nil {
		return Webhook{}, "", fmt.Errorf("store: create webhook: %w", err)
	}
	return w, secret, nil
}

// webhookColumns is the select list of scanWebhook, over team_webhooks.
const webhookColumns = `id::text, team_id::text, url, enabled, left(encode(sha256(convert_to(secret, 'UTF8')), 'hex'), 6),
	created_at, coalesce(created_by::text, '')`

func scanWebhook(row pgx.CollectableRow) (Webhook, error) {
	var w Webhook
	err := row.Scan(&w.ID, &w.TeamID, &w.URL, &w.Enabled, &w.Fingerprint, &w.CreatedAt, &w.CreatedBy)
	return w, err
}

// Webhooks lists every team's webhooks, oldest first within a team.
func (s *Store) Webhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+webhookColumns+` FROM team_webhooks ORDER BY team_id, created_at, id`)
	return collect("webhooks", rows, err, scanWebhook)
}

// SetWebhookEnabled switches a team's webhook on or off. Switching it off also gives up its
// pending deliveries (a page about an alert should not arrive hours late when it is switched on
// again); new alert events are only queued for enabled webhooks. It returns ErrNotFound when the
// team has no such webhook.
func (s *Store) SetWebhookEnabled(ctx context.Context, teamID, id string, enabled bool) error {
	if !rpm.IsID(teamID) || !rpm.IsID(id) {
		return ErrNotFound
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE team_webhooks SET enabled = $3 WHERE id = $1 AND team_id = $2`, id, teamID, enabled)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if enabled {
			return nil
		}
		_, err = tx.Exec(ctx, `
			UPDATE webhook_deliveries SET failed_at = now(), last_error = 'webhook disabled'
			WHERE webhook_id = $1 AND delivered_at IS NULL AND failed_at IS NULL`, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: set webhook enabled: %w", err)
	}
	return nil
}

// DeleteWebhook removes a team's webhook and its deliveries. It returns ErrNotFound when the team
// has no such webhook.
func (s *Store) DeleteWebhook(ctx context.Context, teamID, id string) error {
	if !rpm.IsID(teamID) || !rpm.IsID(id) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM team_webhooks WHERE id = $1 AND team_id = $2`, id, teamID)
	if err != nil {
		return fmt.Errorf("store: delete webhook: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// RecentDeliveries returns up to perWebhook of the latest deliveries of each of the webhooks,
// newest first, keyed by webhook id.
func (s *Store) RecentDeliveries(ctx context.Context, webhookIDs []string, perWebhook int) (map[string][]WebhookDelivery, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.id, d.webhook_id::text, coalesce(d.payload->>'event', ''), d.created_at, d.attempts, d.next_attempt_at,
		       d.delivered_at, d.failed_at, coalesce(d.last_status, 0), d.last_error
		FROM unnest($1::uuid[]) AS w(id)
		CROSS JOIN LATERAL (
			SELECT * FROM webhook_deliveries d WHERE d.webhook_id = w.id ORDER BY d.created_at DESC, d.id DESC LIMIT $2) d
		ORDER BY d.webhook_id, d.created_at DESC, d.id DESC`, webhookIDs, perWebhook)
	if err != nil {
		return nil, fmt.Errorf("store: recent deliveries: %w", err)
	}
	out := map[string][]WebhookDelivery{}
	var d WebhookDelivery
	var delivered, failed *time.Time
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.WebhookID, &d.Event, &d.CreatedAt, &d.Attempts, &d.NextAttemptAt,
		&delivered, &failed, &d.LastStatus, &d.LastError}, func() error {
		d.DeliveredAt, d.FailedAt = deref(delivered), deref(failed)
		out[d.WebhookID] = append(out[d.WebhookID], d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: recent deliveries: %w", err)
	}
	return out, nil
}

// ClaimDeliveries takes up to limit deliveries that are due at now, oldest first, for sending:
// each one's attempt count goes up by one and its next attempt moves to now+lease, so another
// instance (or this one, after a crash) takes it again only once the lease has run out. Rows
// another transaction is claiming are skipped, so concurrent claimers never take the same
// delivery. The lease must outlast an attempt.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]DueDelivery, error) {
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT d.id FROM webhook_deliveries d JOIN team_webhooks w ON w.id = d.webhook_id
			WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $1 AND w.enabled
			ORDER BY d.next_attempt_at, d.id
			LIMIT $2
			FOR UPDATE OF d SKIP LOCKED)
		UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $1::timestamptz + $3::interval
		FROM due, team_webhooks w
		WHERE d.id = due.id AND w.id = d.webhook_id
		RETURNING d.id, d.webhook_id::text, w.url, w.secret, d.payload, d.attempts`, now, limit, lease)
	return collect("claim deliveries", rows, err, func(row pgx.CollectableRow) (DueDelivery, error) {
		var d DueDelivery
		err := row.Scan(&d.ID, &d.WebhookID, &d.URL, &d.Secret, &d.Payload, &d.Attempt)
		return d, err
	})
}

// RecordDelivery records the outcome of an attempt at a claimed delivery. A delivery already
// delivered or given up (by another instance, after a lease ran out) keeps that outcome. It
// returns ErrNotFound when there is no such pending delivery.
func (s *Store) RecordDelivery(ctx context.Context, id int64, r DeliveryResult) error {
	var status *int
	if r.Status != 0 {
		status = &r.Status
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE webhook_deliveries SET last_status = $2, last_error = $3, delivered_at = $4, failed_at = $5,
		       next_attempt_at = coalesce($6, next_attempt_at)
		WHERE id = $1 AND delivered_at IS NULL AND failed_at IS NULL`,
		id, status, r.Error, nullTime(r.DeliveredAt), nullTime(r.FailedAt), nullTime(r.RetryAt))
	if err != nil {
		return fmt.Errorf("store: record delivery: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
