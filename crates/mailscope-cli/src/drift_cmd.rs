//! `mailscope drift FILE`: read-only drift detection (exit 0 in sync, 2 drift).

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mailscope_planner::render::{MarkdownOptions, TextOptions};
use mailscope_planner::{AppChange, Plan};
use serde_json::json;

use crate::app_scope::AppScope;
use crate::inputs::{Inputs, Loaded};
use crate::output;
use crate::plan_cmd::PlanningArgs;

/// The markdown drift report: an issue body whose hidden first line is
/// `<!-- mailscope-drift -->` (for updating the issue), titled
/// `mailscope drift: in sync` or `mailscope drift: correcting it takes …`.
fn markdown_options() -> MarkdownOptions<'static> {
    MarkdownOptions {
        marker: "mailscope-drift",
        title: "mailscope drift",
        no_changes: "in sync",
        changes_lead: "correcting it takes ",
        ..MarkdownOptions::default()
    }
}

/// How a drift report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DriftFormat {
    /// A verdict line, then the plan that would correct the drift.
    Text,
    /// `{inSync, file, tenant, drifted, findings, plan}`.
    Json,
    /// An issue body (hidden marker `<!-- mailscope-drift -->`).
    Markdown,
    /// SARIF 2.1.0 for code-scanning views, pointing at the app's line.
    Sarif,
}

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DriftFormat::Text)]
    format: DriftFormat,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    scope: AppScope,
}

/// The apps whose tenant state differs from the file, as JSON.
pub(crate) fn drifted_apps(plan: &Plan) -> Vec<serde_json::Value> {
    plan.apps
        .iter()
        .filter(|a| a.change != AppChange::Unchanged)
        .map(|a| {
            json!({
                "name": a.name,
                "appId": a.app_id,
                "change": a.change,
                "line": a.line,
                "before": a.before.to_string(),
                "after": a.after.to_string(),
                "steps": plan.steps_of(&a.app_id).count(),
                "correctingWidens": a.widens(),
            })
        })
        .collect()
}

pub(crate) async fn run(args: &DriftArgs) -> anyhow::Result<ExitCode> {
    let Loaded { desired, live, label, .. } = args.inputs.load().await?;
    let plan = args.scope.limit(mailscope_planner::plan(&desired, &live, &args.planning.options())?)?;
    let in_sync = plan.is_empty();
    // An RBAC app that keeps a tenant-wide Entra grant reaches every mailbox
    // although no step is left to plan (the file says `entraGrants: keep`):
    // that is drift from what the file means, so it fails the check too.
    let trapped = plan.findings.iter().any(|f| f.code == "additive-trap");
    // Drift that lets an app reach a mailbox the file does not allow.
    let exposures = mailscope_planner::drift_exposures(&desired, &live);
    let text = match args.format {
        DriftFormat::Text => {
            let head = if in_sync && trapped {
                format!(
                    "Objects in sync, but an app of {} reaches more than its RBAC scope (additive trap, below).\n",
                    args.inputs.file.display()
                )
            } else if in_sync {
                format!("In sync: {label} matches {}.\n", args.inputs.file.display())
            } else {
                let n = plan.apps.iter().filter(|a| a.change != AppChange::Unchanged).count();
                format!(
                    "Drift: {n} app{} of {label} differ{} from {}. Correcting it takes:\n\n",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" },
                    args.inputs.file.display()
                )
            };
            let mut exposed = String::new();
            for e in &exposures {
                let mut what = e.mailboxes.join(", ");
                if e.every_other_mailbox {
                    what.push_str(if what.is_empty() { "every mailbox" } else { " and every other mailbox" });
                }
                let _ =
                    writeln!(exposed, "Exposure: {} ({}) reaches {what} against the file.", e.app, e.app_id);
            }
            if !exposed.is_empty() {
                exposed.push('\n');
            }
            // The head line above is the verdict; an empty plan without
            // findings renders as nothing.
            let options = TextOptions { color: output::use_color(), verdict: false };
            format!("{head}{exposed}{}", mailscope_planner::render::text_with(&plan, &options))
        }
        DriftFormat::Json => {
            let mut out = serde_json::to_string_pretty(&json!({
                "inSync": in_sync,
                "file": args.inputs.file.display().to_string(),
                "tenant": label,
                "drifted": drifted_apps(&plan),
                "exposures": exposures,
                "findings": plan.findings,
                "plan": plan,
            }))?;
            out.push('\n');
            out
        }
        DriftFormat::Markdown => mailscope_planner::render::markdown_with(
            &plan,
            &MarkdownOptions { exposures: &exposures, ..markdown_options() },
        ),
        DriftFormat::Sarif => mailscope_planner::render::sarif_with_exposures(
            &plan,
            &args.inputs.file.to_string_lossy(),
            &label,
            &exposures,
        ),
    };
    output::stdout(&text)?;
    Ok(if in_sync && !trapped { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
