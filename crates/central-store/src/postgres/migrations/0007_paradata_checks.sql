-- 7: interview paradata and quality checks (see the SQLite migration of the
-- same number for what each column holds).
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS duration_s BIGINT;
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS edits BIGINT;
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS submitted_dev BIGINT;
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS phone_key TEXT;
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS checks TEXT;
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS check_count BIGINT;
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS cross_checks TEXT NOT NULL DEFAULT ',';
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS cross_count BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS interviews_phone ON interviews(phone_key);
CREATE INDEX IF NOT EXISTS interviews_user_submitted ON interviews(created_by, submitted_dev);
