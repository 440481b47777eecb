//! Fault flags and stats.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn latency_delays_calls() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.control("/_sim/faults", Some(json!({"latencyMs": 250}))).await;
    let start = Instant::now();
    assert_eq!(s.invoke_as(&t, "Get-Mailbox", json!({"Identity": "bob"})).await.status, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn throttling_sends_429_with_retry_after() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.control("/_sim/faults", Some(json!({"throttleRate": 1.0, "retryAfterSecs": 7}))).await;
    let r = s.invoke_as(&t, "Get-Mailbox", json!({})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(r.json()["error"]["code"], "TooManyRequests");
    let g = s.token(CRM_SYNC, GRAPH_SCOPE).await;
    assert_eq!(s.send_mail(&g, "bob@contoso.com").await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn throttling_at_a_rate_is_deterministic_per_seed() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        s.control("/_sim/faults", Some(json!({"throttleRate": 0.5, "seed": 1234}))).await;
        let mut pattern = Vec::new();
        for _ in 0..20 {
            pattern.push(s.invoke_as(&t, "Get-Mailbox", json!({"Identity": "bob"})).await.status.as_u16());
        }
        runs.push(pattern);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&429) && runs[0].contains(&200), "{:?}", runs[0]);
}

#[tokio::test]
async fn server_errors_at_a_rate() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.control("/_sim/faults", Some(json!({"serverErrorRate": 1.0, "serverErrorStatus": 503}))).await;
    let r = s.invoke_as(&t, "Get-Mailbox", json!({})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.detail().contains("StorageTransientException"));
}

#[tokio::test]
async fn connection_reset_is_a_transport_error() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.control("/_sim/faults", Some(json!({"resetRate": 1.0}))).await;
    let body = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}});
    let r = s.exo_request(&s.invoke_url(), &t, &body).send().await;
    assert!(r.is_err(), "expected a transport error, got {:?}", r.map(|r| r.status()));
    // The server is still healthy afterwards.
    s.control("/_sim/faults", Some(json!({}))).await;
    assert_eq!(s.invoke_as(&t, "Get-Mailbox", json!({"Identity": "bob"})).await.status, StatusCode::OK);
}

#[tokio::test]
async fn fail_nth_mutation_before_commit() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.control("/_sim/faults", Some(json!({"failNthMutation": {"n": 2, "kind": "500"}}))).await;
    let add = |name: &'static str| json!({"Name": name, "Type": "Security"});
    // Reads do not count.
    assert_eq!(s.invoke_as(&t, "Get-Mailbox", json!({})).await.status, StatusCode::OK);
    assert_eq!(s.invoke_as(&t, "New-DistributionGroup", add("g1")).await.status, StatusCode::OK);
    assert_eq!(
        s.invoke_as(&t, "New-DistributionGroup", add("g2")).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(s.invoke_as(&t, "New-DistributionGroup", add("g3")).await.status, StatusCode::OK);
    assert_eq!(
        s.invoke_as(&t, "Get-DistributionGroup", json!({"Identity": "g2"})).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn fail_nth_mutation_after_commit_and_reset_kind() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.control("/_sim/faults", Some(json!({"failNthMutation": {"n": 1, "kind": "503", "when": "after"}})))
        .await;
    let r = s.invoke_as(&t, "New-DistributionGroup", json!({"Name": "lost-reply", "Type": "Security"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        s.invoke_as(&t, "Get-DistributionGroup", json!({"Identity": "lost-reply"})).await.status,
        StatusCode::OK
    );

    s.control("/_sim/faults", Some(json!({"failNthMutation": {"n": 1, "kind": "reset"}}))).await;
    let body = json!({"CmdletInput": {"CmdletName": "New-DistributionGroup", "Parameters": {"Name": "never", "Type": "Security"}}});
    assert!(s.exo_request(&s.invoke_url(), &t, &body).send().await.is_err());
    assert_eq!(
        s.invoke_as(&t, "Get-DistributionGroup", json!({"Identity": "never"})).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn forced_page_size_overrides_prefer() {
    let s = start_config(mailscope_sim::SimConfig {
        faults: mailscope_sim::FaultConfig { page_size: Some(2), ..Default::default() },
        ..Default::default()
    })
    .await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let body = json!({"CmdletInput": {"CmdletName": "Get-Recipient", "Parameters": {}}});
    let v: serde_json::Value = s
        .exo_request(&s.invoke_url(), &t, &body)
        .header("Prefer", "odata.maxpagesize=1000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    assert!(v["@odata.nextLink"].is_string());
}

#[tokio::test]
async fn stats_count_per_cmdlet_and_endpoint() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.invoke_as(&t, "Get-Mailbox", json!({})).await;
    s.invoke_as(&t, "get-mailbox", json!({})).await;
    s.invoke_as(&t, "Get-Recipient", json!({})).await;
    let g = s.token(CRM_SYNC, GRAPH_SCOPE).await;
    s.send_mail(&g, "bob@contoso.com").await;
    let v = s.control("/_sim/stats", None).await;
    assert_eq!(v["cmdlets"]["Get-Mailbox"], 2);
    assert_eq!(v["cmdlets"]["Get-Recipient"], 1);
    assert_eq!(v["endpoints"]["token"], 2);
    assert_eq!(v["endpoints"]["invokeCommand"], 3);
    assert_eq!(v["endpoints"]["graph"], 1);
    assert_eq!(v["total"], 6);
    let r = s.http.post(format!("{}/_sim/stats/reset", s.base)).send().await.unwrap();
    assert!(r.status().is_success());
    assert_eq!(s.control("/_sim/stats", None).await["total"], 0);
}

#[tokio::test]
async fn claims_challenge_is_a_401_with_claims() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    s.control("/_sim/faults", Some(json!({"claimsChallengeRate": 1.0}))).await;
    let r = s.invoke_as(&t, "Get-Mailbox", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let h = r.headers["www-authenticate"].to_str().unwrap();
    assert!(h.contains("error=\"insufficient_claims\"") && h.contains("claims=\""), "{h}");
    let del = s.http.delete(format!("{}/_sim/stats", s.base)).send().await.unwrap();
    assert!(del.status().is_success());
    assert_eq!(s.control("/_sim/stats", None).await["total"], 0);
}
