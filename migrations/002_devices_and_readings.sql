-- The device fleet, its credentials, who wears which device when, and the readings.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE devices (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    serial       text NOT NULL CHECK (serial <> ''),
    vendor       text NOT NULL CHECK (vendor <> ''),
    model        text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('bp_cuff', 'pulse_oximeter', 'scale', 'glucometer',
                                               'thermometer', 'wearable', 'bedside_monitor')),
    mac          text,
    risk_class   text CHECK (risk_class IN ('I', 'II', 'III')),
    notes        text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'lost', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Last reported status; written in batches by intake, not once per request.
    last_seen_at timestamptz,
    battery      real CHECK (battery BETWEEN 0 AND 1),
    firmware     text,
    signal_dbm   smallint,
    UNIQUE (vendor, serial)
);

-- Bearer tokens carry 256 bits of randomness, so a SHA-256 of the token is enough to store: it cannot
-- be brute-forced and is fast to look up. At most one live credential per device.
CREATE TABLE device_credentials (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_id  uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE UNIQUE INDEX device_credentials_live ON device_credentials (device_id) WHERE revoked_at IS NULL;

-- A device belongs to one patient at a time; the history is kept so that a reading belongs to the
-- patient the device was assigned to at the reading's own time. ended_at NULL means "still assigned".
CREATE TABLE device_assignments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_id   uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    patient_id  uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    assigned_by uuid REFERENCES users (id),
    ended_by    uuid REFERENCES users (id),
    CHECK (ended_at IS NULL OR ended_at > started_at),
    EXCLUDE USING gist (device_id WITH =, tstzrange(started_at, ended_at) WITH &&)
);
CREATE INDEX device_assignments_patient ON device_assignments (patient_id, started_at);

-- Readings: one narrow row per measured value, in the canonical UCUM unit of its LOINC code.
-- Read as "this patient, this code, this time range" (the primary access path); written in batches.
-- A device's own reading id makes retries idempotent. Columns are ordered fixed-width first so rows
-- pack without alignment padding. The partitioning plan for hundreds of millions of rows is in the
-- README ("Storage").
CREATE TABLE readings (
    effective_at      timestamptz NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    value             double precision NOT NULL,
    patient_id        uuid NOT NULL REFERENCES patients (id),
    device_id         uuid NOT NULL REFERENCES devices (id),
    code              text NOT NULL,
    unit              text NOT NULL,
    device_reading_id text NOT NULL CHECK (device_reading_id <> '' AND length(device_reading_id) <= 64),
    PRIMARY KEY (device_id, device_reading_id)
);
CREATE INDEX readings_patient_code_time ON readings (patient_id, code, effective_at);

-- Readings a device sent that Vigil refused, kept for data-quality review with bounded retention.
-- "sent" holds the reading as the device sent it (bounded in size by intake).
CREATE TABLE rejected_readings (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id         uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    received_at       timestamptz NOT NULL DEFAULT now(),
    device_reading_id text NOT NULL DEFAULT '',
    reason            text NOT NULL CHECK (reason <> ''),
    field             text NOT NULL DEFAULT '',
    sent              jsonb NOT NULL
);
CREATE INDEX rejected_readings_device ON rejected_readings (device_id, received_at);
CREATE INDEX rejected_readings_received ON rejected_readings USING brin (received_at);
