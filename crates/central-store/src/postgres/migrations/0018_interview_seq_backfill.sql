-- 18: the projection upsert left `interviews.updated_seq` at the interview's
-- first seq when a later push or a server edit changed it, so incremental
-- exports (`since_seq`) missed changed interviews. The upsert now rewrites
-- it; this brings stored rows to their document's seq.
UPDATE interviews i SET updated_seq = d.updated_seq
  FROM documents d
 WHERE d.doc_id = i.doc_id AND i.updated_seq <> d.updated_seq;
