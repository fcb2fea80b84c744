-- Analyst review: browser sessions, decisions on block candidates, block-list exports and the operators'
-- re-verification feedback.

-- A signed-in browser: the cookie holds a random token, stored here only as its sha256. The session dies with
-- its API key (revocation) or at expiry. Every state-changing request must echo csrf_token in a header.
CREATE TABLE sessions (
  token_hash  bytea PRIMARY KEY,
  api_key_id  bigint NOT NULL REFERENCES api_keys (id),
  csrf_token  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_api_key_idx ON sessions (api_key_id);

ALTER TABLE block_candidates
  ADD COLUMN decided_at       timestamptz,
  ADD COLUMN decided_by       text,
  -- Why a number was dismissed (different_people, legitimate_use, bad_photo, kept_within_cap).
  ADD COLUMN decision_reason  text,
  ADD COLUMN decision_note    text,
  -- Where the case came from: re-verification deadlines are shorter for law enforcement and bank cases.
  ADD COLUMN source           text NOT NULL DEFAULT 'analysis'
    CHECK (source IN ('analysis', 'law_enforcement', 'bank')),
  ADD COLUMN export_id        bigint,
  ADD COLUMN exported_at      timestamptz,
  ADD COLUMN reverification   text CHECK (reverification IN ('reverified', 'disconnected', 'kept')),
  ADD COLUMN reverified_at    timestamptz;

CREATE TABLE exports (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  operator_id    bigint NOT NULL REFERENCES operators (id),
  -- The request: which statuses, decided since when, and whether rows exported before were included again.
  statuses       text[] NOT NULL,
  since          timestamptz,
  full_export    boolean NOT NULL DEFAULT false,
  row_count      integer NOT NULL,
  csv_path       text NOT NULL,
  csv_sha256     text NOT NULL,
  json_path      text NOT NULL,
  json_sha256    text NOT NULL,
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exports_operator_idx ON exports (operator_id, id);
ALTER TABLE block_candidates ADD FOREIGN KEY (export_id) REFERENCES exports (id);
