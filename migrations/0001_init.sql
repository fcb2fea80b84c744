-- Foundation: operators, their API keys, KYC batches, records and photos, and the audit trail.

CREATE TABLE operators (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_]{2,32}$'),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- sha256 of the whole key: keys are 256-bit random, so a fast hash is enough and lookup stays O(1).
  key_hash     bytea NOT NULL UNIQUE,
  key_prefix   text NOT NULL,
  role         text NOT NULL CHECK (role IN ('operator', 'analyst', 'admin')),
  operator_id  bigint REFERENCES operators (id),
  label        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  last_used_at timestamptz,
  CHECK ((role = 'operator') = (operator_id IS NOT NULL))
);

CREATE TABLE batches (
  id               uuid PRIMARY KEY,
  operator_id      bigint NOT NULL REFERENCES operators (id),
  api_key_id       bigint REFERENCES api_keys (id),
  idempotency_key  text,
  source           text NOT NULL CHECK (source IN ('multipart', 'zip')),
  total_rows       integer NOT NULL,
  accepted         integer NOT NULL,
  rejected         integer NOT NULL,
  -- Per-row rejections {row, field, code, message}; never contains document numbers.
  errors           jsonb NOT NULL DEFAULT '[]',
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (operator_id, idempotency_key)
);
CREATE INDEX batches_operator_created_idx ON batches (operator_id, created_at DESC);

CREATE TABLE photos (
  sha256      bytea PRIMARY KEY,
  mime_type   text NOT NULL CHECK (mime_type IN ('image/jpeg', 'image/png', 'image/webp')),
  byte_size   integer NOT NULL,
  width       integer NOT NULL,
  height      integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kyc_records (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id         uuid NOT NULL REFERENCES batches (id),
  operator_id      bigint NOT NULL REFERENCES operators (id),
  row_number       integer NOT NULL,
  msisdn           text NOT NULL CHECK (msisdn ~ '^\+91[6-9][0-9]{9}$'),
  name             text NOT NULL,
  father_name      text,
  dob              date,
  gender           text CHECK (gender IN ('M', 'F', 'T', 'O')),
  id_type          text NOT NULL CHECK (id_type IN ('aadhaar', 'pan', 'passport', 'voter_id', 'driving_licence', 'other')),
  -- HMAC-SHA256(secret, id_type || ':' || normalised number): matches documents without storing them.
  id_hmac          bytea NOT NULL,
  id_masked        text NOT NULL,
  address          text,
  lsa              text NOT NULL,
  pos_agent_id     text NOT NULL,
  activation_date  date NOT NULL,
  photo_sha256     bytea NOT NULL REFERENCES photos (sha256),
  -- waiting: stored, not yet on the queue; queued: a face job exists. Later stages add their own states.
  state            text NOT NULL DEFAULT 'waiting',
  state_detail     jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (batch_id, row_number)
);
CREATE INDEX kyc_records_batch_idx ON kyc_records (batch_id, id);
CREATE INDEX kyc_records_batch_state_idx ON kyc_records (batch_id, state, id);
CREATE INDEX kyc_records_waiting_idx ON kyc_records (id) WHERE state = 'waiting';
CREATE INDEX kyc_records_id_hmac_idx ON kyc_records (id_hmac);
CREATE INDEX kyc_records_msisdn_idx ON kyc_records (msisdn);

CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  -- NULL when the actor is the command line on the server itself.
  api_key_id  bigint REFERENCES api_keys (id),
  actor       text NOT NULL,
  action      text NOT NULL,
  entity      text NOT NULL,
  entity_id   text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
