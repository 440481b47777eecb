//! A hostile or broken server: redirects, absurd numbers, huge bodies,
//! looping or foreign `@odata.nextLink`s, a hanging token endpoint, and
//! error bodies that echo the credentials. Each test fails on a client that
//! trusts the server.

mod mock;

use std::time::{Duration, Instant};

use mailscope_exo::ExoErrorKind;
use serde_json::json;

use mock::{Reply, TENANT, json_reply, setup, setup_config};

fn redirect(status: u16, location: &str) -> Reply {
    Reply::Http { status, headers: vec![("Location", location.to_owned())], body: Vec::new() }
}

#[tokio::test]
async fn token_redirect_is_not_followed() {
    let (script, session, base) = setup(vec![]).await;
    let location = format!("{base}/steal");
    script.token_replies.lock().unwrap().push_back(redirect(307, &location));
    let e = session.exo().get_policies().await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Token, "{e}");
    assert!(e.full_message().contains(&location), "the error names the Location: {}", e.full_message());
    assert_eq!(*script.tokens.lock().unwrap(), 1, "one token request, no retry of a redirect");
    let seen = script.seen.lock().unwrap();
    assert!(
        seen.is_empty(),
        "the secret was re-sent to {:?}",
        seen.iter().map(|s| &s.path).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn invoke_command_redirect_is_not_followed() {
    for status in [301, 302, 307, 308] {
        let (script, session, base) = setup(vec![]).await;
        let location = format!("{base}/adminapi/beta/elsewhere/InvokeCommand");
        script.replies.lock().unwrap().push_back(redirect(status, &location));
        let e = session.exo().invoke("Remove-DistributionGroup", json!({"Identity": "g"})).await.unwrap_err();
        assert_eq!(e.status, Some(status));
        assert!(e.to_string().contains(&location), "{e}");
        assert_eq!(script.seen.lock().unwrap().len(), 1, "HTTP {status}: the cmdlet was posted again");
    }
}

#[tokio::test]
async fn graph_redirect_is_not_followed() {
    let (script, session, base) = setup(vec![]).await;
    let location = format!("{base}/v1.0/elsewhere");
    script.replies.lock().unwrap().push_back(redirect(308, &location));
    let e = session.graph().get_one("GET x", "/v1.0/x").await.unwrap_err();
    assert!(e.to_string().contains(&location), "{e}");
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn huge_expires_in_is_clamped() {
    for expires_in in [json!(u64::MAX), json!(u64::MAX.to_string()), json!(1e300)] {
        let (script, session, _) = setup(vec![]).await;
        script
            .token_replies
            .lock()
            .unwrap()
            .push_back(json_reply(200, &json!({"access_token": "big", "expires_in": expires_in})));
        session.exo().get_policies().await.unwrap();
        assert_eq!(script.seen.lock().unwrap()[0].header("authorization"), Some("Bearer big"));
        let t = session.tokens().token("https://outlook.office365.com/.default").await.unwrap();
        assert!(t.refresh_at <= Instant::now() + Duration::from_secs(86_400), "{expires_in}");
    }
}

#[tokio::test]
async fn oversized_token_response_is_refused() {
    let (script, session, _) = setup(vec![]).await;
    let padding = " ".repeat(100 * 1024);
    let body = format!(r#"{{"access_token":"tok","expires_in":3600,"pad":"{padding}"}}"#);
    script.token_replies.lock().unwrap().push_back(Reply::Http {
        status: 200,
        headers: vec![("Content-Type", "application/json".into())],
        body: body.into_bytes(),
    });
    let e = session.exo().get_policies().await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Token);
    assert!(e.full_message().contains("cap"), "{}", e.full_message());
    assert!(script.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn oversized_page_is_refused() {
    let big: Vec<_> = (0..100).map(|i| json!({"Name": format!("group-{i:04}")})).collect();
    let (script, session, _) =
        setup_config(vec![json_reply(200, &json!({"value": big}))], |c| c.max_response_bytes = 1024).await;
    let e = session.exo().invoke("Get-DistributionGroup", json!({})).await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Server);
    assert!(e.to_string().contains("1024-byte cap"), "{e}");
    assert_eq!(script.seen.lock().unwrap().len(), 1, "not retried");
}

#[tokio::test]
async fn oversized_chunked_page_is_cut_off_while_streaming() {
    // No Content-Length: the cap has to be enforced while reading.
    let mut raw =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    raw.extend_from_slice(b"b\r\n{\"value\":[\"\r\n");
    for _ in 0..8 {
        raw.extend_from_slice(format!("200\r\n{}\r\n", "x".repeat(0x200)).as_bytes());
    }
    raw.extend_from_slice(b"3\r\n\"]}\r\n0\r\n\r\n");
    let (_script, session, _) = setup_config(vec![Reply::Raw(raw)], |c| c.max_response_bytes = 1024).await;
    let e = session.exo().invoke("Get-DistributionGroup", json!({})).await.unwrap_err();
    assert!(e.to_string().contains("1024-byte cap"), "{e}");
}

#[tokio::test]
async fn repeated_next_link_is_an_error_at_once() {
    let (script, session, base) = setup(vec![]).await;
    let next = format!("{base}/adminapi/beta/{TENANT}/InvokeCommand?$skiptoken=same");
    script.replies.lock().unwrap().extend([
        json_reply(200, &json!({"value":[{"Name":"a"}], "@odata.nextLink": next})),
        json_reply(200, &json!({"value":[{"Name":"b"}], "@odata.nextLink": next})),
    ]);
    let e = session.exo().invoke("Get-DistributionGroup", json!({})).await.unwrap_err();
    assert!(e.to_string().contains("repeats"), "{e}");
    assert_eq!(script.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn graph_next_link_must_match_the_origin_not_a_prefix() {
    let (script, session, base) = setup(vec![]).await;
    // `http://127.0.0.1:PORT0/…` starts with the base URL but is another port.
    let next = format!("{base}0/v1.0/steal");
    script.replies.lock().unwrap().push_back(json_reply(200, &json!({"value":[], "@odata.nextLink": next})));
    let e = session.graph().get_all("GET x", "/v1.0/x").await.unwrap_err();
    assert!(e.to_string().contains("another origin"), "{e}");
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_hanging_token_endpoint_costs_one_deadline_for_all_waiting_calls() {
    let (script, session, _) = setup_config(vec![], |c| {
        c.request_timeout = Duration::from_millis(400);
        c.retry.max_attempts = 3;
    })
    .await;
    *script.token_delay.lock().unwrap() = Duration::from_secs(5);
    let exo = session.exo();
    let t0 = Instant::now();
    let (a, b, c, d) =
        tokio::join!(exo.get_policies(), exo.get_policies(), exo.get_policies(), exo.get_policies());
    let elapsed = t0.elapsed();
    for r in [a, b, c, d] {
        assert_eq!(r.unwrap_err().kind, ExoErrorKind::Token);
    }
    // One fetch: at most its attempts reached the endpoint, and the four
    // callers together waited about one deadline, not four in turn.
    assert!(*script.tokens.lock().unwrap() <= 3, "{} token requests", script.tokens.lock().unwrap());
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    assert!(script.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn echoed_token_and_secret_are_scrubbed_from_exchange_errors() {
    let echo = "|Microsoft.Exchange.Some.Exception|you sent Bearer tok-1 and secret wire-secret";
    let (_script, session, _) = setup(vec![Reply::Http {
        status: 400,
        headers: vec![("Content-Type", "application/json".into()), ("x-ExceptionType", "tok-1".into())],
        body: json!({"error":{"code":"x","message":"Invalid Operation","details":[{"message":echo}]}})
            .to_string()
            .into_bytes(),
    }])
    .await;
    let e = session.exo().get_policies().await.unwrap_err();
    let shown = format!("{} | {e:?} | {}", e.full_message(), e.exception_type.as_deref().unwrap_or(""));
    assert!(!shown.contains("tok-1"), "{shown}");
    assert!(!shown.contains("wire-secret"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[tokio::test]
async fn echoed_token_is_scrubbed_from_graph_errors() {
    let (_script, session, _) = setup(vec![json_reply(
        400,
        &json!({"error":{"code":"tok-1","message":"bad request: Bearer tok-1 (client secret wire-secret)"}}),
    )])
    .await;
    let e = session.graph().get_one("GET x", "/v1.0/x").await.unwrap_err();
    let shown = format!("{} | {e:?}", e.full_message());
    assert!(!shown.contains("tok-1") && !shown.contains("wire-secret"), "{shown}");
}

#[tokio::test]
async fn echoed_secret_is_scrubbed_from_every_entra_error_field() {
    let (script, session, _) = setup(vec![]).await;
    script.token_replies.lock().unwrap().push_back(json_reply(
        401,
        &json!({
            "error": "invalid_client wire-secret",
            "error_description": "AADSTS7000215: Invalid client secret provided: wire-secret",
            "error_codes": [7_000_215],
            "trace_id": "wire-secret",
            "correlation_id": "x-wire-secret-x",
        }),
    ));
    let e = session.exo().get_policies().await.unwrap_err();
    let shown = format!("{} | {e:?}", e.full_message());
    assert!(!shown.contains("wire-secret"), "{shown}");
    assert!(shown.contains("AADSTS7000215"), "{shown}");
}
