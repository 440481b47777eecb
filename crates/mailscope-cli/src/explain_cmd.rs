//! `mailscope explain APP MAILBOX`: may this app reach this mailbox, and
//! why — which grant, which policy or role assignment, which group
//! membership (direct), Deny beating Restrict.
//!
//! Owns: the flags, reading the tenant (as `audit` does) and wording the
//! verdict. The verdict itself is `mailscope_planner::access`'s, the one
//! decision the planner checks its plans with. Exit 0 when the app reaches
//! the mailbox with none of the asked permissions, 2 when it reaches it
//! with one, 1 on error.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mailscope_planner::access::{
    AccessModel, EntraGrant, PolicyReason, PolicyScope, RbacPath, RbacScope, Verdict,
};
use serde_json::json;

use crate::audit_cmd::read_tenant;
use crate::inputs::load_snapshot;
use crate::output;
use crate::target::{self, TenantArgs};

/// How a verdict is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExplainFormat {
    /// One verdict per permission, with its reasons.
    Text,
    /// `{app, appId, mailbox, verdicts: [{permission, allowed, entra, rbac}]}`.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The app: its client id, or its Entra display name.
    #[arg(value_name = "APP")]
    app: String,
    /// The mailbox's primary SMTP address.
    #[arg(value_name = "MAILBOX")]
    mailbox: String,
    /// Only this permission (e.g. `Mail.Send`); every mailbox permission
    /// the app holds otherwise.
    #[arg(long, value_name = "PERMISSION")]
    permission: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    format: ExplainFormat,
    /// Explain against a live state saved as JSON instead of the tenant.
    #[arg(long, value_name = "LIVE.json", conflicts_with = "tenant")]
    snapshot: Option<PathBuf>,
    #[command(flatten)]
    target: TenantArgs,
}

pub(crate) async fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let live = if let Some(path) = &args.snapshot {
        load_snapshot(path)?
    } else {
        let conn = target::connect(&args.target, None).await?;
        let live = read_tenant(&conn, None).await;
        conn.close().await;
        live?
    };
    // A display name is accepted where Entra knows it; the client id otherwise.
    let (app_id, name) = live
        .service_principals
        .iter()
        .find(|s| s.app_id.eq_ignore_ascii_case(&args.app) || s.display_name.eq_ignore_ascii_case(&args.app))
        .map_or_else(|| (args.app.clone(), String::new()), |s| (s.app_id.clone(), s.display_name.clone()));
    let model = AccessModel::from_live(&live);
    let permissions = match &args.permission {
        Some(p) => vec![p.clone()],
        None => model.permissions_of(&app_id),
    };
    let verdicts: Vec<(String, Verdict)> =
        permissions.into_iter().map(|p| (p.clone(), model.decide(&app_id, &p, &args.mailbox))).collect();
    let reached = verdicts.iter().any(|(_, v)| v.allowed);
    let text = match args.format {
        ExplainFormat::Json => {
            let mut out = serde_json::to_string_pretty(&json!({
                "app": name,
                "appId": app_id,
                "mailbox": args.mailbox,
                "reached": reached,
                "verdicts": verdicts.iter().map(|(p, v)| json!({
                    "permission": p,
                    "allowed": v.allowed,
                    "entra": v.entra,
                    "rbac": v.rbac,
                })).collect::<Vec<_>>(),
            }))?;
            out.push('\n');
            out
        }
        ExplainFormat::Text => explain_text(&name, &app_id, &args.mailbox, &verdicts),
    };
    output::stdout(&text)?;
    Ok(if reached { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn explain_text(name: &str, app_id: &str, mailbox: &str, verdicts: &[(String, Verdict)]) -> String {
    let who = if name.is_empty() { app_id.to_owned() } else { format!("{name} ({app_id})") };
    let mut out = String::new();
    if verdicts.is_empty() {
        let _ = writeln!(out, "{who} cannot reach {mailbox}: it holds no mailbox permission.");
        return out;
    }
    for (permission, v) in verdicts {
        let word = if v.allowed { "CAN" } else { "cannot" };
        let _ = writeln!(out, "{who} {word} use {permission} on {mailbox}.");
        let _ = writeln!(out, "  - Entra: {}", entra_line(v));
        for r in &v.rbac {
            let _ = writeln!(out, "  - RBAC: {}", rbac_line(r));
        }
        if v.rbac.is_empty() {
            let _ = writeln!(out, "  - RBAC: no role assignment grants {permission}");
        }
    }
    out
}

fn scope_name(s: &PolicyScope) -> String {
    match s {
        PolicyScope::Group(g) => format!("group {g}"),
        PolicyScope::Mailbox(m) => format!("mailbox {m}"),
        PolicyScope::Unresolved(id) => format!("deleted scope {id}"),
    }
}

fn entra_line(v: &Verdict) -> String {
    let grant = match &v.entra.grant {
        EntraGrant::None => return "no grant of this permission".to_owned(),
        EntraGrant::Granted { resources } => format!("granted on {}", resources.join(" and ")),
        EntraGrant::Assumed => "grants were not read: assumed granted tenant-wide".to_owned(),
    };
    let Some(policy) = &v.entra.policy else {
        return format!("{grant}; access policies cannot fence it, so it reaches every mailbox");
    };
    let why = match &policy.reason {
        PolicyReason::NoPolicy => "no access policy: it reaches every mailbox".to_owned(),
        PolicyReason::Denied { scope } => {
            format!("a DenyAccess policy on {} holds the mailbox (Deny beats Restrict)", scope_name(scope))
        }
        PolicyReason::InRestrictScope { scope } => {
            format!("a RestrictAccess policy on {} holds the mailbox (direct member)", scope_name(scope))
        }
        PolicyReason::OutsideRestrictScopes { scopes } => format!(
            "RestrictAccess policies on {} do not hold the mailbox (direct members only)",
            scopes.iter().map(scope_name).collect::<Vec<_>>().join(", ")
        ),
        PolicyReason::NotDenied { deny_scopes } => format!(
            "only DenyAccess policies ({}), none holds the mailbox",
            deny_scopes.iter().map(scope_name).collect::<Vec<_>>().join(", ")
        ),
    };
    format!("{grant}; {why}")
}

fn rbac_line(r: &RbacPath) -> String {
    let scope = match &r.scope {
        RbacScope::Organization => "organization-wide: every mailbox".to_owned(),
        RbacScope::Member { scope, group } => {
            format!("scope {scope}: the mailbox is a direct member of {group}")
        }
        RbacScope::NotMember { scope, group } => {
            format!("scope {scope}: the mailbox is not a direct member of {group}")
        }
        RbacScope::Excluded { scope, group } => {
            format!("scope {scope}: the mailbox is in its excluded group {group}")
        }
        RbacScope::AllRecipients { scope, except } => match except {
            Some(g) => format!("scope {scope}: every recipient outside {g}"),
            None => format!("scope {scope}: every recipient"),
        },
        RbacScope::UnknownGroup { scope, dn } => {
            format!("scope {scope} names an unknown group {dn}: assumed to match")
        }
        RbacScope::Opaque { scope, filter } => {
            format!("scope {scope} has a filter mailscope cannot read ({filter}): assumed to match")
        }
        RbacScope::Missing { scope } => format!("scope {scope} does not exist: assumed to match"),
    };
    format!("{} ({}): {scope}", r.role, r.assignment)
}
