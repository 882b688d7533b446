-- 2: dashboard sessions.
CREATE TABLE sessions (
  token_hash BYTEA PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX sessions_expiry ON sessions(expires_at);
