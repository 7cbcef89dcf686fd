package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// IntakeOutcome is what became of one reading handed to WriteIntake.
type IntakeOutcome uint8

// The outcomes.
const (
	// Stored: new, and now durably stored for the patient the device was on at the reading's time.
	Stored IntakeOutcome = iota
	// Duplicate: this device's reading id was stored before; nothing changed.
	Duplicate
	// Unassigned: the device was on no patient at the reading's time; not stored as a reading.
	Unassigned
)

// RejectedReading is a reading refused at intake, kept for data-quality review. Sent is the
// reading as the device sent it (JSON, bounded by the caller).
type RejectedReading struct {
	DeviceID        string
	DeviceReadingID string
	Reason          string
	Field           string
	Sent            []byte
	ReceivedAt      time.Time
}

// WriteIntake stores a batch of validated readings and the rejections that came with them, in one
// transaction: all of it is durable when it returns nil, none of it otherwise. Each reading goes to
// the patient its device was assigned to at the reading's own time. The readings must not repeat a
// (device, reading id) pair within the batch. It returns each reading's outcome, in order, and the
// readings stored, with their patient. An evaluator, if given, evaluates the stored readings in the
// same transaction, holding their patients' alert locks.
func (s *Store) WriteIntake(ctx context.Context, readings []rpm.Reading, rejected []RejectedReading, ev Evaluator) ([]IntakeOutcome, []rpm.Reading, error) {
	outcomes := make([]IntakeOutcome, len(readings))
	var stored []rpm.Reading
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if stored, err = insertReadings(ctx, tx, readings, outcomes); err != nil {
			return err
		}
		if err := insertRejected(ctx, tx, append(rejected, unassigned(readings, outcomes)...)); err != nil {
			return err
		}
		if ev == nil || len(stored) == 0 {
			return nil
		}
		patients := make([]string, len(stored))
		for i, r := range stored {
			patients[i] = r.PatientID
		}
		a := newAlertTx(tx, patients)
		return a.finish(ctx, ev.EvaluateStored(ctx, a, stored))
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: write intake: %w", err)
	}
	return outcomes, stored, nil
}

// rollupsSQL brings both roll-ups up to date for the readings a statement inserted (a CTE ins
// returning patient_id, code, effective_at and value), in one order for every statement so that
// concurrent writers cannot deadlock. Intake and the demo's backfill share it.
const rollupsSQL = `rollup AS (
		INSERT INTO reading_rollups AS r (patient_id, code, minute, n, sum, min, max)
		SELECT patient_id, code, date_trunc('minute', effective_at), count(*), sum(value), min(value), max(value)
		FROM ins GROUP BY 1, 2, 3 ORDER BY 1, code COLLATE "C", 3
		ON CONFLICT (patient_id, code, minute) DO UPDATE
		SET n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum, min = least(r.min, EXCLUDED.min), max = greatest(r.max, EXCLUDED.max)),
	rollup_hourly AS (
		INSERT INTO reading_rollups_hourly AS r (patient_id, code, hour, n, sum, min, max)
		SELECT patient_id, code, date_trunc('hour', effective_at), count(*), sum(value), min(value), max(value)
		FROM ins GROUP BY 1, 2, 3 ORDER BY 1, code COLLATE "C", 3
		ON CONFLICT (patient_id, code, hour) DO UPDATE
		SET n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum, min = least(r.min, EXCLUDED.min), max = greatest(r.max, EXCLUDED.max))`

func insertReadings(ctx context.Context, tx pgx.Tx, readings []rpm.Reading, outcomes []IntakeOutcome) ([]rpm.Reading, error) {
	if len(readings) == 0 {
		return nil, nil
	}
	n := len(readings)
	ord := make([]int32, n)
	dev, rid, code, unit := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	val := make([]float64, n)
	eff, recv := make([]time.Time, n), make([]time.Time, n)
	for i, r := range readings {
		ord[i], dev[i], rid[i], code[i], unit[i] = int32(i), r.DeviceID, r.DeviceReadingID, r.Code, r.Unit
		val[i], eff[i], recv[i] = r.Value, r.EffectiveAt, r.ReceivedAt
	}
	rows, err := tx.Query(ctx, `
		WITH input AS (
			SELECT * FROM unnest($1::int4[], $2::uuid[], $3::text[], $4::text[], $5::float8[], $6::text[],
			                     $7::timestamptz[], $8::timestamptz[])
				AS t(ord, device_id, rid, code, value, unit, effective_at, received_at)),
		resolved AS (
			SELECT i.*, a.patient_id FROM input i
			LEFT JOIN device_assignments a ON a.device_id = i.device_id AND a.started_at <= i.effective_at
			     AND (a.ended_at IS NULL OR i.effective_at < a.ended_at)),
		ins AS (
			INSERT INTO readings (effective_at, received_at, value, patient_id, device_id, code, unit, device_reading_id)
			SELECT effective_at, received_at, value, patient_id, device_id, code, unit, rid
			FROM resolved WHERE patient_id IS NOT NULL
			ORDER BY device_id, rid COLLATE "C" -- one order for every batch: concurrent batches cannot deadlock
			ON CONFLICT (device_id, device_reading_id) DO NOTHING
			RETURNING device_id, device_reading_id, patient_id, code, effective_at, value),
		`+rollupsSQL+`
		SELECT r.ord, coalesce(r.patient_id::text, ''), ins.device_id IS NOT NULL
		FROM resolved r LEFT JOIN ins ON ins.device_id = r.device_id AND ins.device_reading_id = r.rid`,
		ord, dev, rid, code, val, unit, eff, recv)
	if err != nil {
		return nil, err
	}
	var stored []rpm.Reading
	var i int32
	var patient string
	var inserted bool
	_, err = pgx.ForEachRow(rows, []any{&i, &patient, &inserted}, func() error {
		switch {
		case patient == "":
			outcomes[i] = Unassigned
		case inserted:
			outcomes[i] = Stored
			r := readings[i]
			r.PatientID = patient
			stored = append(stored, r)
		default:
			outcomes[i] = Duplicate
		}
		return nil
	})
	return stored, err
}

// unassigned turns readings of unassigned devices into rejections for review.
func unassigned(readings []rpm.Reading, outcomes []IntakeOutcome) []RejectedReading {
	var out []RejectedReading
	for i, o := range outcomes {
		if o != Unassigned {
			continue
		}
		r := readings[i]
		sent, _ := json.Marshal(map[string]any{"id": r.DeviceReadingID, "code": r.Code, "value": r.Value, "unit": r.Unit, "at": r.EffectiveAt})
		out = append(out, RejectedReading{DeviceID: r.DeviceID, DeviceReadingID: r.DeviceReadingID,
			Reason: rpm.ReasonDeviceUnassigned, Sent: sent, ReceivedAt: r.ReceivedAt})
	}
	return out
}

func insertRejected(ctx context.Context, tx pgx.Tx, rejected []RejectedReading) error {
	if len(rejected) == 0 {
		return nil
	}
	n := len(rejected)
	dev, rid, reason, field := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sent := make([]string, n)
	at := make([]time.Time, n)
	for i, r := range rejected {
		dev[i], rid[i], reason[i], field[i], at[i] = r.DeviceID, clean(r.DeviceReadingID, 64), r.Reason, r.Field, r.ReceivedAt
		sent[i] = string(r.Sent)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO rejected_readings (device_id, received_at, device_reading_id, reason, field, sent)
		SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
		dev, at, rid, reason, field, sent)
	return err
}

// RecordDeviceReports brings devices' last-seen time, reported status, last reading and clock
// offset up to date, in one statement for many devices, and appends the reports marked for
// history. A report older than what the device row holds (another instance wrote a newer one)
// changes none of its status; the last reading's time never moves back. Rows are locked in id
// order, so instances flushing the same devices at once wait for each other instead of deadlocking.
func (s *Store) RecordDeviceReports(ctx context.Context, reports []rpm.DeviceReport, history []bool) error {
	n := len(reports)
	if n == 0 {
		return nil
	}
	ids, firmware := make([]string, n), make([]string, n)
	at := make([]time.Time, n)
	lastReading := make([]*time.Time, n)
	ahead := make([]*time.Duration, n)
	battery := make([]*float64, n)
	signal := make([]*int32, n)
	keep := make([]bool, n)
	for i, r := range reports {
		ids[i], firmware[i], at[i], battery[i], keep[i] = r.DeviceID, clean(r.Firmware, 32), r.At, r.Battery, history[i]
		lastReading[i], ahead[i] = nullTime(r.LastReadingAt), r.ClockAhead
		if r.SignalDBM != nil {
			v := int32(*r.SignalDBM)
			signal[i] = &v
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM devices WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			WITH u AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::text[], $5::int4[], $6::bool[],
			                                $7::timestamptz[], $8::interval[])
			           AS t(id, at, battery, firmware, signal, keep, last_reading, ahead)),
			history AS (
				INSERT INTO device_status_reports (device_id, at, battery, firmware, signal_dbm)
				SELECT id, at, battery, nullif(firmware, ''), signal FROM u WHERE keep
				ON CONFLICT DO NOTHING)
			UPDATE devices d
			SET last_seen_at = greatest(d.last_seen_at, u.at),
			    battery = CASE WHEN d.last_seen_at IS NULL OR u.at >= d.last_seen_at THEN coalesce(u.battery, d.battery) ELSE d.battery END,
			    firmware = CASE WHEN d.last_seen_at IS NULL OR u.at >= d.last_seen_at THEN coalesce(nullif(u.firmware, ''), d.firmware) ELSE d.firmware END,
			    signal_dbm = CASE WHEN d.last_seen_at IS NULL OR u.at >= d.last_seen_at THEN coalesce(u.signal, d.signal_dbm) ELSE d.signal_dbm END,
			    last_reading_at = greatest(d.last_reading_at, u.last_reading),
			    clock_ahead = CASE WHEN u.ahead IS NOT NULL AND (d.last_seen_at IS NULL OR u.at >= d.last_seen_at) THEN u.ahead ELSE d.clock_ahead END
			FROM u WHERE d.id = u.id`, ids, at, battery, firmware, signal, keep, lastReading, ahead)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record device reports: %w", err)
	}
	return nil
}

// DeviceMetric names one code one device sends.
type DeviceMetric struct{ DeviceID, Code string }

// RecordDeviceMetrics keeps, for each device and code, when its latest reading was received (never
// moving it back): the no-data timer watches it.
func (s *Store) RecordDeviceMetrics(ctx context.Context, latest map[DeviceMetric]time.Time) error {
	ids, codes := make([]string, 0, len(latest)), make([]string, 0, len(latest))
	at := make([]time.Time, 0, len(latest))
	for k, t := range latest {
		ids, codes, at = append(ids, k.DeviceID), append(codes, k.Code), append(at, t)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO device_metrics AS m (device_id, code, last_at)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) ORDER BY 1, 2
		ON CONFLICT (device_id, code) DO UPDATE SET last_at = greatest(m.last_at, EXCLUDED.last_at)`, ids, codes, at)
	if err != nil {
		return fmt.Errorf("store: record device metrics: %w", err)
	}
	return nil
}

// DeviceMetricLastAt is when a device's latest reading of a code was received, as recorded.
func (s *Store) DeviceMetricLastAt(ctx context.Context, deviceID, code string) (time.Time, error) {
	var at time.Time
	err := s.pool.QueryRow(ctx, `SELECT last_at FROM device_metrics WHERE device_id = $1 AND code = $2`, deviceID, code).Scan(&at)
	if err == pgx.ErrNoRows {
		return at, ErrNotFound
	}
	if err != nil {
		return at, fmt.Errorf("store: device metric: %w", err)
	}
	return at, nil
}

// DeleteRejectedBefore removes rejected readings received before an instant (bounded retention)
// and returns how many.
func (s *Store) DeleteRejectedBefore(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rejected_readings WHERE received_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("store: delete rejected readings: %w", err)
	}
	return tag.RowsAffected(), nil
}
