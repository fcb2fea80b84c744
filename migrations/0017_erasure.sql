-- Erasure (DPDP Act 2023, section 12): a subscriber's records, faces and candidates are deleted on request. The
-- clusters that held an erased face get an `erased` event, so every cluster worker reloads its index from Postgres
-- (the vector is gone) and judges those clusters again.
ALTER TABLE cluster_events DROP CONSTRAINT cluster_events_kind_check;
ALTER TABLE cluster_events ADD CONSTRAINT cluster_events_kind_check
  CHECK (kind IN ('created', 'joined', 'merged', 'split', 'reclustered', 'reembedded', 'erased'));
