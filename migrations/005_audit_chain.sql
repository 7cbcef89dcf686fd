-- Tamper evidence for the audit trail: each row carries a SHA-256 chained to the previous row's,
-- computed by the database itself as the row is inserted, so no writer can skip it. `vigil audit
-- verify` recomputes the chain independently and reports the first row that does not match.
--
-- The chain has its own order (chain_seq), assigned under a lock: identity ids are handed out before
-- commit and can commit out of order, the chain cannot. Writers must insert at READ COMMITTED, so
-- that the newest link is visible once the lock is theirs (store.RecordAudit does).
--
-- The hashed text is every field as "<octet length>:<value>" in a fixed order, so no choice of
-- values can make two different rows hash alike:
--   chain_seq, at (microseconds since 1970), actor_kind, actor_id, actor_role, action, patient_id,
--   object_type, object_id, allowed (t/f), request_id, remote_addr, user_agent
-- hash = sha256(prev_hash || that text in UTF-8); the first row's prev_hash is 32 zero bytes.

-- Requests by nobody signed in (e.g. a probe for a patient page) are audited too.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check,
    ADD CONSTRAINT audit_log_actor_kind_check CHECK (actor_kind IN ('user', 'anonymous', 'device', 'system'));

ALTER TABLE audit_log
    ADD COLUMN actor_role text NOT NULL DEFAULT '',
    ADD COLUMN chain_seq  bigint,
    ADD COLUMN prev_hash  bytea,
    ADD COLUMN hash       bytea;

-- The length is of the UTF-8 bytes, whatever the database's own encoding.
CREATE FUNCTION audit_field(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT octet_length(convert_to(coalesce(v, ''), 'UTF8')) || ':' || coalesce(v, '')
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last record;
BEGIN
    -- One writer at a time extends the chain; the lock is released at commit.
    PERFORM pg_advisory_xact_lock(7365418203);
    SELECT chain_seq, hash INTO last FROM audit_log WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
    NEW.prev_hash := coalesce(last.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    NEW.hash := sha256(NEW.prev_hash || convert_to(
        audit_field(NEW.chain_seq::text) ||
        audit_field((extract(epoch FROM NEW.at) * 1000000)::bigint::text) ||
        audit_field(NEW.actor_kind) ||
        audit_field(NEW.actor_id::text) ||
        audit_field(NEW.actor_role) ||
        audit_field(NEW.action) ||
        audit_field(NEW.patient_id::text) ||
        audit_field(NEW.object_type) ||
        audit_field(NEW.object_id) ||
        audit_field(CASE WHEN NEW.allowed THEN 't' ELSE 'f' END) ||
        audit_field(NEW.request_id) ||
        audit_field(host(NEW.remote_addr)) ||
        audit_field(NEW.user_agent), 'UTF8'));
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- TRUNCATE bypasses row triggers; refuse it too.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE UNIQUE INDEX audit_log_chain_seq ON audit_log (chain_seq);
CREATE INDEX audit_log_action ON audit_log (action, at);
