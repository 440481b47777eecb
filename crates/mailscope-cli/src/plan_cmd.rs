//! `mailscope plan FILE`.
//!
//! Owns: the command's flags (and [`PlanningArgs`], shared by the commands
//! that plan); choosing the output format; writing the saved plan and the
//! split comment files; the exit code (`--detailed-exitcode`: 2 when there
//! are changes). The plan, its rendering and the saved plan's contents are
//! `mailscope-planner`'s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mailscope_planner::render::MarkdownOptions;
use mailscope_planner::{LiveSnapshot, Plan, PlanOptions, RemovedApps, SavedPlan};

use crate::app_scope::AppScope;
use crate::inputs::{Inputs, Loaded, load_desired};
use crate::output;

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
    #[command(flatten)]
    inputs: Inputs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also save the plan, bound to its inputs, for `mailscope apply PLAN.json`.
    #[arg(long, value_name = "PLAN.json")]
    out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none (1 on error).
    #[arg(long)]
    detailed_exitcode: bool,
    /// The desired-state file as it was before the change under review (e.g.
    /// `git show origin/main:policies.yaml`): the markdown comment then
    /// separates "changed by this commit" from "changed outside git".
    #[arg(long, value_name = "FILE")]
    base: Option<PathBuf>,
    /// Write the markdown comment as `DIR/plan-1.md`, `plan-2.md`, … each
    /// under `--comment-limit` (one file when it fits), and print their
    /// paths; each part starts with its own hidden marker.
    #[arg(long, value_name = "DIR")]
    split: Option<PathBuf>,
    /// Most characters of one markdown comment (GitHub's limit by default);
    /// a longer plan is folded (or split with `--split`).
    #[arg(long, value_name = "N", default_value_t = mailscope_planner::render::COMMENT_LIMIT)]
    comment_limit: usize,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    scope: AppScope,
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
    apps: &[String],
) -> anyhow::Result<()> {
    let saved = SavedPlan::new(
        env!("CARGO_PKG_VERSION"),
        &file.display().to_string(),
        desired_sha256,
        &planning.options(),
        live,
        plan,
    )
    .with_apps(apps);
    write_private(path, &saved.to_json())
}

/// Writes `bytes` to `path` atomically (temporary file, `fsync`, rename),
/// the file readable by its owner only on unix: a saved plan holds the
/// tenant's live state (apps, mailboxes, scopes), which other local users
/// have no business reading. The mode is set when the temporary file is
/// created, so there is no moment when it is readable by others.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    // A leftover temporary file would keep its old mode: the mode applies
    // only to a file this call creates.
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
    })
}

/// Writes the parts of a markdown comment to `dir/plan-N.md`, removing
/// parts left over from an earlier, longer plan; returns the paths.
pub(crate) fn write_parts(dir: &Path, parts: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("plan-") && path.extension().is_some_and(|e| e == "md") {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let mut paths = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let path = dir.join(format!("plan-{}.md", i + 1));
        output::write_atomic(&path, part.as_bytes())?;
        paths.push(path);
    }
    Ok(paths)
}

pub(crate) async fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.format == Format::Markdown || (args.base.is_none() && args.split.is_none()),
        "--base and --split shape the markdown comment: add --format markdown"
    );
    anyhow::ensure!(args.comment_limit >= 1_000, "--comment-limit must be at least 1000");
    let base = match &args.base {
        Some(path) => Some(load_desired(path).with_context(|| format!("--base {}", path.display()))?.0),
        None => None,
    };
    let Loaded { desired, desired_sha256: sha, live, .. } = args.inputs.load().await?;
    // The tenant id for a tenant read; what a saved snapshot says otherwise.
    let tenant = live.tenant.clone();
    let plan = args.scope.limit(mailscope_planner::plan(&desired, &live, &args.planning.options())?)?;
    if let Some(out) = &args.out {
        save(out, &args.inputs.file, sha, &args.planning, &live, &plan, &args.scope.apps)?;
    }
    let base_plan = match &base {
        Some(base) => {
            let base = mailscope_planner::plan(base, &live, &args.planning.options()).context("--base")?;
            Some(if args.scope.apps.is_empty() { base } else { SavedPlan::scoped(&base, &args.scope.apps) })
        }
        None => None,
    };
    if args.format == Format::Markdown {
        let ci = crate::ci_env::current();
        let file = args.inputs.file.display().to_string();
        // Exposed now: against the file before the change under review when
        // there is one (what is in force), else against this file.
        let exposures = mailscope_planner::drift_exposures(base.as_ref().unwrap_or(&desired), &live);
        let options = MarkdownOptions {
            exposures: &exposures,
            limit: args.comment_limit,
            base: base_plan.as_ref(),
            file: Some(&file),
            tenant: tenant.as_deref(),
            commit: ci.commit.as_deref(),
            run_url: ci.run_url.as_deref(),
            ..MarkdownOptions::default()
        };
        if let Some(dir) = &args.split {
            let parts = mailscope_planner::render::markdown_parts_with(&plan, &options);
            let paths = write_parts(dir, &parts)?;
            let list = paths.iter().fold(String::new(), |mut acc, p| {
                acc.push_str(&p.display().to_string());
                acc.push('\n');
                acc
            });
            output::stdout(&list)?;
        } else {
            output::stdout(&mailscope_planner::render::markdown_with(&plan, &options))?;
        }
    } else {
        output::stdout(&render(&plan, args.format))?;
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_saved_plan_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mailscope-plan-mode-{}", std::process::id()));
        let path = dir.join("plan.json");
        std::fs::create_dir_all(&dir).unwrap();
        // Even over an existing world-readable file.
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::write_private(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "plan mode {mode:o}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
