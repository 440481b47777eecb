//! `unlistedApps`: the short form, the long form with exclusions, the
//! default, and the problems it reports.

use mailscope_spec::{Exclusion, UnlistedMode, parse};

const APP: &str =
    "apps:\n  - name: a\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: [a@contoso.com]\n";

#[test]
fn the_default_is_warn_and_the_short_form_sets_the_mode() {
    let d = parse(&format!("apiVersion: mailscope/v1\n{APP}"), "t.yaml").unwrap();
    assert_eq!(d.unlisted_apps.mode, UnlistedMode::Warn);
    let d = parse(&format!("apiVersion: mailscope/v1\nunlistedApps: lock-down\n{APP}"), "t.yaml").unwrap();
    assert_eq!(d.unlisted_apps.mode, UnlistedMode::LockDown);
    let d = parse(&format!("apiVersion: mailscope/v1\nunlistedApps: ignore\n{APP}"), "t.yaml").unwrap();
    assert_eq!(d.unlisted_apps.mode, UnlistedMode::Ignore);
}

#[test]
fn the_long_form_carries_exclusions_with_reasons() {
    let text = format!(
        "apiVersion: mailscope/v1\nunlistedApps:\n  mode: lock-down\n  exclude:\n    - appId: 8E9F0A1B-2C3D-4E4F-9A5B-6C7D8E9F0A1C\n      reason: journaling vendor, contract until 2027\n{APP}"
    );
    let d = parse(&text, "t.yaml").unwrap();
    assert_eq!(d.unlisted_apps.mode, UnlistedMode::LockDown);
    assert_eq!(
        d.unlisted_apps.exclude,
        vec![Exclusion {
            app_id: "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1c".into(),
            reason: "journaling vendor, contract until 2027".into(),
        }]
    );
    assert!(d.unlisted_apps.exclusion("8E9F0A1B-2C3D-4E4F-9A5B-6C7D8E9F0A1C").is_some());
}

#[test]
fn a_bad_id_or_an_empty_reason_is_reported() {
    let text = format!(
        "apiVersion: mailscope/v1\nunlistedApps:\n  mode: warn\n  exclude:\n    - appId: nope\n      reason: \"\"\n{APP}"
    );
    let err = parse(&text, "t.yaml").unwrap_err().to_string();
    assert!(err.contains("excluded appId \"nope\" is not a GUID"), "{err}");
    assert!(err.contains("has no reason"), "{err}");
    let err =
        parse(&format!("apiVersion: mailscope/v1\nunlistedApps: lockdown\n{APP}"), "t.yaml").unwrap_err();
    assert!(err.to_string().contains("unlistedApps") || err.to_string().contains("t.yaml:2"), "{err}");
}
