//! A reader of Automerge's uncompressed document chunk (what
//! `save_nocompress` writes): its actors, its changes' metadata and every
//! operation it holds, overwritten and deleted ones included.
//!
//! Automerge 0.12 offers no iterator over a document's operations; its only
//! per-change access rebuilds each change from the whole document and then
//! decodes it again, which cost a sixth of the server's CPU per pushed
//! interview (paradata). The chunk already holds every operation in columns,
//! so reading them directly is one linear pass. The layout is Automerge's
//! binary format (automerge.org, "Binary Document Format"): a header, the
//! actors, the heads, the column metadata of the changes and of the
//! operations, then the column data. Compressed (deflated) columns are
//! refused: the callers read the uncompressed save.
//!
//! A deleted value is not stored as an operation: the delete appears only as
//! a successor id of the operations it deleted, which [`Op::succ`] lists.

use std::ops::Range;

/// A chunk this reader cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("automerge document chunk: {0}")]
pub struct ChunkError(&'static str);

type Result<T> = std::result::Result<T, ChunkError>;

/// An operation id: Lamport counter and index into [`Chunk::actors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct OpId {
    pub counter: u64,
    pub actor: usize,
}

/// One change's metadata, in the chunk's (causal) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangeRow {
    pub actor: usize,
    pub max_op: u64,
    /// The writing device's clock, as the change carries it.
    pub time: i64,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Op<'a> {
    pub id: OpId,
    /// `None`: the root map.
    pub obj: Option<OpId>,
    /// The map key (`None` for a list or text element).
    pub key: Option<&'a str>,
    /// Automerge's action code ([`MAKE_MAP`], [`SET`], ...).
    pub action: u64,
    /// The value when it is a string.
    pub str_value: Option<&'a str>,
    /// Range of [`Chunk::succ`]: the operations that overwrote or deleted it.
    pub succ: Range<usize>,
}

pub(crate) const MAKE_MAP: u64 = 0;
pub(crate) const SET: u64 = 1;
pub(crate) const MAKE_LIST: u64 = 2;
pub(crate) const DELETE: u64 = 3;
pub(crate) const MAKE_TEXT: u64 = 4;
pub(crate) const MAKE_TABLE: u64 = 6;

/// Whether `action` makes an object.
pub(crate) fn makes_object(action: u64) -> bool {
    matches!(action, MAKE_MAP | MAKE_LIST | MAKE_TEXT | MAKE_TABLE)
}

/// A parsed document chunk, borrowing the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk<'a> {
    pub actors: Vec<&'a [u8]>,
    pub changes: Vec<ChangeRow>,
    pub ops: Vec<Op<'a>>,
    pub succ: Vec<OpId>,
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const DEFLATE: u32 = 0b1000;

// Column specs: id << 4 | type (0 group, 1 actor, 2 uLEB, 3 delta, 4 boolean,
// 5 string, 6 value metadata, 7 value).
const CHANGE_ACTOR: u32 = 1;
const CHANGE_MAX_OP: u32 = (1 << 4) | 3;
const CHANGE_TIME: u32 = (2 << 4) | 3;
const OBJ_ACTOR: u32 = 1;
const OBJ_CTR: u32 = 2;
const KEY_ACTOR: u32 = (1 << 4) | 1;
const KEY_CTR: u32 = (1 << 4) | 3;
const KEY_STR: u32 = (1 << 4) | 5;
const ID_ACTOR: u32 = (2 << 4) | 1;
const ID_CTR: u32 = (2 << 4) | 3;
const ACTION: u32 = (4 << 4) | 2;
const VAL_META: u32 = (5 << 4) | 6;
const VAL_RAW: u32 = (5 << 4) | 7;
const SUCC_GROUP: u32 = 8 << 4;
const SUCC_ACTOR: u32 = (8 << 4) | 1;
const SUCC_CTR: u32 = (8 << 4) | 3;

/// Value metadata type of a UTF-8 string.
const VALUE_STR: u64 = 6;

/// Parse the document chunk `data` (exactly one chunk, uncompressed).
pub(crate) fn parse(data: &[u8]) -> Result<Chunk<'_>> {
    if data.len() < 10 || data[..4] != MAGIC {
        return Err(ChunkError("not an Automerge chunk"));
    }
    if data[8] != DOCUMENT {
        return Err(ChunkError("not a document chunk"));
    }
    let mut header = Bytes::new(&data[9..]);
    let len = usize::try_from(header.uleb()?).map_err(|_| ChunkError("length"))?;
    let mut b = Bytes::new(header.take(len)?);
    let actors = (0..b.uleb()?)
        .map(|_| {
            let n = usize::try_from(b.uleb()?).map_err(|_| ChunkError("actor length"))?;
            b.take(n)
        })
        .collect::<Result<Vec<_>>>()?;
    let heads = usize::try_from(b.uleb()?).map_err(|_| ChunkError("head count"))?;
    b.take(heads.checked_mul(32).ok_or(ChunkError("head count"))?)?;
    let change_meta = column_meta(&mut b)?;
    let op_meta = column_meta(&mut b)?;
    let change_data = b.take(total(&change_meta)?)?;
    let op_data = b.take(total(&op_meta)?)?;
    let change_col = |spec| column(&change_meta, change_data, spec);
    let op_col = |spec| column(&op_meta, op_data, spec);

    let mut changes = Vec::new();
    let mut actor = Rle::new(change_col(CHANGE_ACTOR)?, Bytes::uleb);
    let mut max_op = Delta::new(change_col(CHANGE_MAX_OP)?);
    let mut time = Delta::new(change_col(CHANGE_TIME)?);
    while !actor.exhausted() {
        let a = actor.next()?.ok_or(ChunkError("change without an actor"))?;
        changes.push(ChangeRow {
            actor: index(a, actors.len())?,
            max_op: u64::try_from(max_op.next()?.unwrap_or(0))
                .map_err(|_| ChunkError("negative max op"))?,
            time: time.next()?.unwrap_or(0),
        });
    }

    let mut obj_actor = Rle::new(op_col(OBJ_ACTOR)?, Bytes::uleb);
    let mut obj_ctr = Rle::new(op_col(OBJ_CTR)?, Bytes::uleb);
    let mut key_actor = Rle::new(op_col(KEY_ACTOR)?, Bytes::uleb);
    let mut key_ctr = Delta::new(op_col(KEY_CTR)?);
    let mut key_str = Rle::new(op_col(KEY_STR)?, Bytes::str);
    let mut id_actor = Rle::new(op_col(ID_ACTOR)?, Bytes::uleb);
    let mut id_ctr = Delta::new(op_col(ID_CTR)?);
    let mut action = Rle::new(op_col(ACTION)?, Bytes::uleb);
    let mut val_meta = Rle::new(op_col(VAL_META)?, Bytes::uleb);
    let mut val_raw = Bytes::new(op_col(VAL_RAW)?);
    let mut succ_group = Rle::new(op_col(SUCC_GROUP)?, Bytes::uleb);
    let mut succ_actor = Rle::new(op_col(SUCC_ACTOR)?, Bytes::uleb);
    let mut succ_ctr = Delta::new(op_col(SUCC_CTR)?);
    let mut ops = Vec::new();
    let mut succ = Vec::new();
    let id_of = |a: Option<u64>, c: Option<i64>| -> Result<OpId> {
        let a = a.ok_or(ChunkError("operation id without an actor"))?;
        let c = c.ok_or(ChunkError("operation id without a counter"))?;
        Ok(OpId {
            counter: u64::try_from(c).map_err(|_| ChunkError("negative counter"))?,
            actor: index(a, actors.len())?,
        })
    };
    while !action.exhausted() {
        let act = action
            .next()?
            .ok_or(ChunkError("operation without an action"))?;
        let obj = match (obj_actor.next()?, obj_ctr.next()?) {
            (None, None) => None,
            (Some(a), Some(c)) => Some(OpId {
                counter: c,
                actor: index(a, actors.len())?,
            }),
            _ => return Err(ChunkError("half an object id")),
        };
        // The element-key columns keep their place; paradata needs map keys.
        key_actor.next()?;
        key_ctr.next()?;
        let key = key_str.next()?;
        let id = id_of(id_actor.next()?, id_ctr.next()?)?;
        let meta = val_meta.next()?.unwrap_or(0);
        let raw = val_raw.take(usize::try_from(meta >> 4).map_err(|_| ChunkError("value"))?)?;
        let str_value = (meta & 0xf == VALUE_STR)
            .then(|| std::str::from_utf8(raw).ok())
            .flatten();
        let from = succ.len();
        for _ in 0..succ_group.next()?.unwrap_or(0) {
            succ.push(id_of(succ_actor.next()?, succ_ctr.next()?)?);
        }
        ops.push(Op {
            id,
            obj,
            key,
            action: act,
            str_value,
            succ: from..succ.len(),
        });
    }
    Ok(Chunk {
        actors,
        changes,
        ops,
        succ,
    })
}

fn index(a: u64, actors: usize) -> Result<usize> {
    usize::try_from(a)
        .ok()
        .filter(|&i| i < actors)
        .ok_or(ChunkError("actor index out of range"))
}

/// Column specs and their byte ranges within the column data.
fn column_meta(b: &mut Bytes<'_>) -> Result<Vec<(u32, Range<usize>)>> {
    let mut at = 0usize;
    (0..b.uleb()?)
        .map(|_| {
            let spec = u32::try_from(b.uleb()?).map_err(|_| ChunkError("column spec"))?;
            if spec & DEFLATE != 0 {
                return Err(ChunkError("compressed column"));
            }
            let len = usize::try_from(b.uleb()?).map_err(|_| ChunkError("column length"))?;
            let end = at.checked_add(len).ok_or(ChunkError("column length"))?;
            let range = at..end;
            at = end;
            Ok((spec, range))
        })
        .collect()
}

fn total(meta: &[(u32, Range<usize>)]) -> Result<usize> {
    Ok(meta.last().map_or(0, |(_, r)| r.end))
}

/// A column's bytes; an absent column is empty (all null or zero).
fn column<'a>(meta: &[(u32, Range<usize>)], data: &'a [u8], spec: u32) -> Result<&'a [u8]> {
    match meta.iter().find(|(s, _)| *s == spec) {
        Some((_, r)) => data.get(r.clone()).ok_or(ChunkError("column out of range")),
        None => Ok(&[]),
    }
}

/// A cursor over bytes with LEB128 readers.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self.data.get(self.at).ok_or(ChunkError("truncated"))?;
        self.at += 1;
        Ok(b)
    }

    fn uleb(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err(ChunkError("LEB128 too long"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn sleb(&mut self) -> Result<i64> {
        let mut v = 0i64;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err(ChunkError("LEB128 too long"));
            }
            v |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(ChunkError("truncated"))?;
        let s = self.data.get(self.at..end).ok_or(ChunkError("truncated"))?;
        self.at = end;
        Ok(s)
    }

    fn str(&mut self) -> Result<&'a str> {
        let n = usize::try_from(self.uleb()?).map_err(|_| ChunkError("string length"))?;
        std::str::from_utf8(self.take(n)?).map_err(|_| ChunkError("string is not UTF-8"))
    }
}

/// A run-length encoded column: runs of a repeated value (signed count > 0,
/// then the value), of literal values (count < 0, then that many values), or
/// of nulls (count 0, then an unsigned count). Past the end every value is
/// null.
struct Rle<'a, T> {
    b: Bytes<'a>,
    read: fn(&mut Bytes<'a>) -> Result<T>,
    run: Run<T>,
    left: u64,
}

enum Run<T> {
    Repeat(T),
    Literal,
    Null,
}

impl<'a, T: Copy> Rle<'a, T> {
    fn new(data: &'a [u8], read: fn(&mut Bytes<'a>) -> Result<T>) -> Self {
        Rle {
            b: Bytes::new(data),
            read,
            run: Run::Null,
            left: 0,
        }
    }

    fn exhausted(&self) -> bool {
        self.left == 0 && self.b.done()
    }

    fn next(&mut self) -> Result<Option<T>> {
        while self.left == 0 {
            if self.b.done() {
                return Ok(None);
            }
            let n = self.b.sleb()?;
            if n > 0 {
                self.run = Run::Repeat((self.read)(&mut self.b)?);
                self.left = n.unsigned_abs();
            } else if n < 0 {
                self.run = Run::Literal;
                self.left = n.unsigned_abs();
            } else {
                self.run = Run::Null;
                self.left = self.b.uleb()?;
            }
        }
        self.left -= 1;
        match &self.run {
            Run::Repeat(v) => Ok(Some(*v)),
            Run::Literal => Ok(Some((self.read)(&mut self.b)?)),
            Run::Null => Ok(None),
        }
    }
}

/// A delta-encoded integer column: run-length encoded signed differences
/// from the previous non-null value.
struct Delta<'a> {
    rle: Rle<'a, i64>,
    last: i64,
}

impl<'a> Delta<'a> {
    fn new(data: &'a [u8]) -> Self {
        Delta {
            rle: Rle::new(data, Bytes::sleb),
            last: 0,
        }
    }

    fn next(&mut self) -> Result<Option<i64>> {
        Ok(match self.rle.next()? {
            Some(d) => {
                self.last = self.last.wrapping_add(d);
                Some(self.last)
            }
            None => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};

    use super::*;

    #[test]
    fn reads_ops_changes_and_deletions_of_a_real_document() {
        let mut doc = AutoCommit::new();
        let m = doc.put_object(ROOT, "answers", ObjType::Map).unwrap();
        doc.put(&m, "nps", 7).unwrap();
        doc.put(ROOT, "status", "draft").unwrap();
        doc.commit();
        let t = doc.put_object(&m, "verbatim", ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, "bonjour").unwrap();
        doc.commit();
        doc.splice_text(&t, 0, 3, "").unwrap();
        doc.delete(&m, "nps").unwrap();
        doc.put(ROOT, "status", "submitted").unwrap();
        doc.commit();
        let bytes = doc.save_nocompress();
        let c = parse(&bytes).unwrap();
        assert_eq!(c.actors, vec![doc.get_actor().to_bytes()]);
        assert_eq!(c.changes.len(), 3);
        assert_eq!(
            c.changes.iter().map(|ch| ch.max_op).collect::<Vec<_>>(),
            doc.get_changes(&[])
                .iter()
                .map(|ch| ch.max_op())
                .collect::<Vec<_>>()
        );
        let status: Vec<_> = c
            .ops
            .iter()
            .filter(|o| o.obj.is_none() && o.key == Some("status"))
            .map(|o| o.str_value)
            .collect();
        assert_eq!(status, vec![Some("draft"), Some("submitted")]);
        // A map, two puts, a text, its 7 characters, a put: every op but
        // the four deletes, which only appear as successors.
        assert_eq!(c.ops.len(), 12);
        let ids: std::collections::HashSet<_> = c.ops.iter().map(|o| o.id).collect();
        let deletes: std::collections::HashSet<_> =
            c.succ.iter().filter(|s| !ids.contains(s)).collect();
        assert_eq!(deletes.len(), 4);
    }

    #[test]
    fn compressed_truncated_and_foreign_bytes_are_errors_not_panics() {
        let mut doc = AutoCommit::new();
        let t = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, &"x".repeat(2_000)).unwrap();
        doc.commit();
        assert_eq!(
            parse(&doc.save()).unwrap_err(),
            ChunkError("compressed column")
        );
        let bytes = doc.save_nocompress();
        for cut in 0..bytes.len() {
            let _ = parse(&bytes[..cut]);
        }
        assert!(parse(b"not automerge at all").is_err());
        let mut flipped = bytes.clone();
        for i in 10..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = parse(&flipped);
            flipped[i] ^= 0x5a;
        }
    }
}
