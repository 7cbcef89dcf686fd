package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// accessSQL is Vigil's access policy in SQL, the one definition that both single-patient checks
// and patient lists use. For user $1 at instant $2 it yields (patient_id, level, shared_until):
//   - level 3 (care): a clinician who belongs to one of the patient's care teams;
//   - level 2 (self): the patient's own account;
//   - level 1 (shared): a primary care physician with a share that is neither revoked nor
//     expired at $2 — so expiry takes effect at the moment of access.
//
// A disabled user, and a role the user does not hold, yield nothing. An IT admin gets nothing from
// being an admin.
const accessSQL = `
	WITH viewer AS (SELECT id, roles FROM users WHERE id = $1 AND disabled_at IS NULL),
	access AS (
		SELECT pct.patient_id, 3 AS level, NULL::timestamptz AS shared_until
		FROM viewer v
		JOIN care_team_members m ON m.user_id = v.id
		JOIN patient_care_teams pct ON pct.team_id = m.team_id
		WHERE 'clinician' = ANY(v.roles)
		UNION ALL
		SELECT p.id, 2, NULL
		FROM viewer v JOIN patients p ON p.user_id = v.id
		WHERE 'patient' = ANY(v.roles)
		UNION ALL
		SELECT s.patient_id, 1, s.expires_at
		FROM viewer v JOIN shares s ON s.grantee_id = v.id
		WHERE 'pcp' = ANY(v.roles) AND s.revoked_at IS NULL AND s.expires_at > $2
	),
	visible AS (
		SELECT patient_id, max(level) AS level, max(shared_until) AS shared_until
		FROM access GROUP BY patient_id
	)`

// PatientAccess returns what user may do with patient at the instant now. A patient that does not
// exist, and one the user may not see, both give AccessNone.
func (s *Store) PatientAccess(ctx context.Context, userID, patientID string, now time.Time) (rpm.Access, error) {
	if !rpm.IsID(userID) || !rpm.IsID(patientID) {
		return rpm.Access{}, nil
	}
	var level int
	var until *time.Time
	err := s.pool.QueryRow(ctx, accessSQL+`
		SELECT level, shared_until FROM visible WHERE patient_id = $3`, userID, now, patientID).Scan(&level, &until)
	if err == pgx.ErrNoRows {
		return rpm.Access{}, nil
	}
	if err != nil {
		return rpm.Access{}, fmt.Errorf("store: patient access: %w", err)
	}
	a := rpm.Access{Level: rpm.AccessLevel(level)}
	if until != nil && a.Level == rpm.AccessShared {
		a.SharedUntil = *until
	}
	return a, nil
}

// PatientSummary is a patient as a list shows them, with the viewer's access and care teams.
type PatientSummary struct {
	rpm.Patient
	Access rpm.Access
	Teams  []string
}

// VisiblePatients lists the patients user may see at now, by family and given name, with the
// names of their care teams.
func (s *Store) VisiblePatients(ctx context.Context, userID string, now time.Time) ([]PatientSummary, error) {
	if !rpm.IsID(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, accessSQL+`
		SELECT `+patientColumnsP+`, v.level, v.shared_until,
		       coalesce((SELECT array_agg(t.name ORDER BY t.name) FROM patient_care_teams pct
		                 JOIN care_teams t ON t.id = pct.team_id WHERE pct.patient_id = p.id), '{}')
		FROM visible v JOIN patients p ON p.id = v.patient_id
		ORDER BY p.family_name, p.given_name, p.id`, userID, now)
	return collect("visible patients", rows, err, func(row pgx.CollectableRow) (PatientSummary, error) {
		var ps PatientSummary
		var level int
		var until *time.Time
		dest := append(patientDest(&ps.Patient), &level, &until, &ps.Teams)
		err := row.Scan(dest...)
		ps.Access.Level = rpm.AccessLevel(level)
		if until != nil && ps.Access.Level == rpm.AccessShared {
			ps.Access.SharedUntil = *until
		}
		return ps, err
	})
}
