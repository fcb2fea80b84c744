-- Tamper-evident audit trail. Every audit_log row gets a gap-free seq and the sha256 of its canonical content
-- including the previous row's hash, so editing or deleting any row breaks the chain; audit_head holds the
-- last seq and hash, so deleting rows at the end is caught too. Triggers make the table append-only; a
-- superuser can still disable them, which is why `simsift audit verify` recomputes every hash.
--
-- The hash covers this canonical JSON (keys sorted, no whitespace; json strings as JSON.stringify writes
-- them), built identically by src/services/audit-chain.service.ts:
--   {"action","actor","after","api_key_id","before","details","entity","entity_id","occurred_at","prev_hash","seq"}
-- details/before/after are their jsonb text (Postgres' own canonical form), occurred_at is `at` in UTC with
-- microseconds, prev_hash is lowercase hex; the first row's prev_hash is 32 zero bytes.

ALTER TABLE audit_log
  ADD COLUMN seq bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN hash bytea,
  -- The subject's state before and after the change, when the action changes one (NULL otherwise).
  ADD COLUMN before jsonb,
  ADD COLUMN after jsonb;

-- Existing rows join the chain in the order they were written.
UPDATE audit_log AS a
   SET seq = n.seq
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM audit_log) AS n
 WHERE a.id = n.id;

ALTER TABLE audit_log
  ALTER COLUMN seq SET NOT NULL,
  ADD CONSTRAINT audit_log_seq_key UNIQUE (seq),
  ADD CONSTRAINT audit_log_seq_check CHECK (seq >= 1);

WITH RECURSIVE chain (seq, prev_hash, hash) AS (
  SELECT 0::bigint, NULL::bytea, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
  UNION ALL
  SELECT a.seq, c.hash, sha256(convert_to(
           '{"action":' || to_json(a.action)::text
        || ',"actor":' || to_json(a.actor)::text
        || ',"after":' || COALESCE(to_json(a.after::text)::text, 'null')
        || ',"api_key_id":' || COALESCE(a.api_key_id::text, 'null')
        || ',"before":' || COALESCE(to_json(a.before::text)::text, 'null')
        || ',"details":' || to_json(a.details::text)::text
        || ',"entity":' || to_json(a.entity)::text
        || ',"entity_id":' || to_json(a.entity_id)::text
        || ',"occurred_at":"' || to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'
        || ',"prev_hash":"' || encode(c.hash, 'hex') || '"'
        || ',"seq":' || a.seq::text
        || '}', 'UTF8'))
    FROM chain AS c
    JOIN audit_log AS a ON a.seq = c.seq + 1
)
UPDATE audit_log AS a
   SET prev_hash = chain.prev_hash, hash = chain.hash
  FROM chain
 WHERE a.seq = chain.seq;

ALTER TABLE audit_log
  ALTER COLUMN prev_hash SET NOT NULL,
  ALTER COLUMN hash SET NOT NULL,
  ADD CONSTRAINT audit_log_prev_hash_check CHECK (octet_length(prev_hash) = 32),
  ADD CONSTRAINT audit_log_hash_check CHECK (octet_length(hash) = 32);

-- One row: the end of the chain. Appenders lock it (SELECT ... FOR UPDATE), which serialises them.
CREATE TABLE audit_head (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq        bigint NOT NULL CHECK (seq >= 0),
  hash       bytea NOT NULL CHECK (octet_length(hash) = 32)
);
INSERT INTO audit_head (seq, hash)
SELECT COALESCE(max(seq), 0),
       COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),
                '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
  FROM audit_log;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- A new row must extend the head exactly; a writer that skipped the lock fails instead of forking the chain.
CREATE FUNCTION audit_log_check_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_head%ROWTYPE;
BEGIN
  SELECT * INTO head FROM audit_head;
  IF NEW.seq IS DISTINCT FROM head.seq + 1 OR NEW.prev_hash IS DISTINCT FROM head.hash THEN
    RAISE EXCEPTION 'audit_log seq % does not extend the chain head (seq %)', NEW.seq, head.seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$$;

-- The head only moves forward, one row at a time, onto a row that exists with that hash.
CREATE FUNCTION audit_head_check_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq IS DISTINCT FROM OLD.seq + 1
     OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash) THEN
    RAISE EXCEPTION 'audit_head may only advance to the row just appended (seq % -> %)', OLD.seq, NEW.seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_link BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_check_link();

CREATE TRIGGER audit_head_advance BEFORE UPDATE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_check_advance();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
