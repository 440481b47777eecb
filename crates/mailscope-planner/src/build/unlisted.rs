//! Pass 1, unlisted apps: apps the file does not list that can reach
//! mailboxes, and what the file's `unlistedApps` says to do about them.
//!
//! "Can reach mailboxes" is the audit's definition, asked of the audit
//! itself ([`crate::audit::audit`]): the app holds a mailbox-reaching
//! permission per `mailscope-permissions` (an Entra grant on Graph or
//! Exchange Online, or an RBAC for Applications role assignment). So `plan`,
//! `drift` and `audit` name the same apps with the same reach.
//!
//! - `ignore`: nothing is said.
//! - `warn` (the default): each such app is a finding (`unlisted-app`) with
//!   its client id, Entra display name, permissions and reach.
//! - `lock-down`: each such app that reaches every mailbox (or every mailbox
//!   but a deny-list) through a policy-fenced Entra grant is fenced the way
//!   an app that left the file is ([`super::target::lock_down`]): a
//!   `RestrictAccess` policy on an empty managed group. Only narrowing steps
//!   come of it, and the replay checks them like any other.
//!
//! Why an access policy whatever the file's `mechanism`: RBAC for
//! Applications *adds* to Entra grants, so an empty-scope role assignment
//! fences nothing; only a policy narrows an Entra grant without deleting
//! it, and deleting an unlisted app's grants is not a step mailscope takes
//! for an app the file does not speak for. Reach a policy cannot fence (a
//! permission policies do not cover, an organization-wide role assignment
//! mailscope did not make) is reported, never touched.
//!
//! Apps under `unlistedApps.exclude` are never listed nor locked down; the
//! audit shows their reason. Apps that left the file with managed objects
//! are the removed-apps pass's (they already appear in the plan), except
//! that `lock-down` keeps one that holds a fenced grant fenced even under
//! `--remove-unlisted`, whose removal would hand it every mailbox again.

use std::collections::BTreeSet;

use mailscope_spec::{DesiredState, UnlistedMode};

use crate::audit::{AuditApp, AuditOptions, AuditPermission, Exposure};
use crate::live::LiveSnapshot;
use crate::plan::Finding;
use crate::world::key;

/// One unlisted app that holds a mailbox-reaching permission.
#[derive(Debug, Clone)]
pub(super) struct UnlistedApp {
    /// Client id, as a key.
    pub(super) app_id: String,
    /// Entra display name; empty when Entra did not say.
    pub(super) display_name: String,
    /// Its permissions and their reach, as the audit found them.
    permissions: Vec<AuditPermission>,
}

impl UnlistedApp {
    fn from_audit(app: AuditApp) -> UnlistedApp {
        UnlistedApp { app_id: key(&app.app_id), display_name: app.name, permissions: app.permissions }
    }

    /// The name its steps and plan entry go by: Entra's, else the client id.
    pub(super) fn name(&self) -> String {
        if self.display_name.trim().is_empty() { self.app_id.clone() } else { self.display_name.clone() }
    }

    /// Whether it holds an Entra grant an access policy fences: what a
    /// lock-down can fence at all. (The audit marks a permission held
    /// through an RBAC role assignment as not fenced by policy: no access
    /// policy can fence it.)
    pub(super) fn holds_fenced_grant(&self) -> bool {
        self.permissions.iter().any(|p| p.fenced_by_policy)
    }

    /// Whether a fenced Entra grant reaches every mailbox a policy does not
    /// name: what a lock-down narrows. An app a hand-made `RestrictAccess`
    /// policy already scopes is left as it is (an empty Restrict policy
    /// next to it would change nothing: Restrict scopes add up).
    pub(super) fn open_through_fenced_grant(&self) -> bool {
        self.permissions.iter().any(|p| p.fenced_by_policy && p.reach.exposure != Exposure::Scoped)
    }

    /// Permissions reaching every mailbox that no access policy can fence:
    /// a lock-down leaves them as they are.
    fn unfenceable(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .permissions
            .iter()
            .filter(|p| p.reach.exposure != Exposure::Scoped && !p.fenced_by_policy)
            .map(|p| p.permission.clone())
            .collect();
        out.dedup();
        out
    }
}

/// Every app outside the file that holds a mailbox-reaching permission and
/// is not excluded, in the audit's order (unrestricted first). Empty for
/// `ignore`.
pub(super) fn find(desired: &DesiredState, snapshot: &LiveSnapshot) -> Vec<UnlistedApp> {
    if desired.unlisted_apps.mode == UnlistedMode::Ignore {
        return Vec::new();
    }
    // The snapshot always holds the role assignments a plan needs; whether
    // it holds all of them does not change which apps it names.
    let report = crate::audit::audit(snapshot, Some(desired), AuditOptions { rbac_read: true });
    report
        .apps
        .into_iter()
        .filter(|a| a.listed == Some(false) && a.excluded.is_none())
        .map(UnlistedApp::from_audit)
        .collect()
}

/// The apps `lock-down` fences: those a lock-down narrows, and apps that
/// left the file holding a fenced grant (kept locked down even when the
/// removed apps would otherwise be removed). `removed` are the apps that
/// left the file.
pub(super) fn to_lock_down(
    desired: &DesiredState,
    unlisted: &[UnlistedApp],
    removed: &BTreeSet<String>,
) -> BTreeSet<String> {
    if desired.unlisted_apps.mode != UnlistedMode::LockDown {
        return BTreeSet::new();
    }
    unlisted
        .iter()
        .filter(|u| {
            if removed.contains(&u.app_id) { u.holds_fenced_grant() } else { u.open_through_fenced_grant() }
        })
        .map(|u| u.app_id.clone())
        .collect()
}

/// One `unlisted-app` finding per unlisted app, saying what this plan does
/// about it. Apps that left the file are not repeated: the plan lists them
/// already. With `lock-down` and unread grants, one note says that apps
/// holding only Entra grants cannot be seen.
pub(super) fn findings(
    desired: &DesiredState,
    snapshot: &LiveSnapshot,
    unlisted: &[UnlistedApp],
    locked: &BTreeSet<String>,
    removed: &BTreeSet<String>,
) -> Vec<Finding> {
    let mode = desired.unlisted_apps.mode;
    let mut out = Vec::new();
    if mode == UnlistedMode::LockDown && !snapshot.grants_read {
        out.push(Finding {
            code: "grants-not-read".into(),
            app: None,
            message:
                "`unlistedApps: lock-down`: the Entra grants were not read (Graph Application.Read.All), so \
                      apps that reach mailboxes through Entra grants alone are not known and not locked down"
                    .to_owned(),
        });
    }
    for u in unlisted.iter().filter(|u| !removed.contains(&u.app_id)) {
        let name = if u.display_name.trim().is_empty() {
            format!("app {}", u.app_id)
        } else {
            format!("app \"{}\" ({})", u.display_name, u.app_id)
        };
        let reach: Vec<String> = u.permissions.iter().map(AuditPermission::line).collect();
        let unfenceable = u.unfenceable();
        let what = if locked.contains(&u.app_id) {
            "the plan locks it down: a RestrictAccess policy on an empty managed group".to_owned()
        } else if mode == UnlistedMode::LockDown && u.holds_fenced_grant() {
            "left as it is: an access policy already scopes its Entra grants".to_owned()
        } else if mode == UnlistedMode::LockDown {
            "left as it is: no access policy can fence its reach".to_owned()
        } else {
            "list it in the file, exclude it under `unlistedApps.exclude` with a reason, or set \
             `unlistedApps: lock-down`"
                .to_owned()
        };
        let beyond = if unfenceable.is_empty() || mode != UnlistedMode::LockDown {
            String::new()
        } else {
            format!(
                "; no access policy can fence {} (remove the grant in Entra ID or the role assignment)",
                unfenceable.join(", ")
            )
        };
        out.push(Finding {
            code: "unlisted-app".into(),
            app: None,
            message: format!(
                "{name} is not in the file and reaches mailboxes: {}; {what}{beyond}",
                reach.join("; ")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{
        AccessRight, EntraServicePrincipal, LiveGroup, LivePolicy, LiveRoleAssignment, PermissionGrant,
        Recipient,
    };
    use crate::plan::{Action, AppChange, Effect};
    use crate::{PlanOptions, plan};

    const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
    const LISTED: &str = "00000000-0000-4000-8000-000000000001";
    const OPEN: &str = "00000000-0000-4000-8000-000000000002";
    const SCOPED: &str = "00000000-0000-4000-8000-000000000003";
    const EXCLUDED: &str = "00000000-0000-4000-8000-000000000004";
    const DENIED: &str = "00000000-0000-4000-8000-000000000005";
    const RBAC_ONLY: &str = "00000000-0000-4000-8000-000000000006";

    fn grant(app: &str, permission: &str) -> PermissionGrant {
        PermissionGrant {
            app_id: app.to_owned(),
            resource_app_id: GRAPH.to_owned(),
            permission: permission.to_owned(),
            app_role_id: "r".to_owned(),
            id: None,
            resource_id: None,
        }
    }

    fn group(name: &str, id: &str, members: &[&str]) -> LiveGroup {
        LiveGroup {
            kind: None,
            id: id.to_owned(),
            name: name.to_owned(),
            primary_smtp_address: format!("{name}@contoso.com"),
            marker: None,
            distinguished_name: None,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn policy(app: &str, group: &LiveGroup, right: AccessRight) -> LivePolicy {
        LivePolicy {
            identity: format!("t\\{app}:s;{}", group.id),
            app_id: app.to_owned(),
            scope_id: group.id.clone(),
            scope_name: group.name.clone(),
            access_right: right,
            description: String::new(),
        }
    }

    fn tenant() -> LiveSnapshot {
        let sales = group("Sales", "g-sales", &["a@contoso.com"]);
        let execs = group("Execs", "g-execs", &["ceo@contoso.com"]);
        LiveSnapshot {
            format_version: 1,
            recipients: ["a@contoso.com", "ceo@contoso.com"]
                .iter()
                .map(|a| Recipient {
                    address: (*a).to_owned(),
                    kind: "UserMailbox".into(),
                    id: None,
                    proxy_addresses: Vec::new(),
                })
                .collect(),
            policies: vec![
                policy(SCOPED, &sales, AccessRight::RestrictAccess),
                policy(DENIED, &execs, AccessRight::DenyAccess),
            ],
            groups: vec![sales, execs],
            grants: vec![
                grant(LISTED, "Mail.Send"),
                grant(OPEN, "Mail.Send"),
                grant(OPEN, "Mail.ReadWrite"),
                grant(OPEN, "MailboxItem.Read.All"),
                grant(SCOPED, "Mail.Send"),
                grant(EXCLUDED, "Mail.Send"),
                grant(DENIED, "Mail.Read"),
            ],
            grants_read: true,
            service_principals: vec![EntraServicePrincipal {
                app_id: OPEN.to_owned(),
                object_id: "sp-open".to_owned(),
                display_name: "Legacy Mailer".to_owned(),
            }],
            role_assignments: vec![LiveRoleAssignment {
                name: "hand-made".into(),
                app_id: RBAC_ONLY.to_owned(),
                role: "Application Mail.Send".into(),
                scope: None,
            }],
            ..LiveSnapshot::default()
        }
    }

    fn desired(mode: &str) -> DesiredState {
        let text = format!(
            "apiVersion: mailscope/v1\nunlistedApps:\n  mode: {mode}\n  exclude:\n    - appId: {EXCLUDED}\n      \
             reason: break-glass tool, reviewed 2026-11\napps:\n  - name: billing\n    appId: {LISTED}\n    \
             allow: [a@contoso.com]\n"
        );
        mailscope_spec::parse(&text, "t.yaml").unwrap()
    }

    fn unlisted_findings(p: &crate::Plan) -> Vec<&str> {
        p.findings.iter().filter(|f| f.code == "unlisted-app").map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn warn_names_every_unlisted_app_with_its_reach_but_not_excluded_ones() {
        let p = plan(&desired("warn"), &tenant(), &PlanOptions::default()).unwrap();
        let found = unlisted_findings(&p);
        assert_eq!(found.len(), 4, "{found:#?}");
        let open = found.iter().find(|m| m.contains(OPEN)).unwrap();
        assert!(open.contains("\"Legacy Mailer\""), "{open}");
        assert!(open.contains("Mail.Send: every mailbox (no access policy)"), "{open}");
        assert!(open.contains("Mail.ReadWrite"), "{open}");
        assert!(open.contains("unlistedApps: lock-down"), "{open}");
        assert!(found.iter().any(|m| m.contains(SCOPED) && m.contains("1 mailbox via Sales")), "{found:#?}");
        assert!(found.iter().any(|m| m.contains(DENIED) && m.contains("every mailbox but 1")), "{found:#?}");
        assert!(found.iter().any(|m| m.contains(RBAC_ONLY) && m.contains("organization-wide")), "{found:#?}");
        assert!(!found.iter().any(|m| m.contains(EXCLUDED)), "an excluded app is never listed");
        assert!(!found.iter().any(|m| m.contains(LISTED)), "a listed app is not unlisted");
        // Warn changes nothing: only the listed app's own steps.
        assert!(p.steps.iter().all(|s| s.app_id == LISTED), "{:#?}", p.steps);
    }

    #[test]
    fn ignore_says_nothing() {
        let p = plan(&desired("ignore"), &tenant(), &PlanOptions::default()).unwrap();
        assert!(unlisted_findings(&p).is_empty(), "{:#?}", p.findings);
        assert!(p.steps.iter().all(|s| s.app_id == LISTED));
    }

    #[test]
    fn lock_down_fences_open_apps_with_narrowing_steps_only() {
        let live = tenant();
        let p = plan(&desired("lock-down"), &live, &PlanOptions::default()).unwrap();
        let locked: BTreeSet<&str> =
            p.apps.iter().filter(|a| a.change == AppChange::LockDown).map(|a| a.app_id.as_str()).collect();
        assert_eq!(locked, BTreeSet::from([OPEN, DENIED]), "{:#?}", p.apps);
        for id in [OPEN, DENIED] {
            let steps: Vec<_> = p.steps_of(id).collect();
            assert!(
                steps.iter().any(|s| matches!(
                    &s.action,
                    Action::CreatePolicy { access_right: AccessRight::RestrictAccess, .. }
                )),
                "{steps:#?}"
            );
            assert!(steps.iter().all(|s| s.effect != Effect::Widening), "{steps:#?}");
            assert!(!steps.iter().any(|s| matches!(s.action, Action::AddMember { .. })), "an empty group");
        }
        assert_eq!(p.apps.iter().find(|a| a.app_id == OPEN).unwrap().name, "Legacy Mailer");
        assert!(!p.widens());
        // Already scoped by hand, excluded, or only reachable through RBAC:
        // no step.
        for id in [SCOPED, EXCLUDED, RBAC_ONLY] {
            assert_eq!(p.steps_of(id).count(), 0, "{id}");
        }
        let found = unlisted_findings(&p);
        let open = found.iter().find(|m| m.contains(OPEN)).unwrap();
        assert!(open.contains("locks it down"), "{open}");
        assert!(open.contains("no access policy can fence MailboxItem.Read.All"), "{open}");
        assert!(
            found.iter().any(|m| m.contains(SCOPED) && m.contains("already scopes its Entra grants")),
            "{found:#?}"
        );
        assert!(
            found.iter().any(|m| m.contains(RBAC_ONLY) && m.contains("no access policy can fence Mail.Send"))
        );
    }

    #[test]
    fn lock_down_with_unread_grants_says_what_it_cannot_see() {
        let mut live = tenant();
        live.grants.clear();
        live.grants_read = false;
        let p = plan(&desired("lock-down"), &live, &PlanOptions::default()).unwrap();
        assert!(p.findings.iter().any(|f| f.code == "grants-not-read"), "{:#?}", p.findings);
        assert!(p.steps.iter().all(|s| s.app_id == LISTED));
        let warn = plan(&desired("warn"), &live, &PlanOptions::default()).unwrap();
        assert!(!warn.findings.iter().any(|f| f.code == "grants-not-read"));
    }
}
