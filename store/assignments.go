package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigil-rpm/vigil/rpm"
)

// ErrDeviceUnavailable means the device is lost, retired, or already on another patient.
var ErrDeviceUnavailable = errors.New("store: device unavailable")

// AssignDevice puts an active, unassigned device on a patient from at on. The caller has checked
// that the clinician may see the patient. It returns ErrNotFound for an unknown device or patient,
// ErrDeviceUnavailable when the device is not active or is on someone already.
func (s *Store) AssignDevice(ctx context.Context, deviceID, patientID, by string, at time.Time) error {
	if !rpm.IsID(deviceID) || !rpm.IsID(patientID) {
		return ErrNotFound
	}
	var status string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT status FROM devices WHERE id = $1 FOR UPDATE`, deviceID).Scan(&status); err != nil {
			return err
		}
		if status != string(rpm.DeviceActive) {
			return ErrDeviceUnavailable
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO device_assignments (device_id, patient_id, started_at, assigned_by) VALUES ($1, $2, $3, $4)`,
			deviceID, patientID, at, nullID(by))
		return err
	})
	pgErr, _ := errors.AsType[*pgconn.PgError](err)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows), pgErr != nil && pgErr.Code == "23503":
		return ErrNotFound
	case errors.Is(err, ErrDeviceUnavailable), pgErr != nil && pgErr.Code == "23P01": // exclusion_violation
		return ErrDeviceUnavailable
	}
	return fmt.Errorf("store: assign device: %w", err)
}

// EndAssignment takes a device off a patient from at on. Readings the device took before at still
// belong to the patient. It returns ErrNotFound when the device is not on that patient.
func (s *Store) EndAssignment(ctx context.Context, deviceID, patientID, by string, at time.Time) error {
	if !rpm.IsID(deviceID) || !rpm.IsID(patientID) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE device_assignments SET ended_at = greatest($3, started_at + interval '1 microsecond'), ended_by = $4
		WHERE device_id = $1 AND patient_id = $2 AND ended_at IS NULL`, deviceID, patientID, at, nullID(by))
	if err != nil {
		return fmt.Errorf("store: end assignment: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// Assignment is one period a device was on a patient.
type Assignment struct {
	DeviceID, PatientID string
	StartedAt, EndedAt  time.Time // EndedAt zero: still assigned
}

// DeviceAssignments returns a device's assignment history, newest first. Patient ids only: what
// the viewer may know of each patient is the caller's to decide.
func (s *Store) DeviceAssignments(ctx context.Context, deviceID string) ([]Assignment, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT device_id, patient_id, started_at, ended_at FROM device_assignments
		WHERE device_id = $1 ORDER BY started_at DESC`, deviceID)
	return collect("device assignments", rows, err, func(row pgx.CollectableRow) (Assignment, error) {
		var a Assignment
		var ended *time.Time
		err := row.Scan(&a.DeviceID, &a.PatientID, &a.StartedAt, &ended)
		if ended != nil {
			a.EndedAt = *ended
		}
		return a, err
	})
}

// DeviceStatusHistory returns a device's sampled status reports, newest first.
func (s *Store) DeviceStatusHistory(ctx context.Context, deviceID string, limit int) ([]rpm.DeviceReport, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT device_id, at, battery, coalesce(firmware, ''), signal_dbm FROM device_status_reports
		WHERE device_id = $1 ORDER BY at DESC LIMIT $2`, deviceID, limit)
	return collect("device status history", rows, err, func(row pgx.CollectableRow) (rpm.DeviceReport, error) {
		var r rpm.DeviceReport
		var battery *float32
		var signal *int16
		err := row.Scan(&r.DeviceID, &r.At, &battery, &r.Firmware, &signal)
		if battery != nil {
			b := float64(*battery)
			r.Battery = &b
		}
		if signal != nil {
			v := int(*signal)
			r.SignalDBM = &v
		}
		return r, err
	})
}

// ReasonCount is how many readings were rejected for one reason.
type ReasonCount struct {
	Reason string
	Count  int
	Last   time.Time
}

// DeviceRejections summarises a device's rejected readings since an instant, most frequent first.
func (s *Store) DeviceRejections(ctx context.Context, deviceID string, since time.Time) ([]ReasonCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT reason, count(*), max(received_at) FROM rejected_readings
		WHERE device_id = $1 AND received_at >= $2 GROUP BY reason ORDER BY 2 DESC, 1`, deviceID, since)
	return collect("device rejections", rows, err, func(row pgx.CollectableRow) (ReasonCount, error) {
		var r ReasonCount
		err := row.Scan(&r.Reason, &r.Count, &r.Last)
		return r, err
	})
}
