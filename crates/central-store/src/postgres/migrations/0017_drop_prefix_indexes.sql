-- 17: two indexes of `interviews` were prefixes of wider ones and served no
-- query those cannot: `interviews_user (created_by)` of
-- `interviews_user_submitted (created_by, submitted_dev)`, and
-- `interviews_place (country, place_code)` of `interviews_agg (country,
-- place_code, ...)`. Every new interview wrote an entry in each of them.
DROP INDEX IF EXISTS interviews_user;
DROP INDEX IF EXISTS interviews_place;
