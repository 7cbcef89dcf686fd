-- The alert engine: per-patient rule state, per-device no-data alerts, escalation, NEWS2 inputs
-- recorded by clinicians, the hospital's default rules, and outbound webhooks.

-- A no-data alert is per device and metric: the device it waits for is part of the alert's key.
ALTER TABLE alerts
    ADD COLUMN device_id     uuid REFERENCES devices (id) ON DELETE CASCADE,
    ADD COLUMN escalated_at  timestamptz,
    ADD COLUMN trigger_count integer NOT NULL DEFAULT 1 CHECK (trigger_count > 0),
    -- When the row last changed, by the database's clock: dashboards that were away catch up from it.
    ADD COLUMN changed_at    timestamptz NOT NULL DEFAULT statement_timestamp();
UPDATE alerts SET escalated_at = opened_at;
ALTER TABLE alerts ALTER COLUMN escalated_at SET NOT NULL, ALTER COLUMN escalated_at SET DEFAULT now();
DROP INDEX alerts_one_open;
CREATE UNIQUE INDEX alerts_one_open ON alerts (patient_id, rule_id, direction, coalesce(device_id, '00000000-0000-0000-0000-000000000000'::uuid))
    WHERE state <> 'resolved';
CREATE INDEX alerts_firing ON alerts (escalated_at) WHERE state = 'firing';
CREATE INDEX alerts_changed ON alerts (changed_at);
CREATE INDEX alerts_snoozed ON alerts (snoozed_until) WHERE state = 'acknowledged' AND snoozed_until IS NOT NULL;

-- What a rule remembers about one patient between readings (a breach's start, a repeat count, a
-- window of values), written in the transaction that stores the readings it saw, so every reading
-- is evaluated exactly once. A rule with nothing to remember has no row. The alerts package owns
-- the format.
CREATE TABLE alert_rule_states (
    patient_id uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    rule_id    uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, rule_id)
);

-- One override per patient (or team) of one wider rule.
CREATE UNIQUE INDEX alert_rules_patient_override ON alert_rules (patient_id, overrides) WHERE scope = 'patient';
CREATE UNIQUE INDEX alert_rules_team_override ON alert_rules (team_id, overrides) WHERE scope = 'team';

-- NEWS2 inputs nobody can measure with a device: supplemental oxygen and consciousness (ACVPU),
-- as recorded by a clinician, with history. The latest entry counts while it is fresh.
CREATE TABLE clinical_assessments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id  uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('supplemental_oxygen', 'consciousness')),
    value       text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by uuid REFERENCES users (id),
    CHECK (kind <> 'supplemental_oxygen' OR value IN ('air', 'oxygen')),
    CHECK (kind <> 'consciousness' OR value IN ('alert', 'cvpu'))
);
CREATE INDEX clinical_assessments_latest ON clinical_assessments (patient_id, kind, recorded_at DESC);

-- NEWS2 scale 2 is for patients with a prescribed SpO₂ target of 88–92 % (hypercapnic respiratory
-- failure), set by a clinician.
ALTER TABLE patients ADD COLUMN spo2_scale smallint NOT NULL DEFAULT 1 CHECK (spo2_scale IN (1, 2));

-- When each device last sent each metric: the no-data timer reads it. Intake writes it with the
-- device status, in batches.
CREATE TABLE device_metrics (
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    code      text NOT NULL,
    last_at   timestamptz NOT NULL,
    PRIMARY KEY (device_id, code)
);

-- A care team's outbound webhooks: Vigil POSTs alert events as JSON signed with HMAC-SHA256 over
-- the secret, so the hospital can page its staff with the tools it has.
CREATE TABLE team_webhooks (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id    uuid NOT NULL REFERENCES care_teams (id) ON DELETE CASCADE,
    url        text NOT NULL CHECK (url ~ '^https?://'),
    secret     text NOT NULL CHECK (length(secret) >= 32),
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid REFERENCES users (id)
);
CREATE INDEX team_webhooks_team ON team_webhooks (team_id);

-- Each delivery of one alert event to one webhook, queued in the transaction that records the
-- event and retried with backoff until it succeeds or runs out of attempts.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES team_webhooks (id) ON DELETE CASCADE,
    event_id        bigint NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    failed_at       timestamptz,
    last_status     integer,
    last_error      text NOT NULL DEFAULT '',
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- The hospital's default rules. Limits are in each code's canonical unit; clinicians tune them per
-- team or patient with an override.
INSERT INTO alert_rules (scope, kind, code, severity, params, change_reason) VALUES
    ('hospital', 'threshold', '59408-5', 'high',
     '{"unit": "%", "direction": "below", "limit": 90, "for": "2m", "clear": 92, "clear_for": "1m"}', 'Vigil default'),
    ('hospital', 'threshold', '8480-6', 'high',
     '{"unit": "mm[Hg]", "direction": "below", "limit": 90, "for": "3m", "repeat": 2, "clear": 100}', 'Vigil default'),
    ('hospital', 'threshold', '8480-6', 'medium',
     '{"unit": "mm[Hg]", "direction": "above", "limit": 180, "repeat": 2, "clear": 170}', 'Vigil default'),
    ('hospital', 'threshold', '8867-4', 'medium',
     '{"unit": "/min", "direction": "above", "limit": 130, "for": "5m", "clear": 120, "clear_for": "2m"}', 'Vigil default'),
    ('hospital', 'threshold', '8867-4', 'high',
     '{"unit": "/min", "direction": "below", "limit": 40, "for": "2m", "clear": 45, "clear_for": "1m"}', 'Vigil default'),
    ('hospital', 'threshold', '8310-5', 'medium',
     '{"unit": "Cel", "direction": "above", "limit": 39.0, "repeat": 2, "clear": 38.5}', 'Vigil default'),
    ('hospital', 'threshold', '2339-0', 'high',
     '{"unit": "mg/dL", "direction": "below", "limit": 70, "clear": 80}', 'Vigil default'),
    ('hospital', 'threshold', '2339-0', 'medium',
     '{"unit": "mg/dL", "direction": "above", "limit": 300, "repeat": 2, "clear": 250}', 'Vigil default'),
    ('hospital', 'threshold', '9279-1', 'high',
     '{"unit": "/min", "direction": "above", "limit": 24, "for": "2m", "clear": 21, "clear_for": "1m"}', 'Vigil default'),
    ('hospital', 'threshold', '9279-1', 'high',
     '{"unit": "/min", "direction": "below", "limit": 9, "for": "1m", "clear": 11}', 'Vigil default'),
    ('hospital', 'threshold', '8310-5', 'medium',
     '{"unit": "Cel", "direction": "below", "limit": 35.1, "repeat": 2, "clear": 36.0}', 'Vigil default'),
    ('hospital', 'rate_of_change', '29463-7', 'medium',
     '{"unit": "kg", "change": 2, "within": "72h"}', 'Vigil default'),
    ('hospital', 'no_data', '59408-5', 'low',
     '{"unit": "%", "silence": "15m"}', 'Vigil default'),
    -- One NEWS2 rule: its alert is high while the band is high. NEWS2's single red parameter is
    -- left to the threshold rules above, which hold for a duration or a repeat — one artefact
    -- reading of a 1 Hz stream must not page anyone — at close limits: SpO₂ below 90 (red: 91 or
    -- less), systolic below 90 (red: 90 or less), pulse below 40 or above 130 (red: 40 or less,
    -- 131 or more), respiration below 9 or above 24 (red: 8 or less, 25 or more), temperature
    -- below 35.1 (red: 35.0 or less). New confusion is recorded by a clinician, who is then at the
    -- bedside. Switch red_score on to follow the chart exactly.
    ('hospital', 'news2', NULL, 'medium',
     '{"min_band": "medium"}', 'Vigil default');
