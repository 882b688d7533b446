-- 8: the dashboard language a user chose (en, fr, ar, pt); NULL: none saved,
-- the browser's Accept-Language decides.
ALTER TABLE users ADD COLUMN IF NOT EXISTS language TEXT;
