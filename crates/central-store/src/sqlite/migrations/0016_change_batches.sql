-- 16: the change log stores one row per document and write (a batch of the
-- changes one push or edit brought), not one row per change: a field-day push
-- of one interview wrote ~25 rows and ~125 index entries, most of them at
-- random places of the hash index. `hashes` holds the 32-byte change hashes
-- end to end, `bytes` the changes end to end, `sizes` each change's length in
-- bytes (comma-separated), in the same order. Seqs are kept, so device feed
-- cursors stay valid. Which device writes an Automerge actor (actor-clone
-- detection) moves to its own small table.
CREATE TABLE change_batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, owner TEXT NOT NULL,
  source TEXT NOT NULL, hashes BLOB NOT NULL, sizes TEXT NOT NULL, bytes BLOB NOT NULL,
  received_at INTEGER NOT NULL);
INSERT INTO change_batches(seq, doc_id, owner, source, hashes, sizes, bytes, received_at)
  SELECT seq, doc_id, owner, source, hash, CAST(length(bytes) AS TEXT), bytes, received_at
  FROM changes ORDER BY seq;
-- The next seq continues after the highest ever handed out, even one whose
-- row was deleted (an erased document's old history).
DELETE FROM sqlite_sequence WHERE name = 'change_batches';
INSERT INTO sqlite_sequence(name, seq)
  SELECT 'change_batches', seq FROM sqlite_sequence WHERE name = 'changes';
CREATE INDEX change_batches_doc ON change_batches(doc_id, seq);
CREATE INDEX change_batches_owner ON change_batches(owner, seq);
CREATE TABLE actors (actor BLOB NOT NULL, source TEXT NOT NULL, PRIMARY KEY (actor, source));
INSERT INTO actors(actor, source) SELECT DISTINCT actor, source FROM changes;
DROP TABLE changes;
