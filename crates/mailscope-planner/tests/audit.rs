//! The audit on a hand-built tenant holding one app of each kind: scoped by
//! an allow-list, unrestricted, deny-listed, listed with an object id where
//! the client id belongs, scoped on a deleted group, on EWS, and on RBAC
//! (scoped, and the additive trap).

use mailscope_planner::{AuditCheck, AuditOptions, Exposure, LiveSnapshot, audit, render};
use serde_json::json;

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";

const SCOPED: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const OPEN: &str = "aaaaaaaa-0000-4000-8000-000000000002";
const DENIED: &str = "aaaaaaaa-0000-4000-8000-000000000003";
const ORPHAN: &str = "aaaaaaaa-0000-4000-8000-000000000004";
const EWS: &str = "aaaaaaaa-0000-4000-8000-000000000005";
const RBAC: &str = "aaaaaaaa-0000-4000-8000-000000000006";
const TRAP: &str = "aaaaaaaa-0000-4000-8000-000000000007";
const WRONG_OBJECT_ID: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const HOLDS_NOTHING: &str = "aaaaaaaa-0000-4000-8000-000000000009";

fn grant(app: &str, resource: &str, permission: &str) -> serde_json::Value {
    json!({ "appId": app, "resourceAppId": resource, "permission": permission, "appRoleId": "00000000-0000-0000-0000-000000000000" })
}

fn group(id: &str, name: &str, members: &[&str]) -> serde_json::Value {
    json!({
        "id": id, "name": name, "primarySmtpAddress": format!("{name}@contoso.com"),
        "distinguishedName": format!("CN={name},OU=contoso"), "members": members,
    })
}

fn policy(app: &str, scope_id: &str, scope_name: &str, right: &str, description: &str) -> serde_json::Value {
    json!({
        "identity": format!("contoso\\{app}:S-1;{scope_id}"), "appId": app, "scopeId": scope_id,
        "scopeName": scope_name, "accessRight": right, "description": description,
    })
}

fn tenant() -> LiveSnapshot {
    serde_json::from_value(json!({
        "formatVersion": 1,
        "tenant": "contoso.onmicrosoft.com",
        "groups": [
            group("g-1", "Billing-Senders", &["billing@contoso.com", "invoices@contoso.com"]),
            group("g-2", "Executives", &["ceo@contoso.com", "cfo@contoso.com"]),
            group("g-3", "Newsletter", &["marketing@contoso.com", "Executives@contoso.com"]),
        ],
        "policies": [
            policy(SCOPED, "g-1", "Billing-Senders", "RestrictAccess", "mailscope/v1 app=x list=allow"),
            policy(DENIED, "g-2", "Executives", "DenyAccess", "by hand"),
            policy(ORPHAN, "g-gone", "Old-Scanner", "RestrictAccess", "by hand"),
        ],
        "recipients": [],
        "grants": [
            grant(SCOPED, GRAPH, "Mail.Send"),
            grant(OPEN, GRAPH, "Mail.Send"),
            grant(OPEN, GRAPH, "MailboxItem.Read.All"),
            grant(DENIED, GRAPH, "Mail.Read"),
            grant(ORPHAN, GRAPH, "Mail.Send"),
            grant(EWS, EXO, "full_access_as_app"),
            grant(TRAP, GRAPH, "Mail.Send"),
            grant(SCOPED, GRAPH, "User.Read.All"),
        ],
        "grantsRead": true,
        "servicePrincipals": [
            { "appId": OPEN, "objectId": "cccccccc-0000-4000-8000-000000000002", "displayName": "shadow-it" },
            { "appId": EWS, "objectId": "cccccccc-0000-4000-8000-000000000005", "displayName": "ews-archiver" },
            { "appId": RBAC, "objectId": "cccccccc-0000-4000-8000-000000000006", "displayName": "newsletter-rbac" },
            { "appId": TRAP, "objectId": "cccccccc-0000-4000-8000-000000000007", "displayName": "digest-sender" },
            { "appId": "dddddddd-0000-4000-8000-00000000000d", "objectId": WRONG_OBJECT_ID, "displayName": "typo-app" },
        ],
        "managementScopes": [
            { "name": "Newsletter-Scope", "filter": "MemberOfGroup -eq 'CN=Newsletter,OU=contoso'" },
        ],
        "roleAssignments": [
            { "name": "newsletter-send", "appId": RBAC, "role": "Application Mail.Send", "scope": "Newsletter-Scope" },
            { "name": "digest-send", "appId": TRAP, "role": "Application Mail.Send", "scope": "Newsletter-Scope" },
        ],
    }))
    .expect("a valid snapshot")
}

fn desired() -> mailscope_spec::DesiredState {
    let text = format!(
        "apiVersion: mailscope/v1\napps:\n  - name: billing\n    appId: {SCOPED}\n    allow: [billing@contoso.com, invoices@contoso.com]\n  - name: typo\n    appId: {WRONG_OBJECT_ID}\n    allow: [alice@contoso.com]\n  - name: idle\n    appId: {HOLDS_NOTHING}\n    allow: [alice@contoso.com]\n"
    );
    mailscope_spec::parse(&text, "audit.yaml").expect("a valid file")
}

#[test]
fn each_kind_of_app_gets_its_reach_unrestricted_first() {
    let report = audit(&tenant(), Some(&desired()), AuditOptions { rbac_read: true });
    let order: Vec<(&str, Exposure)> = report.apps.iter().map(|a| (a.app_id.as_str(), a.exposure)).collect();
    assert_eq!(
        order,
        vec![
            (TRAP, Exposure::Unrestricted),
            (EWS, Exposure::Unrestricted),
            (OPEN, Exposure::Unrestricted),
            (DENIED, Exposure::AllBut),
            // Same exposure: by name ("" for an app Entra did not name).
            (ORPHAN, Exposure::Scoped),
            (SCOPED, Exposure::Scoped),
            (RBAC, Exposure::Scoped),
        ]
    );
    assert!(report.any_unrestricted());
    let scoped = report.apps.iter().find(|a| a.app_id == SCOPED).unwrap();
    assert_eq!(scoped.permissions.len(), 1, "User.Read.All does not reach mailboxes");
    assert_eq!(scoped.permissions[0].reach.mailboxes, Some(2));
    assert_eq!(scoped.listed, Some(true));
    assert!(scoped.managed);
    let denied = report.apps.iter().find(|a| a.app_id == DENIED).unwrap();
    assert_eq!(denied.permissions[0].reach.mailboxes, Some(2));
    let orphan = report.apps.iter().find(|a| a.app_id == ORPHAN).unwrap();
    assert_eq!(orphan.permissions[0].reach.mailboxes, Some(0), "a deleted scope fences everything");
    let rbac = report.apps.iter().find(|a| a.app_id == RBAC).unwrap();
    assert_eq!(rbac.permissions[0].reach.mailboxes, Some(2), "the scope group's direct members");
}

#[test]
fn checks_name_the_wrong_app_id_the_deleted_group_nesting_ews_and_room() {
    let report = audit(&tenant(), Some(&desired()), AuditOptions { rbac_read: true });
    assert!(report.checks.contains(&AuditCheck::NoMailboxPermission {
        app: "typo".into(),
        app_id: WRONG_OBJECT_ID.into(),
        object_id_of: Some("dddddddd-0000-4000-8000-00000000000d".into()),
    }));
    assert!(report.checks.contains(&AuditCheck::NoMailboxPermission {
        app: "idle".into(),
        app_id: HOLDS_NOTHING.into(),
        object_id_of: None,
    }));
    assert!(
        report
            .checks
            .iter()
            .any(|c| matches!(c, AuditCheck::DeletedScope { app_id, .. } if app_id == ORPHAN))
    );
    assert!(report.checks.iter().any(|c| matches!(c, AuditCheck::Ews { app_id, .. } if app_id == EWS)));
    assert!(report.checks.contains(&AuditCheck::NestedGroup {
        group: "Newsletter".into(),
        member: "Executives@contoso.com".into(),
    }));
    assert!(!report.checks.contains(&AuditCheck::RbacNotRead));
    assert_eq!((report.policy_room.used, report.policy_room.left), (3, 297));
}

#[test]
fn unread_rbac_and_grants_are_said_not_hidden() {
    let mut live = tenant();
    live.grants.clear();
    live.grants_read = false;
    live.role_assignments.clear();
    let report = audit(&live, None, AuditOptions::default());
    assert!(report.apps.is_empty());
    assert!(!report.any_unrestricted());
    assert!(report.checks.contains(&AuditCheck::GrantsNotRead));
    assert!(report.checks.contains(&AuditCheck::RbacNotRead));
}

#[test]
fn without_open_apps_nothing_is_unrestricted() {
    let mut live = tenant();
    live.grants.retain(|g| g.app_id == SCOPED || g.app_id == DENIED);
    live.role_assignments.retain(|a| a.app_id == RBAC);
    let report = audit(&live, None, AuditOptions { rbac_read: true });
    assert!(!report.any_unrestricted());
    assert_eq!(report.apps.len(), 3);
}

#[test]
fn audit_text_snapshot() {
    let report = audit(&tenant(), Some(&desired()), AuditOptions { rbac_read: true });
    insta::assert_snapshot!(render::audit_text(&report));
}

#[test]
fn audit_json_snapshot() {
    let report = audit(&tenant(), Some(&desired()), AuditOptions { rbac_read: true });
    insta::assert_snapshot!(render::audit_json(&report));
}

#[test]
fn audit_markdown_snapshot() {
    let report = audit(&tenant(), Some(&desired()), AuditOptions { rbac_read: true });
    insta::assert_snapshot!(render::audit_markdown(&report));
}

#[test]
fn an_excluded_app_is_shown_with_its_reason_and_does_not_fail_the_audit() {
    let mut live = tenant();
    live.grants.retain(|g| g.app_id != OPEN && g.app_id != EWS);
    let text = format!(
        "apiVersion: mailscope/v1\nunlistedApps:\n  mode: warn\n  exclude:\n    - appId: {TRAP}\n      reason: vendor digest, reviewed 2026-11\napps:\n  - name: billing\n    appId: {SCOPED}\n    allow: [billing@contoso.com]\n"
    );
    let desired = mailscope_spec::parse(&text, "x.yaml").unwrap();
    let report = audit(&live, Some(&desired), AuditOptions { rbac_read: true });
    let trap = report.apps.iter().find(|a| a.app_id == TRAP).unwrap();
    assert_eq!(trap.exposure, Exposure::Unrestricted);
    assert_eq!(trap.excluded.as_deref(), Some("vendor digest, reviewed 2026-11"));
    assert!(!report.any_unrestricted(), "the only unrestricted app is excluded");
    assert!(render::audit_text(&report).contains("[UNRESTRICTED, unlisted, excluded]"));
}

#[test]
fn audit_sarif_snapshot() {
    let report = audit(&tenant(), Some(&desired()), AuditOptions { rbac_read: true });
    let log = render::audit_sarif(&report, Some(("policies/audit.yaml", &desired())));
    let v: serde_json::Value = serde_json::from_str(&log).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    let level_of = |rule: &str, app: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule && r["message"]["text"].as_str().unwrap().contains(app))
            .map(|r| r["level"].as_str().unwrap().to_owned())
    };
    assert_eq!(level_of("unscoped-app", OPEN).as_deref(), Some("error"), "an unrestricted app is an error");
    assert_eq!(level_of("deny-list-only", DENIED).as_deref(), Some("warning"));
    assert_eq!(level_of("unlisted-app", RBAC).as_deref(), Some("warning"), "unlisted and scoped");
    assert_eq!(level_of("unscoped-app", SCOPED), None, "a listed, scoped app is no result");
    assert!(results.iter().any(|r| r["ruleId"] == "no-mailbox-permission"));
    assert!(results.iter().any(|r| r["ruleId"] == "dangling-policy"));
    assert!(results.iter().any(|r| r["ruleId"] == "scope-group"));
    assert!(results.iter().any(|r| r["ruleId"] == "ews"));
    // Without a file: no location at all (nothing to point at).
    let bare = render::audit_sarif(&report, None);
    assert!(!bare.contains("\"locations\""), "{bare}");
    insta::assert_snapshot!(log);
}

/// Exchange allows a single mailbox as a policy scope: such a policy is a
/// one-mailbox scope, not one whose group was deleted.
#[test]
fn a_policy_scoped_to_one_mailbox_is_a_one_mailbox_scope() {
    let mut live = tenant();
    let value = json!({
        "identity": format!("contoso\\{ORPHAN}:S-1;u-ceo"), "appId": ORPHAN, "scopeId": "u-ceo",
        "scopeName": "ceo", "accessRight": "RestrictAccess", "description": "by hand",
    });
    live.policies = vec![serde_json::from_value(value).unwrap()];
    live.recipients = vec![
        serde_json::from_value(json!({ "address": "ceo@contoso.com", "kind": "UserMailbox", "id": "u-ceo" }))
            .unwrap(),
    ];
    let report = audit(&live, None, AuditOptions { rbac_read: true });
    assert!(
        !report.checks.iter().any(|c| matches!(c, AuditCheck::DeletedScope { .. })),
        "{:#?}",
        report.checks
    );
    let app = report.apps.iter().find(|a| a.app_id == ORPHAN).unwrap();
    assert_eq!((app.exposure, app.permissions[0].reach.mailboxes), (Exposure::Scoped, Some(1)));
}

#[test]
fn a_policy_scope_that_is_no_security_group_is_named() {
    let mut live = tenant();
    live.groups[0].kind = Some("MailUniversalDistributionGroup".into());
    live.groups[1].kind = Some("MailUniversalSecurityGroup".into());
    let report = audit(&live, None, AuditOptions { rbac_read: true });
    let named: Vec<&AuditCheck> =
        report.checks.iter().filter(|c| matches!(c, AuditCheck::NotSecurityGroup { .. })).collect();
    assert_eq!(
        named,
        vec![&AuditCheck::NotSecurityGroup {
            group: "Billing-Senders".into(),
            recipient_type: "MailUniversalDistributionGroup".into()
        }]
    );
}

#[test]
fn with_lock_down_the_advice_for_an_open_unlisted_app_is_to_apply() {
    let text = format!(
        "apiVersion: mailscope/v1\nunlistedApps: lock-down\napps:\n  - name: billing\n    appId: {SCOPED}\n    allow: [billing@contoso.com]\n"
    );
    let desired = mailscope_spec::parse(&text, "x.yaml").unwrap();
    let report = audit(&tenant(), Some(&desired), AuditOptions { rbac_read: true });
    let open = report.apps.iter().find(|a| a.app_id == OPEN).unwrap();
    assert!(open.advice[0].contains("`unlistedApps: lock-down` fences it"), "{:#?}", open.advice);
}

/// An open permission no access policy fences gets only the RBAC advice: a
/// policy would not help, so the audit must not send the admin to write one.
#[test]
fn an_unfenced_open_permission_is_not_advised_a_policy() {
    let mut live = tenant();
    live.grants.retain(|g| !(g.app_id == OPEN && g.permission == "Mail.Send"));
    let report = audit(&live, None, AuditOptions { rbac_read: true });
    let open = report.apps.iter().find(|a| a.app_id == OPEN).unwrap();
    assert_eq!(open.advice.len(), 1, "{:#?}", open.advice);
    assert!(open.advice[0].starts_with("MailboxItem.Read.All is not fenced"), "{:#?}", open.advice);
}
