package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// BackfillReadings stores history in bulk — for `vigil demo`, which gives its devices the past
// they would have had — and returns how many readings were new. Readings are validated and in
// canonical units already; each goes to the patient its device was assigned to at the reading's
// time, and one of a device on no patient then is left out. It is idempotent: a (device, reading
// id) pair stored before is left as it was, so backfilling again duplicates nothing. The per-minute
// and hourly roll-ups take in what was new, with intake's arithmetic, in the same transaction.
//
// It bypasses intake on purpose: no rejection log, no device metrics, no live updates, and no
// alert rules — history raises no alerts.
func (s *Store) BackfillReadings(ctx context.Context, readings []rpm.Reading) (int64, error) {
	var inserted int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			CREATE TEMP TABLE backfill (
				device_id uuid, device_reading_id text, code text, value float8, unit text,
				effective_at timestamptz, received_at timestamptz
			) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"backfill"},
			[]string{"device_id", "device_reading_id", "code", "value", "unit", "effective_at", "received_at"},
			pgx.CopyFromSlice(len(readings), func(i int) ([]any, error) {
				r := &readings[i]
				return []any{r.DeviceID, r.DeviceReadingID, r.Code, r.Value, r.Unit, r.EffectiveAt, r.ReceivedAt}, nil
			})); err != nil {
			return err
		}
		return tx.QueryRow(ctx, backfillMerge).Scan(&inserted)
	})
	if err != nil {
		return 0, fmt.Errorf("store: backfill readings: %w", err)
	}
	return inserted, nil
}

// backfillMerge moves the backfill table's readings of assigned devices into readings, skipping
// those already stored, and adds what it inserted to the roll-ups, as intake does. Rows are written
// in intake's orders, so a backfill and intake running at once cannot deadlock.
const backfillMerge = `
	WITH ins AS (
		INSERT INTO readings (effective_at, received_at, value, patient_id, device_id, code, unit, device_reading_id)
		SELECT b.effective_at, b.received_at, b.value, a.patient_id, b.device_id, b.code, b.unit, b.device_reading_id
		FROM backfill b
		JOIN device_assignments a ON a.device_id = b.device_id AND a.started_at <= b.effective_at
		     AND (a.ended_at IS NULL OR b.effective_at < a.ended_at)
		ORDER BY b.device_id, b.device_reading_id COLLATE "C"
		ON CONFLICT (device_id, device_reading_id) DO NOTHING
		RETURNING patient_id, code, effective_at, value),
	` + rollupsSQL + `
	SELECT count(*) FROM ins`

// LatestReadingTimes returns, for each of the devices that has stored readings, the effective time
// of its latest: where a backfill of its history should resume.
func (s *Store) LatestReadingTimes(ctx context.Context, deviceIDs []string) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT device_id::text, max(effective_at) FROM readings WHERE device_id = ANY($1::uuid[]) GROUP BY 1`, deviceIDs)
	if err != nil {
		return nil, fmt.Errorf("store: latest reading times: %w", err)
	}
	latest := make(map[string]time.Time, len(deviceIDs))
	var id string
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error { latest[id] = at; return nil }); err != nil {
		return nil, fmt.Errorf("store: latest reading times: %w", err)
	}
	return latest, nil
}
