//! The tenant's posture: every app that can reach mailboxes, how far, and why.
//!
//! [`audit`] joins three authorities read into a [`LiveSnapshot`] — Entra
//! app-role grants on Microsoft Graph and on the Office 365 Exchange Online
//! resource, application access policies, and RBAC for Applications role
//! assignments — into one typed [`AuditReport`]. Which permission reaches
//! mailboxes, which an access policy fences and which rides on EWS comes
//! from `mailscope_permissions`, the table the emulator and the client ask
//! too. The access-policy reach is counted with the planner's own decision
//! (`World::allows`), so `audit` and `plan` cannot disagree about a policy.
//!
//! Pure like the rest of the planner: the binary reads the tenant and
//! prints; everything decided here is testable on a snapshot.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_permissions::{AppRolePermission, Resource};
use mailscope_spec::{DesiredState, UnlistedMode};
use serde::Serialize;

use crate::live::{AccessRight, LiveSnapshot, MARKER_PREFIX};
use crate::render::printable;
use crate::world::{OTHER_MAILBOX, World, key};

/// Exchange Online's documented ceiling of application access policies per
/// tenant (Microsoft Learn, "Limiting application permissions to specific
/// Exchange Online mailboxes").
pub const POLICY_LIMIT: usize = 300;

/// What the caller knows about how complete the snapshot is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditOptions {
    /// Whether RBAC for Applications role assignments were read; when not,
    /// the report says that RBAC reach is unknown rather than absent.
    pub rbac_read: bool,
}

/// The audit of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    /// The tenant the snapshot was read from, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Whether Entra grants were read (without them no app is listed).
    pub grants_read: bool,
    /// Whether RBAC role assignments were read.
    pub rbac_read: bool,
    /// Every app holding a mailbox-reaching permission, unrestricted first.
    pub apps: Vec<AuditApp>,
    /// Problems found beside the apps.
    pub checks: Vec<AuditCheck>,
    /// The tenant's application access policies against the limit.
    pub policy_room: PolicyRoom,
}

impl AuditReport {
    /// Whether some app can reach every mailbox (the CLI's exit code 2);
    /// apps the file excludes with a reason do not count.
    pub fn any_unrestricted(&self) -> bool {
        self.apps.iter().any(|a| a.exposure == Exposure::Unrestricted && a.excluded.is_none())
    }
}

/// How far an app (or one of its permissions) reaches; ordered worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Exposure {
    /// Every mailbox of the tenant, new ones included.
    Unrestricted,
    /// Every mailbox except a deny-list (new mailboxes included).
    AllBut,
    /// Only the mailboxes of some scopes.
    Scoped,
}

/// One app and its mailbox permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditApp {
    /// The application (client) id.
    pub app_id: String,
    /// The file's name for it, else its Entra display name, else empty.
    pub name: String,
    /// Whether the desired file lists it (`None`: no file was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<bool>,
    /// Whether mailscope manages any of its policies (ownership marker).
    pub managed: bool,
    /// The reason the file's `unlistedApps.exclude` gives for leaving it
    /// alone; an excluded app does not fail the audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
    /// The worst reach of its permissions.
    pub exposure: Exposure,
    /// Each permission, where it comes from and how far it reaches.
    pub permissions: Vec<AuditPermission>,
    /// What to do about it, one sentence each.
    pub advice: Vec<String>,
}

/// Where a permission comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PermissionSource {
    /// An Entra app-role grant on Microsoft Graph.
    Graph,
    /// An Entra app-role grant on the Office 365 Exchange Online resource.
    ExchangeOnline,
    /// An RBAC for Applications role assignment.
    #[serde(rename_all = "camelCase")]
    Rbac {
        /// The assignment's name.
        assignment: String,
        /// The role, e.g. `Application Mail.Send`.
        role: String,
    },
}

/// How far one permission reaches, and through what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionReach {
    /// The kind of reach.
    pub exposure: Exposure,
    /// Scoped: mailboxes reached; all-but: mailboxes denied. `None` when the
    /// scope could not be resolved to members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailboxes: Option<usize>,
    /// The groups, mailboxes or management scopes that set the reach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

/// One mailbox permission of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPermission {
    /// The permission (`Mail.Send`, `full_access_as_app`, …).
    pub permission: String,
    /// Where it comes from.
    pub source: PermissionSource,
    /// Whether an application access policy can fence it.
    pub fenced_by_policy: bool,
    /// Whether it reaches mailboxes through EWS.
    pub ews: bool,
    /// How far it reaches.
    pub reach: PermissionReach,
}

/// A problem the audit found beside the apps' reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AuditCheck {
    /// A file's app holds no mailbox permission: likely a wrong app id.
    #[serde(rename_all = "camelCase")]
    NoMailboxPermission {
        /// The file's name.
        app: String,
        /// The id the file gives.
        app_id: String,
        /// When the id is a service principal's object id: that principal's
        /// client id.
        #[serde(skip_serializing_if = "Option::is_none")]
        object_id_of: Option<String>,
    },
    /// A policy's scope object is not a known group or mailbox: its group
    /// was deleted (Exchange then fences the app from everything).
    #[serde(rename_all = "camelCase")]
    DeletedScope {
        /// The policy's identity.
        policy: String,
        /// Its app.
        app_id: String,
        /// Its scope as Exchange last named it.
        scope_name: String,
    },
    /// A scope group holds a group: access policies do not reliably expand
    /// nested groups, and mailscope manages direct members only.
    #[serde(rename_all = "camelCase")]
    NestedGroup {
        /// The scope group.
        group: String,
        /// The nested member.
        member: String,
    },
    /// A policy's scope group is not a mail-enabled security group (a
    /// distribution list, a Microsoft 365 group, …): Exchange accepts only
    /// those (and single mailboxes) as policy scopes.
    #[serde(rename_all = "camelCase")]
    NotSecurityGroup {
        /// The scope group.
        group: String,
        /// Its `RecipientTypeDetails`.
        recipient_type: String,
    },
    /// An app relies on EWS (`full_access_as_app`).
    #[serde(rename_all = "camelCase")]
    Ews {
        /// The app.
        app_id: String,
        /// Its name.
        name: String,
    },
    /// RBAC assignments were not read: RBAC reach is unknown.
    RbacNotRead,
    /// Entra grants were not read: no app's permissions are known.
    GrantsNotRead,
}

impl AuditPermission {
    /// One line a person reads: the permission, how far it reaches and
    /// through what, and where it comes from. Tenant names pass through
    /// [`printable`]. `audit` and the plan's `unlisted-app` findings share it,
    /// so both describe an app's reach in the same words.
    pub(crate) fn line(&self) -> String {
        self.line_with(printable)
    }

    /// [`Self::line`] with `esc` applied to each tenant-supplied value
    /// (`printable` for text, markdown escaping for the PR comment).
    pub(crate) fn line_with(&self, esc: fn(&str) -> String) -> String {
        let p = self;
        let source = match &p.source {
            PermissionSource::Graph => "Graph grant".to_owned(),
            PermissionSource::ExchangeOnline => "Exchange Online grant".to_owned(),
            PermissionSource::Rbac { assignment, role } => {
                format!("RBAC {} ({})", esc(role), esc(assignment))
            }
        };
        let via = p.reach.via.iter().map(|v| esc(v)).collect::<Vec<_>>().join(", ");
        let reach = match (p.reach.exposure, p.reach.mailboxes) {
            (Exposure::Unrestricted, _) if p.fenced_by_policy => {
                "every mailbox (no access policy)".to_owned()
            }
            (Exposure::Unrestricted, _) if matches!(p.source, PermissionSource::Rbac { .. }) => {
                "every mailbox (organization-wide assignment)".to_owned()
            }
            (Exposure::Unrestricted, _) => "every mailbox (access policies cannot fence it)".to_owned(),
            (Exposure::AllBut, Some(n)) => format!("every mailbox but {n} (deny: {via})"),
            (Exposure::AllBut, None) => format!("every mailbox but a deny-list ({via})"),
            (Exposure::Scoped, Some(n)) => {
                format!("{n} mailbox{} via {via}", if n == 1 { "" } else { "es" })
            }
            (Exposure::Scoped, None) => format!("the mailboxes of {via}"),
        };
        let ews = if p.ews { " [EWS]" } else { "" };
        format!("{}: {reach} — {source}{ews}", esc(&p.permission))
    }
}

/// The tenant's policy count against [`POLICY_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRoom {
    /// Policies in the tenant.
    pub used: usize,
    /// The documented limit.
    pub limit: usize,
    /// What is left (0 when over).
    pub left: usize,
}

/// The date Microsoft switches EWS off in Exchange Online for apps by
/// default, and the date it is retired ("Retirement of Exchange Web
/// Services in Exchange Online", Microsoft Tech Community).
pub const EWS_SWITCH_OFF: &str = "2026-10-01";
/// See [`EWS_SWITCH_OFF`].
pub const EWS_RETIREMENT: &str = "2027-04-01";

/// Audits the tenant in `live`, joined with the desired file when given.
pub fn audit(live: &LiveSnapshot, desired: Option<&DesiredState>, options: AuditOptions) -> AuditReport {
    let world = World::from_live(live);
    let names = names(live, desired);
    let mut perms: BTreeMap<String, Vec<AuditPermission>> = BTreeMap::new();
    for g in &live.grants {
        let Some(resource) = Resource::from_app_id(&g.resource_app_id) else { continue };
        let Some(p) = mailscope_permissions::app_role(resource, &g.permission) else { continue };
        let app = key(&g.app_id);
        let reach = if p.fenced_by_policy { policy_reach(&world, live, &app) } else { unrestricted() };
        perms.entry(app).or_default().push(permission(p, resource, reach));
    }
    for a in &live.role_assignments {
        let Some(role) = mailscope_permissions::rbac_role(&a.role) else { continue };
        let reach = rbac_reach(live, a.scope.as_deref());
        let entry = perms.entry(key(&a.app_id)).or_default();
        for granted in role.grants {
            entry.push(AuditPermission {
                permission: (*granted).to_owned(),
                source: PermissionSource::Rbac { assignment: a.name.clone(), role: role.role_name() },
                fenced_by_policy: false,
                ews: granted.eq_ignore_ascii_case("EWS.AccessAsApp"),
                reach: reach.clone(),
            });
        }
    }
    let listed: BTreeSet<String> =
        desired.map(|d| d.apps.iter().map(|a| key(&a.app_id)).collect()).unwrap_or_default();
    let managed: BTreeSet<String> = live
        .policies
        .iter()
        .filter(|p| p.description.trim_start().starts_with(MARKER_PREFIX))
        .map(|p| key(&p.app_id))
        .collect();
    let mut checks = Vec::new();
    let mut apps: Vec<AuditApp> = perms
        .into_iter()
        .map(|(app_id, mut permissions)| {
            permissions.sort_by(|a, b| {
                (a.reach.exposure, &a.permission, &a.source).cmp(&(
                    b.reach.exposure,
                    &b.permission,
                    &b.source,
                ))
            });
            permissions.dedup();
            let exposure = permissions.iter().map(|p| p.reach.exposure).min().unwrap_or(Exposure::Scoped);
            let name = names.get(&app_id).cloned().unwrap_or_default();
            let is_listed = desired.map(|_| listed.contains(&app_id));
            if permissions.iter().any(|p| p.ews) {
                checks.push(AuditCheck::Ews { app_id: app_id.clone(), name: name.clone() });
            }
            let excluded = desired
                .and_then(|d| d.unlisted_apps.exclusion(&app_id))
                .filter(|_| is_listed == Some(false))
                .map(|e| e.reason.clone());
            let locks = desired.is_some_and(|d| d.unlisted_apps.mode == UnlistedMode::LockDown);
            let advice = match &excluded {
                Some(reason) => vec![format!("left alone by `unlistedApps.exclude`: {reason}")],
                None => advice(&permissions, is_listed, locks),
            };
            AuditApp {
                excluded,
                managed: managed.contains(&app_id),
                app_id,
                name,
                listed: is_listed,
                exposure,
                permissions,
                advice,
            }
        })
        .collect();
    apps.sort_by(|a, b| (a.exposure, &a.name, &a.app_id).cmp(&(b.exposure, &b.name, &b.app_id)));
    checks.extend(file_checks(live, desired, &apps));
    checks.extend(scope_checks(live));
    if !live.grants_read {
        checks.push(AuditCheck::GrantsNotRead);
    }
    if !options.rbac_read {
        checks.push(AuditCheck::RbacNotRead);
    }
    let used = live.policies.len();
    AuditReport {
        tenant: live.tenant.clone(),
        grants_read: live.grants_read,
        rbac_read: options.rbac_read,
        apps,
        checks,
        policy_room: PolicyRoom { used, limit: POLICY_LIMIT, left: POLICY_LIMIT.saturating_sub(used) },
    }
}

fn unrestricted() -> PermissionReach {
    PermissionReach { exposure: Exposure::Unrestricted, mailboxes: None, via: Vec::new() }
}

fn permission(p: &AppRolePermission, resource: Resource, reach: PermissionReach) -> AuditPermission {
    AuditPermission {
        permission: p.value.to_owned(),
        source: match resource {
            Resource::Graph => PermissionSource::Graph,
            Resource::ExchangeOnline => PermissionSource::ExchangeOnline,
        },
        fenced_by_policy: p.fenced_by_policy,
        ews: p.ews,
        reach,
    }
}

/// Display names: the file's first, then Entra's.
fn names(live: &LiveSnapshot, desired: Option<&DesiredState>) -> BTreeMap<String, String> {
    let mut names: BTreeMap<String, String> = live
        .service_principals
        .iter()
        .filter(|s| !s.display_name.is_empty())
        .map(|s| (key(&s.app_id), s.display_name.clone()))
        .collect();
    for a in desired.map(|d| d.apps.as_slice()).unwrap_or_default() {
        names.insert(key(&a.app_id), a.name.clone());
    }
    names
}

/// The reach of a policy-fenced grant, decided by the planner's
/// `World::allows` for every mailbox the app's scopes name and for the
/// representative of all others.
fn policy_reach(world: &World, live: &LiveSnapshot, app: &str) -> PermissionReach {
    let policies: Vec<_> = live.policies.iter().filter(|p| key(&p.app_id) == app).collect();
    let via_of = |right: AccessRight| -> Vec<String> {
        let mut v: Vec<String> =
            policies.iter().filter(|p| p.access_right == right).map(|p| p.scope_name.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut named: BTreeSet<String> = BTreeSet::new();
    for (k, _) in world.app_policies(app) {
        match &k.scope {
            crate::world::Scope::Group(g) => {
                named.extend(world.groups.get(g).into_iter().flat_map(|g| g.members.iter().cloned()));
            }
            crate::world::Scope::Mailbox(m) => {
                named.insert(m.clone());
            }
            crate::world::Scope::Unresolved(_) => {}
        }
    }
    if world.allows(app, OTHER_MAILBOX) {
        let denied = named.iter().filter(|m| !world.allows(app, m)).count();
        if denied == 0 {
            return unrestricted();
        }
        return PermissionReach {
            exposure: Exposure::AllBut,
            mailboxes: Some(denied),
            via: via_of(AccessRight::DenyAccess),
        };
    }
    let reached = named.iter().filter(|m| world.allows(app, m)).count();
    let mut via = via_of(AccessRight::RestrictAccess);
    via.extend(via_of(AccessRight::DenyAccess).into_iter().map(|d| format!("except {d}")));
    PermissionReach { exposure: Exposure::Scoped, mailboxes: Some(reached), via }
}

/// The reach of an RBAC assignment: organization-wide without a scope;
/// with one, the members of the group its `MemberOfGroup` filter names when
/// the snapshot holds it.
fn rbac_reach(live: &LiveSnapshot, scope: Option<&str>) -> PermissionReach {
    let Some(scope) = scope else { return unrestricted() };
    let filter =
        live.management_scopes.iter().find(|s| s.name.eq_ignore_ascii_case(scope)).map(|s| &s.filter);
    let group = filter.and_then(|f| member_of_group(f)).and_then(|dn| {
        live.groups
            .iter()
            .find(|g| g.distinguished_name.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(dn)))
    });
    let via = match group {
        Some(g) => vec![format!("{scope} (members of {})", g.name)],
        None => vec![scope.to_owned()],
    };
    PermissionReach { exposure: Exposure::Scoped, mailboxes: group.map(|g| g.members.len()), via }
}

/// The distinguished name in a `MemberOfGroup -eq '<dn>'` filter, the one
/// form mailscope writes; anything else is reported by scope name only.
fn member_of_group(filter: &str) -> Option<&str> {
    let rest = filter.trim().strip_prefix("MemberOfGroup")?.trim_start();
    let rest = rest.strip_prefix("-eq").or_else(|| rest.strip_prefix("-EQ"))?.trim_start();
    let rest = rest.strip_prefix('\'')?;
    rest.strip_suffix('\'').filter(|dn| !dn.contains('\''))
}

/// What to do about an app; `locks_unlisted`: the file says `unlistedApps:
/// lock-down`, so `apply` fences an unlisted app's open Entra grants.
fn advice(permissions: &[AuditPermission], listed: Option<bool>, locks_unlisted: bool) -> Vec<String> {
    let mut out = Vec::new();
    let open: Vec<&AuditPermission> =
        permissions.iter().filter(|p| p.reach.exposure == Exposure::Unrestricted).collect();
    if open.iter().any(|p| p.fenced_by_policy && !matches!(p.source, PermissionSource::Rbac { .. })) {
        out.push(match listed {
            Some(true) => {
                "run `mailscope plan` and `apply`: the file fences it, the tenant does not yet".to_owned()
            }
            Some(false) if locks_unlisted => {
                "run `mailscope plan` and `apply`: the file's `unlistedApps: lock-down` fences it, the tenant \
                 does not yet"
                    .to_owned()
            }
            Some(false) => {
                "list it in the file with the mailboxes it needs, exclude it under `unlistedApps` with a reason, \
                 or set `unlistedApps: lock-down` to fence it"
                    .to_owned()
            }
            None => "fence it: list it in a desired file with the mailboxes it needs".to_owned(),
        });
    }
    if let Some(p) = open.iter().find(|p| !p.fenced_by_policy) {
        out.push(format!(
            "{} is not fenced by application access policies: scope it with RBAC for Applications \
             (a scoped assignment) and remove the tenant-wide grant",
            p.permission
        ));
    }
    let rbac_scoped = permissions.iter().any(|p| matches!(p.source, PermissionSource::Rbac { .. }));
    if rbac_scoped && open.iter().any(|p| !matches!(p.source, PermissionSource::Rbac { .. })) {
        out.push(
            "RBAC scopes add to Entra grants: the tenant-wide grant makes its scoped assignment moot \
             (remove the grant)"
                .to_owned(),
        );
    }
    if permissions.iter().any(|p| p.ews) {
        out.push(format!(
            "move off EWS: Microsoft switches it off for apps on {EWS_SWITCH_OFF} and retires it on {EWS_RETIREMENT}"
        ));
    }
    out
}

/// Listed apps that hold nothing (only when grants were read).
fn file_checks(live: &LiveSnapshot, desired: Option<&DesiredState>, apps: &[AuditApp]) -> Vec<AuditCheck> {
    let Some(desired) = desired.filter(|_| live.grants_read) else { return Vec::new() };
    desired
        .apps
        .iter()
        .filter(|a| !apps.iter().any(|x| x.app_id == key(&a.app_id)))
        .map(|a| AuditCheck::NoMailboxPermission {
            app: a.name.clone(),
            app_id: a.app_id.clone(),
            object_id_of: live
                .service_principals
                .iter()
                .find(|s| key(&s.object_id) == key(&a.app_id))
                .map(|s| s.app_id.clone()),
        })
        .collect()
}

/// Whether a `RecipientTypeDetails` is a mail-enabled security group, the
/// only group Exchange takes as a policy scope.
pub(crate) fn is_security_group(kind: &str) -> bool {
    kind.eq_ignore_ascii_case("MailUniversalSecurityGroup")
}

/// Policies whose scope is gone (a scope that is a single mailbox is not
/// gone), scope groups that are no security group, and scope groups
/// holding groups.
fn scope_checks(live: &LiveSnapshot) -> Vec<AuditCheck> {
    let groups: BTreeMap<String, &str> = live.groups.iter().map(|g| (key(&g.id), g.name.as_str())).collect();
    let mailboxes: BTreeSet<String> =
        live.recipients.iter().filter_map(|r| r.id.as_deref().map(key)).collect();
    let group_addresses: BTreeSet<String> =
        live.groups.iter().map(|g| key(&g.primary_smtp_address)).collect();
    let group_kinds: BTreeSet<String> = live
        .recipients
        .iter()
        .filter(|r| r.kind.to_ascii_lowercase().contains("group"))
        .map(|r| key(&r.address))
        .collect();
    let mut out = Vec::new();
    let mut scoped: BTreeSet<&str> = BTreeSet::new();
    let mut policy_scopes: BTreeSet<&str> = BTreeSet::new();
    for p in &live.policies {
        let id = key(&p.scope_id);
        if let Some(name) = groups.get(&id) {
            scoped.insert(name);
            policy_scopes.insert(name);
        } else if !mailboxes.contains(&id) {
            out.push(AuditCheck::DeletedScope {
                policy: p.identity.clone(),
                app_id: p.app_id.clone(),
                scope_name: p.scope_name.clone(),
            });
        }
    }
    // RBAC scopes over a group's members count as scope groups too.
    for dn in live.management_scopes.iter().filter_map(|s| member_of_group(&s.filter)) {
        if let Some(g) = live
            .groups
            .iter()
            .find(|g| g.distinguished_name.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(dn)))
        {
            scoped.insert(g.name.as_str());
        }
    }
    for g in live.groups.iter().filter(|g| scoped.contains(g.name.as_str())) {
        // RBAC scopes take any group; policy scopes only security groups.
        if let Some(kind) = g.kind.as_deref().filter(|k| !is_security_group(k))
            && policy_scopes.contains(g.name.as_str())
        {
            out.push(AuditCheck::NotSecurityGroup { group: g.name.clone(), recipient_type: kind.to_owned() });
        }
        for m in &g.members {
            let k = key(m);
            if group_addresses.contains(&k) || group_kinds.contains(&k) {
                out.push(AuditCheck::NestedGroup { group: g.name.clone(), member: m.clone() });
            }
        }
    }
    out
}
