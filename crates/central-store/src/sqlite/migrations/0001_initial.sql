CREATE TABLE users (
  id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
  countries TEXT NOT NULL, password_hash TEXT, active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL);
CREATE TABLE devices (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), label TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL, last_sync_at INTEGER,
  revoked_at INTEGER);
CREATE INDEX devices_user ON devices(user_id);
CREATE TABLE enrollment_codes (
  code_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE INDEX enrollment_user ON enrollment_codes(user_id);
CREATE TABLE api_tokens (
  token_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), label TEXT NOT NULL,
  created_at INTEGER NOT NULL, revoked_at INTEGER);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE forms (
  form_id TEXT NOT NULL, version INTEGER NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY (form_id, version));
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, owner TEXT NOT NULL,
  hash BLOB NOT NULL UNIQUE, actor BLOB NOT NULL, source TEXT NOT NULL, bytes BLOB NOT NULL,
  received_at INTEGER NOT NULL);
CREATE INDEX changes_doc ON changes(doc_id, seq);
CREATE INDEX changes_owner ON changes(owner, seq);
CREATE TABLE documents (
  doc_id TEXT PRIMARY KEY, owner TEXT NOT NULL, country TEXT NOT NULL, snapshot BLOB NOT NULL,
  heads BLOB NOT NULL, version INTEGER NOT NULL, updated_seq INTEGER NOT NULL);
CREATE TABLE interviews (
  doc_id TEXT PRIMARY KEY, campaign TEXT NOT NULL, country TEXT NOT NULL, form_id TEXT NOT NULL,
  form_version INTEGER NOT NULL, created_by TEXT NOT NULL, device_id TEXT NOT NULL,
  created_at TEXT NOT NULL, status TEXT NOT NULL, submitted_at TEXT, review_state TEXT,
  city TEXT, segment TEXT, area_type TEXT, nps INTEGER, has_complaint TEXT,
  updated_at INTEGER NOT NULL, updated_seq INTEGER NOT NULL, record TEXT NOT NULL);
CREATE INDEX interviews_country ON interviews(country, created_at);
CREATE INDEX interviews_review ON interviews(country, review_state);
CREATE INDEX interviews_user ON interviews(created_by);
CREATE INDEX interviews_seq ON interviews(updated_seq);
