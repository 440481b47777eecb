//! Managed identity endpoints: IMDS and the App Service style, each answer
//! shape, the identity selection, and each refusal.

use mailscope_testkit::contoso::{IDENTITY_HEADER, MI_SYSTEM, MI_USER};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const EXO: &str = "https://outlook.office365.com";

async fn get(
    s: &TestSim,
    path: &str,
    query: &[(&str, &str)],
    header: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let url = reqwest::Url::parse_with_params(&format!("{}{path}", s.base), query).unwrap();
    let mut req = s.http.get(url);
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let seg = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
}

#[tokio::test]
async fn imds_issues_tokens_for_the_system_and_user_assigned_identities() {
    let s = start_with(mailscope_testkit::contoso::with_managed_identities()).await;
    let imds = "/metadata/identity/oauth2/token";
    let (status, body) =
        get(&s, imds, &[("api-version", "2018-02-01"), ("resource", EXO)], Some(("Metadata", "true"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // IMDS answers every field as a string.
    assert!(body["expires_in"].is_string() && body["expires_on"].is_string(), "{body}");
    assert_eq!(body["client_id"], MI_SYSTEM);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["appid"], MI_SYSTEM);
    assert_eq!(claims(token)["tid"], TENANT_ID);
    // The token works on InvokeCommand: the identity holds Exchange Administrator.
    let r = s.invoke_as(token, "Get-ApplicationAccessPolicy", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    let (status, body) = get(
        &s,
        imds,
        &[
            ("api-version", "2018-02-01"),
            ("resource", "https://graph.microsoft.com/"),
            ("client_id", MI_USER),
        ],
        Some(("Metadata", "true")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["appid"], MI_USER);
    assert_eq!(claims(body["access_token"].as_str().unwrap())["aud"], "https://graph.microsoft.com");

    // Refusals, in IMDS's shape.
    for (query, header, want) in [
        (vec![("api-version", "2018-02-01"), ("resource", EXO)], None, "metadata header"),
        (vec![("resource", EXO)], Some(("Metadata", "true")), "api-version"),
        (vec![("api-version", "2018-02-01")], Some(("Metadata", "true")), "resource"),
        (
            vec![("api-version", "2018-02-01"), ("resource", EXO), ("client_id", OPERATOR)],
            Some(("Metadata", "true")),
            "Identity not found",
        ),
        (
            vec![("api-version", "2018-02-01"), ("resource", "https://vault.azure.net")],
            Some(("Metadata", "true")),
            "AADSTS500011",
        ),
    ] {
        let (status, body) = get(&s, imds, &query, header).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains(want), "{query:?}: {body}");
    }
}

#[tokio::test]
async fn app_service_endpoint_needs_the_identity_header() {
    let s = start_with(mailscope_testkit::contoso::with_managed_identities()).await;
    let q = [("api-version", "2019-08-01"), ("resource", EXO)];
    let (status, body) = get(&s, "/msi/token", &q, Some(("X-IDENTITY-HEADER", IDENTITY_HEADER))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // expires_on (Unix seconds, a string) and no expires_in, as App Service answers.
    assert!(body.get("expires_in").is_none(), "{body}");
    let on: u64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(on > 1_700_000_000);
    assert_eq!(claims(body["access_token"].as_str().unwrap())["appid"], MI_SYSTEM);
    let (status, body) = get(&s, "/msi/token", &q, Some(("X-IDENTITY-HEADER", "wrong"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!body.to_string().contains(IDENTITY_HEADER));
    let (status, body) = get(&s, "/msi/token", &q, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("X-IDENTITY-HEADER"), "{body}");
    // The state dump does not hand the header out.
    let state = s.control("/_sim/state", None).await;
    assert!(!state.to_string().contains(IDENTITY_HEADER), "identity header in /_sim/state");
    assert_eq!(
        state["apps"].as_array().unwrap().iter().filter(|a| a.get("managedIdentity").is_some()).count(),
        2
    );
}

#[tokio::test]
async fn without_managed_identities_both_endpoints_refuse() {
    let s = start().await;
    let (status, body) = get(
        &s,
        "/metadata/identity/oauth2/token",
        &[("api-version", "2018-02-01"), ("resource", EXO)],
        Some(("Metadata", "true")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = get(
        &s,
        "/msi/token",
        &[("api-version", "2019-08-01"), ("resource", EXO)],
        Some(("X-IDENTITY-HEADER", "x")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
