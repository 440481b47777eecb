//! A normalised, comparable view of the tenant's access-relevant state.
//!
//! The planner diffs two [`World`]s (live and target), and replays steps on a
//! copy of the live one to check the safe-order rule and to classify each
//! step as narrowing or widening. Keys are lower-cased so that comparisons
//! never see case as drift.

mod rbac;

use std::collections::{BTreeMap, BTreeSet};

pub(crate) use rbac::{AssignmentState, GroupRef, PointerState, RbacState, ScopeRule, ScopeState};

use crate::live::{AccessRight, LiveSnapshot};
use crate::plan::Action;

/// Lower-cases an address, group name or GUID for comparison.
pub(crate) fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What a policy's scope is, once resolved against the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Scope {
    /// A group, by lower-cased name.
    Group(String),
    /// A single mailbox, by lower-cased address.
    Mailbox(String),
    /// A scope object id the snapshot does not know (deleted group). Read as
    /// an empty scope: the fail-closed reading of an invalid policy.
    Unresolved(String),
}

/// The identity of a policy as far as access goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PolicyKey {
    pub(crate) app_id: String,
    pub(crate) scope: Scope,
    pub(crate) right: AccessRight,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupState {
    /// The name as the tenant spells it.
    pub(crate) name: String,
    pub(crate) marker: Option<String>,
    pub(crate) members: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyState {
    /// The service identity; empty for a policy a plan creates.
    pub(crate) identity: String,
    pub(crate) description: String,
}

/// Groups, policies and the RBAC state, keyed for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct World {
    pub(crate) groups: BTreeMap<String, GroupState>,
    pub(crate) policies: BTreeMap<PolicyKey, PolicyState>,
    /// Group key → policies scoped on it; kept in step with `policies` so
    /// that "which apps does this membership change affect" is a lookup.
    scoped: BTreeMap<String, BTreeSet<PolicyKey>>,
    /// Entra grants, Exchange pointers, management scopes and role
    /// assignments: the other two authorities of the access decision.
    pub(crate) rbac: RbacState,
}

impl World {
    pub(crate) fn from_live(live: &LiveSnapshot) -> World {
        let mut groups = BTreeMap::new();
        let mut by_id = BTreeMap::new();
        for g in &live.groups {
            by_id.insert(key(&g.id), key(&g.name));
            groups.insert(
                key(&g.name),
                GroupState {
                    name: g.name.clone(),
                    marker: g.marker.clone(),
                    members: g.members.iter().map(|m| key(m)).collect(),
                },
            );
        }
        let mailbox_by_id: BTreeMap<String, String> = live
            .recipients
            .iter()
            .filter_map(|r| r.id.as_ref().map(|id| (key(id), key(&r.address))))
            .collect();
        let mut policies = Vec::new();
        for p in &live.policies {
            let id = key(&p.scope_id);
            let scope = if let Some(name) = by_id.get(&id) {
                Scope::Group(name.clone())
            } else if let Some(address) = mailbox_by_id.get(&id) {
                Scope::Mailbox(address.clone())
            } else {
                Scope::Unresolved(id)
            };
            policies.push((
                PolicyKey { app_id: key(&p.app_id), scope, right: p.access_right },
                PolicyState { identity: p.identity.clone(), description: p.description.clone() },
            ));
        }
        let mut world = World { groups, rbac: RbacState::from_live(live), ..World::default() };
        for (k, p) in policies {
            world.insert_policy(k, p);
        }
        world
    }

    pub(crate) fn insert_policy(&mut self, k: PolicyKey, p: PolicyState) {
        if let Scope::Group(g) = &k.scope {
            self.scoped.entry(g.clone()).or_default().insert(k.clone());
        }
        self.policies.insert(k, p);
    }

    pub(crate) fn remove_policy(&mut self, k: &PolicyKey) {
        if let Scope::Group(g) = &k.scope
            && let Some(set) = self.scoped.get_mut(g)
        {
            set.remove(k);
            if set.is_empty() {
                self.scoped.remove(g);
            }
        }
        self.policies.remove(k);
    }

    /// Policies scoped on a group (by key).
    pub(crate) fn policies_on(&self, group_key: &str) -> impl Iterator<Item = &PolicyKey> {
        self.scoped.get(group_key).into_iter().flatten()
    }

    /// Applies one step, as the tenant would.
    pub(crate) fn apply(&mut self, action: &Action) {
        match action {
            Action::CreateGroup { group, marker, members, .. } => {
                // The applier sets the marker right after creating the group
                // (with its first members), within the same step.
                self.groups.insert(
                    key(group),
                    GroupState {
                        name: group.clone(),
                        marker: Some(marker.clone()),
                        members: members.iter().map(|m| key(m)).collect(),
                    },
                );
            }
            Action::ReplaceMembers { group, members, .. } => {
                // One call replaces the whole membership: no state between
                // the old members and the new ones.
                if let Some(g) = self.groups.get_mut(&key(group)) {
                    g.members = members.iter().map(|m| key(m)).collect();
                }
            }
            Action::MarkGroup { group, marker } => {
                if let Some(g) = self.groups.get_mut(&key(group)) {
                    g.marker = Some(marker.clone());
                }
            }
            Action::AddMember { group, member } => {
                if let Some(g) = self.groups.get_mut(&key(group)) {
                    g.members.insert(key(member));
                }
            }
            Action::RemoveMember { group, member } => {
                if let Some(g) = self.groups.get_mut(&key(group)) {
                    g.members.remove(&key(member));
                }
            }
            Action::RemoveGroup { group } => {
                self.groups.remove(&key(group));
            }
            Action::CreatePolicy { app_id, group, access_right, description } => {
                self.insert_policy(
                    PolicyKey { app_id: key(app_id), scope: Scope::Group(key(group)), right: *access_right },
                    PolicyState { identity: String::new(), description: description.clone() },
                );
            }
            Action::SetPolicyDescription { identity, description, .. } => {
                if let Some(p) = self.policies.values_mut().find(|p| &p.identity == identity) {
                    p.description.clone_from(description);
                }
            }
            Action::RemovePolicy { identity, app_id, scope, access_right } => {
                let found = if identity.is_empty() {
                    None
                } else {
                    self.app_policies(&key(app_id))
                        .find(|(_, p)| &p.identity == identity)
                        .map(|(k, _)| k.clone())
                };
                // A policy this plan created has no identity yet.
                let k = found.unwrap_or_else(|| PolicyKey {
                    app_id: key(app_id),
                    scope: Scope::Group(key(scope)),
                    right: *access_right,
                });
                self.remove_policy(&k);
            }
            other => {
                self.apply_rbac(other);
            }
        }
    }

    /// Whether a mailbox (key) is a direct member of a group (key).
    pub(crate) fn is_member(&self, group_key: &str, mailbox: &str) -> bool {
        self.groups.get(group_key).is_some_and(|g| g.members.contains(mailbox))
    }

    fn members(&self, scope: &Scope) -> Option<&BTreeSet<String>> {
        match scope {
            Scope::Group(name) => self.groups.get(name).map(|g| &g.members),
            Scope::Mailbox(_) | Scope::Unresolved(_) => None,
        }
    }

    /// The access decision of Exchange for (app, mailbox): Deny beats
    /// Restrict; Restrict scopes add up; no Restrict policy means every
    /// mailbox not denied.
    pub(crate) fn allows(&self, app_id: &str, mailbox: &str) -> bool {
        self.app_access(app_id).allows(mailbox)
    }

    /// `app_id`'s policies with their scopes resolved, for many
    /// [`AppAccess::allows`] questions about one app: the planner asks each
    /// app about every mailbox of its scopes, and looking the policies and
    /// groups up again for each was most of a plan's time.
    pub(crate) fn app_access(&self, app_id: &str) -> AppAccess<'_> {
        let start = PolicyKey {
            app_id: app_id.to_owned(),
            scope: Scope::Group(String::new()),
            right: AccessRight::RestrictAccess,
        };
        let rules = self
            .policies
            .range(start..)
            .take_while(|(k, _)| k.app_id == app_id)
            .map(|(k, _)| {
                let rule = match &k.scope {
                    Scope::Mailbox(address) => PolicyReach::Mailbox(address),
                    Scope::Group(_) => {
                        self.members(&k.scope).map_or(PolicyReach::Nobody, PolicyReach::Members)
                    }
                    Scope::Unresolved(_) => PolicyReach::Nobody,
                };
                (k.right, rule)
            })
            .collect();
        AppAccess { rules }
    }

    pub(crate) fn app_policies<'a>(
        &'a self,
        app_id: &'a str,
    ) -> impl Iterator<Item = (&'a PolicyKey, &'a PolicyState)> + 'a {
        // Keys sort by app id first, so one range holds all of an app's policies.
        let start = PolicyKey {
            app_id: app_id.to_owned(),
            scope: Scope::Group(String::new()),
            right: AccessRight::RestrictAccess,
        };
        self.policies.range(start..).take_while(move |(k, _)| k.app_id == app_id)
    }
}

/// One app's policies in one world, resolved once ([`World::app_access`]).
pub(crate) struct AppAccess<'a> {
    rules: Vec<(AccessRight, PolicyReach<'a>)>,
}

/// Who a policy's scope holds.
enum PolicyReach<'a> {
    /// The one mailbox a policy scoped to a mailbox names.
    Mailbox(&'a str),
    /// The members of the scope group.
    Members(&'a BTreeSet<String>),
    /// Nobody: the group is gone or the scope never resolved.
    Nobody,
}

impl AppAccess<'_> {
    /// [`World::allows`] for this app.
    pub(crate) fn allows(&self, mailbox: &str) -> bool {
        let holds = |rule: &PolicyReach<'_>| match rule {
            PolicyReach::Mailbox(address) => *address == mailbox,
            PolicyReach::Members(members) => members.contains(mailbox),
            PolicyReach::Nobody => false,
        };
        let mut restricted = false;
        let mut in_restrict = false;
        for (right, rule) in &self.rules {
            match right {
                AccessRight::DenyAccess => {
                    if holds(rule) {
                        return false;
                    }
                }
                AccessRight::RestrictAccess => {
                    restricted = true;
                    in_restrict = in_restrict || holds(rule);
                }
            }
        }
        !restricted || in_restrict
    }
}

/// Stands for every mailbox no group or policy names: they are all decided
/// the same way, so one representative is enough to check "unrestricted".
pub(crate) const OTHER_MAILBOX: &str = "\u{0}any-other-mailbox";
