//! Test helpers shared by the planner's test binaries: building inputs and
//! a reference model of the tenant that applies steps to a snapshot.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;

use mailscope_planner::{AccessRight, Action, LiveGroup, LivePolicy, LiveSnapshot, Recipient};

pub const APP_IDS: [&str; 4] = [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000b",
    "00000000-0000-4000-8000-00000000000c",
    "00000000-0000-4000-8000-00000000000d",
];

pub fn mailbox(i: usize) -> String {
    format!("m{i}@contoso.com")
}

pub fn snapshot(mailboxes: usize) -> LiveSnapshot {
    LiveSnapshot {
        format_version: 1,
        recipients: (0..mailboxes)
            .map(|i| Recipient { address: mailbox(i), kind: "UserMailbox".into(), id: None })
            .collect(),
        ..LiveSnapshot::default()
    }
}

pub fn group(live: &mut LiveSnapshot, name: &str, marker: Option<String>, members: &[String]) -> String {
    // Ids never repeat, even after a group was removed, as in Exchange.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let id =
        format!("00000000-0000-4000-9000-{:012}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    live.groups.push(LiveGroup {
        id: id.clone(),
        name: name.to_owned(),
        primary_smtp_address: format!("{name}@contoso.onmicrosoft.com"),
        marker,
        distinguished_name: None,
        members: members.to_vec(),
    });
    id
}

pub fn policy(live: &mut LiveSnapshot, app_id: &str, group: &str, right: AccessRight, description: &str) {
    let g = live.groups.iter().find(|g| g.name.eq_ignore_ascii_case(group)).expect("group exists");
    live.policies.push(LivePolicy {
        identity: format!("tenant\\{app_id}:S-1-5-21-1;{}", g.id),
        app_id: app_id.to_owned(),
        scope_id: g.id.clone(),
        scope_name: g.name.clone(),
        access_right: right,
        description: description.to_owned(),
    });
}

/// Applies one step to a snapshot the way Exchange would.
pub fn apply(live: &mut LiveSnapshot, action: &Action) {
    let find =
        |live: &LiveSnapshot, name: &str| live.groups.iter().position(|g| g.name.eq_ignore_ascii_case(name));
    match action {
        Action::CreateGroup { group: name, marker, .. } => {
            assert!(find(live, name).is_none(), "group {name} already exists");
            group(live, name, Some(marker.clone()), &[]);
        }
        Action::MarkGroup { group, marker } => {
            let i = find(live, group).expect("group to mark exists");
            live.groups[i].marker = Some(marker.clone());
        }
        Action::AddMember { group, member } => {
            let i = find(live, group).expect("group exists");
            assert!(
                !live.groups[i].members.iter().any(|m| m.eq_ignore_ascii_case(member)),
                "already a member"
            );
            live.groups[i].members.push(member.clone());
        }
        Action::RemoveMember { group, member } => {
            let i = find(live, group).expect("group exists");
            let before = live.groups[i].members.len();
            live.groups[i].members.retain(|m| !m.eq_ignore_ascii_case(member));
            assert_eq!(before, live.groups[i].members.len() + 1, "was not a member");
        }
        Action::RemoveGroup { group } => {
            let i = find(live, group).expect("group exists");
            let id = live.groups[i].id.clone();
            assert!(!live.policies.iter().any(|p| p.scope_id == id), "group {group} is still a policy scope");
            live.groups.remove(i);
        }
        Action::CreatePolicy { app_id, group, access_right, description } => {
            let gid = live.groups[find(live, group).expect("scope exists")].id.clone();
            // The policy identity holds the app and the scope but not the
            // right, so Exchange cannot hold two policies for one pair.
            assert!(
                !live.policies.iter().any(|p| p.app_id == *app_id && p.scope_id == gid),
                "a policy of app {app_id} on {group} exists already"
            );
            policy(live, app_id, group, *access_right, description);
        }
        Action::SetPolicyDescription { identity, description, .. } => {
            let p = live.policies.iter_mut().find(|p| &p.identity == identity).expect("policy exists");
            p.description.clone_from(description);
        }
        Action::RemovePolicy { identity, .. } => {
            let before = live.policies.len();
            live.policies.retain(|p| &p.identity != identity);
            assert_eq!(before, live.policies.len() + 1, "policy {identity} existed");
        }
        other => panic!("the test tenant models no RBAC for Applications yet: {other:?}"),
    }
}

/// Exchange's decision, written independently of the planner's own model:
/// Deny beats Restrict; Restrict scopes add up; no Restrict → allowed.
pub fn allows(live: &LiveSnapshot, app_id: &str, mailbox: &str) -> bool {
    let in_scope = |p: &LivePolicy| {
        live.groups
            .iter()
            .find(|g| g.id == p.scope_id)
            .is_some_and(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(mailbox)))
    };
    let mine: Vec<&LivePolicy> =
        live.policies.iter().filter(|p| p.app_id.eq_ignore_ascii_case(app_id)).collect();
    if mine.iter().any(|p| p.access_right == AccessRight::DenyAccess && in_scope(p)) {
        return false;
    }
    let restricts: Vec<_> = mine.iter().filter(|p| p.access_right == AccessRight::RestrictAccess).collect();
    restricts.is_empty() || restricts.iter().any(|p| in_scope(p))
}

/// Every mailbox the app reaches, over `universe` plus one unnamed mailbox.
pub fn reach(live: &LiveSnapshot, app_id: &str, universe: &[String]) -> BTreeSet<String> {
    universe
        .iter()
        .map(String::as_str)
        .chain(["nobody-named-this@contoso.com"])
        .filter(|m| allows(live, app_id, m))
        .map(str::to_owned)
        .collect()
}
