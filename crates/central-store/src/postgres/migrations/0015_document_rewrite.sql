-- 15: erasure by rewrite. A document whose history was replaced (personal
-- data erased on request) records the seq of the change that starts its new
-- history; 0 = never rewritten. Devices holding an older copy replace it.
ALTER TABLE documents ADD COLUMN IF NOT EXISTS epoch_seq BIGINT NOT NULL DEFAULT 0;
