-- 11: webhooks. Events are written with the change they report; each gets
-- one delivery per subscribed active hook; every attempt is logged.
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, allow_pii BOOLEAN NOT NULL,
  active BOOLEAN NOT NULL, description TEXT NOT NULL, created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL, secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_events (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, campaign TEXT NOT NULL, country TEXT NOT NULL,
  subject TEXT NOT NULL, at BIGINT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id BIGSERIAL PRIMARY KEY, hook_id TEXT NOT NULL REFERENCES webhooks(id),
  event_id TEXT NOT NULL REFERENCES webhook_events(id), state TEXT NOT NULL,
  attempts BIGINT NOT NULL, next_at_ms BIGINT NOT NULL, locked_until_ms BIGINT NOT NULL,
  claim TEXT, last_status BIGINT, last_error TEXT, delivered_ms BIGINT,
  created_ms BIGINT NOT NULL, UNIQUE(hook_id, event_id));
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(state, next_at_ms);
CREATE INDEX IF NOT EXISTS webhook_deliveries_claim ON webhook_deliveries(claim);
CREATE TABLE IF NOT EXISTS webhook_attempts (
  id BIGSERIAL PRIMARY KEY, delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id),
  at_ms BIGINT NOT NULL, status BIGINT, error TEXT, duration_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS webhook_attempts_delivery ON webhook_attempts(delivery_id, at_ms);
