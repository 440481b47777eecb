//! 401/403 cases of `InvokeCommand` and Graph (docs/exchange.md, "Tokens" and "Admin API wire format").

use mailscope_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

fn assert_nul_403(r: &Reply) {
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert!(!r.bytes.is_empty() && r.bytes.iter().all(|b| *b == 0), "{:?}", r.bytes);
}

#[tokio::test]
async fn no_token_is_401_with_challenge() {
    let s = start().await;
    let r = s.invoke_as("", "Get-Mailbox", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer "));
    let r = s.invoke_as("not-a-jwt", "Get-Mailbox", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_api_rejects_the_other_audience() {
    let s = start().await;
    let graph = s.token(OPERATOR, GRAPH_SCOPE).await;
    assert_eq!(s.invoke_as(&graph, "Get-Mailbox", json!({})).await.status, StatusCode::UNAUTHORIZED);
    let exo = s.token(OPERATOR, EXO_SCOPE).await;
    let r = s.graph_get(&exo, "servicePrincipals").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "InvalidAuthenticationToken");
}

#[tokio::test]
async fn without_manage_as_app_role_is_401() {
    let s = start().await;
    let t = s.token(NO_GRANTS, EXO_SCOPE).await;
    assert_eq!(s.invoke_as(&t, "Get-Mailbox", json!({})).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn role_without_directory_role_is_nul_gzip_403() {
    let s = start().await;
    let t = s.token(HALF_CONFIGURED, EXO_SCOPE).await;
    assert_nul_403(&s.invoke_as(&t, "Get-Mailbox", json!({})).await);
}

#[tokio::test]
async fn read_only_role_reads_but_cannot_write() {
    let s = start().await;
    let t = s.token(AUDIT_READER, EXO_SCOPE).await;
    assert_eq!(s.invoke_as(&t, "Get-ApplicationAccessPolicy", json!({})).await.status, StatusCode::OK);
    assert_eq!(
        s.invoke_as(
            &t,
            "Test-ApplicationAccessPolicy",
            json!({"Identity": "ceo@contoso.com", "AppId": INVOICE_MAILER})
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_nul_403(
        &s.invoke_as(&t, "Remove-ApplicationAccessPolicy", json!({"Identity": "x", "Confirm": false})).await,
    );
}

#[tokio::test]
async fn unknown_cmdlet_is_nul_gzip_403() {
    let s = start().await;
    assert_nul_403(&s.invoke("Get-OrganizationConfig", json!({})).await);
}

#[tokio::test]
async fn other_api_versions_are_405() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let body = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}});
    let url = format!("{}/adminapi/v1.0/{TENANT_ID}/InvokeCommand", s.base);
    let r = s.exo_request(&url, &t, &body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = s.http.get(s.invoke_url()).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn tenant_in_url_may_be_a_domain_but_must_match_the_token() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let body =
        json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "bob@contoso.com"}}});
    let ok = format!("{}/adminapi/beta/CONTOSO.onmicrosoft.com/InvokeCommand", s.base);
    assert_eq!(s.exo_request(&ok, &t, &body).send().await.unwrap().status(), StatusCode::OK);
    let other = format!("{}/adminapi/beta/fabrikam.onmicrosoft.com/InvokeCommand", s.base);
    assert_eq!(s.exo_request(&other, &t, &body).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_anchor_mailbox_is_accepted_unless_the_strict_knob_is_on() {
    let lenient = start().await;
    let t = lenient.token(OPERATOR, EXO_SCOPE).await;
    let r = lenient
        .http
        .post(lenient.invoke_url())
        .bearer_auth(&t)
        .json(&json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "working public clients omit the header");
    let s = start_config(SimConfig { require_anchor_mailbox: true, ..SimConfig::default() }).await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let r = s
        .http
        .post(s.invoke_url())
        .bearer_auth(&t)
        .json(&json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn graph_reads_need_application_read_all() {
    let s = start().await;
    let t = s.token(INVOICE_MAILER, GRAPH_SCOPE).await;
    let r = s.graph_get(&t, "servicePrincipals").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "Authorization_RequestDenied");
}
