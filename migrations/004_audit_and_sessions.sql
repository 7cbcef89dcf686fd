-- The audit trail and server-side sessions.

-- One row per read or write of patient data, and per denial: who, what, which patient, when, from
-- where, allowed or not. No foreign keys: the trail must outlive the rows it speaks of. The table is
-- append-only; the trigger below refuses updates and deletes (retention will drop whole partitions).
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_kind  text NOT NULL CHECK (actor_kind IN ('user', 'device', 'system')),
    actor_id    uuid,
    action      text NOT NULL CHECK (action <> ''),
    patient_id  uuid,
    object_type text NOT NULL DEFAULT '',
    object_id   text NOT NULL DEFAULT '',
    allowed     boolean NOT NULL,
    request_id  text NOT NULL DEFAULT '',
    remote_addr inet,
    user_agent  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_patient ON audit_log (patient_id, at) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_log_actor ON audit_log (actor_id, at) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_at ON audit_log USING brin (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Server-side sessions, in the shape of scs's PostgreSQL store: the cookie holds only the token.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);
