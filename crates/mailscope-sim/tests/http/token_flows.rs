//! Token endpoint: each credential kind and each failure, in Entra's error shape.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::common::*;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const FED_ISSUER: &str = "https://token.actions.githubusercontent.com";
const FED_SUBJECT: &str = "repo:contoso/mailscope-policies:ref:refs/heads/main";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn thumbprints() -> (String, String) {
    let der = CertificateDer::from_pem_file(testdata("operator.cert.pem")).unwrap();
    (URL_SAFE_NO_PAD.encode(Sha1::digest(der.as_ref())), URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_ref())))
}

fn key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(testdata(name)).unwrap()).unwrap()
}

fn cert_assertion(alg: Algorithm, aud: &str, nbf: u64, exp: u64, key_file: &str) -> String {
    let (x5t, x5t_s256) = thumbprints();
    let mut header = Header::new(alg);
    header.typ = Some("JWT".into());
    if alg == Algorithm::PS256 {
        header.x5t_s256 = Some(x5t_s256);
    } else {
        header.x5t = Some(x5t);
    }
    let claims = json!({"aud": aud, "iss": OPERATOR, "sub": OPERATOR, "jti": uuid::Uuid::new_v4().to_string(), "nbf": nbf, "iat": nbf, "exp": exp});
    jsonwebtoken::encode(&header, &claims, &key(key_file)).unwrap()
}

fn federated(sub: &str, aud: &str, exp: u64, key_file: &str) -> String {
    let claims = json!({"iss": FED_ISSUER, "sub": sub, "aud": aud, "exp": exp, "iat": now(), "nbf": now()});
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key(key_file)).unwrap()
}

fn login_aud() -> String {
    format!("https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token")
}

async fn assertion_token(s: &TestSim, assertion: &str) -> crate::common::Reply {
    s.token_form(&[
        ("grant_type", "client_credentials"),
        ("client_id", OPERATOR),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
        ("scope", EXO_SCOPE),
    ])
    .await
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Asserts Entra's error shape and returns `error_codes[0]`.
fn entra_error(r: &crate::common::Reply, status: StatusCode, error: &str) -> u64 {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.bytes));
    let v = r.json();
    assert_eq!(v["error"], error);
    let desc = v["error_description"].as_str().unwrap();
    assert!(desc.starts_with("AADSTS"), "{desc}");
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(v[k].is_string(), "{k} missing");
    }
    let code = v["error_codes"][0].as_u64().unwrap();
    assert!(desc.starts_with(&format!("AADSTS{code}:")), "{desc}");
    code
}

#[tokio::test]
async fn secret_grant_issues_tokens_with_audience_roles_and_tenant() {
    let s = start().await;
    let r = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", OPERATOR),
            ("client_secret", OPERATOR_SECRET),
            ("scope", EXO_SCOPE),
        ])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    let c = claims_of(v["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "https://outlook.office365.com");
    assert_eq!(c["tid"], TENANT_ID);
    assert_eq!(c["appid"], OPERATOR);
    assert_eq!(c["roles"], json!(["Exchange.ManageAsApp"]));
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 3599);

    let g = claims_of(&s.token(OPERATOR, GRAPH_SCOPE).await);
    assert_eq!(g["aud"], "https://graph.microsoft.com");
    assert_eq!(g["roles"], json!(["Application.Read.All"]));
}

#[tokio::test]
async fn tenant_may_be_named_by_domain_case_insensitively() {
    let s = start().await;
    let r = s
        .http
        .post(format!("{}/Contoso.OnMicrosoft.com/oauth2/v2.0/token", s.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", OPERATOR),
            ("client_secret", OPERATOR_SECRET),
            ("scope", EXO_SCOPE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn certificate_assertion_ps256_with_x5t_s256() {
    let s = start().await;
    let a = cert_assertion(Algorithm::PS256, &login_aud(), now(), now() + 600, "operator.key.pem");
    let r = assertion_token(&s, &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(claims_of(r.json()["access_token"].as_str().unwrap())["appidacr"], "2");
}

#[tokio::test]
async fn certificate_assertion_rs256_with_x5t_and_sim_audience() {
    let s = start().await;
    let a = cert_assertion(Algorithm::RS256, &s.token_url(), now(), now() + 600, "operator.key.pem");
    let r = assertion_token(&s, &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
}

#[tokio::test]
async fn federated_assertion_is_accepted() {
    let s = start().await;
    let a = federated(FED_SUBJECT, "api://AzureADTokenExchange", now() + 300, "federated-issuer.key.pem");
    let r = assertion_token(&s, &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
}

#[tokio::test]
async fn wrong_secret_is_7000215() {
    let s = start().await;
    let r = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", OPERATOR),
            ("client_secret", "nope"),
            ("scope", EXO_SCOPE),
        ])
        .await;
    assert_eq!(entra_error(&r, StatusCode::UNAUTHORIZED, "invalid_client"), 7_000_215);
}

#[tokio::test]
async fn unknown_client_is_700016() {
    let s = start().await;
    let r = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-2222-4333-8444-555555555555"),
            ("client_secret", "x"),
            ("scope", EXO_SCOPE),
        ])
        .await;
    assert_eq!(entra_error(&r, StatusCode::BAD_REQUEST, "unauthorized_client"), 700_016);
}

#[tokio::test]
async fn unknown_tenant_is_90002_and_bad_scope_is_rejected() {
    let s = start().await;
    let r = reply_of(
        s.http
            .post(format!("{}/fabrikam.onmicrosoft.com/oauth2/v2.0/token", s.base))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(entra_error(&r, StatusCode::BAD_REQUEST, "invalid_request"), 90002);
    let r = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", OPERATOR),
            ("client_secret", OPERATOR_SECRET),
            ("scope", "https://outlook.office365.com/Exchange.ManageAsApp"),
        ])
        .await;
    assert_eq!(entra_error(&r, StatusCode::BAD_REQUEST, "invalid_scope"), 1_002_012);
}

async fn reply_of(rb: reqwest::RequestBuilder) -> crate::common::Reply {
    let r = rb.send().await.unwrap();
    crate::common::Reply {
        status: r.status(),
        headers: r.headers().clone(),
        bytes: r.bytes().await.unwrap().to_vec(),
    }
}

#[tokio::test]
async fn expired_assertion_is_700024() {
    let s = start().await;
    let a = cert_assertion(Algorithm::PS256, &login_aud(), now() - 1200, now() - 600, "operator.key.pem");
    assert_eq!(
        entra_error(&assertion_token(&s, &a).await, StatusCode::UNAUTHORIZED, "invalid_client"),
        700_024
    );
    let future =
        cert_assertion(Algorithm::PS256, &login_aud(), now() + 3600, now() + 4000, "operator.key.pem");
    assert_eq!(
        entra_error(&assertion_token(&s, &future).await, StatusCode::UNAUTHORIZED, "invalid_client"),
        700_024
    );
}

#[tokio::test]
async fn wrong_audience_is_50012() {
    let s = start().await;
    let a =
        cert_assertion(Algorithm::PS256, "https://example.com/token", now(), now() + 600, "operator.key.pem");
    assert_eq!(
        entra_error(&assertion_token(&s, &a).await, StatusCode::UNAUTHORIZED, "invalid_client"),
        50012
    );
}

#[tokio::test]
async fn bad_signature_is_700027() {
    let s = start().await;
    // Registered thumbprint, but signed with a key that is not the certificate's.
    let a = cert_assertion(Algorithm::PS256, &login_aud(), now(), now() + 600, "unrelated.key.pem");
    assert_eq!(
        entra_error(&assertion_token(&s, &a).await, StatusCode::UNAUTHORIZED, "invalid_client"),
        700_027
    );
    // Federated token signed by someone else.
    let f = federated(FED_SUBJECT, "api://AzureADTokenExchange", now() + 300, "unrelated.key.pem");
    assert_eq!(
        entra_error(&assertion_token(&s, &f).await, StatusCode::UNAUTHORIZED, "invalid_client"),
        700_027
    );
}

#[tokio::test]
async fn unknown_federated_subject_is_70021_and_wrong_audience_700212() {
    let s = start().await;
    let f = federated(
        "repo:evil/fork:ref:refs/heads/main",
        "api://AzureADTokenExchange",
        now() + 300,
        "federated-issuer.key.pem",
    );
    assert_eq!(
        entra_error(&assertion_token(&s, &f).await, StatusCode::BAD_REQUEST, "invalid_request"),
        70021
    );
    let f = federated(FED_SUBJECT, "api://SomethingElse", now() + 300, "federated-issuer.key.pem");
    assert_eq!(
        entra_error(&assertion_token(&s, &f).await, StatusCode::BAD_REQUEST, "invalid_request"),
        700_212
    );
    let f = federated(FED_SUBJECT, "api://AzureADTokenExchange", now() - 10, "federated-issuer.key.pem");
    assert_eq!(
        entra_error(&assertion_token(&s, &f).await, StatusCode::UNAUTHORIZED, "invalid_client"),
        700_024
    );
}

#[tokio::test]
async fn missing_credential_is_7000218() {
    let s = start().await;
    let r = s
        .token_form(&[("grant_type", "client_credentials"), ("client_id", OPERATOR), ("scope", EXO_SCOPE)])
        .await;
    assert_eq!(entra_error(&r, StatusCode::UNAUTHORIZED, "invalid_client"), 7_000_218);
}

#[tokio::test]
async fn short_lifetime_forces_refresh() {
    let s = start_config(mailscope_sim::SimConfig { token_lifetime_secs: 1, ..Default::default() }).await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    assert_eq!(s.invoke_as(&t, "Get-ApplicationAccessPolicy", json!({})).await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        s.invoke_as(&t, "Get-ApplicationAccessPolicy", json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );
}
