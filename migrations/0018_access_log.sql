-- Reads of personal data (record lists, cluster members, photos and thumbnails, export downloads, enrolments):
-- who read what, when. Apart from the chained audit_log so that reads, far more frequent than changes, never queue
-- on its head row; append-only by the same trigger. Rows name routes and ids, never a query's values.
CREATE TABLE access_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  api_key_id  bigint,
  actor       text NOT NULL,
  action      text NOT NULL,
  route       text NOT NULL,
  entity_id   text,
  status      integer NOT NULL
);
CREATE INDEX access_log_at_idx ON access_log (at);
CREATE INDEX access_log_key_idx ON access_log (api_key_id, at);
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
