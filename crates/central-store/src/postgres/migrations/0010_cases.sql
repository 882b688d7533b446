-- 10: follow-up cases (one per interview at most), their notes, and each
-- country's service level (hours to first contact and to resolution).
CREATE TABLE IF NOT EXISTS cases (
  id TEXT PRIMARY KEY, interview_id TEXT NOT NULL UNIQUE, campaign TEXT NOT NULL,
  country TEXT NOT NULL, reason TEXT NOT NULL, status TEXT NOT NULL, owner TEXT,
  root_cause TEXT, opened_at BIGINT NOT NULL, opened_by TEXT NOT NULL, due_at BIGINT NOT NULL,
  first_contact_at BIGINT, resolved_at BIGINT, closed_at BIGINT, resolution TEXT,
  satisfaction BIGINT, updated_at BIGINT NOT NULL, version BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS cases_queue ON cases(country, status, due_at);
CREATE INDEX IF NOT EXISTS cases_owner ON cases(owner, status, due_at);
CREATE TABLE IF NOT EXISTS case_notes (
  case_id TEXT NOT NULL REFERENCES cases(id), at BIGINT NOT NULL, author TEXT NOT NULL,
  text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS case_notes_case ON case_notes(case_id, at);
CREATE TABLE IF NOT EXISTS service_levels (
  country TEXT PRIMARY KEY, first_contact_hours BIGINT NOT NULL, resolution_hours BIGINT NOT NULL);
