-- 3: the review queue pages and counts on a covering index in its sort order.
DROP INDEX interviews_created;
CREATE INDEX interviews_queue ON interviews(created_at, doc_id, country, city, segment,
  review_state, nps, complaint_categories);
