//! Everything the client logs at TRACE (including reqwest and hyper) is free
//! of secrets, assertions and tokens. Its own test binary, because it
//! installs the global subscriber. Runs against the scripted loopback server,
//! which records the token requests so the test knows every secret sent.

mod capture;
mod common;
mod mock;

use mailscope_exo::ClientCredentials;
use serde_json::json;

use capture::Capture;

use mock::{CLIENT, Reply, TENANT, json_reply, setup, setup_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_output_contains_no_secret_assertion_or_token() {
    let capture = Capture::install();

    let mut token_bodies = Vec::new();
    let mut tokens = Vec::new();

    // Secret, with retries, a reset, a 403 and paging on the way.
    let (script, session, base) = setup(vec![
        Reply::Http { status: 429, headers: vec![("Retry-After", "0".into())], body: vec![] },
        Reply::Reset,
        json_reply(
            200,
            &json!({"value":[{"Name":"a"}],
            "@odata.nextLink": "NEXT"}),
        ),
        json_reply(200, &json!({"value":[{"Name":"b"}]})),
        Reply::Http { status: 403, headers: vec![("Content-Encoding", "gzip".into())], body: vec![0u8; 20] },
        Reply::Http { status: 401, headers: vec![], body: vec![] },
        Reply::Http { status: 401, headers: vec![], body: vec![] },
    ])
    .await;
    // Point the scripted nextLink at the server itself.
    if let Some(Reply::Http { body, .. }) = script.replies.lock().unwrap().get_mut(2) {
        *body = String::from_utf8_lossy(body)
            .replace("NEXT", &format!("{base}/adminapi/beta/{TENANT}/InvokeCommand?p=2"))
            .into_bytes();
    }
    let exo = session.exo();
    exo.invoke("Get-DistributionGroup", json!({})).await.unwrap();
    let e = exo.invoke("Get-Foo", json!({})).await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "expected 403");
    let e = exo.invoke("Get-Foo", json!({})).await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "expected 401");
    let t = session.tokens().token(&session.endpoints().exo_scope).await.unwrap();
    tracing::debug!(token = ?t, session = ?session, creds = ?session.tokens().credentials(), "debug formatting");
    token_bodies.extend(script.token_bodies.lock().unwrap().clone());
    tokens.push(t.expose().to_owned());

    // Certificate: the signed assertion travels in the token request.
    {
        let pem = common::operator_pem();
        let creds = ClientCredentials::with_certificate_file(TENANT, CLIENT, &pem).unwrap();
        let (script, session, _) = setup_with(vec![], creds).await;
        session.exo().get_policies().await.unwrap();
        token_bodies.extend(script.token_bodies.lock().unwrap().clone());
        std::fs::remove_file(pem).ok();
    }

    // Federated token file.
    let file = std::env::temp_dir().join(format!("mailscope-exo-trace-oidc-{}", uuid::Uuid::new_v4()));
    std::fs::write(&file, "eyJfederated.oidc.token-value-42").unwrap();
    let creds = ClientCredentials::with_federated_token_file(TENANT, CLIENT, &file).unwrap();
    let (script, session, _) = setup_with(vec![], creds).await;
    session.exo().get_policies().await.unwrap();
    token_bodies.extend(script.token_bodies.lock().unwrap().clone());
    std::fs::remove_file(file).ok();

    let logs = capture.text();
    assert!(logs.len() > 1000, "trace output was captured ({} bytes)", logs.len());
    assert!(logs.contains("exo.call"), "spans are logged");
    assert!(logs.contains("Get-DistributionGroup"), "cmdlets are logged");
    assert!(logs.contains("hyper") && logs.contains("reqwest"), "HTTP stack logs are captured");

    let mut secrets: Vec<String> = vec!["wire-secret".into(), "eyJfederated.oidc.token-value-42".into()];
    for body in &token_bodies {
        for pair in body.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && matches!(k, "client_secret" | "client_assertion")
            {
                secrets.push(v.to_owned());
            }
        }
    }
    assert!(secrets.len() >= 4, "token requests were recorded: {}", secrets.len());
    secrets.extend(tokens);
    secrets.extend((1..=10).map(|n| format!("tok-{n}")));
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a secret, assertion or token leaked into the trace output");
    }
    for needle in ["Bearer ", "client_assertion=", "client_secret="] {
        assert!(!logs.contains(needle), "{needle:?} appears in the trace output");
    }
}
