-- NO_USABLE_FACE candidates belong to a record, not to a face cluster: at most one per record.
ALTER TABLE block_candidates ALTER COLUMN cluster_id DROP NOT NULL;
CREATE UNIQUE INDEX block_candidates_no_face_idx ON block_candidates (record_id) WHERE cluster_id IS NULL;
