//! `mailscope export`: a desired-state file from the tenant as it is.
//!
//! Reads the tenant (every policy's scope group included) and prints the
//! file that `mailscope_planner::export` builds from it, written by
//! `mailscope_spec::to_yaml`.

use std::process::ExitCode;

use clap::Args;
use mailscope_exo::SnapshotRequest;

use crate::output;
use crate::target::{self, TenantArgs};

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Only these application (client) ids; all apps with a policy otherwise.
    #[arg(long = "app", value_name = "APPID")]
    apps: Vec<String>,
    #[command(flatten)]
    target: TenantArgs,
}

pub(crate) async fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let conn = target::connect(&args.target, None).await?;
    let request = SnapshotRequest { all_policy_groups: true, ..SnapshotRequest::default() };
    let live = conn.session.exo().read_snapshot(&request).await;
    let tenant = conn.session.tenant().to_owned();
    conn.close().await;
    let live = live?;
    let file = mailscope_planner::export::export(&live, &tenant, &args.apps);
    output::stdout(&mailscope_spec::to_yaml(&file)?)?;
    Ok(ExitCode::SUCCESS)
}
