-- Device status history: what a device reported (battery, firmware, signal), sampled — intake
-- keeps the latest status on the devices row and appends a report here when the firmware changes
-- or the last report is old, so the history stays small however often devices post.

CREATE TABLE device_status_reports (
    device_id  uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL,
    battery    real CHECK (battery BETWEEN 0 AND 1),
    firmware   text,
    signal_dbm smallint,
    PRIMARY KEY (device_id, at)
);

-- The fleet list filters on these.
CREATE INDEX devices_last_seen ON devices (last_seen_at);
CREATE INDEX device_assignments_open ON device_assignments (device_id) WHERE ended_at IS NULL;
