//! Encryption at rest: the store file and its WAL encrypted by SQLCipher
//! (AES-256, HMAC per page) under a 256-bit raw key the caller gets from the
//! platform's secret store. The key never touches the file, the logs or
//! `Debug` output, and is zeroed when dropped.
//!
//! A plaintext store found where an encrypted one is expected is converted by
//! [`DeviceStore::open_encrypted`]: crash-safe, because the plaintext file
//! stays in place until the encrypted copy is complete and durable, and the
//! swap is one `rename`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::{DeviceStore, Result, StoreError};

/// Bytes in a store key (AES-256).
pub const KEY_LEN: usize = 32;

/// The first 16 bytes of every plaintext SQLite file.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A store's encryption key. Zeroed on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    /// A fresh random key (the operating system's generator through rand's
    /// thread generator, a CSPRNG).
    pub fn generate() -> StoreKey {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(k.as_mut());
        StoreKey(k)
    }

    /// A key from its bytes, as the secret store returns them.
    pub fn from_bytes(bytes: &[u8]) -> Result<StoreKey> {
        let arr: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| StoreError::BadKey { len: bytes.len() })?;
        Ok(StoreKey(Zeroizing::new(arr)))
    }

    /// The key's bytes, to hand to the secret store.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// SQLCipher's raw-key literal `x'…'` (no key derivation: the key is
    /// already random, so opening costs no PBKDF2 rounds).
    fn literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode(self.0.as_ref())))
    }
}

/// What is at a store path, read from the file's first bytes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No file, or an empty one: a new store.
    Absent,
    /// A plaintext SQLite file.
    Plain,
    /// Anything else: an encrypted store (or not a store at all).
    Encrypted,
}

/// Tell what is at `path` without opening it as a database.
pub fn file_state(path: &Path) -> Result<FileState> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Absent),
        Err(e) => return Err(io_err(path, e)),
    };
    let mut head = Vec::with_capacity(16);
    (&mut f)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| io_err(path, e))?;
    Ok(if head.is_empty() {
        FileState::Absent
    } else if head.as_slice() == PLAIN_HEADER {
        FileState::Plain
    } else {
        FileState::Encrypted
    })
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// `<path>.encrypting`: the encrypted copy while a plaintext store converts.
fn staging_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".encrypting");
    PathBuf::from(s)
}

/// Whether this build's SQLite is SQLCipher (`PRAGMA cipher_version` answers).
pub fn cipher_available() -> bool {
    Connection::open_in_memory()
        .and_then(|c| {
            c.query_row("PRAGMA cipher_version", [], |r| r.get::<_, String>(0))
                .map(|v| !v.is_empty())
        })
        .unwrap_or(false)
}

/// Set `key` on a fresh connection and prove it opens the file (the build
/// has SQLCipher: [`DeviceStore::open_encrypted`] checked).
fn apply_key(conn: &Connection, key: &StoreKey) -> Result<()> {
    // SQLCipher logs a failed page check to stderr; the error says enough.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&format!("PRAGMA key = \"{}\";", key.literal().as_str()))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// Convert the plaintext store at `path` into an encrypted one in place.
///
/// Steps, each safe to interrupt: (1) fold the WAL into the main file;
/// (2) `sqlcipher_export` into `<path>.encrypting` and fsync it; (3) rename it
/// over `path` and fsync the directory; (4) overwrite the old plaintext inode
/// with zeros through a handle opened before the rename. Killed before (3),
/// the plaintext store is intact and the next open starts again (discarding
/// the partial copy); killed after, the store is encrypted. Step (4) is best
/// effort: flash storage may keep old blocks (the phone's own disk encryption
/// covers those).
fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    let staging = staging_path(path);
    remove_if_exists(&staging)?;
    {
        let plain = Connection::open(path)?;
        plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        plain.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![staging.to_string_lossy(), key.literal().as_str()],
        )?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        let version: i64 = plain.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
        plain.execute_batch(&format!("PRAGMA encrypted.user_version = {version};"))?;
        plain.execute_batch("DETACH DATABASE encrypted;")?;
        // Closing the last connection checkpoints and deletes the WAL.
    }
    File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(&staging, e))?;
    for side in ["-wal", "-shm"] {
        let mut s = path.as_os_str().to_owned();
        s.push(side);
        remove_if_exists(Path::new(&s))?;
    }
    let old = File::options()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    std::fs::rename(&staging, path).map_err(|e| io_err(path, e))?;
    sync_dir(path)?;
    wipe(&old).map_err(|e| io_err(path, e))?;
    Ok(())
}

/// Overwrite an unlinked file's bytes with zeros and flush them.
fn wipe(f: &File) -> std::io::Result<()> {
    let len = f.metadata()?.len();
    let zeros = vec![0u8; 64 * 1024];
    let mut w = f;
    let mut left = len;
    std::io::Seek::seek(&mut w, std::io::SeekFrom::Start(0))?;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        w.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_all()
}

fn remove_if_exists(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(p, e)),
    }
}

fn sync_dir(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Directories can be opened and fsynced on Unix; elsewhere the rename is
    // made durable by the filesystem.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl DeviceStore {
    /// Open (or create) the store at `path` encrypted under `key`.
    ///
    /// A plaintext store there is converted first (see [`encrypt_in_place`];
    /// a conversion interrupted by a crash is redone). A wrong key is
    /// [`StoreError::WrongKey`] and leaves the file untouched; a build without
    /// SQLCipher is [`StoreError::NoCipher`], never a silent plaintext store.
    pub fn open_encrypted(path: &Path, key: &StoreKey) -> Result<DeviceStore> {
        if !cipher_available() {
            return Err(StoreError::NoCipher);
        }
        let staging = staging_path(path);
        match file_state(path)? {
            FileState::Plain => encrypt_in_place(path, key)?,
            FileState::Absent | FileState::Encrypted => remove_if_exists(&staging)?,
        }
        let conn = Connection::open(path)?;
        apply_key(&conn, key)?;
        DeviceStore::init(conn)
    }
}
