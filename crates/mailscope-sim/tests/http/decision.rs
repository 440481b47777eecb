//! The AAP verdict table of docs/exchange.md, "Access decision", through Test-ApplicationAccessPolicy.

use serde_json::json;

use crate::common::*;

const APP: &str = "12345678-aaaa-4bbb-8ccc-1234567890ab";

async fn group(s: &TestSim, name: &str, members: &[&str]) {
    s.ok("New-DistributionGroup", json!({"Name": name, "Type": "Security", "Members": members})).await;
}

async fn policy(s: &TestSim, scope: &str, right: &str) {
    s.ok(
        "New-ApplicationAccessPolicy",
        json!({"AppId": APP, "PolicyScopeGroupId": scope, "AccessRight": right, "Description": " "}),
    )
    .await;
}

#[tokio::test]
async fn row4_no_policy_grants_everything() {
    let s = start().await;
    assert_eq!(s.test_aap("ceo@contoso.com", APP).await, "Granted");
}

#[tokio::test]
async fn rows_1_to_3() {
    let s = start().await;
    group(&s, "allow", &["alice@contoso.com", "bob@contoso.com"]).await;
    group(&s, "deny", &["bob@contoso.com"]).await;
    policy(&s, "allow", "RestrictAccess").await;
    policy(&s, "deny", "DenyAccess").await;
    // Row 1: in Deny (and in Restrict) → denied.
    assert_eq!(s.test_aap("bob@contoso.com", APP).await, "Denied");
    // Row 2: in Restrict only → granted.
    assert_eq!(s.test_aap("alice@contoso.com", APP).await, "Granted");
    // Row 3: in neither, app has Restrict → denied.
    assert_eq!(s.test_aap("ceo@contoso.com", APP).await, "Denied");
    // Other apps are untouched.
    assert_eq!(s.test_aap("ceo@contoso.com", CRM_SYNC).await, "Granted");
}

#[tokio::test]
async fn row1_deny_beats_restrict_on_the_same_mailbox() {
    let s = start().await;
    policy(&s, "alice@contoso.com", "RestrictAccess").await;
    group(&s, "deny-alice", &["alice@contoso.com"]).await;
    policy(&s, "deny-alice", "DenyAccess").await;
    assert_eq!(s.test_aap("alice@contoso.com", APP).await, "Denied");
}

#[tokio::test]
async fn restrict_scopes_add_up() {
    let s = start().await;
    group(&s, "r1", &["alice@contoso.com"]).await;
    group(&s, "r2", &["bob@contoso.com"]).await;
    policy(&s, "r1", "RestrictAccess").await;
    assert_eq!(s.test_aap("bob@contoso.com", APP).await, "Denied");
    policy(&s, "r2", "RestrictAccess").await;
    assert_eq!(s.test_aap("alice@contoso.com", APP).await, "Granted");
    assert_eq!(s.test_aap("bob@contoso.com", APP).await, "Granted");
    assert_eq!(s.test_aap("cfo@contoso.com", APP).await, "Denied");
}

#[tokio::test]
async fn deny_only_leaves_everything_else_open() {
    let s = start().await;
    group(&s, "execs", &["ceo@contoso.com", "cfo@contoso.com"]).await;
    policy(&s, "execs", "DenyAccess").await;
    assert_eq!(s.test_aap("ceo@contoso.com", APP).await, "Denied");
    assert_eq!(s.test_aap("alice@contoso.com", APP).await, "Granted");
    assert_eq!(s.test_aap("support@contoso.com", APP).await, "Granted");
}

#[tokio::test]
async fn membership_changes_take_effect_immediately() {
    let s = start().await;
    assert_eq!(s.test_aap("old-billing@contoso.com", INVOICE_MAILER).await, "Granted");
    s.ok(
        "Remove-DistributionGroupMember",
        json!({"Identity": "mailscope-invoice-mailer-allow", "Member": "old-billing@contoso.com", "BypassSecurityGroupManagerCheck": true, "Confirm": false}),
    )
    .await;
    assert_eq!(s.test_aap("old-billing@contoso.com", INVOICE_MAILER).await, "Denied");
}

#[tokio::test]
async fn nested_groups_follow_the_knob() {
    for (mode, expected) in [("direct", "Denied"), ("transitive", "Granted")] {
        let s = start().await;
        s.control("/_sim/config", Some(json!({"aap_nested_groups": mode}))).await;
        group(&s, "inner", &["alice@contoso.com"]).await;
        group(&s, "outer", &["inner"]).await;
        policy(&s, "outer", "RestrictAccess").await;
        assert_eq!(s.test_aap("alice@contoso.com", APP).await, expected, "{mode}");
    }
}
