//! `mailscope audit [FILE]`: every app that can reach mailboxes, how far,
//! and what to do (exit 0 none unrestricted, 2 one is, 1 error).
//!
//! Owns: the command's flags; reading the whole tenant (every policy's
//! scope group, and the Entra grants of Microsoft Graph and Exchange Online
//! with their holders); printing. What the report says is
//! [`mailscope_planner::audit`]'s.
//!
//! RBAC for Applications role assignments are not read by this build's
//! client yet: the report says so (`rbacNotRead`) instead of showing none.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mailscope_exo::{ExoErrorKind, SnapshotRequest};
use mailscope_planner::{AuditOptions, LiveSnapshot};
use mailscope_spec::DesiredState;

use crate::inputs::{load_desired, load_snapshot};
use crate::output;
use crate::target::{self, Connection, TenantArgs};

/// How an audit is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuditFormat {
    /// Apps worst first, their permissions and advice, then checks.
    Text,
    /// The report as JSON (docs/usage.md, "audit").
    Json,
    /// An issue or PR comment (hidden marker `<!-- mailscope-audit -->`).
    Markdown,
    /// SARIF 2.1.0 for code-scanning views: a result per finding, an app
    /// that reaches every mailbox as an error.
    Sarif,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// A desired-state file: marks apps as listed or not and checks that
    /// each listed app holds a mailbox permission.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    format: AuditFormat,
    /// Audit a live state saved as JSON instead of reading the tenant.
    #[arg(long, value_name = "LIVE.json", conflicts_with = "tenant")]
    snapshot: Option<PathBuf>,
    #[command(flatten)]
    target: TenantArgs,
}

pub(crate) async fn run(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let desired = args.file.as_deref().map(load_desired).transpose()?.map(|(d, _)| d);
    // A tenant read always reads the RBAC objects (`Get-ServicePrincipal`
    // first); a saved snapshot may predate them.
    let (live, rbac_read) = if let Some(path) = &args.snapshot {
        let live = load_snapshot(path)?;
        let read = rbac_was_read(&live);
        (live, read)
    } else {
        let conn = target::connect(&args.target, desired.as_ref()).await?;
        let live = read_tenant(&conn, desired.as_ref()).await;
        conn.close().await;
        (live?, true)
    };
    let options = AuditOptions { rbac_read };
    let report = mailscope_planner::audit(&live, desired.as_ref(), options);
    let text = match args.format {
        AuditFormat::Text => mailscope_planner::render::audit_text(&report),
        AuditFormat::Json => mailscope_planner::render::audit_json(&report),
        AuditFormat::Markdown => mailscope_planner::render::audit_markdown(&report),
        AuditFormat::Sarif => {
            let file = args.file.as_deref().map(|f| f.to_string_lossy().into_owned());
            mailscope_planner::render::audit_sarif(&report, file.as_deref().zip(desired.as_ref()))
        }
    };
    output::stdout(&text)?;
    Ok(if report.any_unrestricted() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// RBAC objects are in a saved snapshot only when the client that wrote it
/// read them; one without any reads the same as an unread one, so the audit
/// says "not read" rather than claim there are none.
fn rbac_was_read(live: &LiveSnapshot) -> bool {
    !live.exchange_service_principals.is_empty() || !live.role_assignments.is_empty()
}

/// Reads policies with every scope group and its members, and the Entra
/// grants with their holders. Grants the operator may not read
/// (`Application.Read.All` missing) leave `grants_read` false.
pub(crate) async fn read_tenant(
    conn: &Connection,
    desired: Option<&DesiredState>,
) -> anyhow::Result<LiveSnapshot> {
    let mut request = SnapshotRequest { all_policy_groups: true, ..SnapshotRequest::default() };
    if let Some(desired) = desired {
        let reads = mailscope_planner::reads_for(desired);
        request.app_ids = reads.app_ids;
        request.group_names = reads.group_names;
        request.addresses = reads.addresses;
    }
    let exo = desired.map_or_else(|| conn.session.exo(), |d| crate::target::exo_for(conn, d));
    let graph = conn.session.graph();
    let (live, access) = tokio::join!(exo.read_snapshot(&request), graph.list_mailbox_access());
    let mut live = live.with_context(|| format!("cannot read the live state of {}", conn.label))?;
    live.tenant = Some(conn.tenant_id.clone());
    match access {
        Ok(access) => {
            live.grants = access.grants;
            live.service_principals = access.service_principals;
            live.grants_read = true;
        }
        Err(e) if e.kind == ExoErrorKind::Forbidden => live.grants_read = false,
        Err(e) => return Err(e).with_context(|| format!("cannot read the Entra grants of {}", conn.label)),
    }
    Ok(live)
}
