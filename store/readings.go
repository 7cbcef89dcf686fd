package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// InsertReadings stores readings in one statement, skipping any whose device and device reading id
// are already stored, and returns how many were new.
func (s *Store) InsertReadings(ctx context.Context, readings []rpm.Reading) (int, error) {
	n := len(readings)
	eff, recv := make([]time.Time, n), make([]time.Time, n)
	val := make([]float64, n)
	pat, dev, code, unit, rid := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range readings {
		eff[i], recv[i], val[i] = r.EffectiveAt, r.ReceivedAt, r.Value
		pat[i], dev[i], code[i], unit[i], rid[i] = r.PatientID, r.DeviceID, r.Code, r.Unit, r.DeviceReadingID
		if recv[i].IsZero() {
			recv[i] = time.Now()
		}
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO readings (effective_at, received_at, value, patient_id, device_id, code, unit, device_reading_id)
		SELECT * FROM unnest($1::timestamptz[], $2::timestamptz[], $3::float8[], $4::uuid[], $5::uuid[],
		                     $6::text[], $7::text[], $8::text[])
		ON CONFLICT (device_id, device_reading_id) DO NOTHING`, eff, recv, val, pat, dev, code, unit, rid)
	if err != nil {
		return 0, fmt.Errorf("store: insert readings: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// LatestReadings returns each metric's most recent reading for a patient, one per code, in the
// order of rpm.Metrics. Each lookup is one index probe, however long the history.
func (s *Store) LatestReadings(ctx context.Context, patientID string) ([]rpm.Reading, error) {
	codes := make([]string, len(rpm.Metrics))
	for i, m := range rpm.Metrics {
		codes[i] = m.Code
	}
	latest, err := s.latestFor(ctx, []string{patientID}, codes)
	if err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, c := range codes {
		order[c] = i
	}
	slices.SortFunc(latest, func(a, b rpm.Reading) int { return order[a.Code] - order[b.Code] })
	return latest, nil
}

// Readings returns a patient's readings of one code (or of every code when code is empty) with
// from <= effective time < to, newest first, at most limit of them.
func (s *Store) Readings(ctx context.Context, patientID, code string, from, to time.Time, limit int) ([]rpm.Reading, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT patient_id, device_id, device_reading_id, code, value, unit, effective_at, received_at
		FROM readings
		WHERE patient_id = $1 AND ($2 = '' OR code = $2) AND effective_at >= $3 AND effective_at < $4
		ORDER BY effective_at DESC, code LIMIT $5`, patientID, code, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("store: readings: %w", err)
	}
	return collectReadings(rows)
}

func collectReadings(rows pgx.Rows) ([]rpm.Reading, error) {
	readings, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rpm.Reading, error) {
		var r rpm.Reading
		err := row.Scan(&r.PatientID, &r.DeviceID, &r.DeviceReadingID, &r.Code, &r.Value, &r.Unit, &r.EffectiveAt, &r.ReceivedAt)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: readings: %w", err)
	}
	return readings, nil
}

// ReadingsReceivedSince returns the readings of these patients that Vigil received after since,
// oldest first, at most limit — what a reconnecting dashboard missed. The caller has authorised
// every patient.
func (s *Store) ReadingsReceivedSince(ctx context.Context, patientIDs []string, since time.Time, limit int) ([]rpm.Reading, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT patient_id, device_id, device_reading_id, code, value, unit, effective_at, received_at
		FROM readings WHERE received_at > $2 AND patient_id = ANY($1::uuid[])
		ORDER BY received_at, effective_at LIMIT $3`, patientIDs, since, limit)
	if err != nil {
		return nil, fmt.Errorf("store: readings received since: %w", err)
	}
	return collectReadings(rows)
}
