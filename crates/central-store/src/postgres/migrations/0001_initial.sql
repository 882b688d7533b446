CREATE TABLE users (
  id TEXT PRIMARY KEY, login TEXT COLLATE "C" NOT NULL UNIQUE, name TEXT NOT NULL,
  role TEXT NOT NULL, countries TEXT NOT NULL, password_hash TEXT,
  active BOOLEAN NOT NULL DEFAULT TRUE, created_at BIGINT NOT NULL);
CREATE TABLE devices (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), label TEXT NOT NULL,
  token_hash BYTEA NOT NULL UNIQUE, created_at BIGINT NOT NULL, last_sync_at BIGINT,
  revoked_at BIGINT);
CREATE INDEX devices_user ON devices(user_id);
CREATE TABLE enrollment_codes (
  code_hash BYTEA PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  expires_at BIGINT NOT NULL, used_at BIGINT);
CREATE INDEX enrollment_user ON enrollment_codes(user_id);
CREATE TABLE api_tokens (
  token_hash BYTEA PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  label TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE forms (
  form_id TEXT COLLATE "C" NOT NULL, version BIGINT NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY (form_id, version));
CREATE TABLE changes (
  seq BIGSERIAL PRIMARY KEY, doc_id UUID NOT NULL, owner TEXT NOT NULL,
  hash BYTEA NOT NULL UNIQUE, actor BYTEA NOT NULL, source TEXT NOT NULL,
  bytes BYTEA NOT NULL, received_at BIGINT NOT NULL);
CREATE INDEX changes_doc ON changes(doc_id, seq);
CREATE INDEX changes_owner ON changes(owner, seq);
CREATE TABLE documents (
  doc_id UUID PRIMARY KEY, owner TEXT NOT NULL, country TEXT NOT NULL,
  snapshot BYTEA NOT NULL, heads BYTEA NOT NULL, version BIGINT NOT NULL,
  updated_seq BIGINT NOT NULL);
CREATE TABLE interviews (
  doc_id UUID PRIMARY KEY, campaign TEXT NOT NULL, country TEXT NOT NULL,
  form_id TEXT NOT NULL, form_version BIGINT NOT NULL, created_by TEXT NOT NULL,
  device_id TEXT NOT NULL, created_at TEXT COLLATE "C" NOT NULL, status TEXT NOT NULL,
  submitted_at TEXT, review_state TEXT, city TEXT, segment TEXT, area_type TEXT,
  nps BIGINT, has_complaint TEXT, updated_at BIGINT NOT NULL, updated_seq BIGINT NOT NULL,
  record TEXT NOT NULL);
CREATE INDEX interviews_country ON interviews(country, created_at);
CREATE INDEX interviews_review ON interviews(country, review_state);
CREATE INDEX interviews_user ON interviews(created_by);
CREATE INDEX interviews_seq ON interviews(updated_seq);
