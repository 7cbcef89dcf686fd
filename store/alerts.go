package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigil-rpm/vigil/rpm"
)

// alertLockClass namespaces the per-patient advisory locks that every change to a patient's alerts
// and rule states holds until its transaction ends: intake evaluation, the timers and clinicians'
// actions on one patient take turns, on every instance.
const alertLockClass = 0x5669 // "Vi"

// AlertsChannel is the notification channel on which every committed change to alerts is
// announced (alert and patient ids only), so every instance can push it to its dashboards.
const AlertsChannel = "vigil_alerts"

// AlertNotice is the payload of a notification on AlertsChannel.
type AlertNotice struct {
	Alerts   []string `json:"a"`
	Patients []string `json:"p"`
}

// Evaluator evaluates readings inside the transaction that stores them, so each stored reading
// is evaluated exactly once: if the transaction fails, neither the readings nor what the rules
// made of them remain.
type Evaluator interface {
	EvaluateStored(ctx context.Context, tx *AlertTx, stored []rpm.Reading) error
}

// AlertTx is a transaction holding the alert locks of a set of patients. Changes saved through it
// commit with the transaction and are announced on AlertsChannel after the commit.
type AlertTx struct {
	tx       pgx.Tx
	patients []string
	locked   bool
	now      time.Time
	changed  []string
	touched  []string
}

// Now is when the transaction took its locks, the clock for what it saves (valid after Load,
// LockedAlert or a save).
func (a *AlertTx) Now() time.Time { return a.now }

// Patients are the patients whose alert locks the transaction holds.
func (a *AlertTx) Patients() []string { return a.patients }

// InAlertTx runs fn in a transaction holding the alert locks of patients. It returns fn's error
// (rolling back) or the commit's.
func (s *Store) InAlertTx(ctx context.Context, patients []string, fn func(*AlertTx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a := newAlertTx(tx, patients)
		return a.finish(ctx, fn(a))
	})
	if err != nil {
		return fmt.Errorf("store: alerts: %w", err)
	}
	return nil
}

// newAlertTx is the alert work of a transaction over these patients; their locks are taken with
// its first statement.
func newAlertTx(tx pgx.Tx, patients []string) *AlertTx {
	ids := make([]string, len(patients))
	for i, p := range patients {
		ids[i] = strings.ToLower(p) // the lock key hashes the text: one spelling per patient
	}
	slices.Sort(ids)
	return &AlertTx{tx: tx, patients: slices.Compact(ids)}
}

// lockSQL takes the patients' alert locks ($1), in one order (by key) everywhere, so concurrent
// transactions cannot deadlock, and says when. Keys may collide; a collision only makes two
// patients take turns.
const lockSQL = `
	SELECT statement_timestamp(), (SELECT count(*) FROM (
		SELECT pg_advisory_xact_lock($2, k) FROM (
			SELECT DISTINCT hashtext(id) AS k FROM unnest($1::text[]) AS id ORDER BY 1) keys) locked)`

// queueLock puts taking the locks at the head of a batch, the first time: the locks cost no round
// trip of their own, and the batch's later statements see all that was committed before them.
func (a *AlertTx) queueLock(b *pgx.Batch) {
	if a.locked {
		return
	}
	a.locked = true
	b.Queue(lockSQL, a.patients, alertLockClass).QueryRow(func(row pgx.Row) error { return row.Scan(&a.now, new(int64)) })
}

// lock takes the locks now, if no batch took them yet.
func (a *AlertTx) lock(ctx context.Context) error {
	if a.locked {
		return nil
	}
	b := &pgx.Batch{}
	a.queueLock(b)
	return a.tx.SendBatch(ctx, b).Close()
}

// finish announces the transaction's changes; the notification is delivered at commit, and not at
// all on rollback.
func (a *AlertTx) finish(ctx context.Context, err error) error {
	if err != nil || len(a.changed) == 0 {
		return err
	}
	slices.Sort(a.touched)
	payload, _ := json.Marshal(AlertNotice{Alerts: a.changed, Patients: slices.Compact(a.touched)})
	if len(payload) > 7900 {
		payload, _ = json.Marshal(AlertNotice{Patients: slices.Compact(a.touched)})
	}
	if len(payload) > 7900 {
		payload = []byte(`{}`) // listeners then catch up from the events table
	}
	_, err = a.tx.Exec(ctx, `SELECT pg_notify($1, $2)`, AlertsChannel, string(payload))
	return err
}

// RuleStateKey names one rule's state for one patient.
type RuleStateKey struct{ Patient, Rule string }

// OpenAlertKey names the one open alert a patient may have per rule, direction and (no-data) device.
type OpenAlertKey struct {
	Patient, Rule string
	Direction     rpm.Direction
	Device        string
}

// KeyOf is the alert's open-alert key.
func KeyOf(a rpm.Alert) OpenAlertKey {
	return OpenAlertKey{a.PatientID, a.RuleID, a.Direction, a.DeviceID}
}

// AlertScope is what the alert engine knows about the patients of one transaction.
type AlertScope struct {
	// Rules in force for each patient, after overrides, enabled only.
	Rules  map[string][]rpm.AlertRule
	States map[RuleStateKey][]byte
	Open   map[OpenAlertKey]rpm.Alert
	// NEWS2 inputs by patient, when asked for.
	NEWS2 map[string]*NEWS2Inputs
}

// Load reads the rules, states and open alerts of the transaction's patients, and their NEWS2
// inputs if news2, in one round trip.
func (a *AlertTx) Load(ctx context.Context, news2 bool) (*AlertScope, error) {
	sc := &AlertScope{States: map[RuleStateKey][]byte{}, Open: map[OpenAlertKey]rpm.Alert{}}
	b := &pgx.Batch{}
	a.queueLock(b)
	var rules []rpm.AlertRule
	teams := map[string][]string{}
	b.Queue(`SELECT `+ruleColumns+` FROM alert_rules r
		WHERE r.scope = 'hospital'
		   OR r.team_id IN (SELECT team_id FROM patient_care_teams WHERE patient_id = ANY($1::uuid[]))
		   OR r.patient_id = ANY($1::uuid[])`, a.patients).Query(func(rows pgx.Rows) error {
		var err error
		rules, err = pgx.CollectRows(rows, scanRule)
		return err
	})
	b.Queue(`SELECT patient_id::text, team_id::text FROM patient_care_teams WHERE patient_id = ANY($1::uuid[])`, a.patients).
		Query(func(rows pgx.Rows) error {
			var p, t string
			_, err := pgx.ForEachRow(rows, []any{&p, &t}, func() error { teams[p] = append(teams[p], t); return nil })
			return err
		})
	b.Queue(`SELECT patient_id::text, rule_id::text, state FROM alert_rule_states WHERE patient_id = ANY($1::uuid[])`, a.patients).
		Query(func(rows pgx.Rows) error {
			var k RuleStateKey
			var st []byte
			_, err := pgx.ForEachRow(rows, []any{&k.Patient, &k.Rule, &st}, func() error { sc.States[k] = slices.Clone(st); return nil })
			return err
		})
	b.Queue(`SELECT `+alertColumns+` FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.patient_id = ANY($1::uuid[]) AND a.state <> 'resolved'`, a.patients).Query(func(rows pgx.Rows) error {
		open, err := pgx.CollectRows(rows, scanAlert)
		for _, al := range open {
			sc.Open[KeyOf(al)] = al
		}
		return err
	})
	if news2 {
		sc.NEWS2 = map[string]*NEWS2Inputs{}
		queueNEWS2Inputs(b, a.patients, sc.NEWS2)
	}
	if err := a.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load alert scope: %w", err)
	}
	sc.Rules = EffectiveRules(rules, a.patients, teams)
	return sc, nil
}

// EffectiveRules resolves which rules are in force for each patient: the hospital's, those of the
// patient's teams and the patient's own, where a narrower rule replaces the wider one it overrides,
// and disabled rules (an override may switch a rule off) are left out.
func EffectiveRules(rules []rpm.AlertRule, patients []string, teams map[string][]string) map[string][]rpm.AlertRule {
	out := make(map[string][]rpm.AlertRule, len(patients))
	for _, p := range patients {
		var applies []rpm.AlertRule
		for _, r := range rules {
			switch {
			case r.Scope == rpm.ScopeHospital,
				r.Scope == rpm.ScopeTeam && slices.Contains(teams[p], r.TeamID),
				r.Scope == rpm.ScopePatient && r.PatientID == p:
				applies = append(applies, r)
			}
		}
		replaced := map[string]bool{}
		for _, r := range applies {
			if r.Overrides != "" {
				replaced[r.Overrides] = true
			}
		}
		for _, r := range applies {
			if r.Enabled && !replaced[r.ID] {
				out[p] = append(out[p], r)
			}
		}
	}
	return out
}

// StateWrite sets (or, when State is nil, clears) one rule's state for one patient.
type StateWrite struct {
	Key   RuleStateKey
	State []byte
}

// AlertWrite is a new alert (ID empty) or a changed one, with the events to append to its history.
// A quiet write (one more reading of the same condition) is not announced to the dashboards.
type AlertWrite struct {
	Alert  rpm.Alert
	Events []rpm.AlertEvent
	Quiet  bool
}

// SaveStates writes rule states.
func (a *AlertTx) SaveStates(ctx context.Context, writes []StateWrite) error {
	if len(writes) == 0 {
		return nil
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	var setP, setR, delP, delR []string
	var setS [][]byte
	for _, w := range writes {
		if w.State == nil {
			delP, delR = append(delP, w.Key.Patient), append(delR, w.Key.Rule)
			continue
		}
		setP, setR, setS = append(setP, w.Key.Patient), append(setR, w.Key.Rule), append(setS, w.State)
	}
	b := &pgx.Batch{}
	if len(setP) > 0 {
		b.Queue(`
			INSERT INTO alert_rule_states (patient_id, rule_id, state, updated_at)
			SELECT p, r, s, $4 FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) AS t(p, r, s) ORDER BY p, r
			ON CONFLICT (patient_id, rule_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
			setP, setR, setS, a.now)
	}
	if len(delP) > 0 {
		b.Queue(`DELETE FROM alert_rule_states s USING unnest($1::uuid[], $2::uuid[]) AS t(p, r)
			WHERE s.patient_id = t.p AND s.rule_id = t.r`, delP, delR)
	}
	if err := a.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("save rule states: %w", err)
	}
	return nil
}

// SaveAlert inserts or updates an alert of one of the transaction's patients, appends its events,
// queues their webhook deliveries, and returns the alert with its id.
func (a *AlertTx) SaveAlert(ctx context.Context, w AlertWrite) (rpm.Alert, error) {
	al := w.Alert
	if !slices.Contains(a.patients, al.PatientID) {
		return al, errors.New("save alert: the transaction does not hold this patient's alert lock")
	}
	if err := a.lock(ctx); err != nil {
		return al, err
	}
	var err error
	if al.ID == "" {
		err = a.tx.QueryRow(ctx, `
			INSERT INTO alerts (patient_id, rule_id, direction, device_id, severity, state, tier, summary, opened_at,
			                    last_triggered_at, acknowledged_at, snoozed_until, resolved_at, actionable, escalated_at, trigger_count,
			                    source_device_id, recovered_at, late, escalation_stuck)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id`,
			al.PatientID, al.RuleID, al.Direction, nullID(al.DeviceID), al.Severity, al.State, al.Tier, al.Summary,
			al.OpenedAt, al.LastTriggeredAt, nullTime(al.AcknowledgedAt), nullTime(al.SnoozedUntil), nullTime(al.ResolvedAt),
			al.Actionable, al.EscalatedAt, max(al.TriggerCount, 1), nullID(al.SourceDeviceID), nullTime(al.RecoveredAt), al.Late,
			al.EscalationStuck).Scan(&al.ID)
	} else {
		var tag pgconn.CommandTag
		tag, err = a.tx.Exec(ctx, `
			UPDATE alerts SET severity = $2, state = $3, tier = $4, summary = $5, last_triggered_at = $6,
			       acknowledged_at = $7, snoozed_until = $8, resolved_at = $9, actionable = $10, escalated_at = $11,
			       trigger_count = $12, rule_id = $14, source_device_id = $15, recovered_at = $16, late = $17,
			       escalation_stuck = $18, changed_at = statement_timestamp()
			WHERE id = $1 AND patient_id = $13`,
			al.ID, al.Severity, al.State, al.Tier, al.Summary, al.LastTriggeredAt, nullTime(al.AcknowledgedAt),
			nullTime(al.SnoozedUntil), nullTime(al.ResolvedAt), al.Actionable, al.EscalatedAt, max(al.TriggerCount, 1), al.PatientID,
			al.RuleID, nullID(al.SourceDeviceID), nullTime(al.RecoveredAt), al.Late, al.EscalationStuck)
		if err == nil && tag.RowsAffected() == 0 {
			err = ErrNotFound
		}
	}
	if err != nil {
		if isUniqueViolation(err) {
			err = ErrConflict
		}
		return al, fmt.Errorf("save alert: %w", err)
	}
	for _, ev := range w.Events {
		if err := a.addEvent(ctx, al, ev); err != nil {
			return al, err
		}
	}
	if !w.Quiet || len(w.Events) > 0 {
		a.changed = append(a.changed, al.ID)
		a.touched = append(a.touched, al.PatientID)
	}
	return al, nil
}

// addEvent appends one event to an alert's history and queues it for the webhooks of the
// patient's care teams.
func (a *AlertTx) addEvent(ctx context.Context, al rpm.Alert, ev rpm.AlertEvent) error {
	at := ev.At
	if at.IsZero() {
		at = a.now
	}
	_, err := a.tx.Exec(ctx, `
		WITH ev AS (
			INSERT INTO alert_events (alert_id, at, kind, actor_id, note) VALUES ($1, $2, $3, $4, $5)
			RETURNING id, at, kind)
		INSERT INTO webhook_deliveries (webhook_id, event_id, payload, next_attempt_at)
		SELECT w.id, ev.id, jsonb_build_object(
			'event', ev.kind, 'at', ev.at, 'note', $5::text,
			'alert', jsonb_build_object('id', al.id, 'patient', al.patient_id, 'rule', al.rule_id, 'kind', r.kind,
				'code', r.code, 'severity', al.severity, 'state', al.state, 'tier', al.tier, 'summary', al.summary,
				'opened_at', al.opened_at, 'device', coalesce(al.device_id, al.source_device_id), 'late', al.late,
				'category', CASE WHEN r.kind IN ('threshold', 'rate_of_change', 'news2') THEN 'clinical' ELSE 'technical' END),
			'team', w.team_id), ev.at
		FROM ev, alerts al JOIN alert_rules r ON r.id = al.rule_id, team_webhooks w
		WHERE al.id = $1 AND w.enabled
		  AND w.team_id IN (SELECT team_id FROM patient_care_teams WHERE patient_id = al.patient_id)`,
		al.ID, at, ev.Kind, nullID(ev.ActorID), ev.Note)
	if err != nil {
		return fmt.Errorf("save alert event: %w", err)
	}
	return nil
}

// Audit records audit entries in the transaction, so that the change they describe and its audit
// row commit together or not at all. (The transaction is READ COMMITTED, as the audit chain's
// trigger needs.)
func (a *AlertTx) Audit(ctx context.Context, entries ...rpm.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, e := range entries {
		queueAudit(b, e)
	}
	if err := a.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// LockedAlert reads one alert of the transaction's patients, locked for update.
func (a *AlertTx) LockedAlert(ctx context.Context, id string) (rpm.Alert, error) {
	if !rpm.IsID(id) {
		return rpm.Alert{}, ErrNotFound
	}
	if err := a.lock(ctx); err != nil {
		return rpm.Alert{}, err
	}
	rows, err := a.tx.Query(ctx, `SELECT `+alertColumns+`
		FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = $1 AND a.patient_id = ANY($2::uuid[])
		FOR UPDATE OF a`, id, a.patients)
	return collectOne("lock alert", rows, err, scanAlert)
}

// ruleColumns is the select list of scanRule, over alert_rules r.
const ruleColumns = `r.id::text, r.scope, coalesce(r.team_id::text, ''), coalesce(r.patient_id::text, ''),
	coalesce(r.overrides::text, ''), r.kind, coalesce(r.code, ''), r.severity, r.params, r.enabled, r.updated_at,
	coalesce(r.updated_by::text, ''), r.change_reason`

func scanRule(row pgx.CollectableRow) (rpm.AlertRule, error) {
	var r rpm.AlertRule
	err := row.Scan(&r.ID, &r.Scope, &r.TeamID, &r.PatientID, &r.Overrides, &r.Kind, &r.Code, &r.Severity, &r.Params,
		&r.Enabled, &r.UpdatedAt, &r.UpdatedBy, &r.ChangeReason)
	return r, err
}

// alertColumns is the select list of scanAlert, over alerts a joined with alert_rules r.
const alertColumns = `a.id::text, a.patient_id::text, a.rule_id::text, r.kind, coalesce(r.code, ''),
	coalesce(a.device_id::text, ''), coalesce(a.source_device_id::text, ''), a.direction, a.severity, a.state, a.tier,
	a.summary, a.opened_at, a.last_triggered_at, a.trigger_count, a.escalated_at, a.acknowledged_at, a.snoozed_until,
	a.resolved_at, a.actionable, a.recovered_at, a.late, a.escalation_stuck, coalesce((
		SELECT array_agg(DISTINCT u.display_name ORDER BY u.display_name) FROM patient_care_teams pt
		JOIN care_team_members m ON m.team_id = pt.team_id AND m.tier = a.tier
		JOIN users u ON u.id = m.user_id AND u.disabled_at IS NULL
		WHERE pt.patient_id = a.patient_id), '{}')`

func scanAlert(row pgx.CollectableRow) (rpm.Alert, error) { return scanAlertWith(row) }

// scanAlertWith scans alertColumns and then the extra columns a query adds after them.
func scanAlertWith(row pgx.CollectableRow, extra ...any) (rpm.Alert, error) {
	var a rpm.Alert
	var ack, snooze, resolved, recovered *time.Time
	err := row.Scan(append([]any{&a.ID, &a.PatientID, &a.RuleID, &a.RuleKind, &a.Code, &a.DeviceID, &a.SourceDeviceID,
		&a.Direction, &a.Severity, &a.State, &a.Tier, &a.Summary, &a.OpenedAt, &a.LastTriggeredAt, &a.TriggerCount,
		&a.EscalatedAt, &ack, &snooze, &resolved, &a.Actionable, &recovered, &a.Late, &a.EscalationStuck, &a.With}, extra...)...)
	a.AcknowledgedAt, a.SnoozedUntil, a.ResolvedAt, a.RecoveredAt = deref(ack), deref(snooze), deref(resolved), deref(recovered)
	return a, err
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// MaxReplay bounds the readings one late-reading replay reads back.
const MaxReplay = 100_000

// DeviceReadings returns one device's readings of a code for one of the transaction's patients,
// in time order: the before readings just earlier than from, and those from from to to — the
// window a late reading is replayed in. The transaction's own new readings are included.
func (a *AlertTx) DeviceReadings(ctx context.Context, patient, device, code string, from, to time.Time, before int) ([]rpm.Reading, error) {
	rows, err := a.tx.Query(ctx, `
		SELECT * FROM (
			(SELECT `+readingColumns+` FROM readings r
			 WHERE r.patient_id = $1 AND r.code = $3 AND r.device_id = $2 AND r.effective_at < $4
			 ORDER BY r.effective_at DESC LIMIT $6)
			UNION ALL
			(SELECT `+readingColumns+` FROM readings r
			 WHERE r.patient_id = $1 AND r.code = $3 AND r.device_id = $2 AND r.effective_at >= $4 AND r.effective_at <= $5
			 ORDER BY r.effective_at LIMIT $7)) w
		ORDER BY effective_at`, patient, device, code, from, to, before, MaxReplay)
	return collect("device readings", rows, err, scanReading)
}

// AlertSpan is when one alert was open: from its onset until it was resolved (zero while open).
type AlertSpan struct{ Opened, Resolved time.Time }

// AlertSpans returns the spans of a patient's alerts of a kind, code and direction that were open
// at or after since: what an episode found late may already be covered by.
func (a *AlertTx) AlertSpans(ctx context.Context, patient string, kind rpm.RuleKind, code string, direction rpm.Direction, since time.Time) ([]AlertSpan, error) {
	rows, err := a.tx.Query(ctx, `
		SELECT a.opened_at, a.resolved_at FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
		WHERE a.patient_id = $1 AND r.kind = $2 AND coalesce(r.code, '') = $3 AND a.direction = $4
		  AND (a.resolved_at IS NULL OR a.resolved_at >= $5)`, patient, kind, code, direction, since)
	return collect("alert spans", rows, err, func(row pgx.CollectableRow) (AlertSpan, error) {
		var s AlertSpan
		var resolved *time.Time
		err := row.Scan(&s.Opened, &resolved)
		s.Resolved = deref(resolved)
		return s, err
	})
}

// RuleState returns one rule's stored state for one of the transaction's patients (nil when it
// has none).
func (a *AlertTx) RuleState(ctx context.Context, key RuleStateKey) ([]byte, error) {
	if err := a.lock(ctx); err != nil {
		return nil, err
	}
	var st []byte
	err := a.tx.QueryRow(ctx, `SELECT state FROM alert_rule_states WHERE patient_id = $1 AND rule_id = $2`, key.Patient, key.Rule).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rule state: %w", err)
	}
	return st, nil
}
