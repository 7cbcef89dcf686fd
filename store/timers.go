package store

import (
	"context"
	"fmt"
	"math"
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
// patient's care teams'; 15 minutes without a team) and the tiers of those teams that have an
// active member on them.
type EscalationDue struct {
	Alert   rpm.Alert
	Window  time.Duration
	Staffed []int
}

// DueEscalations returns firing clinical alerts not acknowledged within their window at now, or on
// a tier with no one on it: those that can move to a staffed higher tier, and those not yet found
// stuck (no one higher). Technical alerts do not escalate.
func (s *Store) DueEscalations(ctx context.Context, now time.Time) ([]EscalationDue, error) {
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT a.id, w.window, coalesce(st.tiers, '{}') AS tiers FROM alerts a
			CROSS JOIN LATERAL (
				SELECT coalesce(min(t.ack_window), interval '15 minutes') AS window
				FROM patient_care_teams pt JOIN care_teams t ON t.id = pt.team_id WHERE pt.patient_id = a.patient_id) w
			CROSS JOIN LATERAL (
				SELECT array_agg(DISTINCT m.tier::int ORDER BY m.tier::int) AS tiers
				FROM patient_care_teams pt JOIN care_team_members m ON m.team_id = pt.team_id
				JOIN users u ON u.id = m.user_id AND u.disabled_at IS NULL
				WHERE pt.patient_id = a.patient_id) st
			JOIN alert_rules ar ON ar.id = a.rule_id AND ar.kind IN ('threshold', 'rate_of_change', 'news2')
			WHERE a.state = 'firing' AND (a.escalated_at + w.window <= $1 OR NOT a.tier = ANY(coalesce(st.tiers, '{}')))
			  AND (NOT a.escalation_stuck OR EXISTS (SELECT 1 FROM unnest(st.tiers) t WHERE t > a.tier)))
		SELECT `+alertColumns+`, due.window, due.tiers FROM due JOIN alerts a ON a.id = due.id
		JOIN alert_rules r ON r.id = a.rule_id
		ORDER BY a.escalated_at`, now)
	return collect("due escalations", rows, err, func(row pgx.CollectableRow) (EscalationDue, error) {
		var d EscalationDue
		var err error
		d.Alert, err = scanAlertWith(row, &d.Window, &d.Staffed)
		return d, err
	})
}

// EndedSnoozes returns acknowledged alerts whose snooze has run out at now.
func (s *Store) EndedSnoozes(ctx context.Context, now time.Time) ([]rpm.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.state = 'acknowledged' AND a.snoozed_until IS NOT NULL AND a.snoozed_until <= $1`, now)
	return collect("ended snoozes", rows, err, scanAlert)
}

// DeviceFeed is one code a device on a patient sends, and since when it has been quiet: when its
// latest reading was received, or since the assignment's start or the last no-data alert's end if
// later (a clinician who resolves a no-data alert gets a whole new silence before the next).
type DeviceFeed struct {
	Patient, Device, Code string
	Since                 time.Time
}

// DeviceFeeds returns the codes each assigned device has sent, for the no-data timer, with the
// rules in force for their patients: those whose latest reading was received before quietBefore
// (none later can be silent yet), and those with a no-data alert open (to clear it).
func (s *Store) DeviceFeeds(ctx context.Context, quietBefore time.Time) ([]DeviceFeed, map[string][]rpm.AlertRule, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.patient_id::text, a.device_id::text, m.code, greatest(m.last_at, a.started_at, (
			SELECT max(x.resolved_at) FROM alerts x JOIN alert_rules xr ON xr.id = x.rule_id
			WHERE x.patient_id = a.patient_id AND x.device_id = a.device_id AND xr.kind = 'no_data' AND xr.code = m.code))
		FROM device_assignments a JOIN devices d ON d.id = a.device_id AND d.status = 'active'
		JOIN device_metrics m ON m.device_id = a.device_id
		WHERE a.ended_at IS NULL AND (m.last_at <= $1 OR EXISTS (
			SELECT 1 FROM alerts x JOIN alert_rules xr ON xr.id = x.rule_id
			WHERE x.patient_id = a.patient_id AND x.device_id = a.device_id AND x.state <> 'resolved'
			  AND xr.kind = 'no_data' AND xr.code = m.code))`, quietBefore)
	feeds, err := collect("device feeds", rows, err, func(row pgx.CollectableRow) (DeviceFeed, error) {
		var f DeviceFeed
		err := row.Scan(&f.Patient, &f.Device, &f.Code, &f.Since)
		return f, err
	})
	if err != nil {
		return nil, nil, err
	}
	rules, err := s.RulesForPatients(ctx, patientsOf(feeds, func(f DeviceFeed) string { return f.Patient }))
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
	return collect("orphaned no-data alerts", rows, err, scanAlert)
}

// RulesOfKinds returns every enabled rule of these kinds, at any scope: what the technical timers
// may have to check for.
func (s *Store) RulesOfKinds(ctx context.Context, kinds []string) ([]rpm.AlertRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+` FROM alert_rules r WHERE r.kind = ANY($1) AND r.enabled`, kinds)
	return collect("rules of kinds", rows, err, scanRule)
}

// DeviceWatch is one device now on a patient, as the technical timers see it.
type DeviceWatch struct {
	Patient, Device string
	Kind            rpm.DeviceKind
	Since           time.Time     // the assignment's start, or a clinician's resolution of its last not-reporting alert
	LastReadingAt   time.Time     // zero before its first reading
	Expected        time.Duration // how often the care plan expects a reading; 0: the kind's usual
	Battery         *float64
	ClockAhead      *time.Duration
}

// Interval is how often the device is expected to report.
func (d DeviceWatch) Interval() time.Duration {
	if d.Expected > 0 {
		return d.Expected
	}
	return rpm.DefaultReportingInterval(d.Kind)
}

// DeviceCheck is what the technical timers look for in devices: silent for Missed of their
// expected intervals (and at least MinSilence) at Now, charged at or below Battery, a clock ahead
// by more than Ahead — each the most lenient of any rule in force, so no device that may need an
// alert is left out.
type DeviceCheck struct {
	Now        time.Time
	Missed     int
	MinSilence time.Duration
	Battery    float64
	Ahead      time.Duration
}

// WatchedDevices returns the devices on patients that may need a technical alert, with the rules
// in force for their patients: those c looks for, and those with a technical alert open or a
// technical episode under way (to clear it).
func (s *Store) WatchedDevices(ctx context.Context, c DeviceCheck) ([]DeviceWatch, map[string][]rpm.AlertRule, error) {
	kinds, every := make([]string, len(rpm.DeviceKinds)), make([]time.Duration, len(rpm.DeviceKinds))
	for i, k := range rpm.DeviceKinds {
		kinds[i], every[i] = string(k), rpm.DefaultReportingInterval(k)
	}
	rows, err := s.pool.Query(ctx, `
		WITH k AS (SELECT * FROM unnest($6::text[], $7::interval[]) AS k(kind, every))
		SELECT a.patient_id::text, d.id::text, d.kind, greatest(a.started_at, (
		           SELECT max(e.at) FROM alerts x JOIN alert_rules xr ON xr.id = x.rule_id AND xr.kind = 'not_reporting'
		           JOIN alert_events e ON e.alert_id = x.id AND e.kind = 'resolved'
		           WHERE x.device_id = d.id AND x.patient_id = a.patient_id)),
		       d.last_reading_at, coalesce(a.expected_interval, '0'), d.battery, d.clock_ahead
		FROM device_assignments a JOIN devices d ON d.id = a.device_id AND d.status = 'active' JOIN k ON k.kind = d.kind
		WHERE a.ended_at IS NULL AND (
			coalesce(d.last_reading_at, a.started_at) <= $1::timestamptz - greatest($2::int * coalesce(a.expected_interval, k.every), $3::interval)
			OR round(d.battery::numeric, 3) <= $4 OR d.clock_ahead > $5
			OR EXISTS (SELECT 1 FROM alerts x WHERE x.device_id = d.id AND x.patient_id = a.patient_id AND x.state <> 'resolved')
			OR EXISTS (SELECT 1 FROM alert_rule_states st JOIN alert_rules r ON r.id = st.rule_id
			           WHERE st.patient_id = a.patient_id AND r.kind IN ('not_reporting', 'low_battery', 'clock_skew')
			             AND jsonb_exists(st.state -> 'devices', d.id::text)))`,
		c.Now, c.Missed, c.MinSilence, c.Battery, c.Ahead, kinds, every)
	list, err := collect("watched devices", rows, err, func(row pgx.CollectableRow) (DeviceWatch, error) {
		var d DeviceWatch
		var last *time.Time
		err := row.Scan(&d.Patient, &d.Device, &d.Kind, &d.Since, &last, &d.Expected, &d.Battery, &d.ClockAhead)
		d.LastReadingAt, d.Battery = deref(last), charge(d.Battery)
		return d, err
	})
	if err != nil {
		return nil, nil, err
	}
	rules, err := s.RulesForPatients(ctx, patientsOf(list, func(d DeviceWatch) string { return d.Patient }))
	return list, rules, err
}

// charge is a battery level as the device reported it: stored as a 4-byte real, 0.15 reads back
// as 0.150000006, which must still count as "at or below 15 %".
func charge(b *float64) *float64 {
	if b == nil {
		return nil
	}
	v := math.Round(*b*1000) / 1000
	return &v
}

// NEWS2UnderWay returns the patients with a NEWS2 episode under way: an open NEWS2 alert, or a
// NEWS2 rule that remembers something (an onset being confirmed).
func (s *Store) NEWS2UnderWay(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.patient_id::text FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE r.kind = 'news2' AND a.state <> 'resolved'
		UNION
		SELECT st.patient_id::text FROM alert_rule_states st JOIN alert_rules r ON r.id = st.rule_id WHERE r.kind = 'news2'`)
	return collect("news2 under way", rows, err, pgx.RowTo[string])
}

// patientsOf is each patient of a list, once, in order of first appearance.
func patientsOf[T any](list []T, patient func(T) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range list {
		if p := patient(x); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
