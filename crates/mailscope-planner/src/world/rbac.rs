//! The RBAC for Applications and Entra side of the [`World`]: the grants
//! an app holds in Entra ID, Exchange's service-principal pointers,
//! management scopes and role assignments, keyed for comparison.
//!
//! Kept apart from the access-policy state because it answers a different
//! question (which *permission* reaches a mailbox, not only whether the
//! policies fence an app), and because its objects are addressed by name
//! rather than by group and right.

use std::collections::BTreeMap;

use crate::live::LiveSnapshot;
use crate::plan::{Action, ScopeFilter};

use super::{World, key};

/// One Entra app-role grant of an app, as far as access goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantState {
    /// The app role's value as Entra spells it (`Mail.Send`).
    pub(crate) permission: String,
    /// The resource's application id (Graph or Exchange Online), lower-cased.
    pub(crate) resource_app_id: String,
    /// The app-role assignment's id, when the snapshot has it.
    pub(crate) grant_id: Option<String>,
    /// The resource service principal's object id, when known.
    pub(crate) resource_id: Option<String>,
}

/// Key of a grant: (app id, resource app id, permission), all lower-cased.
/// Entra holds one assignment per app, resource and role, so this is unique.
pub(crate) type GrantKey = (String, String, String);

/// Exchange's service-principal pointer of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PointerState {
    pub(crate) object_id: String,
    pub(crate) display_name: String,
}

/// A group named by a management scope's filter, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupRef {
    /// A group of the snapshot, by key.
    Group(String),
    /// A distinguished name no group of the snapshot carries (the group was
    /// not read, or the snapshot predates DNs).
    UnknownDn(String),
}

/// What a management scope selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScopeRule {
    /// One of the shapes mailscope writes: direct members of `allow` (every
    /// recipient when `None`) minus direct members of `deny`.
    Groups { allow: Option<GroupRef>, deny: Option<GroupRef> },
    /// A filter mailscope does not understand. For exposure it is read as
    /// matching every mailbox: the conservative reading.
    Opaque(String),
}

impl ScopeRule {
    /// The rule a filter the planner writes stands for.
    pub(crate) fn from_filter(filter: &ScopeFilter) -> ScopeRule {
        ScopeRule::Groups {
            allow: filter.allow_group.as_deref().map(|g| GroupRef::Group(key(g))),
            deny: filter.deny_group.as_deref().map(|g| GroupRef::Group(key(g))),
        }
    }
}

/// A management scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeState {
    /// `Name` as the tenant spells it.
    pub(crate) name: String,
    pub(crate) rule: ScopeRule,
}

/// A role assignment of an application role to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AssignmentState {
    /// `Name` as the tenant spells it.
    pub(crate) name: String,
    /// The assignee's app id, lower-cased.
    pub(crate) app_id: String,
    /// The role as the tenant names it (`Application Mail.Send`, or the bare
    /// permission for an assignment a plan creates).
    pub(crate) role: String,
    /// The management scope's key; `None` for the whole organization.
    pub(crate) scope: Option<String>,
}

/// The RBAC and Entra state of a [`World`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RbacState {
    /// Whether the snapshot read the Entra grants. When it did not, every
    /// app is taken to hold every policy-fenced permission tenant-wide.
    pub(crate) grants_read: bool,
    pub(crate) grants: BTreeMap<GrantKey, GrantState>,
    /// Exchange pointers by app id key.
    pub(crate) pointers: BTreeMap<String, PointerState>,
    /// Management scopes by name key.
    pub(crate) scopes: BTreeMap<String, ScopeState>,
    /// Role assignments by name key.
    pub(crate) assignments: BTreeMap<String, AssignmentState>,
}

impl RbacState {
    /// Reads the RBAC side of a snapshot. Scope filters are resolved
    /// against the groups' distinguished names.
    pub(crate) fn from_live(live: &LiveSnapshot) -> RbacState {
        let by_dn: BTreeMap<String, String> = live
            .groups
            .iter()
            .filter_map(|g| g.distinguished_name.as_ref().map(|dn| (key(dn), key(&g.name))))
            .collect();
        let resolve =
            |dn: String| by_dn.get(&key(&dn)).map_or(GroupRef::UnknownDn(dn), |g| GroupRef::Group(g.clone()));
        let grants = live
            .grants
            .iter()
            .map(|g| {
                (
                    (key(&g.app_id), key(&g.resource_app_id), key(&g.permission)),
                    GrantState {
                        permission: g.permission.clone(),
                        resource_app_id: key(&g.resource_app_id),
                        grant_id: g.id.clone(),
                        resource_id: g.resource_id.clone(),
                    },
                )
            })
            .collect();
        let pointers = live
            .exchange_service_principals
            .iter()
            .map(|p| {
                (
                    key(&p.app_id),
                    PointerState { object_id: p.object_id.clone(), display_name: p.display_name.clone() },
                )
            })
            .collect();
        let scopes = live
            .management_scopes
            .iter()
            .map(|s| {
                let rule = match ScopeFilter::parse_opath(&s.filter) {
                    Some((allow, deny)) => {
                        ScopeRule::Groups { allow: allow.map(resolve), deny: deny.map(resolve) }
                    }
                    None => ScopeRule::Opaque(s.filter.clone()),
                };
                (key(&s.name), ScopeState { name: s.name.clone(), rule })
            })
            .collect();
        let assignments = live
            .role_assignments
            .iter()
            .map(|a| {
                (
                    key(&a.name),
                    AssignmentState {
                        name: a.name.clone(),
                        app_id: key(&a.app_id),
                        role: a.role.clone(),
                        scope: a.scope.as_deref().map(key),
                    },
                )
            })
            .collect();
        RbacState { grants_read: live.grants_read, grants, pointers, scopes, assignments }
    }

    /// Role assignments of one app (by app id key).
    pub(crate) fn assignments_of<'a>(&'a self, app_id: &'a str) -> impl Iterator<Item = &'a AssignmentState> {
        self.assignments.values().filter(move |a| a.app_id == app_id)
    }

    /// Entra grants of one app (by app id key).
    pub(crate) fn grants_of<'a>(&'a self, app_id: &'a str) -> impl Iterator<Item = &'a GrantState> + 'a {
        let start = (app_id.to_owned(), String::new(), String::new());
        self.grants.range(start..).take_while(move |(k, _)| k.0 == app_id).map(|(_, g)| g)
    }
}

impl World {
    /// Applies an RBAC or Entra step; any other action is left to
    /// [`World::apply`].
    pub(crate) fn apply_rbac(&mut self, action: &Action) {
        let rbac = &mut self.rbac;
        match action {
            Action::CreateServicePrincipal { app_id, object_id, display_name } => {
                rbac.pointers.insert(
                    key(app_id),
                    PointerState { object_id: object_id.clone(), display_name: display_name.clone() },
                );
            }
            Action::RemoveServicePrincipal { app_id } => {
                rbac.pointers.remove(&key(app_id));
            }
            Action::CreateManagementScope { name, filter, .. }
            | Action::SetManagementScope { name, filter, .. } => {
                let display = rbac.scopes.get(&key(name)).map_or_else(|| name.clone(), |s| s.name.clone());
                rbac.scopes
                    .insert(key(name), ScopeState { name: display, rule: ScopeRule::from_filter(filter) });
            }
            Action::RemoveManagementScope { name, .. } => {
                rbac.scopes.remove(&key(name));
            }
            Action::CreateRoleAssignment { name, app_id, permission, scope } => {
                rbac.assignments.insert(
                    key(name),
                    AssignmentState {
                        name: name.clone(),
                        app_id: key(app_id),
                        role: format!("Application {permission}"),
                        scope: Some(key(scope)),
                    },
                );
            }
            Action::RemoveRoleAssignment { name, .. } => {
                rbac.assignments.remove(&key(name));
            }
            Action::RemoveEntraGrant { app_id, resource_app_id, permission, .. } => {
                rbac.grants.remove(&(key(app_id), key(resource_app_id), key(permission)));
            }
            _ => {}
        }
    }
}
