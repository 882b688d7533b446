-- 11: webhooks. Events are written with the change they report; each gets
-- one delivery per subscribed active hook; every attempt is logged.
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, allow_pii INTEGER NOT NULL,
  active INTEGER NOT NULL, description TEXT NOT NULL, created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL, secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_events (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, campaign TEXT NOT NULL, country TEXT NOT NULL,
  subject TEXT NOT NULL, at INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, hook_id TEXT NOT NULL REFERENCES webhooks(id),
  event_id TEXT NOT NULL REFERENCES webhook_events(id), state TEXT NOT NULL,
  attempts INTEGER NOT NULL, next_at_ms INTEGER NOT NULL, locked_until_ms INTEGER NOT NULL,
  claim TEXT, last_status INTEGER, last_error TEXT, delivered_ms INTEGER,
  created_ms INTEGER NOT NULL, UNIQUE(hook_id, event_id));
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(state, next_at_ms);
CREATE INDEX IF NOT EXISTS webhook_deliveries_claim ON webhook_deliveries(claim);
CREATE TABLE IF NOT EXISTS webhook_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id),
  at_ms INTEGER NOT NULL, status INTEGER, error TEXT, duration_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS webhook_attempts_delivery ON webhook_attempts(delivery_id, at_ms);
