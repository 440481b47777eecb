//! Property tests over random mixes of both mechanisms, Entra grants and
//! migrations in both directions. A random *previous* file is planned and
//! applied on a bare tenant (so the live state is what mailscope itself
//! leaves, access policies or RBAC), then a random *next* file is planned:
//! - convergence: applying the plan and planning again yields no steps;
//! - idempotence: the next plan of an unchanged tenant is the same plan;
//! - the safe-order bound per permission: every intermediate state lets
//!   every app reach, with every permission, only mailboxes it reaches
//!   before or after, in plan order and in any order the waves allow;
//! - a step that gains access somewhere is marked widening.
//!
//! The tenant model and the decision are tests/common's, written apart from
//! the planner's.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write;

use common::{APP_IDS, apply, effective, mailbox, snapshot};
use mailscope_permissions::{EXCHANGE_APP_ID, GRAPH_APP_ID};
use mailscope_planner::{
    Action, EntraServicePrincipal, LiveSnapshot, PermissionGrant, Plan, PlanOptions, Step, plan,
};
use proptest::prelude::*;

const MAILBOXES: usize = 5;
const APPS: usize = 3;
/// The permissions the bound is checked for: two the files assign, one
/// only an Entra grant (or the unread-grants reading) gives.
const PERMISSIONS: [&str; 3] = ["Mail.Send", "Mail.Read", "Mail.ReadWrite"];

#[derive(Debug, Clone)]
struct FileApp {
    listed: bool,
    rbac: bool,
    permissions: Vec<bool>,
    remove_grants: bool,
    allow: Option<Vec<bool>>,
    deny: Option<Vec<bool>>,
}

fn members() -> impl Strategy<Value = Vec<bool>> {
    proptest::collection::vec(any::<bool>(), MAILBOXES)
}

fn file_app() -> impl Strategy<Value = FileApp> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), 2),
        any::<bool>(),
        proptest::option::of(members()),
        proptest::option::of(members()),
    )
        .prop_map(|(listed, rbac, permissions, remove_grants, allow, deny)| FileApp {
            listed,
            rbac,
            permissions,
            remove_grants,
            allow,
            deny,
        })
}

fn pick(bits: &[bool]) -> String {
    bits.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| mailbox(i)).collect::<Vec<_>>().join(", ")
}

fn yaml(apps: &[FileApp]) -> String {
    let mut y = String::from("apiVersion: mailscope/v1\napps:\n");
    for (i, a) in apps.iter().enumerate().filter(|(_, a)| a.listed) {
        let _ = writeln!(y, "  - name: app{i}\n    appId: {}", APP_IDS[i]);
        if a.rbac {
            let perms: Vec<&str> = ["Mail.Send", "Mail.Read"]
                .iter()
                .zip(&a.permissions)
                .filter(|(_, b)| **b)
                .map(|(p, _)| *p)
                .collect();
            let perms = if perms.is_empty() { vec!["Mail.Send"] } else { perms };
            let _ = writeln!(y, "    mechanism: rbac\n    permissions: [{}]", perms.join(", "));
            if a.remove_grants {
                y.push_str("    entraGrants: remove\n");
            }
        }
        let allow = a.allow.clone().or_else(|| a.deny.is_none().then(|| vec![false; MAILBOXES]));
        if let Some(al) = &allow {
            let _ = writeln!(y, "    allow: [{}]", pick(al));
        }
        if let Some(d) = &a.deny {
            let _ = writeln!(y, "    deny: [{}]", pick(d));
        }
    }
    if !apps.iter().any(|a| a.listed) {
        y.push_str("  []\n");
    }
    y
}

/// A bare tenant: mailboxes, each app's Entra service principal, and some
/// tenant-wide Entra grants (`grants[app]`: Graph Mail.Send, Graph
/// Mail.Read, Exchange Mail.Send).
fn tenant(grants: &[Vec<bool>], grants_read: bool) -> LiveSnapshot {
    let mut live = snapshot(MAILBOXES);
    live.grants_read = grants_read;
    for (i, app) in APP_IDS.iter().take(APPS).enumerate() {
        live.service_principals.push(EntraServicePrincipal {
            app_id: (*app).to_owned(),
            object_id: format!("aaaaaaaa-0000-4000-8000-{i:012}"),
            display_name: format!("app{i}"),
        });
        if !grants_read {
            continue;
        }
        let all = [(GRAPH_APP_ID, "Mail.Send"), (GRAPH_APP_ID, "Mail.Read"), (EXCHANGE_APP_ID, "Mail.Send")];
        for (j, (resource, permission)) in all.iter().enumerate() {
            if grants[i][j] {
                live.grants.push(PermissionGrant {
                    app_id: (*app).to_owned(),
                    resource_app_id: (*resource).to_owned(),
                    permission: (*permission).to_owned(),
                    app_role_id: String::new(),
                    id: Some(format!("grant-{i}-{j}")),
                    resource_id: Some(format!("resource-{resource}")),
                });
            }
        }
    }
    live
}

fn universe() -> Vec<String> {
    (0..MAILBOXES).map(mailbox).chain(["nobody-named-this@contoso.com".to_owned()]).collect()
}

/// (app, permission, mailbox) triples the state reaches.
fn reach(state: &LiveSnapshot) -> BTreeSet<(usize, &'static str, String)> {
    let mut out = BTreeSet::new();
    for (i, app) in APP_IDS.iter().take(APPS).enumerate() {
        for p in PERMISSIONS {
            for m in universe() {
                if effective(state, app, p, &m) {
                    out.insert((i, p, m));
                }
            }
        }
    }
    out
}

fn within(state: &LiveSnapshot, bound: &BTreeSet<(usize, &'static str, String)>) -> Result<(), String> {
    let outside: Vec<_> = reach(state).difference(bound).cloned().collect();
    if outside.is_empty() { Ok(()) } else { Err(format!("reaches outside before ∪ after: {outside:?}")) }
}

fn concurrent_order(steps: &[Step], choices: &[u16]) -> Vec<Step> {
    let mut remaining: Vec<Step> = steps.to_vec();
    let mut out = Vec::new();
    let mut c = choices.iter().cycle();
    while !remaining.is_empty() {
        let ready: Vec<usize> = (0..remaining.len())
            .filter(|&i| {
                !remaining.iter().any(|o| o.app_id == remaining[i].app_id && o.wave < remaining[i].wave)
            })
            .collect();
        let pick = ready[usize::from(*c.next().unwrap()) % ready.len()];
        out.push(remaining.remove(pick));
    }
    out
}

/// Plans, or `None` when the planner refuses the inputs as a user error.
fn try_plan(text: &str, live: &LiveSnapshot) -> Result<Option<Plan>, String> {
    let desired = mailscope_spec::parse(text, "p.yaml").map_err(|e| e.to_string())?;
    match plan(&desired, live, &PlanOptions::default()) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.is_internal() => Err(e.to_string()),
        Err(_) => Ok(None),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::proptest_cases(300), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mixed_mechanisms_converge_and_stay_within_bounds_per_permission(
        previous in proptest::collection::vec(file_app(), APPS),
        next in proptest::collection::vec(file_app(), APPS),
        grants in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 3), APPS),
        grants_read in proptest::bool::weighted(0.8),
        choices in proptest::collection::vec(any::<u16>(), 1..64),
    ) {
        // The previous file, applied on a bare tenant.
        let mut live = tenant(&grants, grants_read);
        let first = try_plan(&yaml(&previous), &live);
        prop_assert!(first.is_ok(), "{:?}", first);
        let Some(first) = first.unwrap() else { return Ok(()) };
        for s in &first.steps {
            apply(&mut live, &s.action);
        }

        let text = yaml(&next);
        let p = try_plan(&text, &live);
        prop_assert!(p.is_ok(), "{:?}", p);
        let Some(p) = p.unwrap() else { return Ok(()) };

        // Idempotence: the same inputs give the same plan.
        let twice = try_plan(&text, &live).unwrap().unwrap();
        prop_assert_eq!(&twice, &p);

        let mut state = live.clone();
        let mut states = vec![state.clone()];
        for s in &p.steps {
            let before = reach(&state);
            apply(&mut state, &s.action);
            let now = reach(&state);
            if !now.is_subset(&before) {
                prop_assert_eq!(s.effect, mailscope_planner::Effect::Widening, "step {:?} gains {:?}", s, now.difference(&before).collect::<Vec<_>>());
            }
            if matches!(s.action, Action::RemoveEntraGrant { .. }) {
                prop_assert!(now.is_subset(&before), "removing a grant widened: {:?}", s);
            }
            states.push(state.clone());
        }
        let after = state;
        let bound: BTreeSet<_> = reach(&live).union(&reach(&after)).cloned().collect();
        for (i, st) in states.iter().enumerate() {
            let r = within(st, &bound);
            prop_assert!(r.is_ok(), "after step {}: {:?}\nsteps: {:#?}", i, r, p.steps);
        }

        // Convergence.
        let again = try_plan(&text, &after).unwrap().unwrap();
        prop_assert!(again.is_empty(), "not converged: {:#?}\nfirst plan: {:#?}", again.steps, p.steps);

        // Any order the waves allow.
        let mut state = live.clone();
        for s in concurrent_order(&p.steps, &choices) {
            apply(&mut state, &s.action);
            let r = within(&state, &bound);
            prop_assert!(r.is_ok(), "{:?}\nsteps: {:#?}", r, p.steps);
        }
    }
}
