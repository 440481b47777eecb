//! Property tests over random desired/live pairs:
//! - applying the plan's steps to the snapshot reaches the desired state:
//!   planning again yields no steps;
//! - every intermediate state keeps every app within "before ∪ after", in
//!   execution order and in any order the waves allow (concurrent apply);
//! - each step's effect matches an independent evaluation.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write;

use common::{APP_IDS, allows, apply, group, mailbox, policy, reach, snapshot};
use mailscope_planner::cost::{lower_bound, replace_is_fewer, write_calls};
use mailscope_planner::{
    AccessRight, Action, Effect, LiveSnapshot, PlanOptions, RemovedApps, Step, marker, plan,
};
use mailscope_spec::ListKind;
use proptest::prelude::*;

const MAILBOXES: usize = 6;

#[derive(Debug, Clone)]
struct AppCase {
    listed: bool,
    allow: Option<Vec<bool>>,
    deny: Option<Vec<bool>>,
    adopt: bool,
    live_allow: Option<(Vec<bool>, bool, Option<AccessRight>)>, // members, derived name?, policy right
    live_deny: Option<(Vec<bool>, Option<AccessRight>)>,
    live_adopt: Option<(Vec<bool>, bool)>, // members, unmanaged restrict policy?
    hand_made: Option<(Vec<bool>, AccessRight)>,
}

fn members() -> impl Strategy<Value = Vec<bool>> {
    proptest::collection::vec(any::<bool>(), MAILBOXES)
}

fn right() -> impl Strategy<Value = AccessRight> {
    prop_oneof![Just(AccessRight::RestrictAccess), Just(AccessRight::DenyAccess)]
}

fn app_case() -> impl Strategy<Value = AppCase> {
    (
        any::<bool>(),
        proptest::option::of(members()),
        proptest::option::of(members()),
        any::<bool>(),
        proptest::option::of((members(), any::<bool>(), proptest::option::of(right()))),
        proptest::option::of((members(), proptest::option::of(right()))),
        proptest::option::of((members(), any::<bool>())),
        proptest::option::weighted(0.2, (members(), right())),
    )
        .prop_map(|(listed, allow, deny, adopt, live_allow, live_deny, live_adopt, hand_made)| AppCase {
            listed,
            allow,
            deny,
            adopt,
            live_allow,
            live_deny,
            live_adopt,
            hand_made,
        })
}

fn pick(bits: &[bool]) -> Vec<String> {
    bits.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| mailbox(i)).collect()
}

fn build(cases: &[AppCase]) -> (String, LiveSnapshot) {
    let mut yaml = String::from("apiVersion: mailscope/v1\napps:\n");
    let mut live = snapshot(MAILBOXES);
    for (i, c) in cases.iter().enumerate() {
        let id = APP_IDS[i];
        let name = format!("app{i}");
        if c.listed {
            let _ = writeln!(yaml, "  - name: {name}\n    appId: {id}");
            let allow = c.allow.clone().or_else(|| c.deny.is_none().then(|| vec![false; MAILBOXES]));
            if let Some(a) = &allow {
                if c.adopt {
                    let _ = writeln!(yaml, "    group: adopt-{i}");
                }
                let _ = writeln!(yaml, "    allow: [{}]", pick(a).join(", "));
            }
            if let Some(d) = &c.deny {
                let _ = writeln!(yaml, "    deny: [{}]", pick(d).join(", "));
            }
        }
        if let Some((m, derived, right)) = &c.live_allow {
            let g = if *derived { format!("mailscope-{name}-allow") } else { format!("old-{i}-allow") };
            let mark = marker(id, ListKind::Allow);
            group(&mut live, &g, Some(mark.clone()), &pick(m));
            if let Some(r) = right {
                policy(&mut live, id, &g, *r, &mark);
            }
        }
        if let Some((m, right)) = &c.live_deny {
            let g = format!("mailscope-{name}-deny");
            let mark = marker(id, ListKind::Deny);
            group(&mut live, &g, Some(mark.clone()), &pick(m));
            if let Some(r) = right {
                policy(&mut live, id, &g, *r, &mark);
            }
        }
        if let Some((m, with_policy)) = &c.live_adopt {
            let g = format!("adopt-{i}");
            group(&mut live, &g, None, &pick(m));
            if *with_policy {
                policy(&mut live, id, &g, AccessRight::RestrictAccess, "made by hand");
            }
        }
        if let Some((m, r)) = &c.hand_made {
            let g = format!("hand-{i}");
            group(&mut live, &g, None, &pick(m));
            policy(&mut live, id, &g, *r, "made by hand");
        }
    }
    if !cases.iter().any(|c| c.listed) {
        yaml.push_str("  []\n");
    }
    (yaml, live)
}

fn universe() -> Vec<String> {
    (0..MAILBOXES).map(mailbox).collect()
}

/// Checks "before ∪ after" for every app at one intermediate state.
fn within_bounds(state: &LiveSnapshot, before: &LiveSnapshot, after: &LiveSnapshot) -> Result<(), String> {
    let u = universe();
    for app in APP_IDS {
        let now = reach(state, app, &u);
        let bound: BTreeSet<String> = reach(before, app, &u).union(&reach(after, app, &u)).cloned().collect();
        if !now.is_subset(&bound) {
            return Err(format!(
                "app {app} reaches {:?} outside {:?}",
                now.difference(&bound).collect::<Vec<_>>(),
                bound
            ));
        }
    }
    Ok(())
}

/// An order the applier may use: each app's waves in sequence, anything
/// else in any order. `choices` drives the random picks.
fn concurrent_order(steps: &[Step], choices: &[u16]) -> Vec<Step> {
    let mut remaining: Vec<Step> = steps.to_vec();
    let mut out = Vec::new();
    let mut c = choices.iter().cycle();
    while !remaining.is_empty() {
        // Steps whose app has nothing left in an earlier wave.
        let ready: Vec<usize> = (0..remaining.len())
            .filter(|&i| {
                let s = &remaining[i];
                !remaining.iter().any(|o| o.app_id == s.app_id && o.wave < s.wave)
            })
            .collect();
        let pick = ready[usize::from(*c.next().unwrap()) % ready.len()];
        out.push(remaining.remove(pick));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::proptest_cases(400), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plans_converge_stay_within_bounds_and_classify_truthfully(
        cases in proptest::collection::vec(app_case(), 4),
        remove in any::<bool>(),
        choices in proptest::collection::vec(any::<u16>(), 1..64),
    ) {
        let (yaml, live) = build(&cases);
        let desired = mailscope_spec::parse(&yaml, "p.yaml").unwrap();
        let options = PlanOptions { removed_apps: if remove { RemovedApps::Remove } else { RemovedApps::LockDown } };
        let p = match plan(&desired, &live, &options) {
            Ok(p) => p,
            // Refusals (an unmanaged group under a derived name, …) are
            // covered by table tests.
            Err(e) => {
                prop_assert!(!e.is_internal(), "{}", e);
                return Ok(());
            }
        };

        // Fewest calls: a replace stands for at least two member changes,
        // and no plan beats the lower bound.
        for s in &p.steps {
            if let Action::ReplaceMembers { members, added, removed, .. } = &s.action {
                prop_assert!(replace_is_fewer(added.len() + removed.len(), members.len()), "{:?}", s);
            }
        }
        prop_assert!(lower_bound(&p, &live).writes <= write_calls(&p));

        // Execution order: every step valid (a replace's added and removed
        // are checked against the group), effects truthful.
        let mut state = live.clone();
        let mut states = vec![state.clone()];
        for s in &p.steps {
            let before = state.clone();
            apply(&mut state, &s.action);
            let u: Vec<String> = universe().into_iter().chain(["nobody-named-this@contoso.com".into()]).collect();
            let gained = APP_IDS.iter().any(|a| u.iter().any(|m| allows(&state, a, m) && !allows(&before, a, m)));
            let lost = APP_IDS.iter().any(|a| u.iter().any(|m| !allows(&state, a, m) && allows(&before, a, m)));
            let expected = if gained { Effect::Widening } else if lost { Effect::Narrowing } else { Effect::Neutral };
            prop_assert_eq!(s.effect, expected, "step {:?}", s);
            states.push(state.clone());
        }
        let after = state;
        for (i, st) in states.iter().enumerate() {
            prop_assert!(within_bounds(st, &live, &after).is_ok(), "after step {}: {:?}", i, within_bounds(st, &live, &after));
        }

        // Planning again finds nothing.
        let again = plan(&desired, &after, &options).unwrap();
        prop_assert!(again.is_empty(), "not converged: {:?}\nfirst plan: {:?}", again.steps, p.steps);

        // Any order the waves allow is as safe.
        let mut state = live.clone();
        for s in concurrent_order(&p.steps, &choices) {
            apply(&mut state, &s.action);
            prop_assert!(within_bounds(&state, &live, &after).is_ok(), "{:?}", within_bounds(&state, &live, &after));
        }
    }
}
