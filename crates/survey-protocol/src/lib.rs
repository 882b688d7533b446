//! survey-protocol owns the bytes that cross the network between devices and the
//! sync server: the `POST /api/v1/sync` request and response types, the JSON
//! types of enrollment, and the framing of sync bodies
//! (`magic "FVSY" | version u8 | compression u8 | payload`), where the payload
//! is postcard, optionally gzip-compressed.
//!
//! Decoding is total: any byte string gives a value or a [`DecodeError`], never a
//! panic, and decompression is bounded so a small body cannot expand without
//! limit. This crate must not do I/O or know about Automerge internals: change
//! bytes and hashes are opaque here.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The sync protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Leading bytes of every sync body.
pub const MAGIC: &[u8; 4] = b"FVSY";
/// Media type of sync bodies.
pub const CONTENT_TYPE: &str = "application/vnd.fieldvoice.sync";
/// Default cap on a decoded (decompressed) body.
pub const DEFAULT_MAX_DECODED: usize = 16 * 1024 * 1024;

/// Response header of `POST /api/v1/sync` naming the newest published
/// version of every form, `id@version` comma-separated. A device that lacks
/// one fetches it (`GET /api/v1/forms/{id}/{version}`); clients that do not
/// know the header ignore it, so the body format is unchanged.
pub const FORMS_HEADER: &str = "x-fieldvoice-forms";

/// Sync response header: the revision of the place list of the device's
/// country (`GET /api/v1/places` returns the list with the same revision); a
/// device holding another revision fetches the list.
pub const PLACES_HEADER: &str = "x-fieldvoice-places";

/// Sync response header: the revision of the device's employee's assignment
/// (place, team, targets; empty when not assigned). A device holding another
/// revision fetches `GET /api/v1/me/assignment`.
pub const ASSIGNMENT_HEADER: &str = "x-fieldvoice-assignment";

/// Sync request header: the device's clock when it sent the request (Unix
/// seconds). The server records device clock minus its own as the clock
/// skew of the interviews in that request (quality check `clock_skew`); a
/// missing or malformed value records no skew.
pub const DEVICE_TIME_HEADER: &str = "x-fieldvoice-device-time";

/// The value of [`FORMS_HEADER`] for these (form id, version) pairs.
pub fn form_versions_header(forms: &[(String, u32)]) -> String {
    forms
        .iter()
        .map(|(id, v)| format!("{id}@{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Read a [`FORMS_HEADER`] value; malformed entries are skipped (a form id
/// never contains `@` or `,`).
pub fn parse_form_versions(value: &str) -> Vec<(String, u32)> {
    value
        .split(',')
        .filter_map(|e| {
            let (id, v) = e.trim().rsplit_once('@')?;
            let id_ok = !id.is_empty()
                && id.len() <= 100
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !id_ok {
                return None;
            }
            Some((id.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// A 32-byte Automerge change hash, opaque here.
pub type Hash = [u8; 32];

/// Device → server: local changes of many documents plus the feed cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Position in the server's change log up to which this device has the feed.
    pub cursor: u64,
    pub docs: Vec<DocPush>,
}

/// Local changes of one document. A push with empty `data` is a "have"
/// message: `heads` tell the server what the device has, and the server sends
/// the changes it lacks (repair).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPush {
    pub doc_id: Uuid,
    /// The server heads last acknowledged for this document (empty at first).
    pub base_heads: Vec<Hash>,
    /// The device's heads after these changes.
    pub heads: Vec<Hash>,
    /// The changes not covered by `base_heads`, as Automerge bytes that
    /// `load_incremental` accepts: a compressed change bundle (what devices
    /// send), concatenated change chunks, or a saved document.
    pub data: Vec<u8>,
}

/// Server → device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// New cursor: every change for this device up to it is in `feed` or earlier.
    pub cursor: u64,
    /// More feed is waiting: sync again with the new cursor.
    pub more: bool,
    pub results: Vec<DocResult>,
    pub feed: Vec<FeedDoc>,
    /// Documents whose history the server rewrote (personal data erased on
    /// request) that this device holds in an older form: it replaces its
    /// copy with the snapshot and re-makes its unacknowledged edits on top.
    /// (Added after the first release, last so older clients still decode
    /// the fields before it.)
    pub replaced: Vec<Replacement>,
}

/// A rewritten document, whole: its one new history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub doc_id: Uuid,
    /// The document as the server holds it now (Automerge save format).
    pub snapshot: Vec<u8>,
    /// Its heads.
    pub heads: Vec<Hash>,
}

/// What the server did with one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocResult {
    pub doc_id: Uuid,
    pub status: DocStatus,
    /// Server heads of the document after the push (empty if rejected).
    pub heads: Vec<Hash>,
}

/// Outcome of one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocStatus {
    /// Stored durably (or already stored: retries are idempotent).
    Applied,
    /// Some changes depend on changes the server does not have; resend from
    /// empty `base_heads` (the repair path).
    MissingDeps { hashes: Vec<Hash> },
    /// Refused; the device keeps its changes and shows the reason.
    Rejected { reason: String },
    /// The document's new changes carry an Automerge actor that another
    /// device (or the server) already writes with: this store was copied or
    /// restored. The device takes a new actor, re-authors its unacknowledged
    /// changes with it and resends. (Added after the first release: a client
    /// that does not know it fails to decode the response and retries later.)
    ActorClash { reason: String },
    /// The server rewrote this document's history (personal data erased):
    /// the pushed changes belong to the old one and were not applied. The
    /// new document is in [`SyncResponse::replaced`]; the device rebases its
    /// edits onto it and resends them.
    Replaced,
}

/// Changes made elsewhere to one of this device's documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedDoc {
    pub doc_id: Uuid,
    pub changes: Vec<Vec<u8>>,
    /// Server heads of the document when the feed was read.
    pub heads: Vec<Hash>,
}

/// `POST /api/v1/enroll` (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time enrollment code, as typed or scanned (dashes and case ignored).
    pub code: String,
    /// A label for the device, e.g. its model.
    #[serde(default)]
    pub device_label: String,
}

/// Answer to a successful enrollment (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    /// Bearer token for sync; shown once, stored hashed on the server.
    pub device_token: String,
    pub user_id: String,
    pub user_name: String,
    pub country: String,
    pub campaign: String,
    /// Form definitions (JSON text) the device should have.
    pub forms: Vec<String>,
}

/// How a sync body's payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None = 0,
    Gzip = 1,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("body too short or missing the FVSY header")]
    BadMagic,
    #[error("unsupported protocol version {0} (this server speaks {PROTOCOL_VERSION})")]
    Version(u8),
    #[error("unknown compression {0}")]
    Compression(u8),
    #[error("body expands beyond {0} bytes")]
    TooLarge(usize),
    #[error("corrupt compressed data: {0}")]
    Inflate(std::io::Error),
    #[error("malformed payload: {0}")]
    Payload(#[from] postcard::Error),
}

/// Why a value could not be encoded (only on allocation-level failures).
#[derive(Debug, thiserror::Error)]
#[error("encode: {0}")]
pub struct EncodeError(String);

/// Frame and (optionally) compress a message.
pub fn encode<T: Serialize>(msg: &T, compression: Compression) -> Result<Vec<u8>, EncodeError> {
    let payload = postcard::to_stdvec(msg).map_err(|e| EncodeError(e.to_string()))?;
    frame(&payload, compression)
}

/// The header and the (compressed) payload.
fn frame(payload: &[u8], compression: Compression) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(payload.len() / 2 + 8);
    out.extend_from_slice(MAGIC);
    out.push(PROTOCOL_VERSION);
    out.push(compression as u8);
    match compression {
        Compression::None => out.extend_from_slice(payload),
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            gz.write_all(payload)
                .map_err(|e| EncodeError(e.to_string()))?;
            out = gz.finish().map_err(|e| EncodeError(e.to_string()))?;
        }
    }
    Ok(out)
}

/// Payloads shorter than this go uncompressed from [`encode_small_plain`]:
/// gzip's header and trailer (18 bytes) outweigh what it saves on them, and
/// setting a deflate stream up costs more than the rest of the message.
pub const GZIP_FROM_BYTES: usize = 256;

/// [`encode`] with gzip, except for a payload shorter than
/// [`GZIP_FROM_BYTES`], which is framed uncompressed (every decoder reads the
/// compression byte). What the server answers a sync with.
pub fn encode_small_plain<T: Serialize>(msg: &T) -> Result<Vec<u8>, EncodeError> {
    let payload = postcard::to_stdvec(msg).map_err(|e| EncodeError(e.to_string()))?;
    if payload.len() < GZIP_FROM_BYTES {
        frame(&payload, Compression::None)
    } else {
        frame(&payload, Compression::Gzip)
    }
}

/// Decode a framed message, refusing payloads that expand beyond `max_decoded`.
pub fn decode<T: for<'de> Deserialize<'de>>(
    body: &[u8],
    max_decoded: usize,
) -> Result<T, DecodeError> {
    if body.len() < 6 || &body[..4] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if body[4] != PROTOCOL_VERSION {
        return Err(DecodeError::Version(body[4]));
    }
    let rest = &body[6..];
    let payload: std::borrow::Cow<'_, [u8]> = match body[5] {
        0 => {
            if rest.len() > max_decoded {
                return Err(DecodeError::TooLarge(max_decoded));
            }
            rest.into()
        }
        1 => {
            let mut out = Vec::new();
            let mut limited = flate2::read::GzDecoder::new(rest).take(max_decoded as u64 + 1);
            limited
                .read_to_end(&mut out)
                .map_err(DecodeError::Inflate)?;
            if out.len() > max_decoded {
                return Err(DecodeError::TooLarge(max_decoded));
            }
            out.into()
        }
        c => return Err(DecodeError::Compression(c)),
    };
    Ok(postcard::from_bytes(&payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_versions_round_trip_and_garbage_is_skipped() {
        let forms = vec![
            ("mcmb-interview".to_owned(), 2),
            ("other.form_1".to_owned(), 10),
        ];
        assert_eq!(parse_form_versions(&form_versions_header(&forms)), forms);
        assert_eq!(
            parse_form_versions(" a@1 ,@2,b@,c@x,d@-1,e f@3,g@4294967296,h@7"),
            vec![("a".to_owned(), 1), ("h".to_owned(), 7)]
        );
        assert!(parse_form_versions("").is_empty());
    }
    use proptest::prelude::*;

    fn sample() -> SyncRequest {
        SyncRequest {
            cursor: 42,
            docs: vec![DocPush {
                doc_id: Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
                base_heads: vec![[7; 32]],
                heads: vec![[9; 32]],
                data: vec![0; 300],
            }],
        }
    }

    #[test]
    fn round_trips_with_and_without_gzip() {
        for c in [Compression::None, Compression::Gzip] {
            let bytes = encode(&sample(), c).unwrap();
            let back: SyncRequest = decode(&bytes, DEFAULT_MAX_DECODED).unwrap();
            assert_eq!(back, sample());
        }
    }

    #[test]
    fn small_answers_go_plain_large_ones_gzipped() {
        let small = SyncResponse {
            cursor: 7,
            more: false,
            results: vec![],
            feed: vec![],
            replaced: vec![],
        };
        let bytes = encode_small_plain(&small).unwrap();
        assert_eq!(bytes[5], Compression::None as u8);
        let back: SyncResponse = decode(&bytes, DEFAULT_MAX_DECODED).unwrap();
        assert_eq!(back.cursor, 7);
        let bytes = encode_small_plain(&sample()).unwrap();
        assert_eq!(bytes[5], Compression::Gzip as u8);
        let back: SyncRequest = decode(&bytes, DEFAULT_MAX_DECODED).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn header_errors_are_specific() {
        let good = encode(&sample(), Compression::Gzip).unwrap();
        assert!(matches!(
            decode::<SyncRequest>(b"", 100),
            Err(DecodeError::BadMagic)
        ));
        assert!(matches!(
            decode::<SyncRequest>(b"{\"json\":1}", 100),
            Err(DecodeError::BadMagic)
        ));
        let mut v2 = good.clone();
        v2[4] = 2;
        let err = decode::<SyncRequest>(&v2, DEFAULT_MAX_DECODED).unwrap_err();
        assert!(
            err.to_string().contains("unsupported protocol version 2"),
            "{err}"
        );
        let mut c9 = good.clone();
        c9[5] = 9;
        assert!(matches!(
            decode::<SyncRequest>(&c9, DEFAULT_MAX_DECODED),
            Err(DecodeError::Compression(9))
        ));
        let mut cut = good.clone();
        cut.truncate(good.len() - 5);
        assert!(decode::<SyncRequest>(&cut, DEFAULT_MAX_DECODED).is_err());
    }

    #[test]
    fn decompression_bomb_is_refused() {
        let big = SyncRequest {
            cursor: 0,
            docs: vec![DocPush {
                doc_id: Uuid::nil(),
                base_heads: vec![],
                heads: vec![],
                data: vec![0; 4_000_000],
            }],
        };
        let bytes = encode(&big, Compression::Gzip).unwrap();
        assert!(bytes.len() < 20_000, "compresses well: {}", bytes.len());
        assert!(matches!(
            decode::<SyncRequest>(&bytes, 1_000_000),
            Err(DecodeError::TooLarge(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<SyncRequest>(&body, 1 << 20);
            let mut framed = MAGIC.to_vec();
            framed.extend([PROTOCOL_VERSION, 0]);
            framed.extend(&body);
            let _ = decode::<SyncRequest>(&framed, 1 << 20);
            framed[5] = 1;
            let _ = decode::<SyncResponse>(&framed, 1 << 20);
        }
    }
}
