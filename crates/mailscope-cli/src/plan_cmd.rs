//! `mailscope plan FILE`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mailscope_planner::{LiveSnapshot, Plan, PlanOptions, RemovedApps, SavedPlan};
use mailscope_spec::DesiredState;

use crate::output;
use crate::target::{self, TenantArgs};

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Terraform-like text (coloured on a terminal unless `NO_COLOR` is set).
    Text,
    /// A pull-request comment.
    Markdown,
    /// The JSON plan format of docs/plan-format.md.
    Json,
}

/// Options shared by every command that plans.
#[derive(Debug, Args)]
pub(crate) struct PlanningArgs {
    /// Remove the managed groups and policies of apps that left the file,
    /// instead of locking them down (emptying their allow group). Removing
    /// widens those apps, so it also needs approval to apply.
    #[arg(long)]
    pub(crate) remove_unlisted: bool,
}

impl PlanningArgs {
    pub(crate) fn options(&self) -> PlanOptions {
        PlanOptions {
            removed_apps: if self.remove_unlisted { RemovedApps::Remove } else { RemovedApps::LockDown },
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The desired-state file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Plan against a live state saved as JSON (see docs/plan-format.md)
    /// instead of reading the tenant.
    #[arg(long, value_name = "LIVE.json", conflicts_with = "tenant")]
    snapshot: Option<PathBuf>,
    #[command(flatten)]
    target: TenantArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also save the plan, bound to its inputs, for `mailscope apply PLAN.json`.
    #[arg(long, value_name = "PLAN.json")]
    out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none (1 on error).
    #[arg(long)]
    detailed_exitcode: bool,
    #[command(flatten)]
    planning: PlanningArgs,
}

/// Reads and validates a desired-state file.
pub(crate) fn load_desired(path: &Path) -> anyhow::Result<(DesiredState, String)> {
    let text = output::read_text(path)?;
    let desired = mailscope_spec::parse(&text, &path.display().to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the desired-state file is invalid (run `mailscope validate` for details)")?;
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

/// Renders a plan in the chosen format.
pub(crate) fn render(plan: &Plan, format: Format) -> String {
    match format {
        Format::Text => mailscope_planner::render::text(plan, output::use_color()),
        Format::Markdown => mailscope_planner::render::markdown(plan),
        Format::Json => mailscope_planner::render::json(plan),
    }
}

/// Writes a saved plan file.
pub(crate) fn save(
    path: &Path,
    file: &Path,
    desired_sha256: String,
    planning: &PlanningArgs,
    live: &LiveSnapshot,
    plan: &Plan,
) -> anyhow::Result<()> {
    let saved = SavedPlan {
        saved_plan_version: mailscope_planner::SAVED_PLAN_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        desired_file: file.display().to_string(),
        desired_sha256,
        remove_unlisted: planning.remove_unlisted,
        live_fingerprint: mailscope_planner::fingerprint(live),
        live: mailscope_planner::normalize(live),
        plan: plan.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&saved)?;
    bytes.push(b'\n');
    output::write_atomic(path, &bytes)
}

pub(crate) async fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let (desired, sha) = load_desired(&args.file)?;
    let live = if let Some(path) = &args.snapshot {
        load_snapshot(path)?
    } else {
        let conn = target::connect(&args.target, Some(&desired)).await?;
        let live = target::read_live(&conn, &desired).await;
        conn.close().await;
        live?
    };

    let plan = mailscope_planner::plan(&desired, &live, &args.planning.options())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(out) = &args.out {
        save(out, &args.file, sha, &args.planning, &live, &plan)?;
    }
    output::stdout(&render(&plan, args.format))?;
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
