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

use super::printable;
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
        short: "An app with policies is not in the file",
        full: "The tenant has application access policies (mailscope-managed or not) for an app the file does not list.",
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
    json!({
        "ruleId": rule,
        "ruleIndex": RULES.iter().position(|r| r.id == rule).unwrap_or(RULES.len() - 1),
        "level": level,
        "message": { "text": plain_text(message) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": file, "uriBaseId": "%SRCROOT%" },
                "region": { "startLine": line.max(1) }
            }
        }],
        "partialFingerprints": { "mailscope/v1": format!("{rule}:{key}") }
    })
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
                let steps = by_app.get(app.app_id.as_str()).map_or(0, Vec::len);
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
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.short },
                "fullDescription": { "text": r.full },
                "defaultConfiguration": { "level": r.level },
                "helpUri": "https://example.invalid/mailscope/docs/gitops.md#drift"
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
            "automationDetails": { "id": format!("mailscope/drift/{tenant}/") },
            "results": results
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).expect("a SARIF log always serialises");
    out.push('\n');
    out
}
