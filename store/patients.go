package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
)

// patientColumnsP selects a patient aliased p, in patientDest's order.
const patientColumnsP = `p.id, p.mrn, p.family_name, p.given_name, p.birth_date, p.sex, p.time_zone`

func patientDest(p *rpm.Patient) []any {
	return []any{&p.ID, &p.MRN, &p.FamilyName, &p.GivenName, &p.BirthDate, (*string)(&p.Sex), &p.TimeZone}
}

// Patient returns one patient, or ErrNotFound. It does not check access: callers authorise first.
func (s *Store) Patient(ctx context.Context, id string) (rpm.Patient, error) {
	if !rpm.IsID(id) {
		return rpm.Patient{}, ErrNotFound
	}
	var p rpm.Patient
	err := s.pool.QueryRow(ctx, `SELECT `+patientColumnsP+` FROM patients p WHERE p.id = $1`, id).Scan(patientDest(&p)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return rpm.Patient{}, ErrNotFound
	}
	if err != nil {
		return rpm.Patient{}, fmt.Errorf("store: patient: %w", err)
	}
	return p, nil
}

// PatientOfUser returns the patient record linked to a patient's own account, or ErrNotFound.
func (s *Store) PatientOfUser(ctx context.Context, userID string) (rpm.Patient, error) {
	if !rpm.IsID(userID) {
		return rpm.Patient{}, ErrNotFound
	}
	var p rpm.Patient
	err := s.pool.QueryRow(ctx, `SELECT `+patientColumnsP+` FROM patients p WHERE p.user_id = $1`, userID).Scan(patientDest(&p)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return rpm.Patient{}, ErrNotFound
	}
	if err != nil {
		return rpm.Patient{}, fmt.Errorf("store: patient of user: %w", err)
	}
	return p, nil
}

// PatientTeams returns the care teams that look after a patient, with their members.
func (s *Store) PatientTeams(ctx context.Context, patientID string) ([]TeamWithMembers, error) {
	rows, err := s.pool.Query(ctx, teamsWithMembersSQL+`
		WHERE t.id IN (SELECT team_id FROM patient_care_teams WHERE patient_id = $1)
		GROUP BY t.id ORDER BY t.name`, patientID)
	return collect("patient teams", rows, err, scanTeam)
}

// PatientDevices returns the devices assigned to a patient now, with their reported status and
// how often the care plan expects each to report.
func (s *Store) PatientDevices(ctx context.Context, patientID string) ([]rpm.Device, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+deviceColumns+`, coalesce(a.expected_interval, '0')
		FROM device_assignments a JOIN devices d ON d.id = a.device_id
		WHERE a.patient_id = $1 AND a.ended_at IS NULL
		ORDER BY d.kind, d.serial`, patientID)
	return collect("patient devices", rows, err, func(row pgx.CollectableRow) (rpm.Device, error) {
		var every time.Duration
		d, err := scanDevice(row, &every)
		d.ExpectedEvery = every
		return d, err
	})
}

// DemoPatientIDs lists the ids of the demo hospital's patients present in the database, by MRN:
// the only patients load-test devices may be put on.
func (s *Store) DemoPatientIDs(ctx context.Context, h demo.Hospital) ([]string, error) {
	mrns := make([]string, len(h.Patients))
	for i, p := range h.Patients {
		mrns[i] = p.MRN
	}
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM patients WHERE mrn = ANY($1) ORDER BY mrn`, mrns)
	return collect("demo patient ids", rows, err, pgx.RowTo[string])
}
