-- Alert rules, alerts and their history.

-- A rule applies hospital-wide, to one care team, or to one patient (an override of a wider rule).
-- params holds the kind's settings (thresholds with their units, durations, windows); the alerts
-- package validates them. Who changed a rule, when and why is kept on the row and in the audit log.
CREATE TABLE alert_rules (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scope         text NOT NULL CHECK (scope IN ('hospital', 'team', 'patient')),
    team_id       uuid REFERENCES care_teams (id) ON DELETE CASCADE,
    patient_id    uuid REFERENCES patients (id) ON DELETE CASCADE,
    overrides     uuid REFERENCES alert_rules (id) ON DELETE SET NULL,
    kind          text NOT NULL CHECK (kind IN ('threshold', 'rate_of_change', 'no_data', 'news2')),
    code          text,
    severity      text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    params        jsonb NOT NULL DEFAULT '{}',
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid REFERENCES users (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    uuid REFERENCES users (id),
    change_reason text NOT NULL DEFAULT '',
    CHECK ((scope = 'hospital' AND team_id IS NULL AND patient_id IS NULL)
        OR (scope = 'team' AND team_id IS NOT NULL AND patient_id IS NULL)
        OR (scope = 'patient' AND patient_id IS NOT NULL AND team_id IS NULL)),
    CHECK ((kind = 'news2') = (code IS NULL))
);
CREATE INDEX alert_rules_team ON alert_rules (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX alert_rules_patient ON alert_rules (patient_id) WHERE patient_id IS NOT NULL;

-- At most one open (not resolved) alert per patient, rule and direction: a repeat of the condition
-- updates the open alert instead of raising another.
CREATE TABLE alerts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id        uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    rule_id           uuid NOT NULL REFERENCES alert_rules (id),
    direction         text NOT NULL DEFAULT '' CHECK (direction IN ('', 'above', 'below')),
    severity          text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    state             text NOT NULL DEFAULT 'firing' CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    tier              smallint NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 3),
    summary           text NOT NULL,
    opened_at         timestamptz NOT NULL DEFAULT now(),
    last_triggered_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_at   timestamptz,
    snoozed_until     timestamptz,
    resolved_at       timestamptz,
    actionable        boolean,
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (patient_id, rule_id, direction) WHERE state <> 'resolved';
CREATE INDEX alerts_patient_opened ON alerts (patient_id, opened_at DESC);
CREATE INDEX alerts_open ON alerts (opened_at) WHERE state <> 'resolved';

-- Every step of an alert's life: who (NULL for Vigil itself), when, what, and an optional note.
CREATE TABLE alert_events (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now(),
    kind     text NOT NULL CHECK (kind IN ('fired', 'retriggered', 'acknowledged', 'snoozed', 'escalated',
                                           'resolved', 'auto_resolved', 'marked_actionable',
                                           'marked_not_actionable', 'note')),
    actor_id uuid REFERENCES users (id),
    note     text NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);
