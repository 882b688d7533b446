-- 7: interview paradata and quality checks. Record-derived (projection):
-- duration_s (first answer -> submit, device clock), edits, submitted_dev
-- (device time of the submit), phone_key (campaign-keyed hash of the
-- customer phone's last nine digits), checks (single-interview checks as
-- ",a,b,") and check_count. Kept by the store across interviews:
-- cross_checks (",close_together,duplicate_phone," as they hold) and
-- cross_count.
ALTER TABLE interviews ADD COLUMN duration_s INTEGER;
ALTER TABLE interviews ADD COLUMN edits INTEGER;
ALTER TABLE interviews ADD COLUMN submitted_dev INTEGER;
ALTER TABLE interviews ADD COLUMN phone_key TEXT;
ALTER TABLE interviews ADD COLUMN checks TEXT;
ALTER TABLE interviews ADD COLUMN check_count INTEGER;
ALTER TABLE interviews ADD COLUMN cross_checks TEXT NOT NULL DEFAULT ',';
ALTER TABLE interviews ADD COLUMN cross_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX interviews_phone ON interviews(phone_key);
CREATE INDEX interviews_user_submitted ON interviews(created_by, submitted_dev);
