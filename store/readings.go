package store

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

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
	return collect("readings", rows, err, scanReading)
}

// readingColumns is the select list of scanReading, over readings r.
const readingColumns = `r.patient_id, r.device_id, r.device_reading_id, r.code, r.value, r.unit, r.effective_at, r.received_at`

func scanReading(row pgx.CollectableRow) (rpm.Reading, error) {
	var r rpm.Reading
	err := row.Scan(&r.PatientID, &r.DeviceID, &r.DeviceReadingID, &r.Code, &r.Value, &r.Unit, &r.EffectiveAt, &r.ReceivedAt)
	return r, err
}

// ReadingsReceivedSince returns the readings of these patients that Vigil received after since,
// oldest first, at most limit — what a reconnecting dashboard missed. The caller has authorised
// every patient.
func (s *Store) ReadingsReceivedSince(ctx context.Context, patientIDs []string, since time.Time, limit int) ([]rpm.Reading, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT patient_id, device_id, device_reading_id, code, value, unit, effective_at, received_at
		FROM readings WHERE received_at > $2 AND patient_id = ANY($1::uuid[])
		ORDER BY received_at, effective_at LIMIT $3`, patientIDs, since, limit)
	return collect("readings received since", rows, err, scanReading)
}
