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
	Latest     map[string]rpm.Reading // by code, readings of devices marked lost after they were left out
	NEWS2      *NEWS2Inputs
	OpenAlerts int           // clinical ones; technical alerts are about the devices
	Devices    []DeviceWatch // the devices now on the patient
}

// Census returns the patients user may see at now with their latest vitals, NEWS2 inputs, open
// alerts and the devices on them. Each vital is one index probe per patient; lists are filtered
// by the access policy in SQL.
func (s *Store) Census(ctx context.Context, userID string, now time.Time) ([]CensusRow, error) {
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
	inputs := map[string]*NEWS2Inputs{}
	b := &pgx.Batch{}
	b.Queue(latestSQL, ids, CensusCodes).Query(func(r pgx.Rows) error {
		latest, err := pgx.CollectRows(r, scanReading)
		for _, rd := range latest {
			rows[index[rd.PatientID]].Latest[rd.Code] = rd
		}
		return err
	})
	queueNEWS2Inputs(b, ids, inputs)
	b.Queue(`SELECT a.patient_id::text, count(*) FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.patient_id = ANY($1::uuid[]) AND a.state <> 'resolved' AND r.kind IN ('threshold', 'rate_of_change', 'news2')
		GROUP BY 1`, ids).Query(func(r pgx.Rows) error {
		var id string
		var n int
		_, err := pgx.ForEachRow(r, []any{&id, &n}, func() error { rows[index[id]].OpenAlerts = n; return nil })
		return err
	})
	queueDevicesOn(b, ids, func(d DeviceWatch) { row := &rows[index[d.Patient]]; row.Devices = append(row.Devices, d) })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: census: %w", err)
	}
	for i := range rows {
		rows[i].NEWS2 = inputs[rows[i].ID]
	}
	return rows, nil
}

// queueDevicesOn queues the read of the devices now on the patients, in service or not.
func queueDevicesOn(b *pgx.Batch, patients []string, fn func(DeviceWatch)) {
	b.Queue(`
		SELECT a.patient_id::text, d.id::text, d.kind, a.started_at, d.last_reading_at, coalesce(a.expected_interval, '0'),
		       d.battery, d.clock_ahead
		FROM device_assignments a JOIN devices d ON d.id = a.device_id
		WHERE a.patient_id = ANY($1::uuid[]) AND a.ended_at IS NULL ORDER BY d.kind, d.id`, patients).Query(func(r pgx.Rows) error {
		var d DeviceWatch
		var last *time.Time
		_, err := pgx.ForEachRow(r, []any{&d.Patient, &d.Device, &d.Kind, &d.Since, &last, &d.Expected, &d.Battery, &d.ClockAhead}, func() error {
			d.LastReadingAt, d.Battery = deref(last), charge(d.Battery)
			fn(d)
			return nil
		})
		return err
	})
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
	return collect("series", rows, err, func(row pgx.CollectableRow) (SeriesPoint, error) {
		var p SeriesPoint
		err := row.Scan(&p.T, &p.Min, &p.Max, &p.Avg)
		return p, err
	})
}

// AlertSummary is an alert as a patient's history lists it.
type AlertSummary struct {
	ID, Summary          string
	Severity             rpm.Severity
	State                rpm.AlertState
	OpenedAt, ResolvedAt time.Time
}

// PatientAlerts returns a patient's alerts, newest first, at most limit.
func (s *Store) PatientAlerts(ctx context.Context, patientID string, limit int) ([]AlertSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, severity, state, summary, opened_at, resolved_at FROM alerts
		WHERE patient_id = $1 ORDER BY opened_at DESC LIMIT $2`, patientID, limit)
	return collect("patient alerts", rows, err, func(row pgx.CollectableRow) (AlertSummary, error) {
		var a AlertSummary
		var resolved *time.Time
		err := row.Scan(&a.ID, &a.Severity, &a.State, &a.Summary, &a.OpenedAt, &resolved)
		if resolved != nil {
			a.ResolvedAt = *resolved
		}
		return a, err
	})
}
