//! Renderers of an [`AuditReport`]: text for a terminal, markdown for an
//! issue or PR comment, pretty JSON (`docs/usage.md`, "audit").
//!
//! Names and scope names come from the tenant: every one passes through
//! [`printable`], and in markdown through `render::escape` (a name must not
//! restyle the report, split its table or hide rows in an HTML comment).

use std::fmt::Write as _;

use crate::audit::{AuditApp, AuditCheck, AuditReport, Exposure};
use crate::render::escape::{Span, md_code, md_text};
use crate::render::printable;

/// Pretty JSON of the report, with a trailing newline.
///
/// # Panics
///
/// Never: a report is plain data.
pub fn audit_json(report: &AuditReport) -> String {
    let mut out = serde_json::to_string_pretty(report).expect("an audit report always serialises");
    out.push('\n');
    out
}

/// The report as text: a verdict line, each app with its permissions, then
/// the checks.
pub fn audit_text(report: &AuditReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", verdict(report));
    for app in &report.apps {
        out.push('\n');
        let _ = writeln!(out, "{}", app_head(app));
        for p in &app.permissions {
            let _ = writeln!(out, "  - {}", p.line_with(printable));
        }
        for a in &app.advice {
            let _ = writeln!(out, "  → {a}");
        }
    }
    if !report.checks.is_empty() {
        out.push_str("\nChecks:\n");
        for c in &report.checks {
            let _ = writeln!(out, "  ! {}", check_line(c, printable));
        }
    }
    let room = report.policy_room;
    let _ =
        writeln!(out, "\nApplication access policies: {} of {} ({} left).", room.used, room.limit, room.left);
    out
}

/// The report as markdown (hidden first line `<!-- mailscope-audit -->`).
pub fn audit_markdown(report: &AuditReport) -> String {
    let mut out = String::from("<!-- mailscope-audit -->\n");
    let _ = writeln!(out, "### mailscope audit: {}\n", verdict(report));
    if !report.apps.is_empty() {
        out.push_str("| App | App id | Reach | Permissions | File |\n|---|---|---|---|---|\n");
        for app in &report.apps {
            let perms: Vec<String> = app.permissions.iter().map(|p| p.line_with(md_text)).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md_text(&app.name),
                md_code(&app.app_id, Span::Cell),
                exposure_word(app.exposure),
                perms.join("; "),
                match app.listed {
                    Some(true) => "listed",
                    Some(false) => "**unlisted**",
                    None => "—",
                }
            );
        }
    }
    if !report.checks.is_empty() {
        out.push_str("\n**Checks**\n\n");
        for c in &report.checks {
            let _ = writeln!(out, "- {}", check_line(c, md_text));
        }
    }
    let room = report.policy_room;
    let _ =
        writeln!(out, "\nApplication access policies: {} of {} ({} left).", room.used, room.limit, room.left);
    out
}

fn verdict(report: &AuditReport) -> String {
    let open =
        report.apps.iter().filter(|a| a.exposure == Exposure::Unrestricted && a.excluded.is_none()).count();
    let n = report.apps.len();
    let apps = |n: usize| if n == 1 { "app" } else { "apps" };
    if open == 0 {
        format!("{n} {} can reach mailboxes; none without restriction.", apps(n))
    } else {
        format!("{n} {} can reach mailboxes; {open} without restriction.", apps(n))
    }
}

fn exposure_word(e: Exposure) -> &'static str {
    match e {
        Exposure::Unrestricted => "UNRESTRICTED",
        Exposure::AllBut => "all but a deny-list",
        Exposure::Scoped => "scoped",
    }
}

fn app_head(app: &AuditApp) -> String {
    let name = if app.name.is_empty() { "(no name)".to_owned() } else { printable(&app.name) };
    let mut tags = vec![exposure_word(app.exposure)];
    match app.listed {
        Some(true) => tags.push("listed"),
        Some(false) => tags.push("unlisted"),
        None => {}
    }
    if app.managed {
        tags.push("managed");
    }
    if app.excluded.is_some() {
        tags.push("excluded");
    }
    format!("{name} ({}) [{}]", printable(&app.app_id), tags.join(", "))
}

/// One check in words; `esc` makes each tenant-supplied value safe for the
/// renderer (`printable` for text, `md_text` for markdown).
pub(super) fn check_line(c: &AuditCheck, esc: fn(&str) -> String) -> String {
    match c {
        AuditCheck::NoMailboxPermission { app, app_id, object_id_of } => match object_id_of {
            Some(client) => format!(
                "{} ({}) holds no mailbox permission: {} is a service principal's object id; its client id is {}",
                esc(app),
                esc(app_id),
                esc(app_id),
                esc(client)
            ),
            None => {
                format!("{} ({}) holds no mailbox permission: is the app id right?", esc(app), esc(app_id))
            }
        },
        AuditCheck::DeletedScope { policy, app_id, scope_name } => format!(
            "policy {} of {} points at {}, which no longer exists: the app reaches no mailbox through it; \
             remove the policy or recreate the group",
            esc(policy),
            esc(app_id),
            esc(scope_name)
        ),
        AuditCheck::NestedGroup { group, member } => format!(
            "scope group {} holds the group {}: nested members are not reliably honoured; add mailboxes directly",
            esc(group),
            esc(member)
        ),
        AuditCheck::NotSecurityGroup { group, recipient_type: kind } => format!(
            "scope group {} is a {} and not a mail-enabled security group: Exchange accepts only those as \
             policy scopes; use a mail-enabled security group",
            esc(group),
            esc(kind)
        ),
        AuditCheck::Ews { app_id, name } => format!(
            "{} ({}) relies on EWS (full_access_as_app): switched off for apps on {} and retired on {}",
            esc(name),
            esc(app_id),
            crate::audit::EWS_SWITCH_OFF,
            crate::audit::EWS_RETIREMENT
        ),
        AuditCheck::RbacNotRead => {
            "RBAC for Applications role assignments were not read: RBAC reach is not shown".to_owned()
        }
        AuditCheck::GrantsNotRead => {
            "Entra grants were not read (Application.Read.All missing?): no app's permissions are known"
                .to_owned()
        }
    }
}
