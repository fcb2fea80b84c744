-- Analyst review: the cluster queue sorts by score, and analysts' split/merge decisions become constraints
-- that every clustering run (incremental or rebuilt) honours.

ALTER TABLE clusters ADD COLUMN score real NOT NULL DEFAULT 0;
CREATE INDEX clusters_flagged_score_idx ON clusters (flagged, score DESC, id DESC);

-- A pair of faces that must never share a cluster (split: "these are different people") or must always
-- share one (merge: "these are one person"). face_a < face_b so each pair is stored once per kind.
CREATE TABLE cluster_constraints (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('cannot_link', 'must_link')),
  face_a      bigint NOT NULL REFERENCES faces (id),
  face_b      bigint NOT NULL REFERENCES faces (id),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (face_a < face_b),
  UNIQUE (kind, face_a, face_b)
);
