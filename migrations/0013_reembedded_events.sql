-- `simsift reembed` recomputes stored descriptors in place: recorded as an event, so a cluster worker reloads
-- every vector from Postgres and does not trust an index file saved before it.
ALTER TABLE cluster_events DROP CONSTRAINT cluster_events_kind_check;
ALTER TABLE cluster_events ADD CONSTRAINT cluster_events_kind_check
  CHECK (kind IN ('created', 'joined', 'merged', 'split', 'reclustered', 'reembedded'));
