//! Ownership: which live objects are mailscope's (by their markers), and the
//! findings about everything else, which is reported and never touched.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mailscope_spec::ListKind;

use super::Owner;
use super::naming::{name_from_group, owns_policy, parse_marker};
use crate::live::{AccessRight, LiveGroup, LiveSnapshot, MARKER_PREFIX};
use crate::plan::Finding;
use crate::world::{Scope, World, key};

/// Managed groups (by key) per (app id, list), as their markers say.
pub(super) type Managed = BTreeMap<(String, ListKind), Vec<String>>;

/// Reads the markers of the live groups. A group whose marker starts like
/// mailscope's but cannot be read is left alone, with a finding.
pub(super) fn managed_groups(live: &World, findings: &mut Vec<Finding>) -> Managed {
    let mut managed: Managed = BTreeMap::new();
    for (gk, g) in &live.groups {
        if let Some(text) = &g.marker {
            match parse_marker(text) {
                Some(owner) => managed.entry(owner).or_default().push(gk.clone()),
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
    managed
}

/// Apps that left the file but still have managed groups or policies.
pub(super) fn removed_apps(
    live: &World,
    managed: &Managed,
    desired_ids: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut removed: BTreeSet<String> = managed.keys().map(|(a, _)| a.clone()).collect();
    removed.extend(live.policies.iter().filter(|(k, p)| owns_policy(k, p)).map(|(k, _)| k.app_id.clone()));
    removed.retain(|a| !desired_ids.contains(a));
    removed
}

/// The name an app that left the file goes by: the one its derived group
/// names carry, else its client id.
pub(super) fn removed_app_name(prefix: &str, app_id: &str, managed: &Managed, live: &World) -> String {
    for list in [ListKind::Allow, ListKind::Deny] {
        for g in managed.get(&(app_id.to_owned(), list)).into_iter().flatten() {
            if let Some(n) = name_from_group(prefix, &live.groups[g].name, list) {
                return n.to_owned();
            }
        }
    }
    app_id.to_owned()
}

/// Managed groups some unmanaged policy still uses stay in the target, with
/// a note: removing them would change what that policy scopes.
pub(super) fn keep_groups_in_use(
    live: &World,
    target: &mut World,
    owners: &BTreeMap<String, Owner>,
    findings: &mut Vec<Finding>,
) {
    for (k, p) in &live.policies {
        if let Scope::Group(g) = &k.scope
            && !target.groups.contains_key(g)
            && target.policies.contains_key(k)
            && !owns_policy(k, p)
        {
            let state = live.groups[g].clone();
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
}

/// Findings about the policies mailscope does not manage: on apps of the
/// file, of apps outside it, and pointing at scopes that are gone. Apps in
/// `described` (the unlisted pass names them with their whole reach, or the
/// file excludes them) get no per-policy finding.
pub(super) fn report_unmanaged(
    snapshot: &LiveSnapshot,
    live: &World,
    target: &World,
    owners: &BTreeMap<String, Owner>,
    desired_ids: &BTreeSet<String>,
    described: &BTreeSet<String>,
    findings: &mut Vec<Finding>,
) {
    let scope_names: BTreeMap<&str, &str> =
        snapshot.policies.iter().map(|p| (p.identity.as_str(), p.scope_name.as_str())).collect();
    for (k, p) in &live.policies {
        // Ours, being adopted, or going away with a managed group: nothing
        // to report.
        if owns_policy(k, p)
            || !target.policies.contains_key(k)
            || target.policies.get(k).is_some_and(|t| t.description != p.description)
        {
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
        } else if !owners.contains_key(&k.app_id) && !described.contains(&k.app_id) {
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

/// Findings about the scope groups of the file's apps that Exchange may not
/// honour as the file means: a group that is no mail-enabled security group
/// (Exchange refuses it as a policy scope), and a group holding groups
/// (whether policies expand nested members is contested; mailscope manages
/// direct members only). The same checks as the audit's.
pub(super) fn report_scope_groups(
    snapshot: &LiveSnapshot,
    target: &World,
    owners: &BTreeMap<String, Owner>,
    desired_ids: &BTreeSet<String>,
    findings: &mut Vec<Finding>,
) {
    let group_like: BTreeSet<String> = snapshot
        .groups
        .iter()
        .map(|g| key(&g.primary_smtp_address))
        .chain(
            snapshot
                .recipients
                .iter()
                .filter(|r| r.kind.to_ascii_lowercase().contains("group"))
                .map(|r| key(&r.address)),
        )
        .collect();
    // By name, looked up once: a search of every group per policy made a
    // 20,000-app tenant take 18 s (the first group of a name wins, as the
    // search did).
    let mut by_name: HashMap<String, &LiveGroup> = HashMap::with_capacity(snapshot.groups.len());
    for g in &snapshot.groups {
        by_name.entry(key(&g.name)).or_insert(g);
    }
    let mut seen = BTreeSet::new();
    for k in target.policies.keys().filter(|k| desired_ids.contains(&k.app_id)) {
        let Scope::Group(gk) = &k.scope else { continue };
        let Some(g) = by_name.get(gk) else { continue };
        if !seen.insert(gk.clone()) {
            continue;
        }
        let app = owners.get(&k.app_id).map(|o| o.name.clone());
        if let Some(kind) = g.kind.as_deref().filter(|k| !crate::audit::is_security_group(k)) {
            findings.push(Finding {
                code: "scope-group".into(),
                app: app.clone(),
                message: format!(
                    "group \"{}\" is a {kind}, not a mail-enabled security group: Exchange accepts only those as \
                     policy scopes; use a mail-enabled security group",
                    g.name
                ),
            });
        }
        let nested: Vec<&str> =
            g.members.iter().filter(|m| group_like.contains(&key(m))).map(String::as_str).collect();
        if !nested.is_empty() {
            findings.push(Finding {
                code: "scope-group".into(),
                app,
                message: format!(
                    "group \"{}\" holds the group{} {}: whether access policies honour nested members is contested, \
                     and mailscope manages direct members only; add the mailboxes directly",
                    g.name,
                    if nested.len() == 1 { "" } else { "s" },
                    nested.join(", ")
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::live::{LiveGroup, LiveSnapshot, Recipient};
    use crate::{PlanOptions, plan};

    const APP: &str = "00000000-0000-4000-8000-00000000000a";

    fn recipient(address: &str, kind: &str) -> Recipient {
        Recipient {
            address: address.to_owned(),
            kind: kind.to_owned(),
            id: None,
            proxy_addresses: Vec::new(),
        }
    }

    /// An adopted group Exchange would refuse as a policy scope, or one
    /// holding a group, is reported by `plan` (as `audit` reports it).
    #[test]
    fn a_scope_group_that_is_a_list_or_holds_a_group_is_reported() {
        let desired = mailscope_spec::parse(
            &format!(
                "apiVersion: mailscope/v1\napps:\n  - name: crm\n    appId: {APP}\n    group: Sales\n    \
                 allow: [a@contoso.com, team@contoso.com]\n"
            ),
            "t.yaml",
        )
        .unwrap();
        let live = LiveSnapshot {
            format_version: 1,
            groups: vec![LiveGroup {
                kind: Some("MailUniversalDistributionGroup".into()),
                id: "g1".into(),
                name: "Sales".into(),
                primary_smtp_address: "sales@contoso.com".into(),
                marker: None,
                distinguished_name: None,
                members: vec!["a@contoso.com".into(), "team@contoso.com".into()],
            }],
            recipients: vec![
                recipient("a@contoso.com", "UserMailbox"),
                recipient("team@contoso.com", "MailUniversalSecurityGroup"),
            ],
            ..LiveSnapshot::default()
        };
        let p = plan(&desired, &live, &PlanOptions::default()).unwrap();
        let found: Vec<&str> =
            p.findings.iter().filter(|f| f.code == "scope-group").map(|f| f.message.as_str()).collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("is a MailUniversalDistributionGroup, not a mail-enabled security group"));
        assert!(found[1].contains("holds the group team@contoso.com"), "{}", found[1]);

        let mut fine = live.clone();
        fine.groups[0].kind = Some("MailUniversalSecurityGroup".into());
        fine.groups[0].members.pop();
        fine.recipients.pop();
        let desired = mailscope_spec::parse(
            &format!("apiVersion: mailscope/v1\napps:\n  - name: crm\n    appId: {APP}\n    group: Sales\n    allow: [a@contoso.com]\n"),
            "t.yaml",
        )
        .unwrap();
        let p = plan(&desired, &fine, &PlanOptions::default()).unwrap();
        assert!(!p.findings.iter().any(|f| f.code == "scope-group"), "{:#?}", p.findings);
    }
}
