//! The state file: the whole tenant plus the token signing key, written
//! atomically (temp file + fsync + rename + directory fsync) after every
//! committed mutation, so a crash leaves either the old or the new state.

use std::io::Write as _;
use std::path::{Path, PathBuf};

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
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
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
