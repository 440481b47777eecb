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
        ("any JWT", "eyJ"),
        ("bearer header", "Bearer "),
        ("assertion field", "client_assertion="),
    ] {
        assert!(!logs.contains(needle), "{what} leaked into the trace output");
    }
    std::fs::remove_file(pem).ok();
    std::fs::remove_file(file).ok();
}
