package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// SaveOverride stores a team's or a patient's override of the wider rule r.Overrides: a new row,
// or an update of the override that team or patient already has of that rule (there is at most
// one). A team overrides a hospital rule; a patient overrides the rule in force for them, a
// hospital or team rule. Kind and code are the wider rule's. The row keeps who changed it
// (r.UpdatedBy), when, and why (r.ChangeReason). The caller has validated the rule.
//
// A team override takes the place of the hospital rule for the team's patients, so the overrides
// those patients already had of the hospital rule now override the team's rule instead: a
// patient's own setting still wins. It returns the override's id; ErrNotFound when the rule it
// overrides does not exist or cannot be overridden at that scope.
func (s *Store) SaveOverride(ctx context.Context, r rpm.AlertRule) (string, error) {
	insert := `
		INSERT INTO alert_rules (scope, team_id, patient_id, overrides, kind, code, severity, params, enabled,
		                         created_by, updated_by, change_reason)
		SELECT $1, nullif($2, '')::uuid, nullif($3, '')::uuid, w.id, w.kind, w.code, $5, $6, $7, $8, $8, $9
		FROM alert_rules w WHERE w.id = $4`
	update := `DO UPDATE SET severity = EXCLUDED.severity, params = EXCLUDED.params, enabled = EXCLUDED.enabled,
		updated_by = EXCLUDED.updated_by, updated_at = now(), change_reason = EXCLUDED.change_reason
		RETURNING id::text`
	var sql string
	switch {
	case !rpm.IsID(r.Overrides):
		return "", ErrNotFound
	case r.Scope == rpm.ScopePatient:
		sql = insert + ` AND w.scope <> 'patient' ON CONFLICT (patient_id, overrides) WHERE scope = 'patient' ` + update
	case r.Scope == rpm.ScopeTeam:
		sql = insert + ` AND w.scope = 'hospital' ON CONFLICT (team_id, overrides) WHERE scope = 'team' ` + update
	default:
		return "", fmt.Errorf("store: save override: scope %q has no overrides", r.Scope)
	}
	var id string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, sql, r.Scope, r.TeamID, r.PatientID, r.Overrides, r.Severity, r.Params, r.Enabled,
			nullID(r.UpdatedBy), r.ChangeReason).Scan(&id)
		if err != nil || r.Scope != rpm.ScopeTeam {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE alert_rules p SET overrides = $1
			WHERE p.scope = 'patient' AND p.overrides = $2
			  AND p.patient_id IN (SELECT patient_id FROM patient_care_teams WHERE team_id = $3)
			  AND NOT EXISTS (SELECT 1 FROM alert_rules q
			                  WHERE q.scope = 'patient' AND q.patient_id = p.patient_id AND q.overrides = $1)`,
			id, r.Overrides, r.TeamID)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) || isForeignKeyViolation(err) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: save override: %w", err)
	}
	return id, nil
}

// UpdateHospitalRule changes a hospital default rule's severity, settings and whether it is on,
// keeping who (r.UpdatedBy) and why (r.ChangeReason). The caller has validated the rule; kind and
// code do not change. ErrNotFound when there is no such hospital rule.
func (s *Store) UpdateHospitalRule(ctx context.Context, r rpm.AlertRule) error {
	if !rpm.IsID(r.ID) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE alert_rules SET severity = $2, params = $3, enabled = $4, updated_by = $5, updated_at = now(), change_reason = $6
		WHERE id = $1 AND scope = 'hospital'`, r.ID, r.Severity, r.Params, r.Enabled, nullID(r.UpdatedBy), r.ChangeReason)
	if err != nil {
		return fmt.Errorf("store: update hospital rule: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// RetireOverride ends a team's or patient's override, so the wider rule applies again. The row is
// kept, switched off and overriding nothing, with who ended it and why: alerts it raised still
// point at it, and the history of a patient's thresholds stays readable. The overrides patients had
// of a retired team rule override the hospital rule again. ErrNotFound when id is not a live
// override.
func (s *Store) RetireOverride(ctx context.Context, id, by, reason string) error {
	if !rpm.IsID(id) {
		return ErrNotFound
	}
	var retired int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			UPDATE alert_rules p SET overrides = t.overrides FROM alert_rules t
			WHERE t.id = $1 AND t.scope = 'team' AND t.overrides IS NOT NULL
			  AND p.scope = 'patient' AND p.overrides = t.id
			  AND NOT EXISTS (SELECT 1 FROM alert_rules q
			                  WHERE q.scope = 'patient' AND q.patient_id = p.patient_id AND q.overrides = t.overrides)`, id)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE alert_rules SET overrides = NULL, enabled = false, updated_by = $2, updated_at = now(), change_reason = $3
			WHERE id = $1 AND scope <> 'hospital' AND overrides IS NOT NULL`, id, nullID(by), reason)
		retired = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: retire override: %w", err)
	}
	if retired == 0 {
		return ErrNotFound
	}
	return nil
}

// namedRuleColumns is ruleColumns and the display name of who last changed the rule, over
// alert_rules r LEFT JOIN users u ON u.id = r.updated_by; scanNamedRule reads it.
const namedRuleColumns = ruleColumns + `, coalesce(u.display_name, '')`

func scanNamedRule(row pgx.CollectableRow) (rpm.AlertRule, error) {
	var r rpm.AlertRule
	err := row.Scan(&r.ID, &r.Scope, &r.TeamID, &r.PatientID, &r.Overrides, &r.Kind, &r.Code, &r.Severity, &r.Params,
		&r.Enabled, &r.UpdatedAt, &r.UpdatedBy, &r.ChangeReason, &r.UpdatedName)
	return r, err
}

// HospitalRules returns the hospital's default rules, switched-off ones included, with who last
// changed each (UpdatedName), for the admin's rules page.
func (s *Store) HospitalRules(ctx context.Context) ([]rpm.AlertRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+namedRuleColumns+` FROM alert_rules r LEFT JOIN users u ON u.id = r.updated_by
		WHERE r.scope = 'hospital' ORDER BY r.kind, r.code, r.created_at, r.id`)
	return collect("hospital rules", rows, err, scanNamedRule)
}

// TeamRules returns the team's live overrides of hospital rules (switched-off ones included), with
// who last changed each (UpdatedName), for the admin's team rules page. A team that does not exist
// has none.
func (s *Store) TeamRules(ctx context.Context, teamID string) ([]rpm.AlertRule, error) {
	if !rpm.IsID(teamID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+namedRuleColumns+` FROM alert_rules r LEFT JOIN users u ON u.id = r.updated_by
		WHERE r.scope = 'team' AND r.team_id = $1 AND r.overrides IS NOT NULL
		ORDER BY r.kind, r.code, r.created_at, r.id`, teamID)
	return collect("team rules", rows, err, scanNamedRule)
}

// EachReading calls fn with a patient's readings of one code with from <= effective time < to, in
// time order, one row at a time: a week of a 1 Hz stream (600,000 readings) never sits in memory.
// Only Code, Value, Unit and EffectiveAt are filled. An error from fn stops the scan and is
// returned.
func (s *Store) EachReading(ctx context.Context, patientID, code string, from, to time.Time, fn func(rpm.Reading) error) error {
	rows, err := s.pool.Query(ctx, `
		SELECT value, unit, effective_at FROM readings
		WHERE patient_id = $1 AND code = $2 AND effective_at >= $3 AND effective_at < $4
		ORDER BY effective_at`, patientID, code, from, to)
	if err != nil {
		return fmt.Errorf("store: each reading: %w", err)
	}
	r := rpm.Reading{PatientID: patientID, Code: code}
	_, err = pgx.ForEachRow(rows, []any{&r.Value, &r.Unit, &r.EffectiveAt}, func() error { return fn(r) })
	if err != nil {
		return fmt.Errorf("store: each reading: %w", err)
	}
	return nil
}

// RecordAssessment stores a clinician's NEWS2 input for a patient. ErrNotFound when the patient
// does not exist; kind and value must be one of rpm's assessment constants (the database refuses
// others).
func (s *Store) RecordAssessment(ctx context.Context, patientID string, a rpm.ClinicalAssessment) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO clinical_assessments (patient_id, kind, value, recorded_at, recorded_by, standing)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		patientID, a.Kind, a.Value, a.RecordedAt, nullID(a.RecordedBy), a.Standing)
	if isForeignKeyViolation(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: record assessment: %w", err)
	}
	return nil
}

// SetSpO2Scale sets which NEWS2 SpO₂ scale a patient is scored on: 1, or 2 for a prescribed target
// of 88–92 %. ErrNotFound when the patient does not exist.
func (s *Store) SetSpO2Scale(ctx context.Context, patientID string, scale int) error {
	if scale != 1 && scale != 2 {
		return fmt.Errorf("store: set spo2 scale: scale %d is not 1 or 2", scale)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE patients SET spo2_scale = $2 WHERE id = $1`, patientID, scale)
	if err != nil {
		return fmt.Errorf("store: set spo2 scale: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
