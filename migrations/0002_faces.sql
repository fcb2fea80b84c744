-- Faces found in KYC photos: one row per (record, embedder), written idempotently by the face workers.

CREATE TABLE faces (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  record_id       bigint NOT NULL REFERENCES kyc_records (id),
  photo_sha256    bytea NOT NULL REFERENCES photos (sha256),
  -- Pixel box of the subject face in the EXIF-oriented photo: {x, y, width, height}.
  bbox            jsonb NOT NULL,
  -- 68 [x, y] points in the same coordinates.
  landmarks       jsonb NOT NULL,
  -- Measures the quality gate used: {face_px, detection_score, blur, yaw, roll, detector, faces_found}.
  quality         jsonb NOT NULL,
  embedder        text NOT NULL,
  embedder_version text NOT NULL,
  -- float32 little-endian; its length is the embedder's descriptor length times 4.
  embedding       bytea NOT NULL,
  thumbnail_path  text NOT NULL,
  -- 64-bit perceptual hash of the whole photo (DCT pHash), hex: photo reuse survives recompression and rescans.
  photo_phash     text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (record_id, embedder)
);
CREATE INDEX faces_embedder_id_idx ON faces (embedder, id);
CREATE INDEX faces_photo_phash_idx ON faces (photo_phash);
