-- An analyst's split (cannot-link) moves faces into a new cluster: recorded like every other change.
ALTER TABLE cluster_events DROP CONSTRAINT cluster_events_kind_check;
ALTER TABLE cluster_events ADD CONSTRAINT cluster_events_kind_check
  CHECK (kind IN ('created', 'joined', 'merged', 'split', 'reclustered'));
