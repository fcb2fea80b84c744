-- PHOTO_REUSE must catch the same picture rescaled, recompressed or re-lit, whose 64-bit perceptual hash
-- differs in a few bits, without comparing every pair. Multi-index hashing: split the hash into four 16-bit
-- chunks, each indexed; two hashes within 3 bits of each other agree on at least one chunk (pigeonhole), so a
-- lookup on the four chunks finds every candidate and bit_count(a # b) settles it.
ALTER TABLE faces
  ADD COLUMN phash_bits bit(64) GENERATED ALWAYS AS (('x' || photo_phash)::bit(64)) STORED,
  ADD COLUMN phash_q0 integer GENERATED ALWAYS AS (('x' || substr(photo_phash, 1, 4))::bit(16)::integer) STORED,
  ADD COLUMN phash_q1 integer GENERATED ALWAYS AS (('x' || substr(photo_phash, 5, 4))::bit(16)::integer) STORED,
  ADD COLUMN phash_q2 integer GENERATED ALWAYS AS (('x' || substr(photo_phash, 9, 4))::bit(16)::integer) STORED,
  ADD COLUMN phash_q3 integer GENERATED ALWAYS AS (('x' || substr(photo_phash, 13, 4))::bit(16)::integer) STORED;
CREATE INDEX faces_phash_q0_idx ON faces (phash_q0);
CREATE INDEX faces_phash_q1_idx ON faces (phash_q1);
CREATE INDEX faces_phash_q2_idx ON faces (phash_q2);
CREATE INDEX faces_phash_q3_idx ON faces (phash_q3);
