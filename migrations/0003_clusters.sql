-- Face clusters (one person each) and every change made to them; written only by the cluster worker.

CREATE TABLE clusters (
  id          bigint PRIMARY KEY,
  embedder    text NOT NULL,
  size        integer NOT NULL DEFAULT 0,
  -- Rule reason codes that fire on the cluster (MULTI_IDENTITY_FACE, SIM_CAP_EXCEEDED, ...), with evidence.
  reasons     text[] NOT NULL DEFAULT '{}',
  evidence    jsonb NOT NULL DEFAULT '{}',
  flagged     boolean GENERATED ALWAYS AS (cardinality(reasons) > 0) STORED,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clusters_flagged_idx ON clusters (flagged, id);

CREATE TABLE cluster_members (
  face_id        bigint PRIMARY KEY REFERENCES faces (id),
  cluster_id     bigint NOT NULL REFERENCES clusters (id),
  mean_distance  real,
  support        real,
  joined_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cluster_members_cluster_idx ON cluster_members (cluster_id);

CREATE TABLE cluster_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  kind         text NOT NULL CHECK (kind IN ('created', 'joined', 'merged')),
  cluster_id   bigint NOT NULL,
  face_id      bigint,
  absorbed_id  bigint,
  details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX cluster_events_cluster_idx ON cluster_events (cluster_id, id);
