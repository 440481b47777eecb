//! The inputs of the commands that compare a file with a tenant.
//!
//! Owns: reading the desired-state file (parsed and hashed), a saved live
//! snapshot (`--snapshot`), or the tenant through [`crate::target`], and
//! the shared [`Inputs`] arguments. I/O only: what the contents mean is
//! decided by `mailscope-spec` and `mailscope-planner`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use mailscope_planner::LiveSnapshot;
use mailscope_spec::DesiredState;

use crate::output;
use crate::target::{TenantArgs, connect, read_live};

/// Reads and validates a desired-state file.
pub(crate) fn load_desired(path: &Path) -> anyhow::Result<(DesiredState, String)> {
    let text = output::read_text(path)?;
    let desired = mailscope_spec::parse(&text, &path.display().to_string())
        .context("the desired-state file is invalid (run `mailscope validate` for details)")?;
    output::print_spec_warnings(&desired);
    Ok((desired, mailscope_planner::sha256_hex(text.as_bytes())))
}

/// Reads a live snapshot saved as JSON.
pub(crate) fn load_snapshot(path: &Path) -> anyhow::Result<LiveSnapshot> {
    let text = output::read_text(path)?;
    let live: LiveSnapshot = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a live snapshot (see docs/plan-format.md)", path.display()))?;
    anyhow::ensure!(
        live.format_version == mailscope_planner::SNAPSHOT_FORMAT_VERSION,
        "{}: snapshot formatVersion {} is not supported (this build reads {})",
        path.display(),
        live.format_version,
        mailscope_planner::SNAPSHOT_FORMAT_VERSION
    );
    Ok(live)
}

/// The desired file and where its live state comes from: `--snapshot` or
/// a tenant. Shared by the commands that compare the two (`plan`, `drift`).
#[derive(Debug, Args)]
pub(crate) struct Inputs {
    /// The desired-state file.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Use a live state saved as JSON (see docs/plan-format.md) instead of
    /// reading the tenant.
    #[arg(long, value_name = "LIVE.json", conflicts_with = "tenant")]
    pub(crate) snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) target: TenantArgs,
}

/// What [`Inputs::load`] read.
pub(crate) struct Loaded {
    pub(crate) desired: DesiredState,
    /// SHA-256 of the desired file's bytes.
    pub(crate) desired_sha256: String,
    pub(crate) live: LiveSnapshot,
    /// Where the live state came from: `snapshot PATH`, `sim:PATH` or the tenant.
    pub(crate) label: String,
}

impl Inputs {
    /// Reads the desired file, then its live state.
    pub(crate) async fn load(&self) -> anyhow::Result<Loaded> {
        let (desired, desired_sha256) = load_desired(&self.file)?;
        let (live, label) = if let Some(path) = &self.snapshot {
            (load_snapshot(path)?, format!("snapshot {}", path.display()))
        } else {
            let conn = connect(&self.target, Some(&desired)).await?;
            let live = read_live(&conn, &desired).await;
            let label = conn.label.clone();
            conn.close().await;
            (live?, label)
        };
        Ok(Loaded { desired, desired_sha256, live, label })
    }
}
