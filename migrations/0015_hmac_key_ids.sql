-- Which secret each identity-document HMAC was made with (config.secretKeyId: 8 hex characters of a keyed hash of
-- the secret, never the secret). Documents hashed under different secrets can never match, so the API warns at
-- start when records under another key exist. NULL: records from before this migration.
ALTER TABLE kyc_records ADD COLUMN id_hmac_key text;
