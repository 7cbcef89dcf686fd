package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// CensusCodes are the vitals a census row shows.
var CensusCodes = []string{rpm.CodeHeartRate, rpm.CodeSpO2, rpm.CodeRespRate, rpm.CodeSystolicBP, rpm.CodeDiastolicBP, rpm.CodeBodyTemp}

// CensusRow is one patient on a clinician's census.
type CensusRow struct {
	PatientSummary
	Latest     map[string]rpm.Reading // by code
	OpenAlerts int
	// Devices now on the patient: how many, how many silent since SilentSince, how many low on
	// battery.
	Devices, SilentDevices, LowBatteryDevices int
}

// Census returns the patients user may see at now with their latest vitals, open alerts and device
// state. Each vital is one index probe per patient; lists are filtered by the access policy in SQL.
func (s *Store) Census(ctx context.Context, userID string, now time.Time, silentSince time.Time, lowBattery float64) ([]CensusRow, error) {
	patients, err := s.VisiblePatients(ctx, userID, now)
	if err != nil || len(patients) == 0 {
		return nil, err
	}
	rows := make([]CensusRow, len(patients))
	ids := make([]string, len(patients))
	index := map[string]int{}
	for i, p := range patients {
		rows[i] = CensusRow{PatientSummary: p, Latest: map[string]rpm.Reading{}}
		ids[i], index[p.ID] = p.ID, i
	}
	latest, err := s.latestFor(ctx, ids, CensusCodes)
	if err != nil {
		return nil, err
	}
	for _, r := range latest {
		rows[index[r.PatientID]].Latest[r.Code] = r
	}
	if err := s.censusCounts(ctx, ids, silentSince, lowBattery, func(id string, alerts, devices, silent, low int) {
		row := &rows[index[id]]
		row.OpenAlerts, row.Devices, row.SilentDevices, row.LowBatteryDevices = alerts, devices, silent, low
	}); err != nil {
		return nil, err
	}
	return rows, nil
}

// LatestByPatient returns the latest reading of each of codes for each patient, by patient and code.
func (s *Store) LatestByPatient(ctx context.Context, patientIDs, codes []string) (map[string]map[string]rpm.Reading, error) {
	latest, err := s.latestFor(ctx, patientIDs, codes)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]rpm.Reading, len(patientIDs))
	for _, r := range latest {
		if out[r.PatientID] == nil {
			out[r.PatientID] = map[string]rpm.Reading{}
		}
		out[r.PatientID][r.Code] = r
	}
	return out, nil
}

// latestFor returns the latest reading of each code for each patient: one index probe per pair.
func (s *Store) latestFor(ctx context.Context, patientIDs, codes []string) ([]rpm.Reading, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.patient_id, r.device_id, r.device_reading_id, r.code, r.value, r.unit, r.effective_at, r.received_at
		FROM unnest($1::uuid[]) AS p(id) CROSS JOIN unnest($2::text[]) AS c(code)
		CROSS JOIN LATERAL (
			SELECT * FROM readings r WHERE r.patient_id = p.id AND r.code = c.code
			ORDER BY r.effective_at DESC LIMIT 1) r`, patientIDs, codes)
	if err != nil {
		return nil, fmt.Errorf("store: latest readings: %w", err)
	}
	return collectReadings(rows)
}

func (s *Store) censusCounts(ctx context.Context, ids []string, silentSince time.Time, lowBattery float64,
	fn func(id string, alerts, devices, silent, low int)) error {
	rows, err := s.pool.Query(ctx, `
		SELECT p.id::text,
		       (SELECT count(*) FROM alerts a WHERE a.patient_id = p.id AND a.state <> 'resolved'),
		       count(d.id),
		       count(d.id) FILTER (WHERE d.last_seen_at IS NULL OR d.last_seen_at < $2),
		       count(d.id) FILTER (WHERE d.battery <= $3)
		FROM unnest($1::uuid[]) AS p(id)
		LEFT JOIN device_assignments da ON da.patient_id = p.id AND da.ended_at IS NULL
		LEFT JOIN devices d ON d.id = da.device_id
		GROUP BY p.id`, ids, silentSince, lowBattery)
	if err != nil {
		return fmt.Errorf("store: census counts: %w", err)
	}
	var id string
	var alerts, devices, silent, low int
	_, err = pgx.ForEachRow(rows, []any{&id, &alerts, &devices, &silent, &low}, func() error {
		fn(id, alerts, devices, silent, low)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: census counts: %w", err)
	}
	return nil
}

// SeriesPoint is one bucket of a downsampled series: its start and the values' min, max and mean.
type SeriesPoint struct {
	T   int64   `json:"t"`
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	Avg float64 `json:"avg"`
}

// Series returns one patient's readings of one code from from to to, downsampled in the database
// into buckets of the given width (min, max and mean per bucket), oldest first. Whole-hour buckets
// come from the hourly roll-ups, whole-minute ones from the per-minute roll-ups (from is then
// rounded down to its hour or minute), so a month costs the same whatever the devices' rate;
// shorter buckets come from the readings themselves.
func (s *Store) Series(ctx context.Context, patientID, code string, from, to time.Time, bucket time.Duration) ([]SeriesPoint, error) {
	secs := int64(bucket / time.Second)
	sql := `
		SELECT (floor(extract(epoch FROM effective_at) / $5) * $5)::bigint AS t, min(value), max(value), avg(value)
		FROM readings
		WHERE patient_id = $1 AND code = $2 AND effective_at >= $3 AND effective_at < $4
		GROUP BY 1 ORDER BY 1`
	switch {
	case bucket >= time.Hour && bucket%time.Hour == 0:
		sql = `
		SELECT (floor(extract(epoch FROM hour) / $5) * $5)::bigint AS t, min(min), max(max), sum(sum) / sum(n)
		FROM reading_rollups_hourly
		WHERE patient_id = $1 AND code = $2 AND hour >= date_trunc('hour', $3::timestamptz) AND hour < $4
		GROUP BY 1 ORDER BY 1`
	case bucket >= time.Minute && bucket%time.Minute == 0:
		sql = `
		SELECT (floor(extract(epoch FROM minute) / $5) * $5)::bigint AS t, min(min), max(max), sum(sum) / sum(n)
		FROM reading_rollups
		WHERE patient_id = $1 AND code = $2 AND minute >= date_trunc('minute', $3::timestamptz) AND minute < $4
		GROUP BY 1 ORDER BY 1`
	}
	rows, err := s.pool.Query(ctx, sql, patientID, code, from, to, secs)
	if err != nil {
		return nil, fmt.Errorf("store: series: %w", err)
	}
	points, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SeriesPoint, error) {
		var p SeriesPoint
		err := row.Scan(&p.T, &p.Min, &p.Max, &p.Avg)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: series: %w", err)
	}
	return points, nil
}

// AlertSummary is an alert as a patient's history lists it.
type AlertSummary struct {
	ID, Severity, State, Summary string
	OpenedAt, ResolvedAt         time.Time
}

// PatientAlerts returns a patient's alerts, newest first, at most limit.
func (s *Store) PatientAlerts(ctx context.Context, patientID string, limit int) ([]AlertSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, severity, state, summary, opened_at, resolved_at FROM alerts
		WHERE patient_id = $1 ORDER BY opened_at DESC LIMIT $2`, patientID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: patient alerts: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AlertSummary, error) {
		var a AlertSummary
		var resolved *time.Time
		err := row.Scan(&a.ID, &a.Severity, &a.State, &a.Summary, &a.OpenedAt, &resolved)
		if resolved != nil {
			a.ResolvedAt = *resolved
		}
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: patient alerts: %w", err)
	}
	return list, nil
}
