-- 13: when a closed case's contact details were erased from its interview.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS contact_erased_at BIGINT;
CREATE INDEX IF NOT EXISTS cases_closed ON cases(closed_at) WHERE contact_erased_at IS NULL;
