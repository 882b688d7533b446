-- 2: dashboard sessions; satisfaction and complaint columns for fast
-- aggregates, with a covering index, back-filled from the stored records.
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX sessions_expiry ON sessions(expires_at);
ALTER TABLE interviews ADD COLUMN sat_network INTEGER;
ALTER TABLE interviews ADD COLUMN sat_shop INTEGER;
ALTER TABLE interviews ADD COLUMN sat_call_centre INTEGER;
ALTER TABLE interviews ADD COLUMN sat_billing INTEGER;
ALTER TABLE interviews ADD COLUMN sat_mobile_money INTEGER;
ALTER TABLE interviews ADD COLUMN complaint_categories TEXT;
UPDATE interviews SET
  sat_network = json_extract(record, '$.answers.sat_network'),
  sat_shop = json_extract(record, '$.answers.sat_shop'),
  sat_call_centre = json_extract(record, '$.answers.sat_call_centre'),
  sat_billing = json_extract(record, '$.answers.sat_billing'),
  sat_mobile_money = json_extract(record, '$.answers.sat_mobile_money'),
  complaint_categories = (SELECT ',' || group_concat(value, ',') || ','
    FROM json_each(record, '$.answers.complaint_categories'));
CREATE INDEX interviews_created ON interviews(created_at);
CREATE INDEX interviews_agg ON interviews(country, city, segment, created_by, review_state,
  nps, has_complaint, sat_network, sat_shop, sat_call_centre, sat_billing, sat_mobile_money);
