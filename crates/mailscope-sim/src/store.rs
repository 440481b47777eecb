//! The state file: the whole tenant plus the token signing key, written
//! atomically (temp file + fsync + rename + directory fsync) after every
//! committed mutation, so a crash leaves either the old or the new state.
//!
//! One process at a time: each process holds the state file's lock
//! ([`StateLock`]) for as long as it has the tenant in memory; two processes
//! on one file would each commit onto their own copy and the last writer would
//! silently erase the other's changes. The file holds a signing key, so it is
//! written owner-only (0600 on Unix).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Tenant;

/// State file format version.
const FORMAT_VERSION: u32 = 1;

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O failure.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process has the state file open (`mailscope sim serve --state`, or a
    /// command with `--tenant sim:PATH`).
    #[error(
        "state file {path} is in use by another process (a `mailscope sim serve` or a command with \
         --tenant sim:PATH); stop it or use another state file"
    )]
    Locked {
        /// The state file.
        path: PathBuf,
    },
    /// The file is not a state file of this version.
    #[error("state file {path} is not a valid mailscope-sim state: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StateFile {
    pub format_version: u32,
    /// Hex of the HS256 key that signs access tokens (so tokens survive a restart).
    pub signing_key: String,
    pub tenant: Tenant,
}

/// Borrowing twin of [`StateFile`] for writing without cloning the tenant.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StateFileOut<'a> {
    format_version: u32,
    signing_key: String,
    tenant: &'a Tenant,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Reads a state file.
pub(crate) fn load(path: &Path) -> Result<(Tenant, Vec<u8>), StoreError> {
    let text = std::fs::read(path).map_err(|source| StoreError::Io { path: path.to_owned(), source })?;
    let f: StateFile = serde_json::from_slice(&text)
        .map_err(|e| StoreError::Format { path: path.to_owned(), message: e.to_string() })?;
    if f.format_version != FORMAT_VERSION {
        return Err(StoreError::Format {
            path: path.to_owned(),
            message: format!("formatVersion {} (expected {FORMAT_VERSION})", f.format_version),
        });
    }
    let key = unhex(&f.signing_key).ok_or_else(|| StoreError::Format {
        path: path.to_owned(),
        message: "signingKey is not hex".to_owned(),
    })?;
    Ok((f.tenant, key))
}

/// Writes a state file atomically.
pub(crate) fn save(path: &Path, tenant: &Tenant, key: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Io { path: path.to_owned(), source };
    let body = serde_json::to_vec_pretty(&StateFileOut {
        format_version: FORMAT_VERSION,
        signing_key: hex(key),
        tenant,
    })
    .map_err(|e| StoreError::Format { path: path.to_owned(), message: e.to_string() })?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    {
        let mut f = owner_only().write(true).create(true).truncate(true).open(&tmp).map_err(io)?;
        f.write_all(&body).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    // Make the rename itself durable; best effort where directories cannot be opened.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Open options creating files readable and writable by their owner only:
/// the state file holds the key that signs the emulator's tokens.
fn owner_only() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}

/// The exclusive lock of one state file, held while any [`StateLock`] handle lives.
///
/// The lock is on a sidecar `.<name>.lock` next to the state file, not on the
/// state file itself: every save replaces the state file by a rename, and a
/// lock on the replaced inode would protect nothing. The sidecar is left in
/// place when released (removing it would let two processes lock two files).
///
/// Inside one process, opening the same state again shares the lock (the CLI
/// opens a fresh emulator per reconcile run while the last one may still be
/// shutting down); only another process is refused.
#[derive(Debug)]
pub(crate) struct StateLock {
    file: File,
    key: PathBuf,
}

/// Locks this process holds, by lock-file path.
static HELD: Mutex<BTreeMap<PathBuf, Weak<StateLock>>> = Mutex::new(BTreeMap::new());

impl StateLock {
    /// Takes (or shares, within this process) the lock of the state file `state`.
    pub(crate) fn acquire(state: &Path) -> Result<Arc<StateLock>, StoreError> {
        let io = |source| StoreError::Io { path: state.to_owned(), source };
        let dir = state.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = state.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let key = std::fs::canonicalize(dir).map_err(io)?.join(format!(".{name}.lock"));
        loop {
            let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
            match held.get(&key).map(Weak::upgrade) {
                Some(Some(live)) => return Ok(live),
                // A handle of this process is being dropped: its `Drop` unlocks and
                // unregisters under this mutex; wait for it rather than fail.
                Some(None) => {}
                None => {
                    let file = owner_only().read(true).write(true).create(true).truncate(false).open(&key);
                    let file = file.map_err(io)?;
                    return match file.try_lock() {
                        Ok(()) => {
                            let lock = Arc::new(StateLock { file, key: key.clone() });
                            held.insert(key, Arc::downgrade(&lock));
                            Ok(lock)
                        }
                        Err(TryLockError::WouldBlock) => Err(StoreError::Locked { path: state.to_owned() }),
                        Err(TryLockError::Error(e)) => Err(io(e)),
                    };
                }
            }
            drop(held);
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        // Unlock before unregistering, under the registry mutex, so an `acquire`
        // in this process never finds the file locked with no live handle.
        let _ = self.file.unlock();
        held.remove(&self.key);
    }
}
