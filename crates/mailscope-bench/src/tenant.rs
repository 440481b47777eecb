//! Generated tenants: a seed for the emulator and the desired file that
//! drifts from it by a chosen share.
//!
//! Everything is derived from the case's numbers by a fixed pseudo-random
//! sequence, so the same flags give the same tenant, plan and call counts.

use std::fmt::Write as _;

use mailscope_planner::marker;
use mailscope_spec::ListKind;
use serde_json::{Value, json};

/// One point of the grid.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    /// Mailboxes in the tenant.
    pub(crate) mailboxes: usize,
    /// Apps in the desired file.
    pub(crate) apps: usize,
    /// Mailboxes each app may reach.
    pub(crate) allowed: usize,
    /// Drift in percent: that share of the apps is new (no group, no
    /// policy), and that share of the other apps' members is wrong.
    pub(crate) drift: usize,
}

/// The operator app the bench signs in as (test-only secret, loopback only).
const OPERATOR_ID: &str = "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f";
const OPERATOR_SECRET: &str = "sim-bench-operator-secret-test-only";
const DOMAIN: &str = "contoso.com";

/// A small xorshift generator: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

pub(crate) fn mailbox(i: usize) -> String {
    format!("user{i:06}@{DOMAIN}")
}

pub(crate) fn app_id(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i + 1, i + 1)
}

fn app_name(i: usize) -> String {
    format!("app{i:04}")
}

/// `count` distinct mailbox indices, none in `avoid`.
fn pick(rng: &mut Rng, case: &Case, count: usize, avoid: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(count);
    while out.len() < count.min(case.mailboxes.saturating_sub(avoid.len())) {
        let m = rng.below(case.mailboxes);
        if !out.contains(&m) && !avoid.contains(&m) {
            out.push(m);
        }
    }
    out.sort_unstable();
    out
}

/// The allowed mailboxes of each app (desired), and the live members of the
/// apps that already exist (`None` for a new app).
pub(crate) struct Lists {
    pub(crate) desired: Vec<Vec<usize>>,
    pub(crate) live: Vec<Option<Vec<usize>>>,
}

pub(crate) fn lists(case: &Case) -> Lists {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (case.mailboxes as u64) << 20 ^ case.apps as u64);
    let new_apps = case.apps * case.drift / 100;
    let wrong = case.allowed * case.drift / 100;
    let mut desired = Vec::with_capacity(case.apps);
    let mut live = Vec::with_capacity(case.apps);
    for a in 0..case.apps {
        let want = pick(&mut rng, case, case.allowed, &[]);
        if a < new_apps {
            live.push(None);
        } else {
            // `wrong` desired members are missing, as many others are there.
            let mut members: Vec<usize> = want[wrong..].to_vec();
            members.extend(pick(&mut rng, case, wrong, &want));
            members.sort_unstable();
            live.push(Some(members));
        }
        desired.push(want);
    }
    Lists { desired, live }
}

/// The emulator's seed (JSON, `docs/sim.md`, "Seed format").
pub(crate) fn seed(case: &Case, lists: &Lists) -> Value {
    let recipients: Vec<Value> = (0..case.mailboxes)
        .map(|i| json!({"address": mailbox(i), "kind": "UserMailbox", "displayName": format!("User {i}")}))
        .collect();
    let mut groups = Vec::new();
    let mut policies = Vec::new();
    for (a, members) in lists.live.iter().enumerate() {
        let Some(members) = members else { continue };
        let name = mailscope_planner::derived_group_name(&app_name(a), ListKind::Allow);
        let mark = marker(&app_id(a), ListKind::Allow);
        groups.push(json!({
            "name": name,
            "primarySmtpAddress": format!("{name}@contoso.onmicrosoft.com"),
            "customAttributes": {"15": mark},
            "members": members.iter().map(|m| mailbox(*m)).collect::<Vec<_>>(),
        }));
        policies.push(json!({
            "appId": app_id(a),
            "scope": name,
            "accessRight": "RestrictAccess",
            "description": mark,
        }));
    }
    let mut apps: Vec<Value> = (0..case.apps)
        .map(|a| json!({"appId": app_id(a), "displayName": app_name(a), "graphPermissions": ["Mail.Send"]}))
        .collect();
    apps.push(json!({
        "appId": OPERATOR_ID,
        "displayName": "mailscope",
        "exchangePermissions": ["Exchange.ManageAsApp"],
        "directoryRoles": ["Exchange Administrator"],
        "clientSecrets": [OPERATOR_SECRET],
    }));
    json!({
        "tenant": {
            "id": "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c",
            "displayName": "Bench",
            "initialDomain": "contoso.onmicrosoft.com",
            "domains": [DOMAIN],
        },
        "recipients": recipients,
        "groups": groups,
        "policies": policies,
        "apps": apps,
        "operatorApp": "mailscope",
    })
}

/// The desired file: every app allows its list.
pub(crate) fn desired_yaml(lists: &Lists) -> String {
    let mut out = String::from("apiVersion: mailscope/v1\napps:\n");
    for (a, want) in lists.desired.iter().enumerate() {
        let _ = writeln!(out, "  - name: {}\n    appId: {}", app_name(a), app_id(a));
        let list: Vec<String> = want.iter().map(|m| mailbox(*m)).collect();
        let _ = writeln!(out, "    allow: [{}]", list.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_makes_new_apps_and_wrong_members() {
        let case = Case { mailboxes: 1000, apps: 10, allowed: 50, drift: 20 };
        let l = lists(&case);
        assert_eq!(l.live.iter().filter(|m| m.is_none()).count(), 2);
        for (want, live) in l.desired.iter().zip(&l.live).skip(2) {
            let live = live.as_ref().unwrap();
            assert_eq!(live.len(), 50);
            assert_eq!(want.iter().filter(|m| !live.contains(m)).count(), 10);
        }
    }
}
