-- 5: the form versions each device last reported holding ("id@v,..."), the
-- campaign's place list (rev: the import that last changed the row), and the place code of each interview's projection.
ALTER TABLE devices ADD COLUMN forms TEXT NOT NULL DEFAULT '';
CREATE TABLE places (
  code TEXT PRIMARY KEY, country TEXT NOT NULL, name TEXT NOT NULL,
  region TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL, setting TEXT NOT NULL,
  lat REAL, lon REAL, rev INTEGER NOT NULL);
CREATE INDEX places_country ON places(country, name);
ALTER TABLE interviews ADD COLUMN place_code TEXT;
CREATE INDEX interviews_place ON interviews(country, place_code);
