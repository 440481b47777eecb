//! What Exchange should decide, mailbox by mailbox, once a desired state
//! is applied: the expectations `mailscope verify` holds the tenant to.
//!
//! The decision is not re-derived here: the file's lists are put into a
//! [`World`] as the policies mailscope would create (an allow list is a
//! Restrict policy on a group, a deny list a Deny policy) and
//! [`World::allows`] decides, the same rule the planner checks every plan
//! against. So `verify` cannot expect something the planner does not aim for.

use mailscope_spec::{DesiredState, ListKind};

use crate::live::AccessRight;
use crate::world::{GroupState, PolicyKey, PolicyState, Scope, World, key};

/// Why a mailbox is checked for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckReason {
    /// It is on the app's allow list.
    Allow,
    /// It is on the app's deny list (and not its allow list).
    Deny,
    /// A known mailbox on neither list: a sample of "everything else".
    Other,
}

impl CheckReason {
    /// `allow`, `deny` or `other`, the file's own words.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckReason::Allow => "allow",
            CheckReason::Deny => "deny",
            CheckReason::Other => "other",
        }
    }
}

/// One (app, mailbox) pair and the decision the file implies for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedAccess {
    /// The app's name in the file.
    pub app: String,
    /// Its client id.
    pub app_id: String,
    /// The mailbox address.
    pub mailbox: String,
    /// Whether the app should reach the mailbox.
    pub allowed: bool,
    /// Why this pair is checked.
    pub reason: CheckReason,
}

/// The file's lists as the policies mailscope would make of them.
pub(crate) fn desired_world(desired: &DesiredState) -> World {
    let mut world = World::default();
    for app in &desired.apps {
        for (list, right) in
            [(ListKind::Allow, AccessRight::RestrictAccess), (ListKind::Deny, AccessRight::DenyAccess)]
        {
            let Some(entries) = app.list(list) else { continue };
            // One group per (app, list), named so that no two collide.
            let group = format!("{}/{list}", key(&app.app_id));
            world.groups.insert(
                group.clone(),
                GroupState {
                    name: group.clone(),
                    marker: None,
                    members: entries.iter().map(|e| key(&e.address)).collect(),
                },
            );
            world.insert_policy(
                PolicyKey { app_id: key(&app.app_id), scope: Scope::Group(group), right },
                PolicyState { identity: String::new(), description: String::new() },
            );
        }
    }
    world
}

/// The pairs to check and what each should be: every allowed and denied
/// mailbox of each app, and up to `sample` of the `known` mailboxes on
/// neither list (in the order given).
pub fn expected_access(desired: &DesiredState, known: &[String], sample: usize) -> Vec<ExpectedAccess> {
    let world = desired_world(desired);
    let mut out = Vec::new();
    for app in &desired.apps {
        let addresses = |list| -> Vec<String> {
            let mut v: Vec<String> =
                app.list(list).unwrap_or_default().iter().map(|e| key(&e.address)).collect();
            v.sort();
            v.dedup();
            v
        };
        let (allow, deny) = (addresses(ListKind::Allow), addresses(ListKind::Deny));
        let app_id = key(&app.app_id);
        let mut push = |mailbox: &str, reason| {
            out.push(ExpectedAccess {
                app: app.name.clone(),
                app_id: app.app_id.clone(),
                mailbox: mailbox.to_owned(),
                allowed: world.allows(&app_id, &key(mailbox)),
                reason,
            });
        };
        for m in &allow {
            push(m, CheckReason::Allow);
        }
        for m in deny.iter().filter(|m| !allow.contains(m)) {
            push(m, CheckReason::Deny);
        }
        let listed = |m: &String| allow.contains(&key(m)) || deny.contains(&key(m));
        for m in known.iter().filter(|m| !listed(m)).take(sample) {
            push(m, CheckReason::Other);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00000000-0000-4000-8000-00000000000a";
    const B: &str = "00000000-0000-4000-8000-00000000000b";

    fn desired(apps: &str) -> DesiredState {
        mailscope_spec::parse(&format!("apiVersion: mailscope/v1\napps:\n{apps}"), "t.yaml").unwrap()
    }

    fn known(addresses: &[&str]) -> Vec<String> {
        addresses.iter().map(|a| (*a).to_owned()).collect()
    }

    fn rows(checks: &[ExpectedAccess]) -> Vec<(&str, &str, bool, &str)> {
        checks.iter().map(|c| (c.app.as_str(), c.mailbox.as_str(), c.allowed, c.reason.as_str())).collect()
    }

    #[test]
    fn an_allow_list_grants_its_mailboxes_and_nothing_else() {
        let d = desired(&format!(
            "  - name: mailer\n    appId: {A}\n    allow: [b@contoso.com, a@contoso.com]\n"
        ));
        let checks = expected_access(&d, &known(&["a@contoso.com", "x@contoso.com", "y@contoso.com"]), 3);
        assert_eq!(
            rows(&checks),
            vec![
                ("mailer", "a@contoso.com", true, "allow"),
                ("mailer", "b@contoso.com", true, "allow"),
                ("mailer", "x@contoso.com", false, "other"),
                ("mailer", "y@contoso.com", false, "other"),
            ]
        );
        assert!(checks.iter().all(|c| c.app_id == A));
    }

    #[test]
    fn a_deny_list_alone_denies_its_mailboxes_and_grants_the_rest() {
        let d = desired(&format!("  - name: reader\n    appId: {A}\n    deny: [ceo@contoso.com]\n"));
        let checks = expected_access(&d, &known(&["ceo@contoso.com", "x@contoso.com"]), 3);
        assert_eq!(
            rows(&checks),
            vec![("reader", "ceo@contoso.com", false, "deny"), ("reader", "x@contoso.com", true, "other")]
        );
    }

    #[test]
    fn deny_beats_allow_for_a_mailbox_on_both_lists() {
        let d = desired(&format!(
            "  - name: both\n    appId: {A}\n    allow: [a@contoso.com, c@contoso.com]\n    deny: [c@contoso.com]\n"
        ));
        let checks = expected_access(&d, &[], 3);
        // Checked once, as an allow-list entry, and expected denied: Exchange
        // lets Deny win.
        assert_eq!(
            rows(&checks),
            vec![("both", "a@contoso.com", true, "allow"), ("both", "c@contoso.com", false, "allow")]
        );
    }

    #[test]
    fn the_sample_is_per_app_and_skips_listed_mailboxes() {
        let d = desired(&format!(
            "  - name: one\n    appId: {A}\n    allow: [a@contoso.com]\n  - name: two\n    appId: {B}\n    deny: [x@contoso.com]\n"
        ));
        let checks = expected_access(&d, &known(&["a@contoso.com", "x@contoso.com", "y@contoso.com"]), 1);
        assert_eq!(
            rows(&checks),
            vec![
                ("one", "a@contoso.com", true, "allow"),
                ("one", "x@contoso.com", false, "other"),
                ("two", "x@contoso.com", false, "deny"),
                ("two", "a@contoso.com", true, "other"),
            ]
        );
        assert_eq!(checks[2].app_id, B);
    }

    #[test]
    fn a_sample_of_zero_checks_only_the_lists() {
        let d = desired(&format!("  - name: mailer\n    appId: {A}\n    allow: [a@contoso.com]\n"));
        assert_eq!(expected_access(&d, &known(&["x@contoso.com"]), 0).len(), 1);
    }
}
