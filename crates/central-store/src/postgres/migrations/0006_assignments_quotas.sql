-- 6: field operations: where each employee works (place, team; rev: the
-- import that last changed the row) and the quota targets per place and
-- segment (user_id '' for the place's own target, else one employee's).
CREATE TABLE IF NOT EXISTS assignments (
  user_id TEXT PRIMARY KEY REFERENCES users(id), place_code TEXT NOT NULL,
  team TEXT NOT NULL DEFAULT '', rev BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS assignments_place ON assignments(place_code);
CREATE TABLE IF NOT EXISTS quotas (
  place_code TEXT COLLATE "C" NOT NULL, segment TEXT NOT NULL, user_id TEXT NOT NULL DEFAULT '',
  target BIGINT NOT NULL, PRIMARY KEY (place_code, segment, user_id));
