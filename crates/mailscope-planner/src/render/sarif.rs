//! SARIF 2.1.0 for `mailscope drift --format sarif`: drift, unscoped apps and
//! findings as code-scanning results pointing at the desired file.
//!
//! Rules: `drift` (an app whose tenant state differs from the file; error
//! when correcting it narrows access, i.e. the tenant gives more than the
//! file, warning otherwise), `unscoped-app` (an app of the file that reaches
//! every mailbox right now), `unlisted-app` (an app not in the file that
//! still has policies, mailscope-managed or not), `unmanaged-policy`,
//! `dangling-policy`, and `finding` for any other report. Results point at
//! the app's line in the file (`AppPlan.line`), or at line 1 for apps that
//! are not in it.
//!
//! Names and finding texts come from the tenant and are untrusted. Message
//! text is plain text in SARIF, but viewers interpret `{n}` placeholders and
//! `[text](n)` embedded links in it (SARIF 2.1.0, §3.11.5 and §3.11.6), and
//! show control characters as they are; `plain_text` neutralises all of
//! them.

use serde_json::{Value, json};

use mailscope_spec::DesiredState;

use super::printable;
use crate::audit::{AuditCheck, AuditReport, Exposure};
use crate::exposure::DriftExposure;
use crate::plan::{AccessSummary, AppChange, Plan};

struct Rule {
    id: &'static str,
    name: &'static str,
    short: &'static str,
    full: &'static str,
    level: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        id: "drift",
        name: "TenantDrift",
        short: "The tenant differs from the desired-state file",
        full: "The app's groups, members or application access policies in Exchange Online differ from what the file says. \
               `mailscope plan` shows the changes; `mailscope apply` or `mailscope reconcile --correct` restores the file's state.",
        level: "error",
    },
    Rule {
        id: "unscoped-app",
        name: "UnscopedApp",
        short: "The app can reach every mailbox",
        full: "No RestrictAccess application access policy applies to the app: with an Entra application permission such as Mail.Send it can reach every mailbox of the tenant.",
        level: "error",
    },
    Rule {
        id: "unlisted-app",
        name: "UnlistedApp",
        short: "An app the file does not list can reach mailboxes or has policies",
        full: "An app the file does not list holds a mailbox-reaching permission (`unlistedApps: warn` names it with its reach) \
               or still has application access policies (mailscope-managed or not). List it, exclude it under \
               `unlistedApps.exclude` with a reason, or set `unlistedApps: lock-down`.",
        level: "warning",
    },
    Rule {
        id: "unmanaged-policy",
        name: "UnmanagedPolicy",
        short: "A policy mailscope does not manage also applies to the app",
        full: "An application access policy without mailscope's marker applies to an app of the file and changes what it can reach. Adopt its group with `group:` or remove it.",
        level: "warning",
    },
    Rule {
        id: "dangling-policy",
        name: "DanglingPolicy",
        short: "A policy points at a scope that no longer exists",
        full: "Exchange most likely treats a policy whose scope group was deleted as an empty scope.",
        level: "warning",
    },
    Rule {
        id: "finding",
        name: "Finding",
        short: "Reported by the planner, not changed",
        full: "Something the plan reports without changing it; the message says what and why.",
        level: "note",
    },
];

/// A relative file path as a SARIF artifact URI (forward slashes, no `./`).
fn uri(file: &str) -> String {
    let text = file.replace('\\', "/");
    text.strip_prefix("./").unwrap_or(&text).to_owned()
}

/// Message text that a SARIF viewer shows literally: braces doubled (so no
/// `{0}` placeholder), square brackets and backslashes escaped (so no
/// embedded link), and [`printable`] (so a name cannot break lines or
/// reorder what is shown).
fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn result(rule: &str, level: &str, message: &str, file: &str, line: u64, key: &str) -> Value {
    result_in(RULES, rule, level, message, Some((file, line)), key)
}

/// One result of a log whose driver lists `rules`; `at` is the file and
/// line it points at (none for an audit without a desired file).
fn result_in(
    rules: &[Rule],
    rule: &str,
    level: &str,
    message: &str,
    at: Option<(&str, u64)>,
    key: &str,
) -> Value {
    let mut out = json!({
        "ruleId": rule,
        "ruleIndex": rules.iter().position(|r| r.id == rule).unwrap_or(rules.len() - 1),
        "level": level,
        "message": { "text": plain_text(message) },
        "partialFingerprints": { "mailscope/v1": format!("{rule}:{key}") }
    });
    if let Some((file, line)) = at {
        out["locations"] = json!([{
            "physicalLocation": {
                "artifactLocation": { "uri": file, "uriBaseId": "%SRCROOT%" },
                "region": { "startLine": line.max(1) }
            }
        }]);
    }
    out
}

/// A SARIF 2.1.0 log of one run of mailscope with `rules` and `results`.
fn log(rules: &[Rule], automation_id: &str, help: &str, results: &[Value]) -> String {
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.short },
                "fullDescription": { "text": r.full },
                "defaultConfiguration": { "level": r.level },
                "helpUri": help
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mailscope",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/mailscope",
                "rules": rules
            }},
            "automationDetails": { "id": automation_id },
            "results": results
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).expect("a SARIF log always serialises");
    out.push('\n');
    out
}

/// The drift report of `plan` (planned from the desired file `file`, a path
/// relative to the repository root, against `tenant`) as a SARIF 2.1.0 log.
///
/// # Panics
///
/// Never: the log is plain JSON data.
pub fn sarif(plan: &Plan, file: &str, tenant: &str) -> String {
    sarif_log(plan, file, tenant, None)
}

/// [`sarif`] with drift severity decided by exposure
/// ([`crate::drift_exposures`]): an app's drift is an `error` naming the
/// mailboxes it reaches against the file, and a `warning` when it reaches
/// nothing it should not (an allowed mailbox missing, a marker, …).
pub fn sarif_with_exposures(plan: &Plan, file: &str, tenant: &str, exposures: &[DriftExposure]) -> String {
    sarif_log(plan, file, tenant, Some(exposures))
}

fn exposure_text(e: &DriftExposure) -> String {
    let mut parts: Vec<String> = e.mailboxes.clone();
    if e.every_other_mailbox {
        parts.push("every mailbox the file does not name".to_owned());
    }
    format!("; exposure: it reaches {} against the file", parts.join(", "))
}

fn sarif_log(plan: &Plan, file: &str, tenant: &str, exposures: Option<&[DriftExposure]>) -> String {
    let file = uri(file);
    let mut results = Vec::new();
    let by_app = super::steps_by_app(plan);
    for app in &plan.apps {
        let line = app.line.unwrap_or(1);
        match app.change {
            AppChange::Unchanged => {}
            AppChange::LockDown if app.unlisted => results.push(result(
                "unlisted-app",
                "warning",
                &format!(
                    "app {} ({}) is not in the file and reaches {} of {tenant}; the plan would lock it down \
                     (unlistedApps: lock-down)",
                    app.name, app.app_id, app.before
                ),
                &file,
                1,
                &app.app_id,
            )),
            AppChange::LockDown | AppChange::Remove => results.push(result(
                "unlisted-app",
                "warning",
                &format!(
                    "app {} ({}) is not in the file but still has mailscope-managed objects in {tenant}; \
                     the plan would {} them",
                    app.name,
                    app.app_id,
                    if app.change == AppChange::LockDown { "lock down" } else { "remove" }
                ),
                &file,
                1,
                &app.app_id,
            )),
            AppChange::Affected => results.push(result(
                "unlisted-app",
                "warning",
                &format!(
                    "app {} is not in the file, but its own policy scopes a group the plan changes: \
                     it reaches {} now and {} after a correction",
                    app.app_id, app.before, app.after
                ),
                &file,
                1,
                &app.app_id,
            )),
            AppChange::Create | AppChange::Update => {
                let steps: usize =
                    by_app.get(app.app_id.as_str()).map_or(0, |s| s.iter().map(|s| s.action.changes()).sum());
                let narrows_back = !app.widens();
                let exposure =
                    exposures.map(|all| all.iter().find(|e| e.app_id.eq_ignore_ascii_case(&app.app_id)));
                let error = match exposure {
                    Some(found) => found.is_some(),
                    None => narrows_back,
                };
                results.push(result(
                    "drift",
                    if error { "error" } else { "warning" },
                    &format!(
                        "app {} differs from the file in {tenant}: it reaches {} now, the file gives {} \
                         ({steps} change{} to correct{}){}",
                        app.name,
                        app.before,
                        app.after,
                        if steps == 1 { "" } else { "s" },
                        if narrows_back { "" } else { "; correcting widens access" },
                        exposure.flatten().map(exposure_text).unwrap_or_default()
                    ),
                    &file,
                    line,
                    &app.app_id,
                ));
            }
        }
        if app.line.is_some() && app.before == AccessSummary::Unrestricted {
            results.push(result(
                "unscoped-app",
                "error",
                &format!(
                    "app {} can reach every mailbox of {tenant}: no RestrictAccess policy applies to it",
                    app.name
                ),
                &file,
                line,
                &app.app_id,
            ));
        }
    }
    for f in &plan.findings {
        let rule = RULES.iter().find(|r| r.id == f.code).map_or("finding", |r| r.id);
        let level = RULES.iter().find(|r| r.id == rule).map_or("note", |r| r.level);
        let app = f.app.as_deref().and_then(|name| plan.apps.iter().find(|a| a.name == name));
        results.push(result(
            rule,
            level,
            &f.message,
            &file,
            app.and_then(|a| a.line).unwrap_or(1),
            &format!("{}:{}", f.code, f.message),
        ));
    }
    log(
        RULES,
        &format!("mailscope/drift/{tenant}/"),
        "https://example.invalid/mailscope/docs/gitops.md#drift",
        &results,
    )
}

/// Rules of `mailscope audit --format sarif`: one per kind of finding.
const AUDIT_RULES: &[Rule] = &[
    Rule {
        id: "unscoped-app",
        name: "UnscopedApp",
        short: "The app can reach every mailbox",
        full: "The app holds a mailbox-reaching permission that reaches every mailbox of the tenant: an Entra grant no \
               RestrictAccess policy fences, a permission access policies cannot fence, or an organization-wide RBAC \
               role assignment. Stolen credentials of this app can read or send as anyone.",
        level: "error",
    },
    Rule {
        id: "deny-list-only",
        name: "DenyListOnly",
        short: "The app reaches every mailbox but a deny-list",
        full: "Only DenyAccess policies fence the app: it reaches every mailbox they do not name, new mailboxes included.",
        level: "warning",
    },
    Rule {
        id: "unlisted-app",
        name: "UnlistedApp",
        short: "An app that can reach mailboxes is not in the file",
        full: "The app holds a mailbox-reaching permission and the desired file does not list it. List it, exclude it \
               under `unlistedApps.exclude` with a reason, or set `unlistedApps: lock-down`.",
        level: "warning",
    },
    Rule {
        id: "excluded-app",
        name: "ExcludedApp",
        short: "An app the file leaves alone on purpose",
        full: "The file excludes the app under `unlistedApps.exclude`, with the reason the message quotes; it does not \
               fail the audit.",
        level: "note",
    },
    Rule {
        id: "no-mailbox-permission",
        name: "NoMailboxPermission",
        short: "An app of the file holds no mailbox permission",
        full: "Likely a wrong appId: the object id of the service principal instead of the client id is a common mistake.",
        level: "warning",
    },
    Rule {
        id: "dangling-policy",
        name: "DanglingPolicy",
        short: "A policy points at a scope that no longer exists",
        full: "The policy's scope group was deleted; Exchange most likely treats it as an empty scope.",
        level: "warning",
    },
    Rule {
        id: "scope-group",
        name: "ScopeGroup",
        short: "A scope group is not a plain mail-enabled security group",
        full: "Access policies accept only mail-enabled security groups as scopes, and whether they honour nested groups \
               is contested; mailscope manages direct members only. Add mailboxes to the group directly.",
        level: "warning",
    },
    Rule {
        id: "ews",
        name: "EwsApp",
        short: "The app relies on Exchange Web Services",
        full: "full_access_as_app rides on EWS, which Microsoft switches off for apps in Exchange Online and then retires.",
        level: "warning",
    },
    Rule {
        id: "finding",
        name: "Finding",
        short: "Reported by the audit",
        full: "Something the audit could not read or decide; the message says what.",
        level: "note",
    },
];

/// An audit as a SARIF 2.1.0 log: one result per app that reaches beyond
/// a scope (unrestricted: `error`), per unlisted or excluded app, and per
/// check. With the desired file (`file`, a path relative to the repository
/// root, and its parsed `desired`), results point at the app's line, or at
/// line 1 for apps the file does not list; without it they carry no
/// location.
pub fn audit_sarif(report: &AuditReport, file: Option<(&str, &DesiredState)>) -> String {
    let uri_of = file.map(|(f, _)| uri(f));
    let line_of = |app_id: &str| {
        file.and_then(|(_, d)| d.apps.iter().find(|a| a.app_id.eq_ignore_ascii_case(app_id)))
            .map_or(1, |a| a.at.line)
    };
    let at = |app_id: &str| uri_of.as_deref().map(|u| (u, line_of(app_id)));
    let tenant = report.tenant.as_deref().unwrap_or("the tenant");
    let mut results = Vec::new();
    for app in &report.apps {
        let name =
            if app.name.is_empty() { app.app_id.clone() } else { format!("{} ({})", app.name, app.app_id) };
        let reach: Vec<String> = app.permissions.iter().map(crate::audit::AuditPermission::line).collect();
        let unlisted = if app.listed == Some(false) { ", not in the file," } else { "" };
        let (rule, level, what) = match (&app.excluded, app.exposure) {
            (Some(reason), _) => ("excluded-app", "note", format!("excluded by the file: {reason}")),
            (None, Exposure::Unrestricted) => ("unscoped-app", "error", "reaches every mailbox".to_owned()),
            (None, Exposure::AllBut) => {
                ("deny-list-only", "warning", "reaches every mailbox but a deny-list".to_owned())
            }
            (None, Exposure::Scoped) if app.listed == Some(false) => {
                ("unlisted-app", "warning", "reaches the mailboxes of its scopes".to_owned())
            }
            (None, Exposure::Scoped) => continue,
        };
        let advice =
            if app.advice.is_empty() { String::new() } else { format!("; {}", app.advice.join("; ")) };
        results.push(result_in(
            AUDIT_RULES,
            rule,
            level,
            &format!("app {name}{unlisted} {what} of {tenant}: {}{advice}", reach.join("; ")),
            at(&app.app_id),
            &app.app_id,
        ));
    }
    for c in &report.checks {
        let (rule, level, app_id) = match c {
            AuditCheck::NoMailboxPermission { app_id, .. } => {
                ("no-mailbox-permission", "warning", Some(app_id.as_str()))
            }
            AuditCheck::DeletedScope { app_id, .. } => ("dangling-policy", "warning", Some(app_id.as_str())),
            AuditCheck::NestedGroup { .. } | AuditCheck::NotSecurityGroup { .. } => {
                ("scope-group", "warning", None)
            }
            AuditCheck::Ews { app_id, .. } => ("ews", "warning", Some(app_id.as_str())),
            AuditCheck::RbacNotRead | AuditCheck::GrantsNotRead => ("finding", "note", None),
        };
        let message = super::audit::check_line(c, super::printable);
        results.push(result_in(
            AUDIT_RULES,
            rule,
            level,
            &message,
            uri_of.as_deref().map(|u| (u, app_id.map_or(1, line_of))),
            &message,
        ));
    }
    log(
        AUDIT_RULES,
        &format!("mailscope/audit/{tenant}/"),
        "https://example.invalid/mailscope/docs/usage.md#audit",
        &results,
    )
}
