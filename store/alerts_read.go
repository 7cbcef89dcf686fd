package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// AlertListing is an alert with what a list shows next to it.
type AlertListing struct {
	rpm.Alert
	PatientName string
}

// AlertFilter narrows VisibleAlerts.
type AlertFilter struct {
	// States the alerts may be in; none for all.
	States  []rpm.AlertState
	Patient string
	// Category: "clinical" (threshold, rate of change, NEWS2), "technical" (about a device), or ""
	// for both.
	Category string
	Limit    int
}

// VisibleAlerts returns the alerts of patients userID may see at now, most urgent first (firing
// before acknowledged before resolved, high before low, newest first), and the patients listed.
func (s *Store) VisibleAlerts(ctx context.Context, userID string, now time.Time, f AlertFilter) ([]AlertListing, error) {
	if f.Limit <= 0 {
		f.Limit = 200
	}
	states := f.States
	if len(states) == 0 {
		states = []rpm.AlertState{rpm.AlertFiring, rpm.AlertAcknowledged, rpm.AlertResolved}
	}
	rows, err := s.pool.Query(ctx, accessSQL+`
		SELECT `+alertColumns+`, p.given_name || ' ' || p.family_name
		FROM visible v JOIN alerts a ON a.patient_id = v.patient_id JOIN alert_rules r ON r.id = a.rule_id
		JOIN patients p ON p.id = a.patient_id
		WHERE a.state = ANY($3) AND ($4 = '' OR a.patient_id::text = $4)
		  AND ($6 = '' OR (r.kind IN ('threshold', 'rate_of_change', 'news2')) = ($6 = 'clinical'))
		ORDER BY array_position(ARRAY['firing', 'acknowledged', 'resolved'], a.state),
		         array_position(ARRAY['high', 'medium', 'low'], a.severity), a.last_triggered_at DESC
		LIMIT $5`, userID, now, states, f.Patient, f.Limit, f.Category)
	return collect("visible alerts", rows, err, scanListing)
}

func scanListing(row pgx.CollectableRow) (AlertListing, error) {
	var l AlertListing
	var err error
	l.Alert, err = scanAlertWith(row, &l.PatientName)
	return l, err
}

// Alert returns one alert.
func (s *Store) Alert(ctx context.Context, id string) (rpm.Alert, error) {
	if !rpm.IsID(id) {
		return rpm.Alert{}, ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = $1`, id)
	return collectOne("alert", rows, err, scanAlert)
}

// AlertsByID returns the alerts with these ids that exist.
func (s *Store) AlertsByID(ctx context.Context, ids []string) ([]rpm.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.id = ANY($1::uuid[])`, ids)
	return collect("alerts by id", rows, err, scanAlert)
}

// AlertsOfPatients returns the patients' open alerts and those that changed after since: what a
// dashboard that was away needs to be right again.
func (s *Store) AlertsOfPatients(ctx context.Context, patients []string, since time.Time) ([]rpm.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.patient_id = ANY($1::uuid[]) AND (a.state <> 'resolved' OR a.changed_at > $2)
		ORDER BY a.changed_at`, patients, since)
	return collect("alerts of patients", rows, err, scanAlert)
}

// AlertsChangedSince returns alerts that changed after since (by the database's clock): what a
// listener that was away missed.
func (s *Store) AlertsChangedSince(ctx context.Context, since time.Time) ([]rpm.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.changed_at > $1`, since)
	return collect("alerts changed", rows, err, scanAlert)
}

// AlertEvents returns an alert's history, oldest first, with the actors' names.
func (s *Store) AlertEvents(ctx context.Context, alertID string) ([]rpm.AlertEvent, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT e.id, e.alert_id::text, e.at, e.kind, coalesce(e.actor_id::text, ''), coalesce(u.display_name, ''), e.note
		FROM alert_events e LEFT JOIN users u ON u.id = e.actor_id
		WHERE e.alert_id = $1 ORDER BY e.at, e.id`, alertID)
	return collect("alert events", rows, err, func(row pgx.CollectableRow) (rpm.AlertEvent, error) {
		var e rpm.AlertEvent
		err := row.Scan(&e.ID, &e.AlertID, &e.At, &e.Kind, &e.ActorID, &e.ActorName, &e.Note)
		return e, err
	})
}

// RulesFor returns the rules in force for a patient, and every rule that could apply (hospital,
// the patient's teams, the patient's own, disabled ones included) for the rules page, with who
// last changed each (UpdatedName).
func (s *Store) RulesFor(ctx context.Context, patientID string) (inForce, all []rpm.AlertRule, err error) {
	rows, err := s.pool.Query(ctx, `SELECT `+namedRuleColumns+` FROM alert_rules r LEFT JOIN users u ON u.id = r.updated_by
		WHERE r.scope = 'hospital'
		   OR r.team_id IN (SELECT team_id FROM patient_care_teams WHERE patient_id = $1)
		   OR r.patient_id = $1
		ORDER BY r.kind, r.code, r.scope`, patientID)
	if all, err = collect("rules", rows, err, scanNamedRule); err != nil {
		return nil, nil, err
	}
	teams, err := s.PatientTeams(ctx, patientID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	return EffectiveRules(all, []string{patientID}, map[string][]string{patientID: ids})[patientID], all, nil
}

// Rule returns one rule.
func (s *Store) Rule(ctx context.Context, id string) (rpm.AlertRule, error) {
	if !rpm.IsID(id) {
		return rpm.AlertRule{}, ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+` FROM alert_rules r WHERE r.id = $1`, id)
	return collectOne("rule", rows, err, scanRule)
}

// RuleNoise is how many alerts a rule (with its overrides) raised, and how many of them clinicians
// marked actionable or not.
type RuleNoise struct {
	Alerts, Actionable, NotActionable int
}

// RuleNoiseSince counts each rule's alerts opened after since, an override's counted with the rule
// it overrides.
func (s *Store) RuleNoiseSince(ctx context.Context, since time.Time) (map[string]RuleNoise, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT coalesce(r.overrides, r.id)::text, count(*), count(*) FILTER (WHERE a.actionable),
		       count(*) FILTER (WHERE NOT a.actionable)
		FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.opened_at > $1 GROUP BY 1`, since)
	if err != nil {
		return nil, fmt.Errorf("store: rule noise: %w", err)
	}
	out := map[string]RuleNoise{}
	var id string
	var n RuleNoise
	_, err = pgx.ForEachRow(rows, []any{&id, &n.Alerts, &n.Actionable, &n.NotActionable}, func() error { out[id] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("store: rule noise: %w", err)
	}
	return out, nil
}
