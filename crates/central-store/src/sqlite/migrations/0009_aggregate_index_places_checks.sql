-- 9: the aggregate index covers the place code (added in 5) and what the
-- command centre counts (status, check_count, cross_count): the progress
-- and command-centre aggregates read the index only, never the record JSON.
DROP INDEX IF EXISTS interviews_agg;
CREATE INDEX interviews_agg ON interviews(country, place_code, city, segment, created_by,
  review_state, nps, has_complaint, sat_network, sat_shop, sat_call_centre, sat_billing,
  sat_mobile_money, status, check_count, cross_count);
