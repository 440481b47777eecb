//! `mailscope show PLAN.json [--format …]`: renders a plan saved by
//! `mailscope plan --out`, without reaching any tenant. Reading only: a plan
//! made by another mailscope version is shown (with a note), though `apply`
//! would refuse it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use mailscope_planner::{SAVED_PLAN_VERSION, SavedPlan};

use crate::output;
use crate::plan_cmd::{Format, render};

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A plan saved by `mailscope plan --out`.
    #[arg(value_name = "PLAN.json")]
    plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// The line above a text rendering: what the plan was made from.
fn heading(saved: &SavedPlan) -> String {
    let tenant = saved.tenant_id.as_deref().map_or_else(String::new, |t| format!(" for tenant {t}"));
    let apps = if saved.apps.is_empty() {
        String::new()
    } else {
        format!(", limited to --app {}", saved.apps.join(", --app "))
    };
    format!(
        "Saved plan of {}{tenant}{apps} (mailscope {}, {}).\n\n",
        saved.desired_file,
        saved.tool_version,
        if saved.remove_unlisted { "removing unlisted apps" } else { "locking down unlisted apps" }
    )
}

pub(crate) fn run(args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let text = output::read_text(&args.plan)?;
    let saved: SavedPlan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a plan saved by `mailscope plan --out`", args.plan.display()))?;
    anyhow::ensure!(
        saved.saved_plan_version == SAVED_PLAN_VERSION,
        "{}: saved plan version {} is not supported",
        args.plan.display(),
        saved.saved_plan_version
    );
    if saved.tool_version != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "note: {} was made by mailscope {}; this is {}, whose `apply` would refuse it",
            args.plan.display(),
            saved.tool_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let body = render(&saved.plan, args.format);
    let out = if args.format == Format::Text { format!("{}{body}", heading(&saved)) } else { body };
    output::stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}
