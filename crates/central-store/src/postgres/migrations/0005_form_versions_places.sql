-- 5: the form versions each device last reported holding ("id@v,..."), the
-- campaign's place list, and the place code of each interview's projection.
ALTER TABLE devices ADD COLUMN IF NOT EXISTS forms TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS places (
  code TEXT COLLATE "C" PRIMARY KEY, country TEXT NOT NULL, name TEXT NOT NULL,
  region TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL, setting TEXT NOT NULL,
  lat DOUBLE PRECISION, lon DOUBLE PRECISION, rev BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS places_country ON places(country, name);
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS place_code TEXT;
CREATE INDEX IF NOT EXISTS interviews_place ON interviews(country, place_code);
