-- 4: which device each Automerge actor writes from (actor-clone detection),
-- and the feed cursor last handed to each device (restore detection).
CREATE INDEX changes_actor ON changes(actor, source);
ALTER TABLE devices ADD COLUMN feed_cursor INTEGER NOT NULL DEFAULT 0;
