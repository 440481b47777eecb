//! Drift severity in SARIF: drift that exposes a mailbox is an error naming
//! the app and the mailbox; drift that only withholds an allowed mailbox is
//! a warning.

use serde_json::{Value, json};

use crate::harness::{Scratch, run};

const EXPOSED: &str = "aaaaaaaa-0000-4000-8000-0000000000e1";
const WITHHELD: &str = "aaaaaaaa-0000-4000-8000-0000000000e2";

fn managed(app: &str, name: &str, id: &str, members: &[&str]) -> (Value, Value) {
    let marker = format!("mailscope/v1 app={app} list=allow");
    let group = format!("mailscope-{name}-allow");
    (
        json!({ "id": id, "name": group, "primarySmtpAddress": format!("{group}@contoso.com"),
                "marker": marker, "members": members }),
        json!({ "identity": format!("contoso\\{app}:S-1;{id}"), "appId": app, "scopeId": id,
                "scopeName": group, "accessRight": "RestrictAccess", "description": marker }),
    )
}

#[test]
fn an_exposing_drift_is_an_error_and_a_withholding_one_a_warning() {
    let s = Scratch::new("drift-severity");
    let file = s.write(
        "desired.yaml",
        &format!(
            "apiVersion: mailscope/v1\napps:\n  - name: exposed\n    appId: {EXPOSED}\n    allow: [billing@contoso.com]\n  - name: withheld\n    appId: {WITHHELD}\n    allow: [billing@contoso.com, invoices@contoso.com]\n"
        ),
    );
    let (g1, p1) = managed(EXPOSED, "exposed", "g-1", &["billing@contoso.com", "ceo@contoso.com"]);
    let (g2, p2) = managed(WITHHELD, "withheld", "g-2", &["billing@contoso.com"]);
    let recipients: Vec<Value> = ["billing@contoso.com", "invoices@contoso.com", "ceo@contoso.com"]
        .iter()
        .map(|a| json!({ "address": a, "kind": "SharedMailbox" }))
        .collect();
    let snapshot = s.write(
        "live.json",
        &json!({ "formatVersion": 1, "groups": [g1, g2], "policies": [p1, p2], "recipients": recipients })
            .to_string(),
    );
    let r = run(&[
        "drift",
        file.to_str().unwrap(),
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--format",
        "sarif",
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let log: Value = serde_json::from_str(&r.stdout).unwrap();
    let drift: Vec<&Value> =
        log["runs"][0]["results"].as_array().unwrap().iter().filter(|r| r["ruleId"] == "drift").collect();
    assert_eq!(drift.len(), 2, "{drift:#?}");
    let exposed =
        drift.iter().find(|r| r["message"]["text"].as_str().unwrap().contains("app exposed ")).unwrap();
    assert_eq!(exposed["level"], "error");
    assert!(exposed["message"]["text"].as_str().unwrap().contains("exposure: it reaches ceo@contoso.com"));
    let withheld =
        drift.iter().find(|r| r["message"]["text"].as_str().unwrap().contains("app withheld ")).unwrap();
    assert_eq!(withheld["level"], "warning", "{withheld:#?}");

    let r = run(&["drift", file.to_str().unwrap(), "--snapshot", snapshot.to_str().unwrap()]);
    assert!(
        r.stdout
            .contains(&format!("Exposure: exposed ({EXPOSED}) reaches ceo@contoso.com against the file.")),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("Exposure: withheld"), "{}", r.stdout);
}

/// `unlistedApps: warn` (the default): an app outside the file that can
/// reach every mailbox is an `unlisted-app` warning naming it and its reach;
/// the tenant is still in sync with the file (exit 0). `ignore` says nothing.
#[test]
fn an_unlisted_app_that_reaches_mailboxes_is_a_warning_unless_ignored() {
    const UNLISTED: &str = "aaaaaaaa-0000-4000-8000-0000000000e3";
    let s = Scratch::new("drift-unlisted");
    let file = |mode: &str| {
        s.write(
            &format!("{mode}.yaml"),
            &format!(
                "apiVersion: mailscope/v1\nunlistedApps: {mode}\napps:\n  - name: exposed\n    appId: {EXPOSED}\n    allow: [billing@contoso.com]\n"
            ),
        )
    };
    let (g1, p1) = managed(EXPOSED, "exposed", "g-1", &["billing@contoso.com"]);
    let graph = "00000003-0000-0000-c000-000000000000";
    let snapshot = s.write(
        "live.json",
        &json!({
            "formatVersion": 1, "groups": [g1], "policies": [p1],
            "recipients": [{ "address": "billing@contoso.com", "kind": "SharedMailbox" }],
            "grants": [
                { "appId": EXPOSED, "resourceAppId": graph, "permission": "Mail.Send", "appRoleId": "b633e1c5-b582-4048-a93e-9f11b44c7e96" },
                { "appId": UNLISTED, "resourceAppId": graph, "permission": "Mail.Send", "appRoleId": "b633e1c5-b582-4048-a93e-9f11b44c7e96" },
            ],
            "grantsRead": true,
            "servicePrincipals": [{ "appId": UNLISTED, "objectId": "cccccccc-0000-4000-8000-0000000000e3", "displayName": "shadow-mailer" }],
        })
        .to_string(),
    );
    let drift = |mode: &str| {
        let f = file(mode);
        run(&["drift", f.to_str().unwrap(), "--snapshot", snapshot.to_str().unwrap(), "--format", "sarif"])
    };
    let r = drift("warn");
    assert_eq!(r.code, 0, "a warning is no drift: {}{}", r.stdout, r.stderr);
    let log: Value = serde_json::from_str(&r.stdout).unwrap();
    let unlisted: Vec<&Value> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "unlisted-app")
        .collect();
    assert_eq!(unlisted.len(), 1, "{unlisted:#?}");
    assert_eq!(unlisted[0]["level"], "warning");
    let text = unlisted[0]["message"]["text"].as_str().unwrap();
    assert!(text.contains(&format!("\"shadow-mailer\" ({UNLISTED})")), "{text}");
    assert!(text.contains("Mail.Send: every mailbox (no access policy)"), "{text}");

    let r = drift("ignore");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let log: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(log["runs"][0]["results"], json!([]), "{}", r.stdout);
}
