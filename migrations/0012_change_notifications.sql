-- API processes cache their hottest reads (API keys on every request, batch status that clients poll) and drop
-- an entry as soon as Postgres says the rows behind it changed. Statement-level triggers, so a bulk insert or a
-- worker's update costs one notification per batch touched, not one per row; Postgres folds identical
-- notifications within a transaction and delivers them only on commit.

CREATE FUNCTION notify_batches_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('simsift_batches', c.batch_id::text) FROM (SELECT DISTINCT batch_id FROM changed_rows) c;
  RETURN NULL;
END $$;

-- '*' means "anything may have changed": listeners drop the whole cache.
CREATE FUNCTION notify_all_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '*');
  RETURN NULL;
END $$;

-- Transition tables allow one event per trigger, hence three.
CREATE TRIGGER kyc_records_inserted_notify AFTER INSERT ON kyc_records
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_batches_changed();
CREATE TRIGGER kyc_records_updated_notify AFTER UPDATE ON kyc_records
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_batches_changed();
CREATE TRIGGER kyc_records_deleted_notify AFTER DELETE ON kyc_records
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_batches_changed();
CREATE TRIGGER kyc_records_truncated_notify AFTER TRUNCATE ON kyc_records
  FOR EACH STATEMENT EXECUTE FUNCTION notify_all_changed('simsift_batches');
-- Batches are written once; any later change is rare enough to drop everything.
CREATE TRIGGER batches_changed_notify AFTER UPDATE OR DELETE OR TRUNCATE ON batches
  FOR EACH STATEMENT EXECUTE FUNCTION notify_all_changed('simsift_batches');

-- A revoked key must stop working at once in every API process.
CREATE TRIGGER api_keys_changed_notify AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION notify_all_changed('simsift_api_keys');
CREATE TRIGGER operators_changed_notify AFTER UPDATE OR DELETE OR TRUNCATE ON operators
  FOR EACH STATEMENT EXECUTE FUNCTION notify_all_changed('simsift_api_keys');
