-- Alerts a clinician can trust: confirmed onsets and sustained clears, episodes that survive
-- several devices and late readings, latched high alerts, technical alerts about devices, and
-- escalation that never goes into a void.

-- When a device was marked lost or retired: its readings taken after that count for nothing.
-- last_reading_at is when Vigil last received a reading from it (not a bare status post), and
-- clock_ahead how far ahead of Vigil's clock its latest readings were stamped; intake writes both
-- with the device's status, in batches.
ALTER TABLE devices
    ADD COLUMN status_changed_at timestamptz,
    ADD COLUMN last_reading_at   timestamptz,
    ADD COLUMN clock_ahead       interval;
-- For devices already out of service, when they were marked is unknown: no later than their last
-- post, after which they could not post again.
UPDATE devices SET status_changed_at = coalesce(last_seen_at, created_at) + interval '1 millisecond' WHERE status <> 'active';
-- The devices' latest readings so far, from the per-code times the no-data timer kept: without
-- them every device would look silent since its assignment, and page the teams at the upgrade.
UPDATE devices d SET last_reading_at = m.last_at
FROM (SELECT device_id, max(last_at) AS last_at FROM device_metrics GROUP BY device_id) m WHERE m.device_id = d.id;

-- How often the care plan expects the device to report for this patient (NULL: the device kind's
-- usual interval): a technical alert says when it stops.
ALTER TABLE device_assignments
    ADD COLUMN expected_interval interval CHECK (expected_interval > '0'::interval);

-- A standing entry is the patient's usual state from the care plan ("on room air, alert at
-- home"): it counts for NEWS2 until a later entry replaces it and never goes stale.
ALTER TABLE clinical_assessments ADD COLUMN standing boolean NOT NULL DEFAULT false;

-- Technical rule kinds watch a device, not the patient.
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_kind_check;
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_kind_check CHECK (kind IN (
    'threshold', 'rate_of_change', 'news2', 'no_data', 'not_reporting', 'low_battery', 'flat_line', 'clock_skew'));
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_check1;
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_code_check
    CHECK ((kind IN ('threshold', 'rate_of_change', 'no_data')) = (code IS NOT NULL));

-- source_device_id names the device whose readings raised the alert (device_id stays the key of
-- a per-device alert). recovered_at: the condition cleared while the alert stayed latched for an
-- acknowledgement. late: raised by readings that arrived after newer ones were evaluated.
-- escalation_stuck: it was due to escalate and no higher tier had anyone on it.
ALTER TABLE alerts
    ADD COLUMN source_device_id uuid REFERENCES devices (id) ON DELETE SET NULL,
    ADD COLUMN recovered_at     timestamptz,
    ADD COLUMN late             boolean NOT NULL DEFAULT false,
    ADD COLUMN escalation_stuck boolean NOT NULL DEFAULT false;
UPDATE alerts SET source_device_id = device_id WHERE device_id IS NOT NULL;

ALTER TABLE alert_events DROP CONSTRAINT alert_events_kind_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_kind_check CHECK (kind IN (
    'fired', 'retriggered', 'acknowledged', 'snoozed', 'escalated', 'resolved', 'auto_resolved', 'recovered',
    'marked_actionable', 'marked_not_actionable', 'note'));

-- Every clinical rule now confirms an onset (a duration or readings in a row) unless its limit
-- is critical. Rules saved before confirmation existed keep firing at once: they are marked
-- critical, so their behaviour does not change under anyone's feet; review them.
UPDATE alert_rules SET params = params || '{"critical": true}'
WHERE kind IN ('threshold', 'rate_of_change') AND scope <> 'hospital'
  AND coalesce(params ->> 'for', '') IN ('', '0s') AND coalesce((params ->> 'repeat')::int, 0) <= 1;

-- The hospital's defaults, confirmed and cleared on sustained evidence. A fingerstick glucose is
-- one deliberate measurement, not a stream: below 70 mg/dL it is critical. A weight gain is
-- confirmed by the next weigh-in.
UPDATE alert_rules SET params = params || '{"critical": true, "clear_for": "2m"}'
WHERE scope = 'hospital' AND kind = 'threshold' AND code = '2339-0' AND params ->> 'direction' = 'below';
UPDATE alert_rules SET params = params || '{"clear_for": "2m"}'
WHERE scope = 'hospital' AND kind = 'threshold' AND coalesce(params ->> 'clear_for', '') IN ('', '0s', '1m');
UPDATE alert_rules SET params = params || '{"repeat": 2}'
WHERE scope = 'hospital' AND kind = 'rate_of_change' AND code = '29463-7';
UPDATE alert_rules SET params = params || '{"for": "5m", "clear_for": "15m"}'
WHERE scope = 'hospital' AND kind = 'news2';
UPDATE alert_rules SET updated_at = now(), change_reason = 'Vigil default: onsets confirmed, clears sustained (migration 010)'
WHERE scope = 'hospital' AND created_by IS NULL AND change_reason = 'Vigil default';

-- The device-level "not reporting" alert replaces the default no-SpO₂ rule: it watches every
-- device at its own expected interval instead of one code at 15 minutes.
UPDATE alert_rules SET enabled = false, updated_at = now(),
       change_reason = 'Replaced by the technical not-reporting alert (migration 010)'
WHERE scope = 'hospital' AND kind = 'no_data' AND code = '59408-5' AND created_by IS NULL;

INSERT INTO alert_rules (scope, kind, code, severity, params, change_reason) VALUES
    ('hospital', 'not_reporting', NULL, 'low', '{"missed": 3, "min_silence": "1m"}', 'Vigil default'),
    ('hospital', 'low_battery', NULL, 'low', '{"limit": 0.15, "clear": 0.25}', 'Vigil default'),
    ('hospital', 'flat_line', NULL, 'low', '{"repeat": 10}', 'Vigil default'),
    ('hospital', 'clock_skew', NULL, 'low', '{"skew": "1m"}', 'Vigil default');

-- Technical timers read these.
CREATE INDEX devices_last_reading ON devices (last_reading_at);
CREATE INDEX alerts_open_device ON alerts (device_id) WHERE state <> 'resolved' AND device_id IS NOT NULL;
