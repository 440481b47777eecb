//! Every credential kind against the emulator over loopback: GitHub Actions
//! OIDC (a fake runner service), the federated token file, managed identity
//! (IMDS and App Service style) and PKCS#12 certificates.

mod common;

use std::time::Duration;

use base64::Engine as _;

use mailscope_exo::{AuthError, ClientCredentials, Cloud, ExoErrorKind, Session};
use mailscope_sim::SimConfig;
use mailscope_testkit::contoso::{IDENTITY_HEADER, MI_SYSTEM, MI_USER, OPERATOR, TENANT_ID};
use mailscope_testkit::github_actions::{FakeActions, REQUEST_TOKEN, SUBJECT};
use mailscope_testkit::{Emulator, fast_config};

use common::{GITHUB_SUBJECT, github_oidc_token, start, testdata};

fn creds(vars: &[(&str, String)]) -> ClientCredentials {
    let vars = vars.to_vec();
    ClientCredentials::from_lookup(move |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()))
        .unwrap()
}

async fn emulator(token_lifetime_secs: u64) -> Emulator {
    let config = SimConfig { token_lifetime_secs, ..SimConfig::default() };
    Emulator::serve(mailscope_testkit::contoso::with_managed_identities().with_config(config)).await
}

fn session(emu: &Emulator, creds: ClientCredentials) -> Session {
    Session::new(creds, Cloud::Public, &emu.overrides(), fast_config()).unwrap()
}

async fn works(session: &Session) {
    let policies = session.exo().get_policies().await.expect("Get-ApplicationAccessPolicy");
    assert_eq!(policies.len(), 4);
}

#[tokio::test]
async fn github_oidc_asks_the_runner_for_a_fresh_id_token_for_every_access_token() {
    // ID tokens and access tokens of 2 s: the second call comes after both expired.
    let actions = FakeActions::start(SUBJECT, 2).await;
    let emu = emulator(2).await;
    let c = creds(&[
        ("AZURE_TENANT_ID", TENANT_ID.into()),
        ("AZURE_CLIENT_ID", OPERATOR.into()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", actions.request_url().into()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN.into()),
    ]);
    assert_eq!(c.credential.kind(), "github_oidc");
    assert!(!format!("{c:?}").contains(REQUEST_TOKEN));
    let s = session(&emu, c);
    works(&s).await;
    assert_eq!(actions.issued(), 1);
    works(&s).await;
    assert_eq!(actions.issued(), 1, "the access token is cached");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    works(&s).await;
    assert_eq!(actions.issued(), 2, "a new access token needed a new ID token");
    assert_eq!(actions.refused(), 0);
}

#[tokio::test]
async fn github_oidc_failures_are_typed_and_keep_the_request_token_out() {
    let actions = FakeActions::start(SUBJECT, 60).await;
    let emu = emulator(3599).await;
    let c = creds(&[
        ("AZURE_TENANT_ID", TENANT_ID.into()),
        ("AZURE_CLIENT_ID", OPERATOR.into()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", actions.request_url().into()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "stale-request-token-xyz".into()),
    ]);
    let s = session(&emu, c);
    let scope = s.endpoints().exo_scope.clone();
    let err = s.tokens().token(&scope).await.unwrap_err();
    assert!(matches!(err, AuthError::IdToken { status: 401, .. }), "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("id-token: write"), "{text}");
    assert!(!text.contains("stale-request-token-xyz") && !text.contains("api-version"), "{text}");
    // A runner token for a subject the app does not trust: Entra's error, with its hint.
    let other = FakeActions::start("repo:evil/fork:pull_request", 60).await;
    let c = creds(&[
        ("AZURE_TENANT_ID", TENANT_ID.into()),
        ("AZURE_CLIENT_ID", OPERATOR.into()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", other.request_url().into()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN.into()),
    ]);
    let err = session(&emu, c).exo().get_policies().await.unwrap_err();
    assert_eq!(err.kind, ExoErrorKind::Token);
    let text = format!("{err:?}");
    assert!(text.contains("AADSTS70021"), "{text}");
}

#[tokio::test]
async fn federated_token_file_is_reread_between_two_token_requests() {
    let sim = start().await;
    let file = std::env::temp_dir().join(format!("mailscope-exo-fed-{}", uuid::Uuid::new_v4()));
    // Kubernetes writes a new token before the old one expires; here the old
    // one is already unusable (wrong subject), then replaced by a good one.
    std::fs::write(&file, github_oidc_token("repo:contoso/mailscope-policies:pull_request")).unwrap();
    let c = creds(&[
        ("AZURE_TENANT_ID", sim.tenant.clone()),
        ("AZURE_CLIENT_ID", sim.client_id.clone()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap().to_owned()),
    ]);
    let s = sim.session_with(c);
    let scope = s.endpoints().exo_scope.clone();
    assert!(s.tokens().token(&scope).await.is_err(), "the first file's token is refused");
    std::fs::write(&file, github_oidc_token(GITHUB_SUBJECT)).unwrap();
    s.tokens().token(&scope).await.expect("the rotated file is read on the next request");
    assert_eq!(s.tokens().requests_sent(), 2);
    std::fs::remove_file(file).ok();
}

#[tokio::test]
async fn managed_identity_through_imds_system_and_user_assigned() {
    let emu = emulator(3599).await;
    for (client_id, expect) in [(None, MI_SYSTEM), (Some(MI_USER), MI_USER)] {
        let mut vars = vec![
            ("AZURE_TENANT_ID", TENANT_ID.to_owned()),
            ("MAILSCOPE_USE_MANAGED_IDENTITY", "true".to_owned()),
            ("MAILSCOPE_IMDS_URL", emu.base_url()),
        ];
        if let Some(id) = client_id {
            vars.push(("AZURE_CLIENT_ID", id.to_owned()));
        }
        let c = creds(&vars);
        let s = session(&emu, c);
        works(&s).await;
        // The token is the identity's own.
        let token = s.tokens().token(&s.endpoints().exo_scope).await.unwrap();
        let payload = token.expose().split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
        )
        .unwrap();
        assert_eq!(claims["appid"], expect);
        assert_eq!(s.tokens().requests_sent(), 1, "cached");
    }
    // A user-assigned identity the host does not have.
    let c = creds(&[
        ("AZURE_TENANT_ID", TENANT_ID.into()),
        ("AZURE_CLIENT_ID", OPERATOR.into()),
        ("MAILSCOPE_USE_MANAGED_IDENTITY", "true".into()),
        ("MAILSCOPE_IMDS_URL", emu.base_url()),
    ]);
    let err = session(&emu, c).tokens().token("https://outlook.office365.com/.default").await.unwrap_err();
    assert!(matches!(err, AuthError::ManagedIdentity { status: 400, .. }), "{err}");
    assert!(err.to_string().contains("AZURE_CLIENT_ID"), "{err}");
}

#[tokio::test]
async fn managed_identity_through_the_app_service_endpoint() {
    // App Service answers expires_on only: a 4 s token is refreshed at half-life.
    let emu = emulator(4).await;
    let c = creds(&[
        ("AZURE_TENANT_ID", TENANT_ID.into()),
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.base_url())),
        ("IDENTITY_HEADER", IDENTITY_HEADER.into()),
    ]);
    assert_eq!(c.credential.kind(), "managed_identity");
    assert!(!format!("{c:?}").contains(IDENTITY_HEADER));
    let s = session(&emu, c);
    works(&s).await;
    works(&s).await;
    assert_eq!(s.tokens().requests_sent(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    works(&s).await;
    assert_eq!(s.tokens().requests_sent(), 2, "refreshed from expires_on");
    // A wrong header: a typed error that does not repeat it.
    let c = creds(&[
        ("AZURE_TENANT_ID", TENANT_ID.into()),
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.base_url())),
        ("IDENTITY_HEADER", "wrong-identity-header-123".into()),
    ]);
    let err = session(&emu, c).exo().get_policies().await.unwrap_err();
    assert_eq!(err.kind, ExoErrorKind::Token);
    let text = format!("{err} {err:?}");
    assert!(text.contains("HTTP 401") && text.contains("IDENTITY_HEADER"), "{text}");
    assert!(!text.contains("wrong-identity-header-123"), "{text}");
}

#[tokio::test]
async fn pkcs12_certificates_log_in_and_a_wrong_password_is_said() {
    let sim = start().await;
    for name in ["operator.aes256.pfx", "operator.legacy.pfx"] {
        let c = creds(&[
            ("AZURE_TENANT_ID", sim.tenant.clone()),
            ("AZURE_CLIENT_ID", sim.client_id.clone()),
            ("AZURE_CLIENT_CERTIFICATE_PATH", testdata(name).to_str().unwrap().to_owned()),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "test-only-pfx-password".into()),
        ]);
        let s = sim.session_with(c);
        s.exo().get_policies().await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let err = ClientCredentials::from_lookup(|n| match n {
        "AZURE_TENANT_ID" => Some(sim.tenant.clone()),
        "AZURE_CLIENT_ID" => Some(sim.client_id.clone()),
        "AZURE_CLIENT_CERTIFICATE_PATH" => Some(testdata("operator.aes256.pfx").to_str().unwrap().to_owned()),
        "AZURE_CLIENT_CERTIFICATE_PASSWORD" => Some("hunter2".into()),
        _ => None,
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("does not open with AZURE_CLIENT_CERTIFICATE_PASSWORD"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
