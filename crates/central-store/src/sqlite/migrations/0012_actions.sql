-- 12: hackathon actions (per country and campaign) and their progress notes.
-- root_causes, themes and evidence are JSON arrays of strings.
CREATE TABLE IF NOT EXISTS actions (
  id TEXT PRIMARY KEY, campaign TEXT NOT NULL, country TEXT NOT NULL, title TEXT NOT NULL,
  description TEXT NOT NULL, root_causes TEXT NOT NULL, themes TEXT NOT NULL,
  evidence TEXT NOT NULL, owner TEXT NOT NULL, due_date TEXT, status TEXT NOT NULL,
  expected_effect TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS actions_country ON actions(country, due_date);
CREATE TABLE IF NOT EXISTS action_notes (
  action_id TEXT NOT NULL REFERENCES actions(id), at INTEGER NOT NULL, author TEXT NOT NULL,
  text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS action_notes_action ON action_notes(action_id, at);
