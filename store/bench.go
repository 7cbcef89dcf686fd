package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// CopyReadings writes readings straight into the readings table with COPY, in one transaction,
// bypassing intake: no validation, no duplicate check, no roll-ups, no alerts. It is for `vigil
// bench` only — the raw write limit intake is compared with, and the quick backfill of a chart's
// history (followed by RecomputeRollups). Each reading must name its patient.
func (s *Store) CopyReadings(ctx context.Context, readings []rpm.Reading) (int64, error) {
	n, err := s.pool.CopyFrom(ctx, pgx.Identifier{"readings"},
		[]string{"effective_at", "received_at", "value", "patient_id", "device_id", "code", "unit", "device_reading_id"},
		pgx.CopyFromSlice(len(readings), func(i int) ([]any, error) {
			r := &readings[i]
			return []any{r.EffectiveAt, r.ReceivedAt, r.Value, r.PatientID, r.DeviceID, r.Code, r.Unit, r.DeviceReadingID}, nil
		}))
	if err != nil {
		return n, fmt.Errorf("store: copy readings: %w", err)
	}
	return n, nil
}

// RecomputeRollups rebuilds one patient's per-minute and hourly roll-ups of one code between two
// instants from the readings, replacing what the roll-ups held for those minutes and hours. For
// `vigil bench`, after CopyReadings; from and to should fall on hour boundaries.
func (s *Store) RecomputeRollups(ctx context.Context, patientID, code string, from, to time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO reading_rollups AS r (patient_id, code, minute, n, sum, min, max)
			SELECT patient_id, code, date_trunc('minute', effective_at), count(*), sum(value), min(value), max(value)
			FROM readings WHERE patient_id = $1 AND code = $2 AND effective_at >= $3 AND effective_at < $4
			GROUP BY 1, 2, 3
			ON CONFLICT (patient_id, code, minute) DO UPDATE
			SET n = EXCLUDED.n, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max`,
			patientID, code, from, to); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO reading_rollups_hourly AS r (patient_id, code, hour, n, sum, min, max)
			SELECT patient_id, code, date_trunc('hour', minute), sum(n), sum(sum), min(min), max(max)
			FROM reading_rollups WHERE patient_id = $1 AND code = $2 AND minute >= $3 AND minute < $4
			GROUP BY 1, 2, 3
			ON CONFLICT (patient_id, code, hour) DO UPDATE
			SET n = EXCLUDED.n, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max`,
			patientID, code, from, to)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: recompute roll-ups: %w", err)
	}
	return nil
}

// ServerVersion is the database server's version string, for benchmark reports.
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := s.pool.QueryRow(ctx, `SELECT version()`).Scan(&v); err != nil {
		return "", fmt.Errorf("store: server version: %w", err)
	}
	return v, nil
}

// ServerSettings returns the values of the named server settings, for benchmark reports.
func (s *Store) ServerSettings(ctx context.Context, names []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, setting FROM pg_settings WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("store: server settings: %w", err)
	}
	out := map[string]string{}
	var name, value string
	_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error { out[name] = value; return nil })
	if err != nil {
		return nil, fmt.Errorf("store: server settings: %w", err)
	}
	return out, nil
}

// StatementStat is one statement's totals from pg_stat_statements.
type StatementStat struct {
	Query       string
	Calls       int64
	TotalMillis float64
	MeanMillis  float64
	Rows        int64
}

// EnableStatementStats creates the pg_stat_statements extension (the server must preload it) and
// clears its counters.
func (s *Store) EnableStatementStats(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return fmt.Errorf("store: pg_stat_statements: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
		return fmt.Errorf("store: pg_stat_statements: %w", err)
	}
	return nil
}

// TopStatements lists the statements that took the most execution time, for profiling a run.
func (s *Store) TopStatements(ctx context.Context, limit int) ([]StatementStat, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 160), calls, total_exec_time, mean_exec_time, rows
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: top statements: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StatementStat, error) {
		var st StatementStat
		err := row.Scan(&st.Query, &st.Calls, &st.TotalMillis, &st.MeanMillis, &st.Rows)
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: top statements: %w", err)
	}
	return list, nil
}
