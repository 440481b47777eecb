//! `plan()`: desired state + live snapshot → ordered, classified steps.
//!
//! The planner works in three passes:
//! 1. build the *target* world: the live world with the managed objects
//!    changed to what the file asks (unmanaged objects are copied as they are);
//! 2. diff live against target into steps, each placed in a *wave* that fixes
//!    its order (see [`Wave`]);
//! 3. replay the steps on the live world to classify each one and to check
//!    the safe-order rule; a violation is a planner bug and fails the plan
//!    rather than risk an unrestricted window.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_spec::{AppSpec, DesiredState, ListKind, Position};

use crate::error::{PlanError, PlanProblem};
use crate::live::{AccessRight, LiveSnapshot, MARKER_PREFIX};
use crate::plan::{
    AccessSummary, Action, AppChange, AppPlan, Effect, Finding, PLAN_FORMAT_VERSION, Plan, Step, Summary,
};
use crate::world::{GroupState, OTHER_MAILBOX, PolicyKey, PolicyState, Scope, World, key};

/// What happens to an app that left the desired file but still has managed
/// objects in the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemovedApps {
    /// Keep its Restrict policy and empty its allow group: the app reaches no
    /// mailbox. Deleting the policy instead would hand it every mailbox of the
    /// tenant, so this is the default.
    #[default]
    LockDown,
    /// Remove its managed groups and policies (a widening the user must ask for).
    Remove,
}

/// Knobs of [`plan`].
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Fate of apps that left the file.
    pub removed_apps: RemovedApps,
}

/// The marker mailscope writes on the group and policy of one list of one app.
pub fn marker(app_id: &str, list: ListKind) -> String {
    format!("{MARKER_PREFIX} app={} list={list}", key(app_id))
}

/// Reads a marker back; `None` for anything mailscope did not write.
pub fn parse_marker(text: &str) -> Option<(String, ListKind)> {
    let rest = text.trim().strip_prefix(MARKER_PREFIX)?.trim();
    let mut app = None;
    let mut list = None;
    for part in rest.split_whitespace() {
        match part.split_once('=')? {
            ("app", v) if mailscope_spec::is_guid(v) => app = Some(key(v)),
            ("list", "allow") => list = Some(ListKind::Allow),
            ("list", "deny") => list = Some(ListKind::Deny),
            _ => return None,
        }
    }
    Some((app?, list?))
}

/// The name mailscope gives the group of one list of one app.
pub fn derived_group_name(app_name: &str, list: ListKind) -> String {
    format!("mailscope-{app_name}-{list}")
}

fn right_of(list: ListKind) -> AccessRight {
    match list {
        ListKind::Allow => AccessRight::RestrictAccess,
        ListKind::Deny => AccessRight::DenyAccess,
    }
}

/// Order of execution. Every step of a wave moves access in the same
/// direction (or not at all), so a wave's steps may run in any order or
/// concurrently, and the sequence of waves keeps every intermediate state
/// within "before ∪ after" for every app:
/// narrowing first, then the policy swap (create before destroy), then
/// widening, then clean-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
enum Wave {
    /// Create or mark groups, mark adopted policies: no access change.
    Prepare = 0,
    /// Fill groups no policy uses yet: no access change.
    FillUnused = 1,
    /// Remove members from Restrict scopes, add members to Deny scopes.
    NarrowMembers = 2,
    /// New Deny policies (always narrowing).
    CreateDeny = 3,
    /// New Restrict policies, on groups already filled.
    CreateRestrict = 4,
    /// Old Restrict policies, now that the replacement exists.
    RemoveRestrict = 5,
    /// Add members to Restrict scopes, remove members from Deny scopes.
    WidenMembers = 6,
    /// Old Deny policies.
    RemoveDeny = 7,
    /// Groups nothing uses any more.
    RemoveGroups = 8,
}

/// Who a managed group or policy belongs to.
#[derive(Debug, Clone)]
struct Owner {
    name: String,
    app_id: String,
}

/// Plans the changes that bring `live` to `desired`.
pub fn plan(desired: &DesiredState, live: &LiveSnapshot, options: &PlanOptions) -> Result<Plan, PlanError> {
    let mut problems = Vec::new();
    let mut findings = Vec::new();
    check_mailboxes(desired, live, &mut problems);

    let live_world = World::from_live(live);
    let mut target = live_world.clone();

    // Managed objects by (app id, list), as their markers say.
    let mut managed_groups: BTreeMap<(String, ListKind), Vec<String>> = BTreeMap::new();
    for (gk, g) in &live_world.groups {
        if let Some(text) = &g.marker {
            match parse_marker(text) {
                Some(owner) => managed_groups.entry(owner).or_default().push(gk.clone()),
                None if text.trim_start().starts_with(MARKER_PREFIX) => findings.push(Finding {
                    code: "unreadable-marker".into(),
                    app: None,
                    message: format!(
                        "group \"{}\" carries a mailscope marker that cannot be read (\"{text}\"); it is left alone",
                        g.name
                    ),
                }),
                None => {}
            }
        }
    }

    let mut owners: BTreeMap<String, Owner> = BTreeMap::new(); // app id -> owner
    let mut app_lines: BTreeMap<String, Position> = BTreeMap::new();
    let mut desired_ids = BTreeSet::new();
    for app in &desired.apps {
        desired_ids.insert(app.app_id.clone());
        owners.insert(app.app_id.clone(), Owner { name: app.name.clone(), app_id: app.app_id.clone() });
        app_lines.insert(app.app_id.clone(), app.at);
        for list in [ListKind::Allow, ListKind::Deny] {
            plan_list(app, list, &live_world, &managed_groups, &mut target, &mut problems);
        }
    }

    // Apps that left the file but still have managed objects.
    let mut removed: BTreeSet<String> = managed_groups.keys().map(|(a, _)| a.clone()).collect();
    removed.extend(live_world.policies.iter().filter(|(_, p)| p.is_managed()).map(|(k, _)| k.app_id.clone()));
    removed.retain(|a| !desired_ids.contains(a));
    for app_id in &removed {
        let name = removed_app_name(app_id, &managed_groups, &live_world);
        owners.insert(app_id.clone(), Owner { name: name.clone(), app_id: app_id.clone() });
        match options.removed_apps {
            RemovedApps::LockDown => lock_down(app_id, &live_world, &managed_groups, &mut target),
            RemovedApps::Remove => {
                for list in [ListKind::Allow, ListKind::Deny] {
                    drop_managed(app_id, list, None, &live_world, &managed_groups, &mut target);
                }
            }
        }
    }

    // Managed groups some unmanaged policy still uses stay, with a note.
    for (k, p) in &live_world.policies {
        if let Scope::Group(g) = &k.scope
            && !target.groups.contains_key(g)
            && target.policies.contains_key(k)
            && !p.is_managed()
        {
            let state = live_world.groups[g].clone();
            findings.push(Finding {
                code: "group-in-use".into(),
                app: owners.get(&k.app_id).map(|o| o.name.clone()),
                message: format!(
                    "managed group \"{}\" is kept: an access policy mailscope does not manage ({}) uses it",
                    state.name, p.identity
                ),
            });
            target.groups.insert(g.clone(), state);
        }
    }

    let scope_names: BTreeMap<&str, &str> =
        live.policies.iter().map(|p| (p.identity.as_str(), p.scope_name.as_str())).collect();
    report_unmanaged(&live_world, &target, &owners, &desired_ids, &scope_names, &mut findings);

    if !problems.is_empty() {
        problems.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.message.cmp(&b.message)));
        return Err(PlanError::input(desired.origin.clone(), problems));
    }

    let mut steps = diff(&live_world, &target, &owners);
    // Waves first (the safe order), then file order of apps, then a stable
    // order inside an app, so that the same inputs give the same plan.
    let rank: BTreeMap<&str, usize> =
        desired.apps.iter().enumerate().map(|(i, a)| (a.app_id.as_str(), i)).collect();
    steps.sort_by_cached_key(|s| {
        (
            s.wave,
            rank.get(s.app_id.as_str()).copied().unwrap_or(usize::MAX),
            s.app_id.clone(),
            s.action.group().map(str::to_owned),
            order_key(&s.action),
        )
    });
    for (i, s) in steps.iter_mut().enumerate() {
        s.index = i;
    }
    classify_and_check(&live_world, &target, &mut steps)?;

    let apps = app_plans(
        desired,
        &removed,
        options,
        &owners,
        &live_world,
        &target,
        &steps,
        &app_lines,
        &managed_groups,
    );
    let summary = Summary::count(&steps);
    Ok(Plan { format_version: PLAN_FORMAT_VERSION, steps, apps, findings, summary })
}

fn order_key(action: &Action) -> (u8, String) {
    match action {
        Action::CreateGroup { .. } => (0, String::new()),
        Action::MarkGroup { .. } => (1, String::new()),
        Action::SetPolicyDescription { identity, .. } => (2, identity.clone()),
        Action::RemoveMember { member, .. } => (3, member.clone()),
        Action::AddMember { member, .. } => (4, member.clone()),
        Action::CreatePolicy { access_right, .. } => (5, format!("{access_right:?}")),
        Action::RemovePolicy { identity, .. } => (6, identity.clone()),
        Action::RemoveGroup { .. } => (7, String::new()),
    }
}

/// Every address of the file must be a recipient of the tenant.
fn check_mailboxes(desired: &DesiredState, live: &LiveSnapshot, problems: &mut Vec<PlanProblem>) {
    let known: BTreeSet<String> = live.recipients.iter().map(|r| key(&r.address)).collect();
    for app in &desired.apps {
        for list in [ListKind::Allow, ListKind::Deny] {
            for entry in app.list(list).unwrap_or_default() {
                if !known.contains(&entry.address) {
                    problems.push(PlanProblem {
                        at: entry.at,
                        app: app.name.clone(),
                        message: format!(
                            "mailbox {} in `{list}` of app \"{}\" does not exist in the tenant",
                            entry.address, app.name
                        ),
                    });
                }
            }
        }
    }
}

/// Sets the target of one list of one desired app.
fn plan_list(
    app: &AppSpec,
    list: ListKind,
    live: &World,
    managed: &BTreeMap<(String, ListKind), Vec<String>>,
    target: &mut World,
    problems: &mut Vec<PlanProblem>,
) {
    let owned = managed.get(&(app.app_id.clone(), list)).cloned().unwrap_or_default();
    let Some(entries) = app.list(list) else {
        drop_managed(&app.app_id, list, None, live, managed, target);
        return;
    };
    let explicit = app.adopted_group(list).map(str::to_owned);
    let derived = derived_group_name(&app.name, list);
    let name = explicit.clone().unwrap_or_else(|| {
        // Keep a managed group the app already has (e.g. after a rename of
        // the app); otherwise the derived name.
        let derived_key = key(&derived);
        if owned.contains(&derived_key) {
            derived.clone()
        } else {
            owned.first().map_or_else(|| derived.clone(), |g| live.groups[g].name.clone())
        }
    });
    let mut gk = key(&name);
    let mut name = name;
    // A managed group that carries the other right for this app is replaced
    // by a fresh one (its old policy goes after the new one exists); an
    // adopted group cannot be replaced.
    if carries_other_right(live, &app.app_id, &gk, list) {
        if explicit.is_some() {
            problems.push(PlanProblem {
                at: app.at,
                app: app.name.clone(),
                message: format!(
                    "group \"{name}\" already scopes a {} policy of app \"{}\"; remove that policy by hand or adopt another group",
                    if list == ListKind::Allow { "DenyAccess" } else { "RestrictAccess" },
                    app.name
                ),
            });
        } else {
            name = unused_name(live, &derived);
            gk = key(&name);
        }
    }
    let mark = marker(&app.app_id, list);
    if let Some(g) = live.groups.get(&gk) {
        match g.marker.as_deref().and_then(parse_marker) {
            Some(found) if found == (app.app_id.clone(), list) => {}
            Some((other, other_list)) => problems.push(PlanProblem {
                at: app.at,
                app: app.name.clone(),
                message: format!(
                    "group \"{}\" is managed by mailscope for the {other_list} list of app {other}; app \"{}\" cannot use it",
                    g.name, app.name
                ),
            }),
            None => {
                // An empty, unmarked group under the derived name and without
                // a policy is what a crash between creating a group and
                // marking it leaves: finish the job by adopting it.
                let scoped = live.policies_on(&gk).next().is_some();
                let half_created = explicit.is_none() && g.members.is_empty() && !scoped;
                if explicit.is_none() && !half_created {
                    problems.push(PlanProblem {
                        at: app.at,
                        app: app.name.clone(),
                        message: format!(
                            "group \"{}\" already exists and mailscope does not manage it; adopt it with `group: {}` or delete it",
                            g.name, g.name
                        ),
                    });
                }
            }
        }
    }
    let existing = live.groups.get(&gk);
    target.groups.insert(
        gk.clone(),
        GroupState {
            name: existing.map_or_else(|| name.clone(), |g| g.name.clone()),
            marker: Some(mark.clone()),
            members: entries.iter().map(|e| e.address.clone()).collect(),
        },
    );
    let policy =
        PolicyKey { app_id: app.app_id.clone(), scope: Scope::Group(gk.clone()), right: right_of(list) };
    let identity = live.policies.get(&policy).map(|p| p.identity.clone()).unwrap_or_default();
    target.insert_policy(policy, PolicyState { identity, description: mark });
    drop_managed(&app.app_id, list, Some(&gk), live, managed, target);
}

/// Removes the managed groups and policies of one list of one app from the
/// target, except the group `keep`.
fn drop_managed(
    app_id: &str,
    list: ListKind,
    keep: Option<&str>,
    live: &World,
    managed: &BTreeMap<(String, ListKind), Vec<String>>,
    target: &mut World,
) {
    let right = right_of(list);
    for (k, p) in live.app_policies(app_id) {
        let kept = matches!((&k.scope, keep), (Scope::Group(g), Some(keep)) if g == keep);
        if k.right == right && !kept && p.is_managed() {
            target.remove_policy(k);
        }
    }
    for g in managed.get(&(app_id.to_owned(), list)).into_iter().flatten() {
        if Some(g.as_str()) != keep {
            target.groups.remove(g);
            // Managed policies on a group that goes, whatever their right.
            let on_group: Vec<PolicyKey> =
                live.policies_on(g).filter(|k| live.policies[*k].is_managed()).cloned().collect();
            for k in on_group {
                target.remove_policy(&k);
            }
        }
    }
}

/// Empties (or creates empty) the allow group of an app that left the file.
fn lock_down(
    app_id: &str,
    live: &World,
    managed: &BTreeMap<(String, ListKind), Vec<String>>,
    target: &mut World,
) {
    let owned = managed.get(&(app_id.to_owned(), ListKind::Allow)).cloned().unwrap_or_default();
    // A managed allow group that carries a Deny policy of this app cannot
    // also carry its Restrict policy (see `plan_list`): lock down with a
    // fresh group then.
    let usable = owned.into_iter().find(|gk| !carries_other_right(live, app_id, gk, ListKind::Allow));
    let gk = usable.unwrap_or_else(|| {
        let base = format!("mailscope-lockdown-{app_id}");
        if live.groups.contains_key(&base) { key(&unused_name(live, &base)) } else { base }
    });
    let name = live.groups.get(&gk).map_or_else(|| gk.clone(), |g| g.name.clone());
    let mark = marker(app_id, ListKind::Allow);
    target
        .groups
        .insert(gk.clone(), GroupState { name, marker: Some(mark.clone()), members: BTreeSet::new() });
    let policy = PolicyKey {
        app_id: app_id.to_owned(),
        scope: Scope::Group(gk.clone()),
        right: AccessRight::RestrictAccess,
    };
    let identity = live.policies.get(&policy).map(|p| p.identity.clone()).unwrap_or_default();
    target.insert_policy(policy, PolicyState { identity, description: mark });
    drop_managed(app_id, ListKind::Allow, Some(&gk), live, managed, target);
}

/// `base-2`, `base-3`, …: the first name no live group has.
fn unused_name(live: &World, base: &str) -> String {
    // There are finitely many groups, so one of the first `len + 1` is free.
    (2..=live.groups.len() + 2)
        .map(|n| format!("{base}-{n}"))
        .find(|n| !live.groups.contains_key(&key(n)))
        .unwrap_or_else(|| format!("{base}-{}", live.groups.len() + 3))
}

/// Whether the group scopes a policy of the app with the right *other* than
/// the list's. A policy's identity holds the app and the scope but not the
/// right, so such a group cannot take the list's policy as well.
fn carries_other_right(live: &World, app_id: &str, gk: &str, list: ListKind) -> bool {
    let right = right_of(list);
    live.app_policies(app_id).any(|(k, _)| k.scope == Scope::Group(gk.to_owned()) && k.right != right)
}

fn removed_app_name(
    app_id: &str,
    managed: &BTreeMap<(String, ListKind), Vec<String>>,
    live: &World,
) -> String {
    for list in [ListKind::Allow, ListKind::Deny] {
        for g in managed.get(&(app_id.to_owned(), list)).into_iter().flatten() {
            let name = &live.groups[g].name;
            if let Some(n) = name.strip_prefix("mailscope-").and_then(|n| n.strip_suffix(&format!("-{list}")))
                && !n.starts_with("lockdown-")
            {
                return n.to_owned();
            }
        }
    }
    app_id.to_owned()
}

fn report_unmanaged(
    live: &World,
    target: &World,
    owners: &BTreeMap<String, Owner>,
    desired_ids: &BTreeSet<String>,
    scope_names: &BTreeMap<&str, &str>,
    findings: &mut Vec<Finding>,
) {
    for (k, p) in &live.policies {
        if p.is_managed() || target.policies.get(k).is_some_and(|t| t.description != p.description) {
            continue;
        }
        let scope = match &k.scope {
            Scope::Group(g) => {
                format!("group \"{}\"", live.groups.get(g).map_or(g.as_str(), |g| g.name.as_str()))
            }
            Scope::Mailbox(m) => format!("mailbox {m}"),
            // Groups of apps outside the file are not read; the policy still
            // names its scope.
            Scope::Unresolved(_) if !owners.contains_key(&k.app_id) => {
                format!("\"{}\"", scope_names.get(p.identity.as_str()).copied().unwrap_or("?"))
            }
            Scope::Unresolved(id) => format!("a scope that no longer exists ({id})"),
        };
        let right = match k.right {
            AccessRight::RestrictAccess => "RestrictAccess",
            AccessRight::DenyAccess => "DenyAccess",
        };
        if desired_ids.contains(&k.app_id) {
            let name = &owners[&k.app_id].name;
            let effect = match k.right {
                AccessRight::RestrictAccess => {
                    "its members stay reachable in addition to the file's allow list"
                }
                AccessRight::DenyAccess => "its members stay unreachable whatever the file says",
            };
            findings.push(Finding {
                code: "unmanaged-policy".into(),
                app: Some(name.clone()),
                message: format!(
                    "app \"{name}\" also has a {right} policy on {scope} that mailscope does not manage: {effect}; adopt its group with `group:` or remove it by hand"
                ),
            });
        } else if !owners.contains_key(&k.app_id) {
            findings.push(Finding {
                code: "unlisted-app".into(),
                app: None,
                message: format!(
                    "app {} is not in the file; it has a {right} policy on {scope}, left as it is",
                    k.app_id
                ),
            });
        }
        if let Scope::Unresolved(_) = k.scope
            && owners.contains_key(&k.app_id)
        {
            findings.push(Finding {
                code: "dangling-policy".into(),
                app: owners.get(&k.app_id).map(|o| o.name.clone()),
                message: format!(
                    "policy {} points at {scope}; Exchange most likely treats it as an empty scope",
                    p.identity
                ),
            });
        }
    }
}

/// Turns live → target into unordered steps with their waves.
fn diff(live: &World, target: &World, owners: &BTreeMap<String, Owner>) -> Vec<Step> {
    let mut steps = Vec::new();
    let group_owner = |gk: &str| -> Owner {
        let marker = target.groups.get(gk).or_else(|| live.groups.get(gk)).and_then(|g| g.marker.as_deref());
        marker
            .and_then(parse_marker)
            .and_then(|(app, _)| owners.get(&app).cloned())
            .unwrap_or_else(|| Owner { name: String::new(), app_id: String::new() })
    };
    let push = |steps: &mut Vec<Step>, owner: &Owner, wave: Wave, action: Action| {
        steps.push(Step {
            index: 0,
            app: owner.name.clone(),
            app_id: owner.app_id.clone(),
            wave: wave as u32,
            action,
            effect: Effect::Neutral,
        });
    };

    for (gk, t) in &target.groups {
        let owner = group_owner(gk);
        let l = live.groups.get(gk);
        match l {
            None => push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::CreateGroup {
                    group: t.name.clone(),
                    alias: alias_for(&t.name),
                    marker: t.marker.clone().unwrap_or_default(),
                },
            ),
            Some(l) if l.marker != t.marker => push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::MarkGroup { group: t.name.clone(), marker: t.marker.clone().unwrap_or_default() },
            ),
            Some(_) => {}
        }
        let empty = BTreeSet::new();
        let live_members = l.map_or(&empty, |l| &l.members);
        // Which rights the group carries *now* decides which direction a
        // membership change moves access.
        let rights: BTreeSet<AccessRight> = live.policies_on(gk).map(|k| k.right).collect();
        let (add_wave, remove_wave) = if rights.is_empty() {
            (Wave::FillUnused, Wave::FillUnused)
        } else if rights.contains(&AccessRight::RestrictAccess) {
            (Wave::WidenMembers, Wave::NarrowMembers)
        } else {
            (Wave::NarrowMembers, Wave::WidenMembers)
        };
        for m in live_members.difference(&t.members) {
            push(
                &mut steps,
                &owner,
                remove_wave,
                Action::RemoveMember { group: t.name.clone(), member: m.clone() },
            );
        }
        for m in t.members.difference(live_members) {
            push(
                &mut steps,
                &owner,
                add_wave,
                Action::AddMember { group: t.name.clone(), member: m.clone() },
            );
        }
    }

    let group_name = |w: &World, gk: &str| w.groups.get(gk).map_or_else(|| gk.to_owned(), |g| g.name.clone());
    for (k, t) in &target.policies {
        let owner = owners
            .get(&k.app_id)
            .cloned()
            .unwrap_or_else(|| Owner { name: k.app_id.clone(), app_id: k.app_id.clone() });
        let Scope::Group(gk) = &k.scope else { continue };
        match live.policies.get(k) {
            None => push(
                &mut steps,
                &owner,
                if k.right == AccessRight::DenyAccess { Wave::CreateDeny } else { Wave::CreateRestrict },
                Action::CreatePolicy {
                    app_id: k.app_id.clone(),
                    group: group_name(target, gk),
                    access_right: k.right,
                    description: t.description.clone(),
                },
            ),
            Some(l) if l.description != t.description => push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::SetPolicyDescription {
                    identity: l.identity.clone(),
                    group: group_name(target, gk),
                    description: t.description.clone(),
                },
            ),
            Some(_) => {}
        }
    }
    for (k, l) in &live.policies {
        if target.policies.contains_key(k) {
            continue;
        }
        let owner = owners
            .get(&k.app_id)
            .cloned()
            .unwrap_or_else(|| Owner { name: k.app_id.clone(), app_id: k.app_id.clone() });
        let scope = match &k.scope {
            Scope::Group(g) => group_name(live, g),
            Scope::Mailbox(m) => m.clone(),
            Scope::Unresolved(id) => id.clone(),
        };
        push(
            &mut steps,
            &owner,
            if k.right == AccessRight::DenyAccess { Wave::RemoveDeny } else { Wave::RemoveRestrict },
            Action::RemovePolicy {
                identity: l.identity.clone(),
                app_id: k.app_id.clone(),
                scope,
                access_right: k.right,
            },
        );
    }
    for (gk, l) in &live.groups {
        if !target.groups.contains_key(gk) {
            push(
                &mut steps,
                &group_owner(gk),
                Wave::RemoveGroups,
                Action::RemoveGroup { group: l.name.clone() },
            );
        }
    }
    steps
}

/// A mail nickname for a new group: Exchange aliases allow letters, digits
/// and a few punctuation marks, no spaces.
fn alias_for(name: &str) -> String {
    let alias: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' })
        .collect();
    alias.trim_matches(['-', '.']).chars().take(64).collect()
}

/// Apps whose decisions a step can change, and the mailboxes to probe: for
/// a membership change only that member; for a policy change every member
/// of the app's scopes and of the policy's group, plus "any other mailbox".
fn probes(world: &World, action: &Action) -> Vec<(String, BTreeSet<String>)> {
    match action {
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => world
            .policies_on(&key(group))
            .map(|k| k.app_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|a| (a, BTreeSet::from([key(member)])))
            .collect(),
        Action::CreatePolicy { app_id, group, .. } | Action::RemovePolicy { app_id, scope: group, .. } => {
            let app = key(app_id);
            let mut universe = app_universe(world, &app);
            universe
                .extend(world.groups.get(&key(group)).into_iter().flat_map(|g| g.members.iter().cloned()));
            vec![(app, universe)]
        }
        Action::CreateGroup { .. }
        | Action::MarkGroup { .. }
        | Action::SetPolicyDescription { .. }
        | Action::RemoveGroup { .. } => Vec::new(),
    }
}

/// The mailboxes whose decision for `app_id` can differ from "any other
/// mailbox": members of its scopes, plus the representative of the rest.
fn app_universe(world: &World, app_id: &str) -> BTreeSet<String> {
    let mut universe = BTreeSet::from([OTHER_MAILBOX.to_owned()]);
    for (k, _) in world.app_policies(app_id) {
        match &k.scope {
            Scope::Group(g) => {
                universe.extend(world.groups.get(g).into_iter().flat_map(|g| g.members.iter().cloned()));
            }
            Scope::Mailbox(m) => {
                universe.insert(m.clone());
            }
            Scope::Unresolved(_) => {}
        }
    }
    universe
}

/// Replays the steps: sets each step's effect and checks that no
/// intermediate state lets an app reach a mailbox it reaches neither before
/// nor after the plan.
fn classify_and_check(live: &World, target: &World, steps: &mut [Step]) -> Result<(), PlanError> {
    let mut world = live.clone();
    for step in steps.iter_mut() {
        let probes = probes(&world, &step.action);
        let before: Vec<Vec<bool>> =
            probes.iter().map(|(app, ms)| ms.iter().map(|m| world.allows(app, m)).collect()).collect();
        world.apply(&step.action);
        let mut narrowed = false;
        let mut widened = false;
        for ((app, mailboxes), was) in probes.iter().zip(before) {
            for (m, was) in mailboxes.iter().zip(was) {
                let is = world.allows(app, m);
                widened |= is && !was;
                narrowed |= was && !is;
                if is && !live.allows(app, m) && !target.allows(app, m) {
                    return Err(PlanError::bug(&format!(
                        "step {} ({:?}) would let app {app} reach {} which it reaches neither before nor after the plan",
                        step.index,
                        step.action,
                        if m == OTHER_MAILBOX { "every other mailbox" } else { m }
                    )));
                }
            }
        }
        step.effect = if widened {
            Effect::Widening
        } else if narrowed {
            Effect::Narrowing
        } else {
            Effect::Neutral
        };
    }
    Ok(())
}

fn summarize(world: &World, app_id: &str) -> AccessSummary {
    let policies: Vec<&PolicyKey> = world.app_policies(app_id).map(|(k, _)| k).collect();
    let universe = app_universe(world, app_id);
    if policies.iter().any(|k| k.right == AccessRight::RestrictAccess) {
        AccessSummary::Only { allowed: universe.iter().filter(|m| world.allows(app_id, m)).count() }
    } else if policies.is_empty() {
        AccessSummary::Unrestricted
    } else {
        AccessSummary::AllBut { denied: universe.iter().filter(|m| !world.allows(app_id, m)).count() }
    }
}

#[allow(clippy::too_many_arguments)]
fn app_plans(
    desired: &DesiredState,
    removed: &BTreeSet<String>,
    options: &PlanOptions,
    owners: &BTreeMap<String, Owner>,
    live: &World,
    target: &World,
    steps: &[Step],
    lines: &BTreeMap<String, Position>,
    managed: &BTreeMap<(String, ListKind), Vec<String>>,
) -> Vec<AppPlan> {
    let with_steps: BTreeSet<&str> = steps.iter().map(|s| s.app_id.as_str()).collect();
    let listed: BTreeSet<&str> =
        desired.apps.iter().map(|a| a.app_id.as_str()).chain(removed.iter().map(String::as_str)).collect();
    // Apps outside the file whose unmanaged policies scope a group the plan
    // changes: their access moves too, and must be shown (and approved when
    // it widens) like anyone else's.
    let bystanders: BTreeSet<String> = live
        .policies
        .keys()
        .chain(target.policies.keys())
        .map(|k| k.app_id.clone())
        .filter(|a| !listed.contains(a.as_str()))
        .collect();
    let ids = desired.apps.iter().map(|a| a.app_id.clone()).chain(removed.iter().cloned());
    ids.chain(bystanders.iter().cloned())
        .filter_map(|app_id| {
            let mut universe = app_universe(live, &app_id);
            universe.extend(app_universe(target, &app_id));
            let gains: Vec<String> = universe
                .iter()
                .filter(|m| {
                    m.as_str() != OTHER_MAILBOX && target.allows(&app_id, m) && !live.allows(&app_id, m)
                })
                .cloned()
                .collect();
            let becomes_unrestricted =
                target.allows(&app_id, OTHER_MAILBOX) && !live.allows(&app_id, OTHER_MAILBOX);
            if bystanders.contains(&app_id) {
                let moved = universe.iter().any(|m| target.allows(&app_id, m) != live.allows(&app_id, m));
                if !moved {
                    return None;
                }
                return Some(AppPlan {
                    name: app_id.clone(),
                    app_id: app_id.clone(),
                    change: AppChange::Affected,
                    before: summarize(live, &app_id),
                    after: summarize(target, &app_id),
                    gains,
                    becomes_unrestricted,
                    line: None,
                });
            }
            let has_steps = with_steps.contains(app_id.as_str());
            let had_objects =
                managed.keys().any(|(a, _)| a == &app_id) || live.app_policies(&app_id).next().is_some();
            let change = if removed.contains(&app_id) {
                match options.removed_apps {
                    _ if !has_steps => AppChange::Unchanged,
                    RemovedApps::LockDown => AppChange::LockDown,
                    RemovedApps::Remove => AppChange::Remove,
                }
            } else if !has_steps {
                AppChange::Unchanged
            } else if had_objects {
                AppChange::Update
            } else {
                AppChange::Create
            };
            Some(AppPlan {
                name: owners[&app_id].name.clone(),
                app_id: app_id.clone(),
                change,
                before: summarize(live, &app_id),
                after: summarize(target, &app_id),
                gains,
                becomes_unrestricted,
                line: lines.get(&app_id).map(|p| p.line),
            })
        })
        .collect()
}
