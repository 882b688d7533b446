-- 16: the change log stores one row per document and write (a batch of the
-- changes one push or edit brought), not one row per change: a field-day push
-- of one interview wrote ~25 rows and ~125 index entries, most of them at
-- random places of the hash index. `hashes` holds the 32-byte change hashes
-- end to end, `bytes` the changes end to end, `sizes` each change's length in
-- bytes (comma-separated), in the same order. Seqs are kept, so device feed
-- cursors stay valid. Which device writes an Automerge actor (actor-clone
-- detection) moves to its own small table. Safe to run again.
CREATE TABLE IF NOT EXISTS change_batches (
  seq BIGSERIAL PRIMARY KEY, doc_id UUID NOT NULL, owner TEXT NOT NULL,
  source TEXT NOT NULL, hashes BYTEA NOT NULL, sizes TEXT NOT NULL, bytes BYTEA NOT NULL,
  received_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS actors (
  actor BYTEA NOT NULL, source TEXT NOT NULL, PRIMARY KEY (actor, source));
DO $$
BEGIN
  IF to_regclass('changes') IS NOT NULL THEN
    INSERT INTO change_batches(seq, doc_id, owner, source, hashes, sizes, bytes, received_at)
      SELECT seq, doc_id, owner, source, hash, octet_length(bytes)::text, bytes, received_at
      FROM changes ORDER BY seq;
    -- The next seq continues after the highest ever handed out, even one
    -- whose row was deleted (an erased document's old history).
    PERFORM setval(pg_get_serial_sequence('change_batches', 'seq'),
      nextval(pg_get_serial_sequence('changes', 'seq')), false);
    INSERT INTO actors(actor, source) SELECT DISTINCT actor, source FROM changes;
    DROP TABLE changes;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS change_batches_doc ON change_batches(doc_id, seq);
CREATE INDEX IF NOT EXISTS change_batches_owner ON change_batches(owner, seq);
