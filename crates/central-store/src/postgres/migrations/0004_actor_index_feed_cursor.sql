-- 4: which device each Automerge actor writes from (actor-clone detection),
-- and the feed cursor last handed to each device (restore detection).
CREATE INDEX IF NOT EXISTS changes_actor ON changes(actor, source);
ALTER TABLE devices ADD COLUMN IF NOT EXISTS feed_cursor BIGINT NOT NULL DEFAULT 0;
