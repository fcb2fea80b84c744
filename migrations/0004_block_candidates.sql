-- One row per (msisdn, cluster) that a rule flags: what enforcement may block, after an analyst decides.

CREATE TABLE block_candidates (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  cluster_id   bigint NOT NULL,
  record_id    bigint NOT NULL REFERENCES kyc_records (id),
  operator_id  bigint NOT NULL REFERENCES operators (id),
  msisdn       text NOT NULL,
  reasons      text[] NOT NULL,
  score        real NOT NULL,
  -- pending until an analyst decides; a decision is never overwritten by re-clustering.
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'dismissed', 'exported')),
  evidence     jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (msisdn, cluster_id)
);
CREATE INDEX block_candidates_cluster_idx ON block_candidates (cluster_id);
CREATE INDEX block_candidates_operator_status_idx ON block_candidates (operator_id, status, id);
