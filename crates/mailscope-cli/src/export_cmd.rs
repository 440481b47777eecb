//! `mailscope export`: a desired-state file from the tenant as it is.
//!
//! Every app with an application access policy becomes an entry. Groups
//! mailscope manages keep their derived names; any other scope group is
//! adopted by name (`group:` / `denyGroup:`), so that `mailscope plan` on the
//! result shows no change except marking the adopted objects as managed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::process::ExitCode;

use clap::Args;
use mailscope_exo::SnapshotRequest;
use mailscope_planner::{AccessRight, LiveSnapshot, derived_group_name, parse_marker};
use mailscope_spec::ListKind;

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
    let wanted: BTreeSet<String> = args.apps.iter().map(|a| a.trim().to_lowercase()).collect();
    output::stdout(&export(&live, &tenant, &wanted))?;
    Ok(ExitCode::SUCCESS)
}

/// Quotes a YAML scalar when it needs it.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
        && !s.starts_with(['-', '.'])
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off"
        );
    if plain { s.to_owned() } else { format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")) }
}

/// Builds the file. Pure, so it is tested without a tenant.
pub(crate) fn export(live: &LiveSnapshot, tenant: &str, wanted: &BTreeSet<String>) -> String {
    let groups: BTreeMap<String, &mailscope_planner::LiveGroup> =
        live.groups.iter().map(|g| (g.id.to_lowercase(), g)).collect();
    // Policies per app, restrict and deny scopes.
    let mut apps: BTreeMap<String, [Vec<&mailscope_planner::LivePolicy>; 2]> = BTreeMap::new();
    for p in &live.policies {
        let app = p.app_id.to_lowercase();
        if !wanted.is_empty() && !wanted.contains(&app) {
            continue;
        }
        let slot = usize::from(p.access_right == AccessRight::DenyAccess);
        apps.entry(app).or_default()[slot].push(p);
    }
    // Apps mailscope manages groups for but whose policy is gone (drift):
    // exported with their group's members, and a note that planning adds
    // the policy back.
    let mut orphans: BTreeMap<String, Vec<(ListKind, &mailscope_planner::LiveGroup)>> = BTreeMap::new();
    for g in &live.groups {
        if let Some((app, list)) = g.marker.as_deref().and_then(parse_marker)
            && (wanted.is_empty() || wanted.contains(&app))
            && apps.get(&app).is_none_or(|slots| slots[usize::from(list == ListKind::Deny)].is_empty())
        {
            apps.entry(app.clone()).or_default();
            orphans.entry(app).or_default().push((list, g));
        }
    }
    let mut out = format!(
        "# Exported by mailscope {} from tenant {tenant}.\n# Review the names, then plan: adopted groups and policies get mailscope's marker, nothing else changes.\napiVersion: mailscope/v1\ntenant: {}\napps:\n",
        env!("CARGO_PKG_VERSION"),
        scalar(tenant)
    );
    if apps.is_empty() {
        out.push_str("  []\n");
    }
    let mut used_names = BTreeSet::new();
    for (app_id, [restrict, deny]) in &apps {
        // A name from a managed group, else from the app id.
        let from_marker = live.groups.iter().find_map(|g| {
            let (owner, list) = g.marker.as_deref().and_then(parse_marker)?;
            let suffix = format!("-{list}");
            (owner == *app_id)
                .then(|| g.name.strip_prefix("mailscope-")?.strip_suffix(&suffix).map(str::to_owned))?
        });
        let mut name = from_marker
            .filter(|n| mailscope_spec::parse(&probe(n), "").is_ok())
            .unwrap_or_else(|| format!("app-{}", &app_id[..8]));
        if !used_names.insert(name.clone()) {
            name = format!("{name}-{}", &app_id[..8]);
            used_names.insert(name.clone());
        }
        let _ = writeln!(out, "\n  - name: {name}\n    appId: {app_id}");
        for (list, g) in orphans.get(app_id).into_iter().flatten() {
            let _ = writeln!(
                out,
                "    # group \"{}\" is mailscope's but has no {list} policy: planning this file adds it back",
                g.name
            );
            write_list(&mut out, &name, *list, g);
        }
        for (list, policies) in [(ListKind::Allow, restrict), (ListKind::Deny, deny)] {
            if policies.is_empty() {
                continue;
            }
            let mut scopes: Vec<&mailscope_planner::LiveGroup> =
                policies.iter().filter_map(|p| groups.get(&p.scope_id.to_lowercase()).copied()).collect();
            // Prefer the group mailscope already manages for this list.
            scopes.sort_by_key(|g| {
                (
                    g.marker.as_deref().and_then(parse_marker) != Some((app_id.clone(), list)),
                    g.name.to_lowercase(),
                )
            });
            let Some(scope) = scopes.first() else {
                let _ = writeln!(
                    out,
                    "    # its {list} policies point at no group (a single mailbox or a deleted group); add them by hand"
                );
                continue;
            };
            for other in policies.iter().filter(|p| !p.scope_id.eq_ignore_ascii_case(&scope.id)) {
                let _ = writeln!(
                    out,
                    "    # also has a {:?} policy on \"{}\", which stays unmanaged",
                    other.access_right, other.scope_name
                );
            }
            write_list(&mut out, &name, list, scope);
        }
    }
    out
}

/// Writes `group:`/`denyGroup:` when the group is not the derived one, and
/// the list of its members.
fn write_list(out: &mut String, name: &str, list: ListKind, group: &mailscope_planner::LiveGroup) {
    if !group.name.eq_ignore_ascii_case(&derived_group_name(name, list)) {
        let key = if list == ListKind::Allow { "group" } else { "denyGroup" };
        let _ = writeln!(out, "    {key}: {}", scalar(&group.name));
    }
    let mut members: Vec<String> = group.members.iter().map(|m| m.to_lowercase()).collect();
    members.sort();
    members.dedup();
    if members.is_empty() {
        let _ = writeln!(out, "    {list}: []");
    } else {
        let _ = writeln!(out, "    {list}:");
        for m in members {
            let _ = writeln!(out, "      - {}", scalar(&m));
        }
    }
}

/// A one-app file used to check that an exported name is valid.
fn probe(name: &str) -> String {
    format!(
        "apiVersion: mailscope/v1\napps:\n  - name: {name}\n    appId: 00000000-0000-4000-8000-000000000000\n    allow: []\n"
    )
}
