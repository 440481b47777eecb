//! Graph: sendMail (202/403/404, propagation delay) and servicePrincipals reads.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const INVOICE_POLICY: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c\\3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60:S-1-5-21-1000-2000-3000-4001;6a1b2c3d-0001-4000-8000-000000000001";

#[tokio::test]
async fn send_mail_allowed_is_202() {
    let s = start().await;
    let t = s.token(CRM_SYNC, GRAPH_SCOPE).await;
    let r = s.send_mail(&t, "ceo@contoso.com").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.bytes.is_empty());
    let t = s.token(INVOICE_MAILER, GRAPH_SCOPE).await;
    assert_eq!(s.send_mail(&t, "Billing@Contoso.com").await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn send_mail_denied_by_policy_is_403_raop() {
    let s = start().await;
    let t = s.token(INVOICE_MAILER, GRAPH_SCOPE).await;
    let r = s.send_mail(&t, "ceo@contoso.com").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let v = r.json();
    assert_eq!(v["error"]["code"], "ErrorAccessDenied");
    assert_eq!(
        v["error"]["message"],
        "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
    );
}

#[tokio::test]
async fn send_mail_without_grant_is_403_access_denied() {
    let s = start().await;
    let t = s.token(OPERATOR, GRAPH_SCOPE).await;
    let r = s.send_mail(&t, "bob@contoso.com").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["message"], "Access is denied. Check credentials and try again.");
}

#[tokio::test]
async fn send_mail_unknown_user_is_404() {
    let s = start().await;
    let t = s.token(CRM_SYNC, GRAPH_SCOPE).await;
    let r = s.send_mail(&t, "ghost@contoso.com").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "ErrorInvalidUser");
    // A group is not a mailbox either.
    assert_eq!(s.send_mail(&t, "marketing-senders@contoso.com").await.status, StatusCode::NOT_FOUND);
    // Object ids work as the user key.
    let id =
        s.ok("Get-Mailbox", json!({"Identity": "bob@contoso.com"})).await[0]["ExternalDirectoryObjectId"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(s.send_mail(&t, &id).await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn graph_lags_test_application_access_policy_by_the_propagation_delay() {
    let s = start_config(mailscope_sim::SimConfig { propagation_delay_ms: 1500, ..Default::default() }).await;
    let t = s.token(INVOICE_MAILER, GRAPH_SCOPE).await;
    assert_eq!(s.send_mail(&t, "ceo@contoso.com").await.status, StatusCode::FORBIDDEN);
    s.ok("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": false})).await;
    // Test-* sees the change at once; Graph does not yet.
    assert_eq!(s.test_aap("ceo@contoso.com", INVOICE_MAILER).await, "Granted");
    assert_eq!(s.send_mail(&t, "ceo@contoso.com").await.status, StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(s.send_mail(&t, "ceo@contoso.com").await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn service_principals_page_and_filter() {
    let s = start().await;
    let t = s.token(OPERATOR, GRAPH_SCOPE).await;
    let mut url = "servicePrincipals?$top=5".to_owned();
    let mut all = Vec::new();
    loop {
        let r = s.graph_get(&t, &url).await;
        assert_eq!(r.status, StatusCode::OK);
        let v = r.json();
        all.extend(v["value"].as_array().unwrap().iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(all.len(), 2 + 14);
    let r = s.graph_get(&t, &format!("servicePrincipals?$filter=appId eq '{INVOICE_MAILER}'")).await;
    let v = r.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["displayName"], "invoice-mailer");
    let sp_id = v["value"][0]["id"].as_str().unwrap().to_owned();
    let r = s.graph_get(&t, &format!("servicePrincipals/{sp_id}")).await;
    assert_eq!(r.json()["appId"], INVOICE_MAILER);
    let r = s.graph_get(&t, "servicePrincipals/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn app_role_assigned_to_lists_mail_send_holders() {
    let s = start().await;
    let t = s.token(OPERATOR, GRAPH_SCOPE).await;
    let r = s
        .graph_get(
            &t,
            "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,appId,appRoles",
        )
        .await;
    let graph_sp = r.json();
    let mail_send =
        graph_sp["appRoles"].as_array().unwrap().iter().find(|r| r["value"] == "Mail.Send").unwrap()["id"]
            .clone();
    assert_eq!(mail_send, "b633e1c5-b582-4048-a93e-9f11b44c7e96");
    let mut url = format!("servicePrincipals/{}/appRoleAssignedTo?$top=3", graph_sp["id"].as_str().unwrap());
    let mut rows: Vec<Value> = Vec::new();
    loop {
        let v = s.graph_get(&t, &url).await.json();
        rows.extend(v["value"].as_array().unwrap().iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    let senders: Vec<_> = rows.iter().filter(|r| r["appRoleId"] == mail_send).collect();
    assert_eq!(senders.len(), 9, "the eight of contoso.yaml and the snapshot, and digest-sender");
    snapshot("app_role_assignment_row", senders[0], false);
    // Keyed addressing of the Exchange resource gives the ManageAsApp holders.
    let v = s
        .graph_get(&t, "servicePrincipals(appId='00000002-0000-0ff1-ce00-000000000000')/appRoleAssignedTo")
        .await
        .json();
    let holders: Vec<_> =
        v["value"].as_array().unwrap().iter().map(|r| r["principalDisplayName"].as_str().unwrap()).collect();
    assert_eq!(holders, ["audit-reader", "half-configured-automation", "mailscope"]);
}
