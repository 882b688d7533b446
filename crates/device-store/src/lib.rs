//! device-store owns the interviews kept on a field device: one SQLite file (WAL,
//! `synchronous=FULL`) holding each interview's Automerge snapshot plus the
//! incremental chunks appended by every edit, the forms the device knows, the
//! per-install actor id, the enrollment, and the sync bookkeeping (server heads
//! per document, dirty flag, feed cursor).
//!
//! With [`DeviceStore::open_encrypted`] the file and its WAL are encrypted by
//! SQLCipher (feature `encryption`) under a key the caller brings from the
//! platform's secret store; this crate never stores or prints the key.
//!
//! Every edit is one SQLite transaction: a save returns only after the chunk is
//! on disk. The API is synchronous; async callers use `spawn_blocking`. It must
//! not talk to the network, read configuration, or know about HTTP: the
//! sync-client crate drives it.

mod crypt;
mod docs;
mod meta;
mod schema;
mod sync;

use std::str::FromStr;

pub use crypt::{FileState, KEY_LEN, StoreKey, cipher_available, file_state};

use automerge::ChangeHash;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use survey_model::ModelError;
use uuid::Uuid;

/// Chunks appended before a document is compacted into one snapshot.
pub const COMPACT_AFTER_CHUNKS: i64 = 50;

/// Errors of the device store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("interview {0} not found")]
    NotFound(Uuid),
    #[error("interview {doc}: stored bytes are corrupt: {reason}")]
    Corrupt { doc: Uuid, reason: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("form {0} is not on this device")]
    UnknownForm(String),
    #[error("form: {0}")]
    Form(#[from] survey_model::FormError),
    #[error("store metadata is corrupt: {0}")]
    BadMeta(String),
    #[error("the device is not enrolled")]
    NotEnrolled,
    #[error("the store is encrypted: open it with its key")]
    NeedsKey,
    #[error("the key does not open this store (the file is left untouched)")]
    WrongKey,
    #[error("a store key is {KEY_LEN} bytes, not {len}")]
    BadKey { len: usize },
    #[error(
        "this build has no SQLCipher (device-store feature `encryption`): refusing to store in plaintext"
    )]
    NoCipher,
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the device got when it enrolled with a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: String,
    pub device_token: String,
    pub user_id: String,
    pub user_name: String,
    pub country: String,
    pub campaign: String,
}

/// Where an interview stands with respect to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Has local changes the server has not acknowledged.
    Pending,
    /// The server acknowledged every local change.
    Synced,
}

/// One row of the interview list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterviewSummary {
    pub id: Uuid,
    pub form_id: String,
    pub form_version: u32,
    /// "draft" or "submitted".
    pub status: String,
    pub sync: SyncStatus,
    pub review_state: Option<String>,
    pub city: Option<String>,
    /// The place code (forms with a place question, MCMB v2 on).
    pub place: Option<String>,
    pub segment: Option<String>,
    pub nps: Option<i64>,
    pub comment_count: usize,
    pub conflicts: usize,
    pub created_at: String,
    pub updated_at: i64,
    /// Why the server refused the last push of this interview, if it did.
    pub sync_error: Option<String>,
}

/// Filter for [`DeviceStore::list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub sync: Option<SyncStatus>,
    /// Case-insensitive substring of city, respondent, verbatim or id.
    pub text: Option<String>,
    pub limit: Option<usize>,
}

/// A document's local changes not yet acknowledged by the server.
#[derive(Debug)]
pub struct PendingDoc {
    pub id: Uuid,
    /// Server heads last acknowledged for this document.
    pub base_heads: Vec<ChangeHash>,
    /// Local heads now.
    pub heads: Vec<ChangeHash>,
    /// How many changes `data` holds.
    pub change_count: usize,
    /// Those changes as one compressed Automerge bundle.
    pub data: Vec<u8>,
}

/// The device's interview store.
#[derive(Debug)]
pub struct DeviceStore {
    conn: Connection,
    install_id: Uuid,
}
pub(crate) fn encode_heads(h: &[ChangeHash]) -> String {
    h.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parse a comma-separated list of hex change hashes.
pub fn decode_heads(s: &str) -> Result<Vec<ChangeHash>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| ChangeHash::from_str(p).map_err(|e| StoreError::BadMeta(format!("heads: {e}"))))
        .collect()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
