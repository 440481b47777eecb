//! `mailscope export`: a desired-state file from the tenant as it is.
//!
//! Reads the tenant (every policy's scope group included) and prints the
//! file that `mailscope_planner::export` builds from it, written by
//! `mailscope_spec::to_yaml`.

use std::process::ExitCode;

use clap::Args;
use mailscope_exo::SnapshotRequest;
use mailscope_planner::{LiveSnapshot, parse_marker};

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
    let live = match live {
        Ok(live) => Ok(with_entra_names(&conn, live).await),
        Err(e) => Err(e),
    };
    let tenant = conn.session.tenant().to_owned();
    conn.close().await;
    let live = live?;
    let file = mailscope_planner::export::export(&live, &tenant, &args.apps);
    output::stdout(&mailscope_spec::to_yaml(&file)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Adds the Entra service principal (for its display name) of every app the
/// export will write, so apps are named as admins know them. Needs Graph
/// `Application.Read.All`; without it (or on any Graph error) the names fall
/// back to group names and client ids, with a warning.
async fn with_entra_names(conn: &target::Connection, mut live: LiveSnapshot) -> LiveSnapshot {
    let mut app_ids: Vec<String> = live
        .policies
        .iter()
        .map(|p| p.app_id.to_ascii_lowercase())
        .chain(live.groups.iter().filter_map(|g| g.marker.as_deref().and_then(parse_marker)).map(|(a, _)| a))
        .filter(|a| mailscope_spec::is_guid(a))
        .collect();
    app_ids.sort();
    app_ids.dedup();
    let graph = conn.session.graph();
    for app_id in app_ids {
        if live.service_principals.iter().any(|sp| sp.app_id.eq_ignore_ascii_case(&app_id)) {
            continue;
        }
        match graph.service_principal(&app_id).await {
            Ok(Some(sp)) => live.service_principals.push(sp),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read Entra display names; apps are named after their groups");
                break;
            }
        }
    }
    live
}
