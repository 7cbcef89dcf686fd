-- Per-minute roll-ups of readings (count, sum, min, max per patient, code and minute), kept up to
-- date by intake in the same transaction that stores the readings. Charts over a day or a month
-- read these — a month is 43,200 rows per measure however often the device sends — instead of the
-- raw readings.
CREATE TABLE reading_rollups (
    patient_id uuid NOT NULL,
    code       text NOT NULL,
    minute     timestamptz NOT NULL,
    n          integer NOT NULL CHECK (n > 0),
    sum        double precision NOT NULL,
    min        double precision NOT NULL,
    max        double precision NOT NULL,
    PRIMARY KEY (patient_id, code, minute)
);

INSERT INTO reading_rollups (patient_id, code, minute, n, sum, min, max)
SELECT patient_id, code, date_trunc('minute', effective_at), count(*), sum(value), min(value), max(value)
FROM readings GROUP BY 1, 2, 3;

-- The same per hour, for month-long charts (720 rows per measure for 30 days).
CREATE TABLE reading_rollups_hourly (LIKE reading_rollups INCLUDING ALL);
ALTER TABLE reading_rollups_hourly RENAME COLUMN minute TO hour;

INSERT INTO reading_rollups_hourly (patient_id, code, hour, n, sum, min, max)
SELECT patient_id, code, date_trunc('hour', minute), sum(n), sum(sum), min(min), max(max)
FROM reading_rollups GROUP BY 1, 2, 3;
