//! `mailscope export`: the tenant as it is, as a desired-state file.
//!
//! Every app with an application access policy (or a managed group) becomes
//! an entry. Groups mailscope manages keep their derived names; any other
//! scope group is adopted by name (`group:` / `denyGroup:`), so that planning
//! the result changes nothing except marking the adopted objects as managed.
//! What the file cannot express (several policies of one right, a policy on
//! a single mailbox) is left as a note for the reviewer.
//!
//! An app with an application role assignment (RBAC for Applications) over
//! a management scope whose filter has one of the shapes mailscope writes
//! (`ScopeFilter::parse_opath`) and names a group mailscope manages for
//! that app is exported as `mechanism: rbac`, with
//! `permissions:` from its roles and its lists from the groups the scope
//! names; its access policies, if any (an app half-way through a
//! migration), become notes. Organization-wide assignments, scopes of
//! other shapes and hand-made scopes become notes too: the planner does not
//! adopt RBAC objects, so exporting them would plan new ones.
//!
//! Pure: the CLI reads the tenant and writes the text
//! ([`mailscope_spec::to_yaml`]).

use std::collections::{BTreeMap, BTreeSet};

use mailscope_spec::{AppEntry, DesiredFile, ListKind, Mechanism};

use crate::build::{derived_group_name, human_description, parse_marker, right_of};
use crate::live::{AccessRight, LiveGroup, LivePolicy, LiveSnapshot};
use crate::plan::ScopeFilter;

/// The desired file that describes `live`. `tenant` names the tenant in the
/// file; `apps` limits the export to these client ids (every app when empty).
pub fn export(live: &LiveSnapshot, tenant: &str, apps: &[String]) -> DesiredFile {
    let wanted: BTreeSet<String> = apps.iter().map(|a| a.trim().to_lowercase()).collect();
    let wanted = |app: &str| wanted.is_empty() || wanted.contains(app);
    let groups: BTreeMap<String, &LiveGroup> = live.groups.iter().map(|g| (g.id.to_lowercase(), g)).collect();
    // Policies per app: restrict and deny.
    let mut policies: BTreeMap<String, [Vec<&LivePolicy>; 2]> = BTreeMap::new();
    for p in &live.policies {
        let app = p.app_id.to_lowercase();
        if wanted(&app) {
            policies.entry(app).or_default()[slot(p.access_right)].push(p);
        }
    }
    // Apps mailscope manages groups for but whose policy is gone (drift):
    // exported with their group's members, and a note that planning adds
    // the policy back.
    // An RBAC app's managed groups serve its scope, not a policy.
    let rbac = rbac_apps(live, &wanted);
    let mut orphans: BTreeMap<String, Vec<(ListKind, &LiveGroup)>> = BTreeMap::new();
    for g in &live.groups {
        if let Some((app, list)) = g.marker.as_deref().and_then(parse_marker)
            && wanted(&app)
            && policies.get(&app).is_none_or(|slots| slots[slot(right_of(list))].is_empty())
            && rbac.get(&app).is_none_or(|r| r.lists.is_none())
        {
            policies.entry(app.clone()).or_default();
            orphans.entry(app).or_default().push((list, g));
        }
    }

    for (app, _) in rbac.iter().filter(|(_, r)| r.lists.is_some()) {
        policies.entry(app.clone()).or_default();
    }

    let mut used_names = BTreeSet::new();
    let apps = policies
        .iter()
        .map(|(app_id, [restrict, deny])| {
            let mut name = name_of(live, app_id);
            if !used_names.insert(name.clone()) {
                name = format!("{name}-{}", short_id(app_id));
                used_names.insert(name.clone());
            }
            let description =
                restrict.iter().chain(deny.iter()).find_map(|p| exported_description(&p.description));
            let mut entry = AppEntry { name, app_id: app_id.clone(), description, ..AppEntry::default() };
            for (list, g) in orphans.get(app_id).into_iter().flatten() {
                entry.notes.push(format!(
                    "group \"{}\" is mailscope's but has no {list} policy: planning this file adds it back",
                    g.name
                ));
                set_list(&mut entry, *list, g);
            }
            if let Some(r) = rbac.get(app_id) {
                entry.notes.extend(r.notes.iter().cloned());
                if let Some((allow_group, deny_group)) = r.lists {
                    entry.mechanism = Some(Mechanism::Rbac);
                    entry.permissions = Some(r.permissions.iter().cloned().collect());
                    for p in restrict.iter().chain(deny.iter()) {
                        entry.notes.push(format!(
                            "also has a {:?} policy on \"{}\" (the RBAC assignment decides what it reaches)",
                            p.access_right, p.scope_name
                        ));
                    }
                    for (list, g) in [(ListKind::Allow, allow_group), (ListKind::Deny, deny_group)] {
                        if let Some(g) = g {
                            set_list(&mut entry, list, g);
                        }
                    }
                    return entry;
                }
            }
            for (list, policies) in [(ListKind::Allow, restrict), (ListKind::Deny, deny)] {
                if !policies.is_empty() {
                    policy_list(&mut entry, app_id, list, policies, &groups);
                }
            }
            entry
        })
        .filter(|e: &AppEntry| e.allow.is_some() || e.deny.is_some() || !e.notes.is_empty())
        .collect();
    let apps = unshare_rbac_groups(apps);
    DesiredFile {
        header: vec![
            format!("Exported by mailscope {} from tenant {tenant}.", env!("CARGO_PKG_VERSION")),
            "Review the names, then plan: adopted groups and policies get mailscope's marker, nothing else changes."
                .to_owned(),
        ],
        tenant: Some(tenant.to_owned()),
        apps,
    }
}

/// The human part of a policy's description (a hand-made policy's text, or
/// what follows mailscope's marker), when the file format can hold it: at
/// most 200 characters and nothing invisible. Tenant text is untrusted; one
/// that does not fit is left out rather than bent.
fn exported_description(description: &str) -> Option<String> {
    let text = human_description(description)?;
    (text.chars().count() <= 200 && !text.chars().any(char::is_control)).then(|| text.to_owned())
}

fn slot(right: AccessRight) -> usize {
    usize::from(right == AccessRight::DenyAccess)
}

/// The first eight characters of a client id that can stand in a name.
fn short_id(app_id: &str) -> String {
    app_id.chars().filter(char::is_ascii_alphanumeric).take(8).collect::<String>().to_lowercase()
}

/// An app name (`is_app_name`: lower-case letters, digits and `-`, at most
/// 48) made from an Entra display name: `CRM Sync (EU)` -> `crm-sync-eu`.
/// `None` when nothing usable is left (a name of symbols only, or another
/// script: the caller falls back).
fn name_from_display(display: &str) -> Option<String> {
    let mut name = String::new();
    for c in display.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name.chars().take(48).collect();
    let name = name.trim_matches('-').to_owned();
    mailscope_spec::is_app_name(&name).then_some(name)
}

/// The app's name: its Entra display name (when the snapshot has the
/// service principal), else the name in a managed group
/// (`mailscope-<name>-<list>`), else one from the client id (`app-3f2a1d7e`).
fn name_of(live: &LiveSnapshot, app_id: &str) -> String {
    let from_entra = live
        .service_principals
        .iter()
        .find(|sp| sp.app_id.eq_ignore_ascii_case(app_id))
        .and_then(|sp| name_from_display(&sp.display_name));
    if let Some(name) = from_entra {
        return name;
    }
    let from_marker = live.groups.iter().find_map(|g| {
        let (owner, list) = g.marker.as_deref().and_then(parse_marker)?;
        let suffix = format!("-{list}");
        (owner == app_id)
            .then(|| g.name.strip_prefix("mailscope-")?.strip_suffix(&suffix).map(str::to_owned))?
    });
    from_marker
        .filter(|n| mailscope_spec::is_app_name(n))
        .unwrap_or_else(|| format!("app-{}", short_id(app_id)))
}

/// The list of one right from the app's policies: the group mailscope
/// already manages for it if there is one, else the first by name; the other
/// policies become notes.
fn policy_list(
    entry: &mut AppEntry,
    app_id: &str,
    list: ListKind,
    policies: &[&LivePolicy],
    groups: &BTreeMap<String, &LiveGroup>,
) {
    let mut scopes: Vec<&LiveGroup> =
        policies.iter().filter_map(|p| groups.get(&p.scope_id.to_lowercase()).copied()).collect();
    scopes.sort_by_key(|g| {
        (g.marker.as_deref().and_then(parse_marker) != Some((app_id.to_owned(), list)), g.name.to_lowercase())
    });
    let Some(scope) = scopes.first() else {
        entry.notes.push(format!(
            "its {list} policies point at no group (a single mailbox or a deleted group); add them by hand"
        ));
        return;
    };
    for other in policies.iter().filter(|p| !p.scope_id.eq_ignore_ascii_case(&scope.id)) {
        entry.notes.push(format!(
            "also has a {:?} policy on \"{}\", which stays unmanaged",
            other.access_right, other.scope_name
        ));
    }
    set_list(entry, list, scope);
}

/// Sets `group:`/`denyGroup:` when the group is not the derived one, and the
/// list of its members. A second group for a list the entry already has
/// becomes a note (a file names one group per list).
fn set_list(entry: &mut AppEntry, list: ListKind, group: &LiveGroup) {
    let mut members: Vec<String> = group.members.iter().map(|m| m.to_lowercase()).collect();
    members.sort();
    members.dedup();
    let adopted = (!group.name.eq_ignore_ascii_case(&derived_group_name(&entry.name, list)))
        .then(|| group.name.clone());
    let (slot, group_key) = match list {
        ListKind::Allow => (&mut entry.allow, &mut entry.group),
        ListKind::Deny => (&mut entry.deny, &mut entry.deny_group),
    };
    if slot.is_some() {
        entry.notes.push(format!("group \"{}\" also holds its {list} list; it is left out", group.name));
        return;
    }
    *slot = Some(members);
    *group_key = adopted;
}

/// What an app holds through RBAC for Applications.
#[derive(Default)]
struct RbacApp<'a> {
    /// Permissions of its application roles on the understood scope.
    permissions: BTreeSet<String>,
    /// The (allow, deny) groups of its scope, when mailscope can write it.
    lists: Option<(Option<&'a LiveGroup>, Option<&'a LiveGroup>)>,
    /// What the file cannot say.
    notes: Vec<String>,
}

/// The RBAC side of each wanted app with an application role assignment.
fn app_key(app_id: &str) -> String {
    app_id.trim().to_lowercase()
}

fn rbac_apps<'a>(live: &'a LiveSnapshot, wanted: &dyn Fn(&str) -> bool) -> BTreeMap<String, RbacApp<'a>> {
    let by_dn = |dn: &str| {
        live.groups
            .iter()
            .find(|g| g.distinguished_name.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(dn)))
    };
    // The (allow, deny) groups of a scope, when its filter names groups
    // this snapshot holds.
    let groups_of = |scope_name: &str| -> Option<GroupPair<'a>> {
        let scope = live.management_scopes.iter().find(|s| s.name.eq_ignore_ascii_case(scope_name))?;
        let (allow, deny) = ScopeFilter::parse_opath(&scope.filter)?;
        let resolve = |dn: Option<String>| match dn {
            Some(dn) => by_dn(&dn).map(Some),
            None => Some(None),
        };
        Some((resolve(allow)?, resolve(deny)?))
    };
    // A scope over groups mailscope manages for the app comes first: an app
    // half-way through adoption also holds the hand-made assignment.
    let managed_for = |app: &str, pair: Option<GroupPair<'_>>| {
        pair.is_some_and(|(a, d)| {
            [a, d]
                .into_iter()
                .flatten()
                .any(|g| g.marker.as_deref().and_then(parse_marker).is_some_and(|(owner, _)| owner == app))
        })
    };
    let mut assignments: Vec<_> = live.role_assignments.iter().collect();
    assignments.sort_by_key(|a| {
        let app = a.app_id.to_lowercase();
        let pair = a.scope.as_deref().and_then(groups_of);
        (!managed_for(&app, pair), a.name.to_lowercase())
    });
    let mut out: BTreeMap<String, RbacApp<'a>> = BTreeMap::new();
    for a in assignments {
        let app = a.app_id.to_lowercase();
        if !wanted(&app) {
            continue;
        }
        let Some(permission) = a.role.strip_prefix("Application ") else { continue };
        let entry = out.entry(app).or_default();
        let Some(scope_name) = &a.scope else {
            entry.notes.push(format!(
                "role assignment \"{}\" grants {permission} on every mailbox (organization-wide); a file cannot say that",
                a.name
            ));
            continue;
        };
        let pair = groups_of(scope_name);
        if pair.is_some() && !managed_for(&app_key(&a.app_id), pair) {
            entry.notes.push(format!(
                "role assignment \"{}\" ({permission}) over scope \"{scope_name}\" is not mailscope's; it stays as it is",
                a.name
            ));
            continue;
        }
        match (pair, entry.lists) {
            (None, _) => entry.notes.push(format!(
                "role assignment \"{}\" ({permission}) uses scope \"{scope_name}\", whose filter is not a group \
                 mailscope can name; add it by hand",
                a.name
            )),
            (Some(g), None) => {
                entry.lists = Some(g);
                entry.permissions.insert(permission.to_owned());
            }
            (Some(g), Some(have)) if same_groups(g, have) => {
                entry.permissions.insert(permission.to_owned());
            }
            (Some(_), Some(_)) => entry.notes.push(format!(
                "role assignment \"{}\" ({permission}) uses another scope, \"{scope_name}\"; it is left out",
                a.name
            )),
        }
    }
    out
}

/// Scopes are often shared, groups in a file never are: an `rbac` entry
/// whose group another entry adopts (a policy app's first, then earlier
/// `rbac` apps) gets a group of its own with the same members instead.
fn unshare_rbac_groups(mut apps: Vec<AppEntry>) -> Vec<AppEntry> {
    let mut taken: BTreeSet<String> = apps
        .iter()
        .filter(|e| e.mechanism.is_none())
        .flat_map(|e| [&e.group, &e.deny_group])
        .flatten()
        .map(|g| g.to_lowercase())
        .collect();
    for entry in apps.iter_mut().filter(|e| e.mechanism.is_some()) {
        for list in [ListKind::Allow, ListKind::Deny] {
            let adopted = match list {
                ListKind::Allow => &mut entry.group,
                ListKind::Deny => &mut entry.deny_group,
            };
            if let Some(name) = adopted.clone()
                && !taken.insert(name.to_lowercase())
            {
                *adopted = None;
                entry.notes.push(format!(
                    "its scope uses group \"{name}\", which another app of this file adopts: planning gives \
                     it a {list} group of its own with the same members"
                ));
            }
        }
    }
    apps
}

type GroupPair<'a> = (Option<&'a LiveGroup>, Option<&'a LiveGroup>);

fn same_groups(a: GroupPair<'_>, b: GroupPair<'_>) -> bool {
    let id = |g: Option<&LiveGroup>| g.map(|g| g.id.to_lowercase());
    id(a.0) == id(b.0) && id(a.1) == id(b.1)
}
