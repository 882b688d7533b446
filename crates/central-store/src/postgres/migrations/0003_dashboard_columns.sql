-- 3: as SQLite's 2 and 3: satisfaction and complaint columns for the
-- dashboard's SQL aggregates, back-filled from the stored records (integer
-- answers only, as `InterviewRecord::answer_i64`; string categories only,
-- as `complaint_categories_of`), a covering index for the aggregates and
-- one in the review queue's sort order.
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS sat_network BIGINT,
  ADD COLUMN IF NOT EXISTS sat_shop BIGINT,
  ADD COLUMN IF NOT EXISTS sat_call_centre BIGINT,
  ADD COLUMN IF NOT EXISTS sat_billing BIGINT,
  ADD COLUMN IF NOT EXISTS sat_mobile_money BIGINT,
  ADD COLUMN IF NOT EXISTS complaint_categories TEXT;
UPDATE interviews SET
  sat_network = CASE WHEN jsonb_typeof(a -> 'sat_network') = 'number'
    AND a ->> 'sat_network' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_network')::bigint END,
  sat_shop = CASE WHEN jsonb_typeof(a -> 'sat_shop') = 'number'
    AND a ->> 'sat_shop' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_shop')::bigint END,
  sat_call_centre = CASE WHEN jsonb_typeof(a -> 'sat_call_centre') = 'number'
    AND a ->> 'sat_call_centre' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_call_centre')::bigint END,
  sat_billing = CASE WHEN jsonb_typeof(a -> 'sat_billing') = 'number'
    AND a ->> 'sat_billing' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_billing')::bigint END,
  sat_mobile_money = CASE WHEN jsonb_typeof(a -> 'sat_mobile_money') = 'number'
    AND a ->> 'sat_mobile_money' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_mobile_money')::bigint END,
  complaint_categories = CASE WHEN jsonb_typeof(a -> 'complaint_categories') = 'array' THEN
    (SELECT ',' || string_agg(e #>> '{}', ',' ORDER BY n) || ','
     FROM jsonb_array_elements(a -> 'complaint_categories') WITH ORDINALITY AS t(e, n)
     WHERE jsonb_typeof(e) = 'string') END
FROM (SELECT doc_id AS id, record::jsonb -> 'answers' AS a FROM interviews) src
WHERE interviews.doc_id = src.id;
CREATE INDEX IF NOT EXISTS interviews_agg ON interviews(country, city, segment, created_by,
  review_state, nps, has_complaint, sat_network, sat_shop, sat_call_centre, sat_billing,
  sat_mobile_money);
CREATE INDEX IF NOT EXISTS interviews_queue ON interviews(created_at, doc_id, country, city,
  segment, review_state, nps, complaint_categories);
