//! Drift severity (`drift_exposures`): which apps of the file reach, in the
//! tenant, more than the file allows. What `drift`, `plan`'s PR comment and
//! `reconcile` show first.

mod common;

use common::{APP_IDS, group, mailbox, policy, snapshot};
use mailscope_planner::{AccessRight, DriftExposure, drift_exposures};

fn desired(apps: &str) -> mailscope_spec::DesiredState {
    mailscope_spec::parse(&format!("apiVersion: mailscope/v1\napps:\n{apps}"), "t.yaml").unwrap()
}

fn exposure(name: &str, id: usize, mailboxes: &[usize], every_other_mailbox: bool) -> DriftExposure {
    DriftExposure {
        app: name.to_owned(),
        app_id: APP_IDS[id].to_owned(),
        mailboxes: mailboxes.iter().map(|i| mailbox(*i)).collect(),
        every_other_mailbox,
    }
}

/// A group that holds one mailbox too many exposes exactly that mailbox; an
/// app whose tenant state matches the file, and mailboxes the app reaches
/// neither way, are not named.
#[test]
fn an_extra_member_is_an_exposure_of_that_mailbox_only() {
    let mut live = snapshot(4);
    group(&mut live, "a-allow", None, &[mailbox(0), mailbox(1)]);
    policy(&mut live, APP_IDS[0], "a-allow", AccessRight::RestrictAccess, "");
    group(&mut live, "b-allow", None, &[mailbox(2)]);
    policy(&mut live, APP_IDS[1], "b-allow", AccessRight::RestrictAccess, "");
    let file = desired(&format!(
        "  - name: a\n    appId: {}\n    allow: [{}]\n  - name: b\n    appId: {}\n    allow: [{}]\n",
        APP_IDS[0],
        mailbox(0),
        APP_IDS[1],
        mailbox(2)
    ));
    assert_eq!(drift_exposures(&file, &live), [exposure("a", 0, &[1], false)]);
}

/// An app with no policy in the tenant reaches every mailbox: every named
/// mailbox it should not reach, and every other one.
#[test]
fn an_app_without_its_policy_reaches_every_other_mailbox() {
    let live = snapshot(3);
    let file = desired(&format!("  - name: a\n    appId: {}\n    allow: [{}]\n", APP_IDS[0], mailbox(0)));
    assert_eq!(drift_exposures(&file, &live), [exposure("a", 0, &[1, 2], true)]);
}

/// Withholding an allowed mailbox is drift, but no exposure.
#[test]
fn a_missing_member_exposes_nothing() {
    let mut live = snapshot(3);
    group(&mut live, "a-allow", None, &[mailbox(0)]);
    policy(&mut live, APP_IDS[0], "a-allow", AccessRight::RestrictAccess, "");
    let file = desired(&format!(
        "  - name: a\n    appId: {}\n    allow: [{}, {}]\n",
        APP_IDS[0],
        mailbox(0),
        mailbox(1)
    ));
    assert_eq!(drift_exposures(&file, &live), []);
}

/// RBAC apps are judged by their own checks: an RBAC app with no objects
/// yet is not reported here, while an access-policy app beside it is.
#[test]
fn rbac_apps_are_left_to_their_own_checks() {
    let live = snapshot(2);
    let file = desired(&format!(
        "  - name: r\n    appId: {}\n    mechanism: rbac\n    permissions: [Mail.Send]\n    allow: [{}]\n  - name: a\n    appId: {}\n    allow: [{}]\n",
        APP_IDS[0],
        mailbox(0),
        APP_IDS[1],
        mailbox(0)
    ));
    assert_eq!(drift_exposures(&file, &live), [exposure("a", 1, &[1], true)]);
}
