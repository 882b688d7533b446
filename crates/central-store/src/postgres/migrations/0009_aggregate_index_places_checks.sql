-- 9: the aggregate index covers the place code and what the command centre
-- counts (see the SQLite migration of the same number).
DROP INDEX IF EXISTS interviews_agg;
CREATE INDEX IF NOT EXISTS interviews_agg ON interviews(country, place_code, city, segment,
  created_by, review_state, nps, has_complaint, sat_network, sat_shop, sat_call_centre,
  sat_billing, sat_mobile_money, status, check_count, cross_count);
