package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
)

// demoSeedLock is the advisory lock key that serialises demo seeding across processes.
const demoSeedLock = 0x56494749 // "VIGI"

// SeedDemo writes the demo hospital h, with its users under the given OpenID issuer. It is
// idempotent: it updates what is there and adds only what is missing, so running it again — also
// with another issuer, for a demo on another address — duplicates nothing. Shares run from now;
// device assignments from demo.History before now, so the demo can store that much history.
func (s *Store) SeedDemo(ctx context.Context, h demo.Hospital, issuer string, now time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, demoSeedLock); err != nil {
			return err
		}
		seed := demoSeed{tx: tx, userIDs: map[string]string{}, teamIDs: map[string]string{}, patientIDs: map[string]string{}}
		if err := seed.users(ctx, h.Users, issuer); err != nil {
			return err
		}
		if err := seed.teams(ctx, h.Teams); err != nil {
			return err
		}
		for _, p := range h.Patients {
			if err := seed.patient(ctx, p, now); err != nil {
				return err
			}
		}
		return seed.shares(ctx, h.Shares, now)
	})
	if err != nil {
		return fmt.Errorf("store: seed demo hospital: %w", err)
	}
	return nil
}

// demoSeed carries the ids of what it has written, by natural key, through one seeding transaction.
type demoSeed struct {
	tx                           pgx.Tx
	userIDs, teamIDs, patientIDs map[string]string // username / team name / MRN → id
}

func (d *demoSeed) users(ctx context.Context, users []demo.User, issuer string) error {
	if _, err := d.tx.Exec(ctx, `
		UPDATE users SET issuer = $1, updated_at = now()
		WHERE starts_with(subject, $2) AND issuer <> $1`, issuer, demo.SubjectPrefix); err != nil {
		return err
	}
	for _, u := range users {
		var id string
		err := d.tx.QueryRow(ctx, `
			INSERT INTO users (issuer, subject, username, display_name, roles)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (issuer, subject) DO UPDATE
			SET username = EXCLUDED.username, display_name = EXCLUDED.display_name,
			    roles = EXCLUDED.roles, disabled_at = NULL, updated_at = now()
			RETURNING id`,
			issuer, demo.Subject(u.Username), u.Username, u.DisplayName, roleNames(u.Roles)).Scan(&id)
		if err != nil {
			return err
		}
		d.userIDs[u.Username] = id
	}
	return nil
}

func (d *demoSeed) teams(ctx context.Context, teams []demo.Team) error {
	for _, t := range teams {
		var id string
		err := d.tx.QueryRow(ctx, `
			INSERT INTO care_teams (name, description, ack_window) VALUES ($1, $2, coalesce($3, interval '15 minutes'))
			ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, ack_window = EXCLUDED.ack_window
			RETURNING id`, t.Name, t.Description, nullDuration(t.AckWindow)).Scan(&id)
		if err != nil {
			return err
		}
		d.teamIDs[t.Name] = id
		for username, tier := range t.Members {
			if _, err := d.tx.Exec(ctx, `
				INSERT INTO care_team_members (team_id, user_id, tier) VALUES ($1, $2, $3)
				ON CONFLICT (team_id, user_id) DO UPDATE SET tier = EXCLUDED.tier`,
				id, d.userIDs[username], int(tier)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *demoSeed) patient(ctx context.Context, p demo.Patient, now time.Time) error {
	var userID *string
	if p.Username != "" {
		id := d.userIDs[p.Username]
		userID = &id
	}
	var id string
	err := d.tx.QueryRow(ctx, `
		INSERT INTO patients (mrn, family_name, given_name, birth_date, sex, time_zone, user_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (mrn) DO UPDATE
		SET family_name = EXCLUDED.family_name, given_name = EXCLUDED.given_name,
		    birth_date = EXCLUDED.birth_date, sex = EXCLUDED.sex, time_zone = EXCLUDED.time_zone,
		    user_id = EXCLUDED.user_id
		RETURNING id`,
		p.MRN, p.FamilyName, p.GivenName, p.BirthDate, string(p.Sex), p.TimeZone, userID).Scan(&id)
	if err != nil {
		return err
	}
	d.patientIDs[p.MRN] = id
	if _, err := d.tx.Exec(ctx, `
		INSERT INTO patient_care_teams (patient_id, team_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, id, d.teamIDs[p.Team]); err != nil {
		return err
	}
	for _, dev := range p.Devices {
		if err := d.device(ctx, dev, id, now); err != nil {
			return err
		}
	}
	return d.usualState(ctx, id, now)
}

// usualState records, once, the demo patient's usual state from their care plan — on room air,
// alert — as standing NEWS2 entries from demo.History before now, so their NEWS2 counts all seven
// parameters (a clinician's fresh observation overrides it).
func (d *demoSeed) usualState(ctx context.Context, patientID string, now time.Time) error {
	_, err := d.tx.Exec(ctx, `
		INSERT INTO clinical_assessments (patient_id, kind, value, recorded_at, standing)
		SELECT $1, k.kind, k.value, $2, true
		FROM (VALUES ('supplemental_oxygen', 'air'), ('consciousness', 'alert')) AS k(kind, value)
		WHERE NOT EXISTS (SELECT 1 FROM clinical_assessments c WHERE c.patient_id = $1 AND c.kind = k.kind AND c.standing)`,
		patientID, now.Add(-demo.History))
	return err
}

// device registers dev and, unless it is already assigned to someone, assigns it to the patient
// from demo.History before now.
func (d *demoSeed) device(ctx context.Context, dev rpm.Device, patientID string, now time.Time) error {
	var id string
	err := d.tx.QueryRow(ctx, `
		INSERT INTO devices (serial, vendor, model, kind, risk_class, status)
		VALUES ($1, $2, $3, $4, 'II', $5)
		ON CONFLICT (vendor, serial) DO UPDATE SET model = EXCLUDED.model
		RETURNING id`, dev.Serial, dev.Vendor, dev.Model, string(dev.Kind), string(dev.Status)).Scan(&id)
	if err != nil {
		return err
	}
	_, err = d.tx.Exec(ctx, `
		INSERT INTO device_assignments (device_id, patient_id, started_at)
		SELECT $1, $2, $3
		WHERE NOT EXISTS (SELECT 1 FROM device_assignments WHERE device_id = $1 AND ended_at IS NULL)`,
		id, patientID, now.Add(-demo.History))
	return err
}

// shares adds each share unless an active one for the same patient and grantee exists.
func (d *demoSeed) shares(ctx context.Context, shares []demo.Share, now time.Time) error {
	for _, sh := range shares {
		_, err := d.tx.Exec(ctx, `
			INSERT INTO shares (patient_id, grantee_id, granted_by, reason, created_at, expires_at)
			SELECT $1, $2, $3, $4, $5, $6
			WHERE NOT EXISTS (
				SELECT 1 FROM shares
				WHERE patient_id = $1 AND grantee_id = $2 AND revoked_at IS NULL AND expires_at > $5)`,
			d.patientIDs[sh.MRN], d.userIDs[sh.Grantee], d.userIDs[sh.GrantedBy], sh.Reason,
			now, now.Add(time.Duration(sh.Days)*24*time.Hour))
		if err != nil {
			return err
		}
	}
	return nil
}

func roleNames(roles []rpm.Role) []string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return names
}

// DemoDevice is a demo device on its patient, for the simulator. TimeZone is the patient's (IANA).
type DemoDevice struct {
	DeviceID string
	Kind     rpm.DeviceKind
	MRN      string
	TimeZone string
}

// DemoDevices lists the demo hospital's devices that are on a patient now.
func (s *Store) DemoDevices(ctx context.Context) ([]DemoDevice, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.id, d.kind, p.mrn, p.time_zone FROM devices d
		JOIN device_assignments a ON a.device_id = d.id AND a.ended_at IS NULL
		JOIN patients p ON p.id = a.patient_id
		WHERE d.vendor = $1 AND d.status = 'active' ORDER BY p.mrn, d.kind`, demo.Vendor)
	return collect("demo devices", rows, err, func(row pgx.CollectableRow) (DemoDevice, error) {
		var d DemoDevice
		err := row.Scan(&d.DeviceID, (*string)(&d.Kind), &d.MRN, &d.TimeZone)
		return d, err
	})
}

func nullDuration(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}
