//! Pass 3: replay the ordered steps on the live world, to classify each one
//! (narrowing / widening / neutral) and to check the safe-order rule. A
//! violation is a planner bug and fails the plan rather than risk an
//! unrestricted window.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::{effective, permissions_in};
use mailscope_spec::DesiredState;

use super::{Owner, diff};
use crate::error::PlanError;
use crate::plan::{Action, Effect, Step};
use crate::world::{AppAccess, GroupRef, OTHER_MAILBOX, Scope, ScopeRule, World, key};

/// Apps whose decisions a step can change, and the mailboxes to probe: for
/// a membership change only that member (for every app whose policy or
/// assigned management scope uses the group); for a policy, RBAC or Entra
/// change every mailbox the app's scopes name, plus "any other mailbox".
fn probes(world: &World, action: &Action, universes: &Universes) -> Vec<(String, BTreeSet<String>)> {
    let whole = |app: String| {
        let mut universe = app_universe(world, &app);
        universe.extend(universes.get(&app).into_iter().flatten().cloned());
        (app, universe)
    };
    match action {
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
            group_users(world, &key(group)).into_iter().map(|a| (a, BTreeSet::from([key(member)]))).collect()
        }
        // One atomic step: every member that joins or leaves, in one probe.
        Action::ReplaceMembers { group, added, removed, .. } => {
            let moved: BTreeSet<String> = added.iter().chain(removed).map(|m| key(m)).collect();
            group_users(world, &key(group)).into_iter().map(|a| (a, moved.clone())).collect()
        }
        // No policy can scope a group before it exists; probed anyway, so a
        // plan that got that wrong fails here instead of in the tenant.
        Action::CreateGroup { group, members, .. } if !members.is_empty() => {
            let joined: BTreeSet<String> = members.iter().map(|m| key(m)).collect();
            group_users(world, &key(group)).into_iter().map(|a| (a, joined.clone())).collect()
        }
        Action::CreatePolicy { app_id, group, .. } | Action::RemovePolicy { app_id, scope: group, .. } => {
            let (app, mut universe) = whole(key(app_id));
            universe
                .extend(world.groups.get(&key(group)).into_iter().flat_map(|g| g.members.iter().cloned()));
            vec![(app, universe)]
        }
        // A scope that names a group which is gone selects no one there.
        Action::RemoveGroup { group } => group_users(world, &key(group)).into_iter().map(whole).collect(),
        Action::CreateManagementScope { app_id, .. }
        | Action::SetManagementScope { app_id, .. }
        | Action::RemoveManagementScope { app_id, .. }
        | Action::CreateRoleAssignment { app_id, .. }
        | Action::RemoveRoleAssignment { app_id, .. }
        | Action::RemoveEntraGrant { app_id, .. } => vec![whole(key(app_id))],
        Action::CreateGroup { .. }
        | Action::MarkGroup { .. }
        | Action::SetPolicyDescription { .. }
        | Action::CreateServicePrincipal { .. }
        | Action::RemoveServicePrincipal { .. } => Vec::new(),
    }
}

/// Apps whose policy scopes the group, or whose role assignment uses a
/// management scope naming it.
pub(super) fn group_users(world: &World, gk: &str) -> BTreeSet<String> {
    let mut apps: BTreeSet<String> = world.policies_on(gk).map(|k| k.app_id.clone()).collect();
    let names_group = |rule: &ScopeRule| match rule {
        ScopeRule::Groups { allow, deny } => {
            [allow, deny].into_iter().flatten().any(|g| *g == GroupRef::Group(gk.to_owned()))
        }
        ScopeRule::Opaque(_) => false,
    };
    for a in world.rbac.assignments.values() {
        if a.scope.as_ref().and_then(|s| world.rbac.scopes.get(s)).is_some_and(|s| names_group(&s.rule)) {
            apps.insert(a.app_id.clone());
        }
    }
    apps
}

/// Per app whose decision needs the per-permission model: the permissions
/// it holds before or after, and the mailboxes worth probing.
pub(super) type RbacApps = BTreeMap<String, (Vec<String>, BTreeSet<String>)>;

/// Per app whose decision needs the per-permission model: every mailbox a
/// management scope of it names, in the live or the target world.
type Universes = BTreeMap<String, BTreeSet<String>>;

/// The apps for which the access-policy verdict alone is not the answer:
/// those with role assignments before or after the plan, or whose Entra
/// grants change. Every other app keeps today's reading (it may hold every
/// policy-fenced permission), which is what its plans were checked against
/// before RBAC existed.
pub(super) fn rbac_apps(live: &World, target: &World) -> RbacApps {
    let mut apps: BTreeSet<String> = live
        .rbac
        .assignments
        .values()
        .chain(target.rbac.assignments.values())
        .map(|a| a.app_id.clone())
        .collect();
    apps.extend(
        live.rbac.grants.keys().filter(|k| !target.rbac.grants.contains_key(*k)).map(|k| k.0.clone()),
    );
    apps.into_iter()
        .map(|app| {
            let mut perms = permissions_in(live, &app);
            for p in permissions_in(target, &app) {
                if !perms.iter().any(|q| q.eq_ignore_ascii_case(&p)) {
                    perms.push(p);
                }
            }
            let mut universe = BTreeSet::new();
            for w in [live, target] {
                universe.extend(app_universe(w, &app));
                for a in w.rbac.assignments.values().filter(|a| a.app_id == app) {
                    if let Some(ScopeRule::Groups { allow, deny }) =
                        a.scope.as_ref().and_then(|s| w.rbac.scopes.get(s)).map(|s| &s.rule)
                    {
                        for g in [allow, deny].into_iter().flatten() {
                            if let GroupRef::Group(g) = g {
                                for v in [live, target] {
                                    universe.extend(
                                        v.groups.get(g).into_iter().flat_map(|g| g.members.iter().cloned()),
                                    );
                                }
                            }
                        }
                    }
                }
            }
            (app, (perms, universe))
        })
        .collect()
}

/// The mailboxes whose decision for `app_id` can differ from "any other
/// mailbox": members of its scopes, plus the representative of the rest.
pub(super) fn app_universe(world: &World, app_id: &str) -> BTreeSet<String> {
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

/// One probe's answers for one app in one world: per permission for the
/// apps of [`rbac_apps`], the access-policy verdict for the others. The
/// app's policies are looked up once ([`World::app_access`]), not per mailbox.
pub(super) struct Decider<'a> {
    world: &'a World,
    app: &'a str,
    /// The permissions decided one by one, for the apps of [`rbac_apps`].
    permissions: Option<&'a [String]>,
    access: AppAccess<'a>,
}

impl<'a> Decider<'a> {
    pub(super) fn new(
        world: &'a World,
        app: &'a str,
        rbac: &'a BTreeMap<String, (Vec<String>, BTreeSet<String>)>,
    ) -> Self {
        let permissions = rbac.get(app).map(|(perms, _)| perms.as_slice());
        Self { world, app, permissions, access: world.app_access(app) }
    }

    /// The app's decisions on mailbox `m`.
    pub(super) fn decide(&self, m: &str) -> Vec<bool> {
        match self.permissions {
            Some(perms) => perms.iter().map(|p| effective(self.world, self.app, p, m)).collect(),
            None => vec![self.access.allows(m)],
        }
    }
}

/// The steps from `live` to `target` in order, classified and proven safe.
///
/// The diff writes a group's membership change as one
/// `Update-DistributionGroupMember` where that is fewer calls. That step
/// moves the group from before to after at once, which is safe whenever the
/// app's other steps do not need the group half-way; the replay decides.
/// When it finds a violation at or after such a step, the replaces of that
/// step's app go back to per-member steps (each in its own wave, the order
/// the safe-order rule was designed with) and the plan is checked again;
/// a violation with no replace left to undo is a planner bug.
pub(super) fn ordered_and_checked(
    desired: &DesiredState,
    live: &World,
    target: &World,
    owners: &BTreeMap<String, Owner>,
) -> Result<Vec<Step>, PlanError> {
    let mut per_member: BTreeSet<String> = BTreeSet::new();
    loop {
        let mut steps = diff::ordered_steps(desired, live, target, owners, &per_member);
        let Err(violation) = classify_and_check(live, target, &mut steps) else {
            return Ok(steps);
        };
        let replaced = |s: &&Step| matches!(s.action, Action::ReplaceMembers { .. });
        let app = &steps[violation.index].app_id;
        let mut undo: BTreeSet<String> = steps
            .iter()
            .filter(replaced)
            .filter(|s| &s.app_id == app)
            .filter_map(|s| s.action.group().map(key))
            .collect();
        if undo.is_empty() {
            // The violating app has no replace; another app's replace of a
            // shared group may still be the cause.
            undo = steps.iter().filter(replaced).filter_map(|s| s.action.group().map(key)).collect();
        }
        if undo.is_empty() {
            return Err(PlanError::bug(&violation.message));
        }
        per_member.extend(undo);
    }
}

/// A step that lets an app reach a mailbox it reaches neither before nor
/// after the plan.
#[derive(Debug)]
pub(super) struct Violation {
    /// The step's index.
    pub(super) index: usize,
    /// What it would let happen, for the internal error.
    pub(super) message: String,
}

/// Replays the steps: sets each step's effect and checks that no
/// intermediate state lets an app reach a mailbox it reaches neither before
/// nor after the plan, per permission.
pub(super) fn classify_and_check(live: &World, target: &World, steps: &mut [Step]) -> Result<(), Violation> {
    let rbac = rbac_apps(live, target);
    let universes: Universes = rbac.iter().map(|(a, (_, u))| (a.clone(), u.clone())).collect();
    let mut world = live.clone();
    for step in steps.iter_mut() {
        let probes = probes(&world, &step.action, &universes);
        let before: Vec<Vec<Vec<bool>>> = probes
            .iter()
            .map(|(app, ms)| {
                let then = Decider::new(&world, app, &rbac);
                ms.iter().map(|m| then.decide(m)).collect()
            })
            .collect();
        world.apply(&step.action);
        let mut narrowed = false;
        let mut widened = false;
        for ((app, mailboxes), was) in probes.iter().zip(before) {
            let now = Decider::new(&world, app, &rbac);
            let (at_live, at_target) = (Decider::new(live, app, &rbac), Decider::new(target, app, &rbac));
            for (m, was) in mailboxes.iter().zip(was) {
                let is = now.decide(m);
                let (l, t) = (at_live.decide(m), at_target.decide(m));
                for (i, (&is, &was)) in is.iter().zip(&was).enumerate() {
                    widened |= is && !was;
                    narrowed |= was && !is;
                    if is && !l[i] && !t[i] {
                        let what = rbac.get(app).map_or_else(String::new, |(p, _)| format!(" with {}", p[i]));
                        return Err(Violation {
                            index: step.index,
                            message: format!(
                                "step {} ({:?}) would let app {app} reach {}{what}, which it reaches neither before nor after the plan",
                                step.index,
                                step.action,
                                if m == OTHER_MAILBOX { "every other mailbox" } else { m }
                            ),
                        });
                    }
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

#[cfg(test)]
mod tests {
    use mailscope_spec::ListKind;

    use super::super::naming::marker;
    use super::super::{PlanOptions, diff, target};
    use crate::live::{AccessRight, LiveGroup, LivePolicy, LiveSnapshot, Recipient};
    use crate::plan::{Action, Step};
    use crate::world::World;

    const APP: &str = "00000000-0000-4000-8000-00000000000a";

    fn group(id: &str, name: &str, marker: Option<String>, members: &[&str]) -> LiveGroup {
        LiveGroup {
            kind: None,
            id: id.to_owned(),
            name: name.to_owned(),
            primary_smtp_address: format!("{name}@contoso.com"),
            marker,
            distinguished_name: None,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn policy(id: &str, scope: &str, right: AccessRight, description: &str) -> LivePolicy {
        LivePolicy {
            identity: format!("tenant\\{APP}:S-1-5-21-1;{id}"),
            app_id: APP.to_owned(),
            scope_id: id.to_owned(),
            scope_name: scope.to_owned(),
            access_right: right,
            description: description.to_owned(),
        }
    }

    /// A replace is one transition: the replay probes every mailbox it moves
    /// and catches one placed before the step that makes it safe. Here m2
    /// joins the Restrict group while a Deny policy that will cover it does
    /// not exist yet: reached neither before nor after.
    #[test]
    fn the_replay_checks_a_replace_as_one_step_and_catches_an_unsafe_order() {
        use crate::plan::{Action, Effect, Step};
        let m = |i: usize| format!("m{i}@contoso.com");
        let live = LiveSnapshot {
            format_version: 1,
            groups: vec![
                group("g1", "Readers", None, &["m1@contoso.com"]),
                group("g2", "Blocked", None, &["m2@contoso.com"]),
            ],
            policies: vec![policy("g1", "Readers", AccessRight::RestrictAccess, "x")],
            ..LiveSnapshot::default()
        };
        let live_world = World::from_live(&live);
        let replace = Action::ReplaceMembers {
            group: "Readers".into(),
            members: vec![m(2)],
            added: vec![m(2)],
            removed: vec![m(1)],
        };
        let deny = Action::CreatePolicy {
            app_id: APP.into(),
            group: "Blocked".into(),
            access_right: AccessRight::DenyAccess,
            description: "x".into(),
        };
        let mut target = live_world.clone();
        target.apply(&replace);
        target.apply(&deny);
        let steps = |actions: [&Action; 2]| -> Vec<Step> {
            actions
                .iter()
                .enumerate()
                .map(|(index, a)| Step {
                    index,
                    app: "crm".into(),
                    app_id: APP.into(),
                    wave: 0,
                    action: (*a).clone(),
                    effect: Effect::Neutral,
                })
                .collect()
        };
        let mut unsafe_order = steps([&replace, &deny]);
        let violation = super::classify_and_check(&live_world, &target, &mut unsafe_order).unwrap_err();
        assert_eq!(violation.index, 0, "{}", violation.message);
        assert!(violation.message.contains("m2@contoso.com"), "{}", violation.message);
        let mut safe_order = steps([&deny, &replace]);
        super::classify_and_check(&live_world, &target, &mut safe_order).unwrap();
        assert_eq!(safe_order[1].effect, Effect::Narrowing, "m1 leaves; m2 joins denied");
    }

    /// The replay is the planner's model of the tenant during the apply: the
    /// world it ends in must be the target, descriptions included (they are
    /// what later plans read ownership from). Two adopted policies of one app
    /// get different markers, so a description written to the wrong policy
    /// shows.
    #[test]
    fn replaying_the_steps_ends_in_the_target_world() {
        let desired = mailscope_spec::parse(
            &format!(
                "apiVersion: mailscope/v1\napps:\n  - name: crm\n    appId: {APP}\n    group: Readers\n    \
                 allow: [a@contoso.com, b@contoso.com]\n    denyGroup: Blocked\n    deny: [c@contoso.com]\n"
            ),
            "t.yaml",
        )
        .unwrap();
        let live = LiveSnapshot {
            format_version: 1,
            groups: vec![
                group("g1", "Readers", None, &["a@contoso.com"]),
                group("g2", "Blocked", None, &["c@contoso.com", "b@contoso.com"]),
            ],
            policies: vec![
                policy("g1", "Readers", AccessRight::RestrictAccess, "by hand"),
                policy("g2", "Blocked", AccessRight::DenyAccess, "by hand too"),
            ],
            recipients: ["a", "b", "c"]
                .iter()
                .map(|m| Recipient {
                    address: format!("{m}@contoso.com"),
                    kind: "UserMailbox".into(),
                    id: None,
                    proxy_addresses: Vec::new(),
                })
                .collect(),
            ..LiveSnapshot::default()
        };
        let live_world = World::from_live(&live);
        let target = target::build(&desired, &live, &live_world, &PlanOptions::default()).unwrap();
        let steps = diff::ordered_steps(
            &desired,
            &live_world,
            &target.world,
            &target.owners,
            &std::collections::BTreeSet::new(),
        );
        let mut replayed = live_world.clone();
        for step in &steps {
            replayed.apply(&step.action);
        }
        assert_eq!(replayed, target.world);
        let _ = replays_to_target(&desired, &live);
        let descriptions: Vec<&str> = replayed.policies.values().map(|p| p.description.as_str()).collect();
        assert_eq!(
            descriptions,
            vec![
                format!("{} | by hand too", marker(APP, ListKind::Deny)),
                format!("{} | by hand", marker(APP, ListKind::Allow))
            ],
            "Blocked, then Readers, each keeping its human description beside the marker"
        );
    }

    /// Replays the plan's steps on the live world: it must end in the
    /// target world, RBAC objects included (the replay's contract).
    fn replays_to_target(desired: &mailscope_spec::DesiredState, live: &LiveSnapshot) -> Vec<Step> {
        let live_world = World::from_live(live);
        let target = target::build(desired, live, &live_world, &PlanOptions::default()).unwrap();
        let steps = diff::ordered_steps(
            desired,
            &live_world,
            &target.world,
            &target.owners,
            &std::collections::BTreeSet::new(),
        );
        let mut replayed = live_world;
        for step in &steps {
            replayed.apply(&step.action);
        }
        assert_eq!(replayed.rbac, target.world.rbac);
        assert_eq!(replayed, target.world);
        steps
    }

    /// RBAC objects made (an app moving to RBAC) and removed (an app that
    /// left the file) replay to the target world too.
    #[test]
    fn replaying_rbac_steps_ends_in_the_target_world() {
        use crate::live::{
            EntraServicePrincipal, LiveManagementScope, LiveRoleAssignment, LiveServicePrincipal,
        };
        let mut live = LiveSnapshot {
            format_version: 1,
            recipients: ["a", "b"]
                .iter()
                .map(|m| Recipient {
                    address: format!("{m}@contoso.com"),
                    kind: "UserMailbox".into(),
                    id: None,
                    proxy_addresses: Vec::new(),
                })
                .collect(),
            ..LiveSnapshot::default()
        };
        live.service_principals.push(EntraServicePrincipal {
            app_id: APP.into(),
            object_id: "aaaaaaaa-0000-4000-8000-000000000001".into(),
            display_name: "CRM".into(),
        });
        let rbac = mailscope_spec::parse(
            &format!(
                "apiVersion: mailscope/v1\napps:\n  - name: crm\n    appId: {APP}\n    mechanism: rbac\n    \
                 permissions: [Mail.Send]\n    allow: [a@contoso.com]\n"
            ),
            "t.yaml",
        )
        .unwrap();
        let made = replays_to_target(&rbac, &live);
        assert!(made.iter().any(|s| matches!(s.action, Action::CreateServicePrincipal { .. })), "{made:#?}");

        // The app's objects, as mailscope made them, once it left the file.
        let mut left = live.clone();
        let dn = "CN=mailscope-crm-allow,OU=contoso.onmicrosoft.com,DC=X";
        let mut g =
            group("g1", "mailscope-crm-allow", Some(marker(APP, ListKind::Allow)), &["a@contoso.com"]);
        g.distinguished_name = Some(dn.into());
        left.groups.push(g);
        left.exchange_service_principals.push(LiveServicePrincipal {
            app_id: APP.into(),
            object_id: "aaaaaaaa-0000-4000-8000-000000000001".into(),
            display_name: format!("mailscope/v1 app={APP}"),
        });
        left.management_scopes.push(LiveManagementScope {
            name: format!("mailscope-{APP}-scope"),
            filter: format!("MemberOfGroup -eq '{dn}'"),
        });
        left.role_assignments.push(LiveRoleAssignment {
            name: format!("mailscope-{APP}-Mail.Send"),
            app_id: APP.into(),
            role: "Application Mail.Send".into(),
            scope: Some(format!("mailscope-{APP}-scope")),
        });
        let none = mailscope_spec::parse("apiVersion: mailscope/v1\napps: []\n", "t.yaml").unwrap();
        let removed = replays_to_target(&none, &left);
        for want in ["RemoveServicePrincipal", "RemoveManagementScope", "RemoveRoleAssignment"] {
            assert!(
                removed.iter().any(|s| format!("{:?}", s.action).starts_with(want)),
                "{want}: {removed:#?}"
            );
        }
    }
}

#[cfg(test)]
mod description_tests {
    use mailscope_spec::ListKind;

    use super::super::naming::marker;
    use super::super::{PlanOptions, diff, target};
    use crate::live::{AccessRight, LiveGroup, LivePolicy, LiveSnapshot, Recipient};
    use crate::plan::Action;
    use crate::world::World;

    const APP: &str = "00000000-0000-4000-8000-00000000000b";

    fn steps_for(file_description: &str, live_description: &str) -> Vec<Action> {
        let desired = mailscope_spec::parse(
            &format!(
                "apiVersion: mailscope/v1\napps:\n  - name: billing\n    appId: {APP}\n    \
                 description: {file_description}\n    allow: [a@contoso.com]\n"
            ),
            "t.yaml",
        )
        .unwrap();
        let live = LiveSnapshot {
            format_version: 1,
            groups: vec![LiveGroup {
                id: "g1".into(),
                name: "mailscope-billing-allow".into(),
                primary_smtp_address: "mailscope-billing-allow@contoso.com".into(),
                marker: Some(marker(APP, ListKind::Allow)),
                distinguished_name: None,
                kind: None,
                members: vec!["a@contoso.com".into()],
            }],
            policies: vec![LivePolicy {
                identity: format!("tenant\\{APP}:S-1-5-21-1;g1"),
                app_id: APP.to_owned(),
                scope_id: "g1".into(),
                scope_name: "mailscope-billing-allow".into(),
                access_right: AccessRight::RestrictAccess,
                description: live_description.to_owned(),
            }],
            recipients: vec![Recipient {
                address: "a@contoso.com".into(),
                kind: "UserMailbox".into(),
                id: None,
                proxy_addresses: Vec::new(),
            }],
            ..LiveSnapshot::default()
        };
        let world = World::from_live(&live);
        let target = target::build(&desired, &live, &world, &PlanOptions::default()).unwrap();
        diff::ordered_steps(
            &desired,
            &world,
            &target.world,
            &target.owners,
            &std::collections::BTreeSet::new(),
        )
        .into_iter()
        .map(|s| s.action)
        .collect()
    }

    /// A new description in the file is one in-place write on the existing
    /// policy: nothing is removed or recreated, and an unchanged one costs no
    /// step at all.
    #[test]
    fn a_changed_description_is_set_in_place_and_no_policy_is_removed() {
        let mark = marker(APP, ListKind::Allow);
        let steps = steps_for("New words", &format!("{mark} | Old words"));
        assert_eq!(
            steps,
            vec![Action::SetPolicyDescription {
                identity: format!("tenant\\{APP}:S-1-5-21-1;g1"),
                group: "mailscope-billing-allow".into(),
                description: format!("{mark} | New words"),
            }]
        );
        assert!(steps_for("Same words", &format!("{mark} | Same words")).is_empty());
    }
}
