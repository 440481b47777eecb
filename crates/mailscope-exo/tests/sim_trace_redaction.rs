//! Everything the client logs at TRACE (including reqwest and hyper) is free
//! of secrets, assertions and tokens. Its own test binary, because it
//! installs the global subscriber.

mod capture;
mod common;

use mailscope_exo::{ClientCredentials, SnapshotRequest};
use serde_json::json;

use capture::Capture;

use common::{GITHUB_SUBJECT, github_oidc_token, operator_pem, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_output_contains_no_secret_assertion_or_token() {
    let capture = Capture::install();

    let sim = start().await;
    // Secret: a full snapshot read, a write, an error.
    let session = sim.session();
    let exo = session.exo();
    exo.read_snapshot(&SnapshotRequest { all_policy_groups: true, ..SnapshotRequest::default() })
        .await
        .unwrap();
    exo.add_member("mailscope-invoice-mailer-allow", "billing@contoso.com").await.unwrap();
    let e = exo.invoke("Get-NoSuchThing", json!({})).await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "expected failure");
    session.graph().list_mailbox_grants().await.unwrap();
    let exo_token = session.tokens().token(&session.endpoints().exo_scope).await.unwrap();
    let graph_token = session.tokens().token(&session.endpoints().graph_scope).await.unwrap();
    tracing::debug!(token = ?exo_token, session = ?session, "debug formatting of secrets");

    // Throttling and resets exercise the retry paths' logging too.
    sim.faults(json!({"throttleRate": 0.3, "retryAfterSecs": 0, "resetRate": 0.2, "seed": 5})).await;
    for _ in 0..3 {
        exo.get_policies().await.unwrap();
    }
    sim.faults(json!({})).await;

    // Certificate: the signed assertion must not appear.
    let pem = operator_pem();
    let cert = sim
        .session_with(ClientCredentials::with_certificate_file(&sim.tenant, &sim.client_id, &pem).unwrap());
    cert.exo().get_policies().await.unwrap();
    let cert_token = cert.tokens().token(&cert.endpoints().exo_scope).await.unwrap();

    // Federated: the OIDC token must not appear.
    let oidc = github_oidc_token(GITHUB_SUBJECT);
    let file = std::env::temp_dir().join(format!("mailscope-exo-trace-oidc-{}", uuid::Uuid::new_v4()));
    std::fs::write(&file, &oidc).unwrap();
    let fed = sim.session_with(
        ClientCredentials::with_federated_token_file(&sim.tenant, &sim.client_id, &file).unwrap(),
    );
    fed.exo().get_policies().await.unwrap();

    // GitHub Actions OIDC: neither the runner's request token nor its ID
    // tokens appear, on success or on a refused request token.
    let actions = mailscope_testkit::github_actions::FakeActions::start(GITHUB_SUBJECT, 60).await;
    let gh = |token: &str| {
        let (url, token, tenant, client) =
            (actions.request_url().to_owned(), token.to_owned(), sim.tenant.clone(), sim.client_id.clone());
        ClientCredentials::from_lookup(move |n| match n {
            "AZURE_TENANT_ID" => Some(tenant.clone()),
            "AZURE_CLIENT_ID" => Some(client.clone()),
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(url.clone()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some(token.clone()),
            _ => None,
        })
        .unwrap()
    };
    sim.session_with(gh(mailscope_testkit::github_actions::REQUEST_TOKEN))
        .exo()
        .get_policies()
        .await
        .unwrap();
    let e = sim.session_with(gh("stale-runner-token-456")).exo().get_policies().await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "expected ID token failure");

    // Managed identity (App Service style): the identity header never appears.
    let host =
        mailscope_testkit::Emulator::serve(mailscope_testkit::contoso::with_managed_identities()).await;
    let mi = |header: &str| {
        let (url, header) = (format!("{}/msi/token", host.base_url()), header.to_owned());
        ClientCredentials::from_lookup(move |n| match n {
            "AZURE_TENANT_ID" => Some(mailscope_testkit::contoso::TENANT_ID.to_owned()),
            "IDENTITY_ENDPOINT" => Some(url.clone()),
            "IDENTITY_HEADER" => Some(header.clone()),
            _ => None,
        })
        .unwrap()
    };
    let mi_session = mailscope_exo::Session::new(
        mi(mailscope_testkit::contoso::IDENTITY_HEADER),
        mailscope_exo::Cloud::Public,
        &host.overrides(),
        common::fast_config(),
    )
    .unwrap();
    mi_session.exo().get_policies().await.unwrap();
    tracing::debug!(session = ?mi_session, "debug formatting of a managed identity session");
    let e = mailscope_exo::Session::new(
        mi("wrong-identity-header-789"),
        mailscope_exo::Cloud::Public,
        &host.overrides(),
        common::fast_config(),
    )
    .unwrap()
    .exo()
    .get_policies()
    .await
    .unwrap_err();
    tracing::error!(error = %e, debug = ?e, "expected managed identity failure");

    // A wrong secret: the error is logged, the secret is not.
    let bad = sim.session_with(
        ClientCredentials::with_secret(&sim.tenant, &sim.client_id, "wrong-secret-xyz-987").unwrap(),
    );
    let e = bad.exo().get_policies().await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "expected auth failure");

    let logs = capture.text();
    assert!(logs.len() > 1000, "trace output was captured ({} bytes)", logs.len());
    assert!(logs.contains("exo.call"), "spans are logged");
    for (what, needle) in [
        ("client secret", sim.secret.as_str()),
        ("wrong secret", "wrong-secret-xyz-987"),
        ("federated token", oidc.as_str()),
        ("exchange token", exo_token.expose()),
        ("graph token", graph_token.expose()),
        ("certificate token", cert_token.expose()),
        ("runner request token", mailscope_testkit::github_actions::REQUEST_TOKEN),
        ("stale runner request token", "stale-runner-token-456"),
        ("identity header", mailscope_testkit::contoso::IDENTITY_HEADER),
        ("wrong identity header", "wrong-identity-header-789"),
        ("any JWT", "eyJ"),
        ("bearer header", "Bearer "),
        ("assertion field", "client_assertion="),
    ] {
        assert!(!logs.contains(needle), "{what} leaked into the trace output");
    }
    std::fs::remove_file(pem).ok();
    std::fs::remove_file(file).ok();
}
