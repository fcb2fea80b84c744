-- Photo retention: an original photo's file is deleted once it is older than SIMSIFT_PHOTO_RETENTION_DAYS and every
-- record that uses it is processed; its face, thumbnail and perceptual hash stay, so the subscriber keeps being
-- matched. purged_at marks the row: the photo answers 410, and re-embedding passes the face by.
ALTER TABLE photos ADD COLUMN purged_at timestamptz;
