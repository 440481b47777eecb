//! The exposure log: unrestricted windows are reported, safe orderings are not.

use serde_json::json;

use crate::common::*;

const INVOICE_POLICY: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c\\3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60:S-1-5-21-1000-2000-3000-4001;6a1b2c3d-0001-4000-8000-000000000001";

#[tokio::test]
async fn remove_then_create_is_an_unrestricted_window() {
    let s = start().await;
    s.control("/_sim/exposure/checkpoint", Some(json!({}))).await;
    s.ok("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": false})).await;
    s.ok(
        "New-ApplicationAccessPolicy",
        json!({"AppId": INVOICE_MAILER, "PolicyScopeGroupId": "mailscope-invoice-mailer-allow", "AccessRight": "RestrictAccess", "Description": " "}),
    )
    .await;
    let v = s.control("/_sim/exposure", None).await;
    assert_eq!(v["checkpoint"], true);
    assert_eq!(v["mutations"], 2);
    let ex = v["exposures"].as_array().unwrap();
    assert!(!ex.is_empty());
    assert!(ex.iter().all(|e| e["appId"] == INVOICE_MAILER
        && e["afterMutation"] == 1
        && e["cmdlet"] == "Remove-ApplicationAccessPolicy"));
    let mailboxes: Vec<_> = ex.iter().map(|e| e["mailbox"].as_str().unwrap()).collect();
    assert!(mailboxes.contains(&"ceo@contoso.com"));
    assert!(mailboxes.contains(&mailscope_sim::OTHER_MAILBOX));
    assert!(!mailboxes.contains(&"billing@contoso.com"));
}

#[tokio::test]
async fn create_then_remove_has_no_window() {
    let s = start().await;
    s.control("/_sim/exposure/checkpoint", Some(json!({}))).await;
    // Replace the invoice-mailer group by a new one holding only billing, the safe way.
    s.ok(
        "New-DistributionGroup",
        json!({"Name": "invoice-v2", "Type": "Security", "Members": ["billing@contoso.com"]}),
    )
    .await;
    s.ok(
        "New-ApplicationAccessPolicy",
        json!({"AppId": INVOICE_MAILER, "PolicyScopeGroupId": "invoice-v2", "AccessRight": "RestrictAccess", "Description": " "}),
    )
    .await;
    s.ok("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": false})).await;
    let v = s.control("/_sim/exposure", None).await;
    assert_eq!(v["mutations"], 3);
    assert_eq!(v["exposures"], json!([]));
}

#[tokio::test]
async fn growing_then_shrinking_a_group_is_reported() {
    let s = start().await;
    s.control("/_sim/exposure/checkpoint", Some(json!({}))).await;
    let g = "mailscope-invoice-mailer-allow";
    s.ok(
        "Add-DistributionGroupMember",
        json!({"Identity": g, "Member": "cfo@contoso.com", "BypassSecurityGroupManagerCheck": true}),
    )
    .await;
    s.ok("Remove-DistributionGroupMember", json!({"Identity": g, "Member": "cfo@contoso.com", "BypassSecurityGroupManagerCheck": true, "Confirm": false}))
        .await;
    let v = s.control("/_sim/exposure", None).await;
    assert_eq!(
        v["exposures"],
        json!([{"appId": INVOICE_MAILER, "permission": "Mail.Send", "mailbox": "cfo@contoso.com", "afterMutation": 1, "cmdlet": "Add-DistributionGroupMember"}])
    );
}

#[tokio::test]
async fn without_checkpoint_nothing_is_logged() {
    let s = start().await;
    s.ok("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": false})).await;
    let v = s.control("/_sim/exposure", None).await;
    assert_eq!(v["checkpoint"], false);
    assert_eq!(v["exposures"], json!([]));
}
