-- Face job ids carry the record's queue stamp (ms since the epoch, set when the record is accepted and again
-- whenever the watchdog queues it anew), so job ids never repeat after Postgres is restored from a backup: record
-- ids are handed out again, stamps are not, and BullMQ silently drops a job whose id Redis still holds.
-- 0 marks rows from before this migration: their jobs keep the old id, embed-<record id>.
ALTER TABLE kyc_records ADD COLUMN queue_stamp bigint NOT NULL DEFAULT 0;
ALTER TABLE kyc_records ALTER COLUMN queue_stamp SET DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
-- The reconciler and the watchdog walk queued records by id.
CREATE INDEX kyc_records_queued_idx ON kyc_records (id) WHERE state = 'queued';
