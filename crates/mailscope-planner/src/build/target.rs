//! Pass 1: the *target* world, i.e. the live world with the managed objects
//! changed to what the file asks. Unmanaged objects are copied as they are;
//! conflicts with them are problems that stop the plan.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_spec::{AppSpec, DesiredState, ListKind, Mechanism, UnlistedMode};

use super::naming::{
    carries_other_right, human_description, is_half_created, lockdown_group_name, marked_for_own_app, marker,
    owns_policy, parse_marker, policy_description, prefixed_group_name, right_of, unused_name,
};
use super::ownership::{self, Managed};
use super::rbac;
use super::unlisted;
use super::{Owner, PlanOptions, RemovedApps};
use crate::error::{PlanError, PlanProblem};
use crate::live::{AccessRight, LiveSnapshot};
use crate::plan::Finding;
use crate::world::{GroupState, PolicyKey, PolicyState, Scope, World, key};

/// What the target pass hands to the later ones.
pub(super) struct Target {
    /// The world after the plan.
    pub(super) world: World,
    /// Every app the plan speaks for (file apps and apps that left it), by id.
    pub(super) owners: BTreeMap<String, Owner>,
    /// Managed groups of the live world.
    pub(super) managed: Managed,
    /// Apps that left the file but still have managed objects.
    pub(super) removed: BTreeSet<String>,
    /// Apps outside the file locked down by `unlistedApps: lock-down` (some
    /// may also be in `removed`).
    pub(super) locked_unlisted: BTreeSet<String>,
    /// Reported, never changed.
    pub(super) findings: Vec<Finding>,
}

/// Builds the target world, or every problem that stops the plan.
pub(super) fn build(
    desired: &DesiredState,
    snapshot: &LiveSnapshot,
    live: &World,
    options: &PlanOptions,
) -> Result<Target, PlanError> {
    let mut problems = Vec::new();
    let mut findings = Vec::new();
    check_mailboxes(desired, snapshot, &mut problems);
    let mut target = live.clone();
    let managed = ownership::managed_groups(live, &mut findings);

    let mut owners: BTreeMap<String, Owner> = BTreeMap::new(); // app id -> owner
    let mut desired_ids = BTreeSet::new();
    for app in &desired.apps {
        desired_ids.insert(app.app_id.clone());
        owners.insert(app.app_id.clone(), Owner { name: app.name.clone(), app_id: app.app_id.clone() });
        for list in [ListKind::Allow, ListKind::Deny] {
            plan_list(&desired.group_prefix, app, list, live, &managed, &mut target, &mut problems);
        }
        if app.mechanism == Mechanism::Rbac {
            if !rbac::needs_policies(app, snapshot, live) {
                // No Entra grant stays for a policy to fence: the policies go
                // (after the grants, see the diff's waves).
                let own: Vec<PolicyKey> = target
                    .app_policies(&app.app_id)
                    .filter(|(k, p)| owns_policy(k, p))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in own {
                    target.remove_policy(&k);
                }
            }
            rbac::plan_app(app, snapshot, live, &mut target, &mut problems, &mut findings);
        } else {
            rbac::drop_rbac(&app.app_id, &mut target);
        }
    }

    let mut removed = ownership::removed_apps(live, &managed, &desired_ids);
    removed.extend(rbac::rbac_owners(live).into_iter().filter(|a| !desired_ids.contains(a)));
    let unlisted = unlisted::find(desired, snapshot);
    let locked_unlisted = unlisted::to_lock_down(desired, &unlisted, &removed);
    for app_id in &removed {
        let name = ownership::removed_app_name(&desired.group_prefix, app_id, &managed, live);
        owners.insert(app_id.clone(), Owner { name, app_id: app_id.clone() });
        // Removing role assignments only narrows, whatever the option says.
        rbac::drop_rbac(app_id, &mut target);
        match options.removed_apps {
            // `unlistedApps: lock-down` keeps a mailbox-holding app fenced
            // whatever the option: removing its fence would widen it to
            // every mailbox.
            _ if locked_unlisted.contains(app_id) => {
                lock_down(&desired.group_prefix, app_id, live, &managed, &mut target);
            }
            RemovedApps::LockDown => lock_down(&desired.group_prefix, app_id, live, &managed, &mut target),
            RemovedApps::Remove => {
                for list in [ListKind::Allow, ListKind::Deny] {
                    drop_managed(app_id, list, None, live, &managed, &mut target);
                }
            }
        }
    }

    let fenced: Vec<&unlisted::UnlistedApp> = unlisted
        .iter()
        .filter(|u| locked_unlisted.contains(&u.app_id) && !removed.contains(&u.app_id))
        .collect();
    for u in &fenced {
        lock_down(&desired.group_prefix, &u.app_id, live, &managed, &mut target);
    }

    ownership::keep_groups_in_use(live, &mut target, &owners, &mut findings);
    let described: BTreeSet<String> = unlisted
        .iter()
        .map(|u| u.app_id.clone())
        .chain(desired.unlisted_apps.exclude.iter().map(|e| key(&e.app_id)))
        .collect();
    ownership::report_unmanaged(snapshot, live, &target, &owners, &desired_ids, &described, &mut findings);
    // Owners of the fenced apps only now: the reports above speak of them
    // as apps outside the file, which they are.
    for u in fenced {
        owners.insert(u.app_id.clone(), Owner { name: u.name(), app_id: u.app_id.clone() });
    }
    if desired.unlisted_apps.mode == UnlistedMode::Ignore {
        findings.retain(|f| f.code != "unlisted-app");
    }
    ownership::report_scope_groups(snapshot, &target, &owners, &desired_ids, &mut findings);
    rbac::report_unmanaged(desired, live, &mut findings);
    rbac::report_trap(desired, &target, &mut findings);
    findings.extend(unlisted::findings(desired, snapshot, &unlisted, &locked_unlisted, &removed));

    if !problems.is_empty() {
        problems.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.message.cmp(&b.message)));
        return Err(PlanError::input(desired.origin.clone(), problems));
    }
    Ok(Target { world: target, owners, managed, removed, locked_unlisted, findings })
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
    prefix: &str,
    app: &AppSpec,
    list: ListKind,
    live: &World,
    managed: &Managed,
    target: &mut World,
    problems: &mut Vec<PlanProblem>,
) {
    let owned = managed.get(&(app.app_id.clone(), list)).cloned().unwrap_or_default();
    let Some(entries) = app.list(list) else {
        drop_managed(&app.app_id, list, None, live, managed, target);
        return;
    };
    let explicit = app.adopted_group(list).map(str::to_owned);
    let derived = prefixed_group_name(prefix, &app.name, list);
    let name = explicit.clone().unwrap_or_else(|| {
        // Keep a managed group the app already has (e.g. after a rename of
        // the app); otherwise the derived name. One that carries the other
        // right is not kept (see below): skipping it here lets the next plan
        // keep the fresh group that replaced it instead of making another.
        let derived_key = key(&derived);
        let usable: Vec<&String> =
            owned.iter().filter(|g| !carries_other_right(live, &app.app_id, g, list)).collect();
        if usable.contains(&&derived_key) {
            derived.clone()
        } else {
            usable.first().map_or_else(|| derived.clone(), |g| live.groups[*g].name.clone())
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
                // An unmarked group under the derived name, without a policy
                // and holding only members the file wants in it, is what a
                // crash between creating a group and marking it leaves:
                // finish the job by adopting it.
                let wanted = entries.iter().map(|e| key(&e.address)).collect();
                if explicit.is_none() && !is_half_created(live, &gk, &wanted) {
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
            marker: Some(mark),
            members: entries.iter().map(|e| e.address.clone()).collect(),
        },
    );
    let policy =
        PolicyKey { app_id: app.app_id.clone(), scope: Scope::Group(gk.clone()), right: right_of(list) };
    let existing = live.policies.get(&policy);
    let identity = existing.map(|p| p.identity.clone()).unwrap_or_default();
    // The file's description; without one, the human text the live policy
    // carries (a hand-made policy's own words survive its adoption, and the
    // next plan keeps them instead of stripping them again).
    let human =
        app.description.as_deref().or_else(|| existing.and_then(|p| human_description(&p.description)));
    let description = policy_description(&app.app_id, list, human);
    target.insert_policy(policy, PolicyState { identity, description });
    drop_managed(&app.app_id, list, Some(&gk), live, managed, target);
}

/// Removes the managed groups and policies of one list of one app from the
/// target, except the group `keep`.
fn drop_managed(
    app_id: &str,
    list: ListKind,
    keep: Option<&str>,
    live: &World,
    managed: &Managed,
    target: &mut World,
) {
    let right = right_of(list);
    for (k, p) in live.app_policies(app_id) {
        let kept = matches!((&k.scope, keep), (Scope::Group(g), Some(keep)) if g == keep);
        if k.right == right && !kept && owns_policy(k, p) {
            target.remove_policy(k);
        }
    }
    for g in managed.get(&(app_id.to_owned(), list)).into_iter().flatten() {
        if Some(g.as_str()) != keep {
            target.groups.remove(g);
            // Managed policies on a group that goes, whatever their right,
            // and this app's policies whose marker names the other list.
            let on_group: Vec<PolicyKey> = live
                .policies_on(g)
                .filter(|k| owns_policy(k, &live.policies[*k]) || marked_for_own_app(k, &live.policies[*k]))
                .cloned()
                .collect();
            for k in on_group {
                target.remove_policy(&k);
            }
        }
    }
}

/// Empties (or creates empty) the allow group of an app that left the file,
/// or makes one for an unlisted app `unlistedApps: lock-down` fences: a
/// `RestrictAccess` policy on an empty managed group, so the app reaches no
/// mailbox through its Entra grants.
pub(super) fn lock_down(prefix: &str, app_id: &str, live: &World, managed: &Managed, target: &mut World) {
    let owned = managed.get(&(app_id.to_owned(), ListKind::Allow)).cloned().unwrap_or_default();
    // A managed allow group that carries a Deny policy of this app cannot
    // also carry its Restrict policy (see `plan_list`): lock down with a
    // fresh group then.
    let usable = owned.into_iter().find(|gk| !carries_other_right(live, app_id, gk, ListKind::Allow));
    let gk = usable.unwrap_or_else(|| {
        let base = lockdown_group_name(prefix, app_id);
        if live.groups.contains_key(&base) { key(&unused_name(live, &base)) } else { base }
    });
    let name = live.groups.get(&gk).map_or_else(|| gk.clone(), |g| g.name.clone());
    let mark = marker(app_id, ListKind::Allow);
    target.groups.insert(gk.clone(), GroupState { name, marker: Some(mark), members: BTreeSet::new() });
    let policy = PolicyKey {
        app_id: app_id.to_owned(),
        scope: Scope::Group(gk.clone()),
        right: AccessRight::RestrictAccess,
    };
    let existing = live.policies.get(&policy);
    let identity = existing.map(|p| p.identity.clone()).unwrap_or_default();
    let human = existing.and_then(|p| human_description(&p.description));
    let description = policy_description(app_id, ListKind::Allow, human);
    target.insert_policy(policy, PolicyState { identity, description });
    drop_managed(app_id, ListKind::Allow, Some(&gk), live, managed, target);
}
