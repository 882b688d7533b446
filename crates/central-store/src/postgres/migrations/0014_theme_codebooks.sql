-- 14: each campaign's theme codebook (JSON: {"themes":[{"code","labels":{fr,en,ar,pt}}]}),
-- versioned for optimistic concurrency. A campaign without a row uses the default codebook.
CREATE TABLE IF NOT EXISTS theme_codebooks (
  campaign TEXT PRIMARY KEY, codebook TEXT NOT NULL, version BIGINT NOT NULL,
  updated_by TEXT NOT NULL, updated_at BIGINT NOT NULL);
