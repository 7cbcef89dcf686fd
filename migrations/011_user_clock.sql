-- Each user's clock: the time zone pages show them (an IANA name; '' for the hospital's,
-- VIGIL_TIME_ZONE) and whether they read a 12-hour clock (24-hour by default).
ALTER TABLE users
    ADD COLUMN time_zone text NOT NULL DEFAULT '' CHECK (time_zone = '' OR time_zone ~ '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$'),
    ADD COLUMN hour12    boolean NOT NULL DEFAULT false;
