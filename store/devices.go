package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// deviceColumns selects a device aliased d, in scanDevice's order.
const deviceColumns = `d.id, d.serial, d.vendor, d.model, d.kind, d.status, coalesce(d.mac, ''), coalesce(d.risk_class, ''),
	d.notes, d.created_at, d.last_seen_at, d.battery, coalesce(d.firmware, ''), d.signal_dbm,
	EXISTS (SELECT 1 FROM device_assignments a WHERE a.device_id = d.id AND a.ended_at IS NULL)`

// scanDevice scans deviceColumns and then the extra columns a query adds after them.
func scanDevice(row pgx.Row, extra ...any) (rpm.Device, error) {
	var d rpm.Device
	var lastSeen *time.Time
	var battery *float32
	var signal *int16
	err := row.Scan(append([]any{&d.ID, &d.Serial, &d.Vendor, &d.Model, (*string)(&d.Kind), (*string)(&d.Status), &d.MAC,
		(*string)(&d.RiskClass), &d.Notes, &d.CreatedAt, &lastSeen, &battery, &d.Firmware, &signal, &d.Assigned}, extra...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return rpm.Device{}, ErrNotFound
	}
	if lastSeen != nil {
		d.LastSeenAt = *lastSeen
	}
	if battery != nil {
		b := float64(*battery)
		d.Battery = &b
	}
	if signal != nil {
		s := int(*signal)
		d.SignalDBM = &s
	}
	return d, err
}

func collectDevices(rows pgx.Rows, err error) ([]rpm.Device, error) {
	return collect("devices", rows, err, func(row pgx.CollectableRow) (rpm.Device, error) { return scanDevice(row) })
}

// ProvisionDevice adds a device to the fleet with its first credential (the token's hash) and
// returns its id. It returns ErrConflict when the vendor already has a device with that serial.
func (s *Store) ProvisionDevice(ctx context.Context, d rpm.Device, tokenHash []byte) (string, error) {
	var id string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO devices (serial, vendor, model, kind, mac, risk_class, notes)
			VALUES ($1, $2, $3, $4, nullif($5, ''), nullif($6, ''), $7) RETURNING id`,
			d.Serial, d.Vendor, d.Model, string(d.Kind), d.MAC, string(d.RiskClass), d.Notes).Scan(&id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO device_credentials (device_id, token_hash) VALUES ($1, $2)`, id, tokenHash)
		return err
	})
	if isUniqueViolation(err) {
		return "", ErrConflict
	}
	if err != nil {
		return "", fmt.Errorf("store: provision device: %w", err)
	}
	return id, nil
}

// RotateDeviceToken replaces a device's credential: the old token stops working in the same
// transaction that the new one starts. It returns ErrNotFound for an unknown device.
func (s *Store) RotateDeviceToken(ctx context.Context, deviceID string, tokenHash []byte) error {
	if !rpm.IsID(deviceID) {
		return ErrNotFound
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE device_credentials SET revoked_at = now() WHERE device_id = $1 AND revoked_at IS NULL`, deviceID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO device_credentials (device_id, token_hash) VALUES ($1, $2)`, deviceID, tokenHash)
		return err
	})
	if isForeignKeyViolation(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: rotate device token: %w", err)
	}
	return nil
}

// RevokeDeviceToken stops a device's credential at once; the device cannot post until a new token
// is issued. It returns ErrNotFound for an unknown device.
func (s *Store) RevokeDeviceToken(ctx context.Context, deviceID string) error {
	if !rpm.IsID(deviceID) {
		return ErrNotFound
	}
	var exists bool
	err := s.pool.QueryRow(ctx, `
		WITH revoked AS (UPDATE device_credentials SET revoked_at = now() WHERE device_id = $1 AND revoked_at IS NULL)
		SELECT EXISTS (SELECT 1 FROM devices WHERE id = $1)`, deviceID).Scan(&exists)
	if err != nil {
		return fmt.Errorf("store: revoke device token: %w", err)
	}
	if !exists {
		return ErrNotFound
	}
	return nil
}

// SetDeviceStatus marks a device active, lost or retired. A lost or retired device's token stops
// working at once (intake accepts only active devices) and its assignment ends now.
func (s *Store) SetDeviceStatus(ctx context.Context, deviceID string, status rpm.DeviceStatus, by string) error {
	if !rpm.IsID(deviceID) {
		return ErrNotFound
	}
	var found bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			UPDATE devices SET status = $2,
			       status_changed_at = CASE WHEN status = $2 THEN status_changed_at ELSE now() END
			WHERE id = $1 RETURNING true`, deviceID, string(status)).Scan(&found); err != nil {
			return err
		}
		if status == rpm.DeviceActive {
			return nil
		}
		_, err := tx.Exec(ctx, `
			UPDATE device_assignments SET ended_at = greatest(now(), started_at + interval '1 microsecond'), ended_by = $2
			WHERE device_id = $1 AND ended_at IS NULL`, deviceID, nullID(by))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: set device status: %w", err)
	}
	return nil
}

// AuthenticatedDevice is the device a bearer token belongs to.
type AuthenticatedDevice struct {
	ID     string
	Status rpm.DeviceStatus
}

// DeviceByTokenHash returns the device whose live credential has this hash. Revoked credentials
// and unknown tokens are ErrNotFound; a lost or retired device is returned with its status, for
// the caller to refuse.
func (s *Store) DeviceByTokenHash(ctx context.Context, hash []byte) (AuthenticatedDevice, error) {
	var d AuthenticatedDevice
	err := s.pool.QueryRow(ctx, `
		SELECT d.id, d.status FROM device_credentials c JOIN devices d ON d.id = c.device_id
		WHERE c.token_hash = $1 AND c.revoked_at IS NULL`, hash).Scan(&d.ID, (*string)(&d.Status))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("store: authenticate device: %w", err)
	}
	return d, nil
}

// DeviceFilter narrows the fleet list; zero fields do not filter.
type DeviceFilter struct {
	Status     rpm.DeviceStatus
	Kind       rpm.DeviceKind
	SilentFor  time.Duration // not seen for at least this long (never-seen devices included)
	LowBattery float64       // battery at or below this fraction
	Firmware   string
	Unassigned bool
	Now        time.Time
}

// Devices lists the fleet, filtered, by kind and serial.
func (s *Store) Devices(ctx context.Context, f DeviceFilter) ([]rpm.Device, error) {
	var silentSince *time.Time
	if f.SilentFor > 0 {
		t := f.Now.Add(-f.SilentFor)
		silentSince = &t
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+deviceColumns+` FROM devices d
		WHERE ($1 = '' OR d.status = $1) AND ($2 = '' OR d.kind = $2)
		  AND ($3::timestamptz IS NULL OR d.last_seen_at IS NULL OR d.last_seen_at < $3)
		  AND ($4::float8 = 0 OR d.battery <= $4) AND ($5 = '' OR d.firmware = $5)
		  AND (NOT $6 OR NOT EXISTS (SELECT 1 FROM device_assignments a WHERE a.device_id = d.id AND a.ended_at IS NULL))
		ORDER BY d.kind, d.vendor, d.serial`,
		string(f.Status), string(f.Kind), silentSince, f.LowBattery, f.Firmware, f.Unassigned)
	return collectDevices(rows, err)
}

// Device returns one device, or ErrNotFound.
func (s *Store) Device(ctx context.Context, id string) (rpm.Device, error) {
	if !rpm.IsID(id) {
		return rpm.Device{}, ErrNotFound
	}
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices d WHERE d.id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return d, fmt.Errorf("store: device: %w", err)
	}
	return d, err
}

// Firmwares lists the firmware versions the fleet reports, for the fleet filter.
func (s *Store) Firmwares(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT firmware FROM devices WHERE firmware IS NOT NULL ORDER BY 1`)
	return collect("firmwares", rows, err, pgx.RowTo[string])
}

// LiveCredentials returns, for those of the given token hashes that belong to a live (unrevoked)
// credential, the device and its status, keyed by the hash as a string: intake checks every
// credential of a batch with this one query instead of one lookup per request.
func (s *Store) LiveCredentials(ctx context.Context, hashes [][]byte) (map[string]AuthenticatedDevice, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.token_hash, d.id, d.status FROM device_credentials c JOIN devices d ON d.id = c.device_id
		WHERE c.token_hash = ANY($1) AND c.revoked_at IS NULL`, hashes)
	if err != nil {
		return nil, fmt.Errorf("store: check device credentials: %w", err)
	}
	out := make(map[string]AuthenticatedDevice, len(hashes))
	var hash []byte
	var d AuthenticatedDevice
	_, err = pgx.ForEachRow(rows, []any{&hash, &d.ID, (*string)(&d.Status)}, func() error {
		out[string(hash)] = d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: check device credentials: %w", err)
	}
	return out, nil
}

// SetExpectedInterval records how often the care plan expects the device on the patient to report
// (every; 0 for the device kind's usual interval): the not-reporting alert and the census count
// from it. ErrNotFound when the device is not on the patient now.
func (s *Store) SetExpectedInterval(ctx context.Context, patientID, deviceID string, every time.Duration) error {
	if !rpm.IsID(patientID) || !rpm.IsID(deviceID) {
		return ErrNotFound
	}
	var interval *time.Duration
	if every > 0 {
		interval = &every
	}
	tag, err := s.pool.Exec(ctx, `UPDATE device_assignments SET expected_interval = $3
		WHERE patient_id = $1 AND device_id = $2 AND ended_at IS NULL`, patientID, deviceID, interval)
	if err != nil {
		return fmt.Errorf("store: set expected interval: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
