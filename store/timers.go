package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// Lead runs fn while this process holds the session advisory lock named lock, so that one
// instance at a time does the work, and takes over when the holder goes away. It tries for the lock
// every retry; fn's context ends when ctx does or when the connection holding the lock is lost
// (checked every retry), and Lead then tries again. It returns when ctx ends.
func (s *Store) Lead(ctx context.Context, lock int64, retry time.Duration, fn func(ctx context.Context)) {
	for ctx.Err() == nil {
		s.leadOnce(ctx, lock, retry, fn)
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

func (s *Store) leadOnce(ctx context.Context, lock int64, retry time.Duration, fn func(ctx context.Context)) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lock).Scan(&got); err != nil || !got {
		return
	}
	// A leader whose host dies must lose the lock in seconds, not after the default two hours of
	// TCP keepalive: the server probes this session's connection often.
	if _, err := conn.Exec(ctx, `SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3`); err != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
		return
	}
	// The lock lives as long as this session: closing the connection, not unlocking, gives it up,
	// so it is never left held by a connection returned to the pool.
	defer conn.Conn().Close(context.WithoutCancel(ctx))
	leadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); fn(leadCtx) }()
	t := time.NewTicker(retry)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			<-done
			return
		case <-t.C:
			pingCtx, cancelPing := context.WithTimeout(leadCtx, max(retry, time.Second))
			err := conn.Ping(pingCtx)
			cancelPing()
			if err != nil {
				cancel()
				<-done
				return
			}
		}
	}
}

// EscalationDue is a firing alert with its patient's acknowledgement window (the shortest of the
// patient's care teams'; 15 minutes without a team).
type EscalationDue struct {
	Alert  rpm.Alert
	Window time.Duration
}

// DueEscalations returns firing alerts not acknowledged within their window at now, below tier max.
func (s *Store) DueEscalations(ctx context.Context, now time.Time, maxTier int) ([]EscalationDue, error) {
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT a.id, w.window FROM alerts a
			CROSS JOIN LATERAL (
				SELECT coalesce(min(t.ack_window), interval '15 minutes') AS window
				FROM patient_care_teams pt JOIN care_teams t ON t.id = pt.team_id WHERE pt.patient_id = a.patient_id) w
			WHERE a.state = 'firing' AND a.tier < $2 AND a.escalated_at + w.window <= $1)
		SELECT `+alertColumns+`, due.window FROM due JOIN alerts a ON a.id = due.id JOIN alert_rules r ON r.id = a.rule_id
		ORDER BY a.escalated_at`, now, maxTier)
	if err != nil {
		return nil, fmt.Errorf("store: due escalations: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (EscalationDue, error) {
		var d EscalationDue
		var err error
		d.Alert, err = scanAlertWith(row, &d.Window)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: due escalations: %w", err)
	}
	return list, nil
}

// EndedSnoozes returns acknowledged alerts whose snooze has run out at now.
func (s *Store) EndedSnoozes(ctx context.Context, now time.Time) ([]rpm.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.state = 'acknowledged' AND a.snoozed_until IS NOT NULL AND a.snoozed_until <= $1`, now)
	if err != nil {
		return nil, fmt.Errorf("store: ended snoozes: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("store: ended snoozes: %w", err)
	}
	return list, nil
}

// DeviceFeed is one code a device on a patient sends, and since when it has been quiet: when its
// latest reading was received, or since the assignment's start or the last no-data alert's end if
// later (a clinician who resolves a no-data alert gets a whole new silence before the next).
type DeviceFeed struct {
	Patient, Device, Code string
	Since                 time.Time
}

// DeviceFeeds returns the codes each assigned device has sent, for the no-data timer, with the
// rules in force for their patients.
// Only feeds whose latest reading was received before quietBefore are returned (none later can be
// silent yet).
func (s *Store) DeviceFeeds(ctx context.Context, quietBefore time.Time) ([]DeviceFeed, map[string][]rpm.AlertRule, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.patient_id::text, a.device_id::text, m.code, greatest(m.last_at, a.started_at, (
			SELECT max(x.resolved_at) FROM alerts x JOIN alert_rules xr ON xr.id = x.rule_id
			WHERE x.patient_id = a.patient_id AND x.device_id = a.device_id AND xr.kind = 'no_data' AND xr.code = m.code))
		FROM device_assignments a JOIN devices d ON d.id = a.device_id AND d.status = 'active'
		JOIN device_metrics m ON m.device_id = a.device_id
		WHERE a.ended_at IS NULL AND m.last_at < $1`, quietBefore)
	if err != nil {
		return nil, nil, fmt.Errorf("store: device feeds: %w", err)
	}
	feeds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DeviceFeed, error) {
		var f DeviceFeed
		err := row.Scan(&f.Patient, &f.Device, &f.Code, &f.Since)
		return f, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: device feeds: %w", err)
	}
	var patients []string
	seen := map[string]bool{}
	for _, f := range feeds {
		if !seen[f.Patient] {
			seen[f.Patient] = true
			patients = append(patients, f.Patient)
		}
	}
	rules, err := s.RulesForPatients(ctx, patients)
	return feeds, rules, err
}

// RulesForPatients returns the rules in force for each of the patients.
func (s *Store) RulesForPatients(ctx context.Context, patients []string) (map[string][]rpm.AlertRule, error) {
	b := &pgx.Batch{}
	var rules []rpm.AlertRule
	teams := map[string][]string{}
	b.Queue(`SELECT `+ruleColumns+` FROM alert_rules r
		WHERE r.scope = 'hospital'
		   OR r.team_id IN (SELECT team_id FROM patient_care_teams WHERE patient_id = ANY($1::uuid[]))
		   OR r.patient_id = ANY($1::uuid[])`, patients).Query(func(rows pgx.Rows) error {
		var err error
		rules, err = pgx.CollectRows(rows, scanRule)
		return err
	})
	b.Queue(`SELECT patient_id::text, team_id::text FROM patient_care_teams WHERE patient_id = ANY($1::uuid[])`, patients).
		Query(func(rows pgx.Rows) error {
			var p, t string
			_, err := pgx.ForEachRow(rows, []any{&p, &t}, func() error { teams[p] = append(teams[p], t); return nil })
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: rules for patients: %w", err)
	}
	return EffectiveRules(rules, patients, teams), nil
}

// OrphanedNoData returns open no-data alerts whose device is no longer on the patient, or no
// longer in service: nothing else would resolve them.
func (s *Store) OrphanedNoData(ctx context.Context) ([]rpm.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.state <> 'resolved' AND a.device_id IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM device_assignments da JOIN devices d ON d.id = da.device_id AND d.status = 'active'
			WHERE da.device_id = a.device_id AND da.patient_id = a.patient_id AND da.ended_at IS NULL)`)
	if err != nil {
		return nil, fmt.Errorf("store: orphaned no-data alerts: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("store: orphaned no-data alerts: %w", err)
	}
	return list, nil
}

// NoDataRules returns every enabled no-data rule, at any scope: the timer's shortest silence.
func (s *Store) NoDataRules(ctx context.Context) ([]rpm.AlertRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+` FROM alert_rules r WHERE r.kind = 'no_data' AND r.enabled`)
	if err != nil {
		return nil, fmt.Errorf("store: no-data rules: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanRule)
	if err != nil {
		return nil, fmt.Errorf("store: no-data rules: %w", err)
	}
	return list, nil
}
