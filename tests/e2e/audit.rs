//! `audit` and `explain` on the embedded Contoso emulator (and, for RBAC
//! and deleted scopes, on a saved snapshot).

use serde_json::{Value, json};

use crate::harness::{Scratch, run};

const FILE: &str = "policies/contoso.yaml";
const DIGEST_SENDER: &str = "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1c";

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn audit_shows_the_unlisted_unrestricted_app_of_the_demo_and_exits_2() {
    let s = Scratch::new("audit");
    let tenant = format!("sim:{}", s.path("demo.json").display());
    let r = run(&["audit", FILE, "--tenant", &tenant]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    // newsletter-rbac reaches mailboxes through RBAC only: counted, scoped.
    assert!(r.stdout.starts_with("10 apps can reach mailboxes; 5 without restriction."), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("digest-sender ({DIGEST_SENDER}) [UNRESTRICTED, unlisted]")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Application access policies: 4 of 300 (296 left)."), "{}", r.stdout);

    let r = run(&["audit", FILE, "--tenant", &tenant, "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let report = json_of(&r.stdout);
    let apps = report["apps"].as_array().unwrap();
    let digest = apps.iter().find(|a| a["appId"] == DIGEST_SENDER).expect("digest-sender is listed");
    assert_eq!(digest["exposure"], "unrestricted");
    assert_eq!(digest["listed"], false);
    assert_eq!(digest["permissions"][0]["permission"], "Mail.Send");
    let invoice = apps.iter().find(|a| a["name"] == "invoice-mailer").unwrap();
    assert_eq!(invoice["exposure"], "scoped");
    assert_eq!(invoice["permissions"][0]["reach"]["mailboxes"], 2);
    assert!(apps.iter().all(|a| a["appId"].as_str().is_some_and(|id| id.len() == 36)));
    // Unrestricted apps come first.
    let first_scoped = apps.iter().position(|a| a["exposure"] != "unrestricted").unwrap();
    assert!(apps[first_scoped..].iter().all(|a| a["exposure"] != "unrestricted"));
}

#[test]
fn audit_exits_0_once_every_app_is_fenced() {
    let s = Scratch::new("audit-fenced");
    let snapshot = s.write(
        "live.json",
        &json!({
            "formatVersion": 1,
            "groups": [{ "id": "g-1", "name": "Billing", "primarySmtpAddress": "billing-g@contoso.com",
                         "members": ["billing@contoso.com"] }],
            "policies": [{ "identity": "x", "appId": DIGEST_SENDER, "scopeId": "g-1", "scopeName": "Billing",
                           "accessRight": "RestrictAccess", "description": "" }],
            "grants": [{ "appId": DIGEST_SENDER, "resourceAppId": "00000003-0000-0000-c000-000000000000",
                         "permission": "Mail.Send", "appRoleId": "b633e1c5-b582-4048-a93e-9f11b44c7e96" }],
            "grantsRead": true,
        })
        .to_string(),
    );
    let r = run(&["audit", "--snapshot", snapshot.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("1 app can reach mailboxes; none without restriction."), "{}", r.stdout);
}

/// A snapshot with one app per verdict kind of `explain`.
fn explain_snapshot(s: &Scratch) -> String {
    let graph = "00000003-0000-0000-c000-000000000000";
    let grant = |app: &str| json!({ "appId": app, "resourceAppId": graph, "permission": "Mail.Send", "appRoleId": "b633e1c5-b582-4048-a93e-9f11b44c7e96" });
    let path = s.write(
        "explain.json",
        &json!({
            "formatVersion": 1,
            "groups": [
                { "id": "g-allow", "name": "Allowed", "primarySmtpAddress": "allowed@contoso.com",
                  "distinguishedName": "CN=Allowed,OU=contoso", "members": ["billing@contoso.com", "ceo@contoso.com"] },
                { "id": "g-deny", "name": "Executives", "primarySmtpAddress": "executives@contoso.com",
                  "members": ["ceo@contoso.com"] },
            ],
            "policies": [
                { "identity": "p1", "appId": "aaaaaaaa-0000-4000-8000-000000000001", "scopeId": "g-allow",
                  "scopeName": "Allowed", "accessRight": "RestrictAccess", "description": "" },
                { "identity": "p2", "appId": "aaaaaaaa-0000-4000-8000-000000000001", "scopeId": "g-deny",
                  "scopeName": "Executives", "accessRight": "DenyAccess", "description": "" },
            ],
            "recipients": [
                { "address": "billing@contoso.com", "kind": "SharedMailbox" },
                { "address": "ceo@contoso.com", "kind": "UserMailbox" },
            ],
            "grants": [grant("aaaaaaaa-0000-4000-8000-000000000001"), grant("aaaaaaaa-0000-4000-8000-000000000002")],
            "grantsRead": true,
            "managementScopes": [{ "name": "Allowed-Scope", "filter": "MemberOfGroup -eq 'CN=Allowed,OU=contoso'" }],
            "roleAssignments": [{ "name": "rbac-send", "appId": "aaaaaaaa-0000-4000-8000-000000000003",
                                   "role": "Application Mail.Send", "scope": "Allowed-Scope" }],
        })
        .to_string(),
    );
    path.to_str().unwrap().to_owned()
}

#[test]
fn explain_names_the_policy_group_or_scope_behind_each_verdict() {
    let s = Scratch::new("explain");
    let snap = explain_snapshot(&s);
    let explain = |app: &str, mailbox: &str| {
        let r = run(&["explain", app, mailbox, "--snapshot", &snap, "--permission", "Mail.Send"]);
        assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
        r
    };
    // Restrict: inside the scope.
    let r = explain("aaaaaaaa-0000-4000-8000-000000000001", "billing@contoso.com");
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("a RestrictAccess policy on group Allowed holds the mailbox"), "{}", r.stdout);
    // Deny beats Restrict.
    let r = explain("aaaaaaaa-0000-4000-8000-000000000001", "ceo@contoso.com");
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("DenyAccess policy on group Executives holds the mailbox (Deny beats Restrict)")
    );
    // Restrict: outside every scope.
    let r = explain("aaaaaaaa-0000-4000-8000-000000000001", "alice@contoso.com");
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("RestrictAccess policies on group Allowed do not hold the mailbox"),
        "{}",
        r.stdout
    );
    // No policy: unrestricted.
    let r = explain("aaaaaaaa-0000-4000-8000-000000000002", "ceo@contoso.com");
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("no access policy: it reaches every mailbox"), "{}", r.stdout);
    // RBAC: direct member of the scope's group, and not.
    let r = explain("aaaaaaaa-0000-4000-8000-000000000003", "billing@contoso.com");
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.contains("scope Allowed-Scope: the mailbox is a direct member of Allowed"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Entra: no grant of this permission"), "{}", r.stdout);
    let r = explain("aaaaaaaa-0000-4000-8000-000000000003", "alice@contoso.com");
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("is not a direct member of Allowed"), "{}", r.stdout);
    // JSON carries the same verdict.
    let r = run(&[
        "explain",
        "aaaaaaaa-0000-4000-8000-000000000001",
        "ceo@contoso.com",
        "--snapshot",
        &snap,
        "--format",
        "json",
    ]);
    let v = json_of(&r.stdout);
    assert_eq!(v["reached"], false);
    assert_eq!(v["verdicts"][0]["entra"]["policy"]["reason"]["kind"], "denied");
}

#[test]
fn explain_on_the_demo_tenant_answers_from_the_live_policies() {
    let s = Scratch::new("explain-demo");
    let tenant = format!("sim:{}", s.path("demo.json").display());
    let r = run(&["explain", "digest-sender", "ceo@contoso.com", "--tenant", &tenant]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with(&format!("digest-sender ({DIGEST_SENDER}) CAN use Mail.Send on ceo@contoso.com."))
    );
    let r = run(&["explain", "invoice-mailer", "ceo@contoso.com", "--tenant", &tenant]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// A hand-made policy scoped to a single mailbox (Exchange allows one) is a
/// one-mailbox scope, read from the tenant as such, not a policy whose group
/// was deleted; a policy on a deleted group still is one.
#[test]
fn a_policy_on_one_mailbox_is_a_one_mailbox_scope_not_a_deleted_group() {
    const ASSISTANT: &str = "aaaaaaaa-0000-4000-8000-00000000d001";
    const OPERATOR: &str = "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f";
    let s = Scratch::new("audit-one-mailbox");
    let seed = s.write(
        "seed.yaml",
        &format!(
            "tenant:\n  id: 7a6b5c4d-3e2f-4a1b-9c8d-0e1f2a3b4c5e\n  displayName: One\n  initialDomain: one.onmicrosoft.com\n  \
             domains: [contoso.com]\nrecipients:\n  - {{ address: ceo@contoso.com, kind: UserMailbox }}\n  \
             - {{ address: cfo@contoso.com, kind: UserMailbox }}\npolicies:\n  - appId: {ASSISTANT}\n    \
             scope: ceo@contoso.com\n    accessRight: RestrictAccess\n    description: CEO assistant, by hand\napps:\n  \
             - {{ appId: {ASSISTANT}, displayName: ceo-assistant, graphPermissions: [Mail.Send], clientSecrets: [sim-a-secret-test-only] }}\n  \
             - appId: {OPERATOR}\n    displayName: mailscope\n    exchangePermissions: [Exchange.ManageAsApp]\n    \
             graphPermissions: [Application.Read.All]\n    directoryRoles: [Exchange Administrator]\n    \
             clientSecrets: [sim-operator-secret-test-only]\noperatorApp: mailscope\n"
        ),
    );
    let tenant = format!("sim:{}", s.path("state.json").display());
    let r = run(&["audit", "--tenant", &tenant, "--seed", seed.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "scoped, so no unrestricted app: {}{}", r.stdout, r.stderr);
    let report = json_of(&r.stdout);
    assert_eq!(
        report["checks"].as_array().unwrap().iter().filter(|c| c["kind"] == "deletedScope").count(),
        0,
        "{report:#}"
    );
    let app = report["apps"].as_array().unwrap().iter().find(|a| a["appId"] == ASSISTANT).unwrap();
    assert_eq!(app["exposure"], "scoped");
    assert_eq!(app["permissions"][0]["reach"]["mailboxes"], 1, "{app:#}");
}

/// A group the file adopts that is a distribution list (Exchange refuses
/// it as a policy scope) is named by `plan`, from the group's
/// `RecipientTypeDetails` as the tenant reports it.
#[test]
fn plan_names_an_adopted_scope_group_that_is_a_distribution_list() {
    const APP: &str = "aaaaaaaa-0000-4000-8000-00000000d002";
    const OPERATOR: &str = "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f";
    let s = Scratch::new("plan-dl-scope");
    let seed = s.write(
        "seed.yaml",
        &format!(
            "tenant:\n  id: 7a6b5c4d-3e2f-4a1b-9c8d-0e1f2a3b4c5f\n  displayName: Dl\n  initialDomain: dl.onmicrosoft.com\n  \
             domains: [contoso.com]\nrecipients:\n  - {{ address: ceo@contoso.com, kind: UserMailbox }}\ngroups:\n  \
             - name: Sales-DL\n    primarySmtpAddress: sales-dl@contoso.com\n    type: Distribution\n    members: [ceo@contoso.com]\n\
             apps:\n  - {{ appId: {APP}, displayName: crm, graphPermissions: [Mail.Send], clientSecrets: [sim-c-secret-test-only] }}\n  \
             - appId: {OPERATOR}\n    displayName: mailscope\n    exchangePermissions: [Exchange.ManageAsApp]\n    \
             graphPermissions: [Application.Read.All]\n    directoryRoles: [Exchange Administrator]\n    \
             clientSecrets: [sim-operator-secret-test-only]\noperatorApp: mailscope\n"
        ),
    );
    let file = s.write(
        "desired.yaml",
        &format!("apiVersion: mailscope/v1\napps:\n  - name: crm\n    appId: {APP}\n    group: Sales-DL\n    allow: [ceo@contoso.com]\n"),
    );
    let tenant = format!("sim:{}", s.path("state.json").display());
    let r = run(&["plan", file.to_str().unwrap(), "--tenant", &tenant, "--seed", seed.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "group \"Sales-DL\" is a MailUniversalDistributionGroup, not a mail-enabled security group"
        ),
        "{}",
        r.stdout
    );
}
