//! Wire-level behaviour against a scripted loopback HTTP server: exact
//! headers, paging, the NUL-"gzip" 403, Retry-After, resets, lost replies.

mod mock;

use std::time::{Duration, Instant};

use mailscope_exo::ExoErrorKind;
use serde_json::{Value, json};

use mock::{Reply, TENANT, json_reply, setup};

#[tokio::test]
async fn headers_body_and_paging() {
    let (script, session, base) = setup(vec![]).await;
    let next = format!("{base}/adminapi/beta/{TENANT}/InvokeCommand?$skiptoken=abc");
    script.replies.lock().unwrap().extend([
        json_reply(200, &json!({"value":[{"Name":"a"},{"Name":"b"}], "@odata.nextLink": next})),
        json_reply(200, &json!({"value":[{"Name":"c"}]})),
    ]);
    let out = session.exo().invoke("Get-DistributionGroup", json!({"Filter":"x"})).await.unwrap();
    assert_eq!(out.len(), 3);
    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, format!("/adminapi/beta/{TENANT}/InvokeCommand"));
    assert_eq!(seen[1].path, format!("/adminapi/beta/{TENANT}/InvokeCommand?$skiptoken=abc"));
    assert_eq!(seen[0].body, seen[1].body, "the next page is a POST of the same body");
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        body,
        json!({"CmdletInput":{"CmdletName":"Get-DistributionGroup","Parameters":{"Filter":"x"}}})
    );
    let s = &seen[0];
    assert_eq!(s.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(s.header("x-cmdletname"), Some("Get-DistributionGroup"));
    assert_eq!(
        s.header("x-anchormailbox").map(str::to_owned),
        Some(format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}"))
    );
    assert_eq!(s.header("prefer"), Some("odata.maxpagesize=2"));
    assert_eq!(s.header("x-responseformat"), Some("json"));
    assert_eq!(s.header("accept"), Some("application/json"));
    assert!(uuid::Uuid::try_parse(s.header("client-request-id").unwrap()).is_ok());
    assert!(s.header("accept-encoding").is_none_or(|v| !v.contains("gzip")));
    assert!(!String::from_utf8_lossy(&s.body).contains("ResultSize"));
}

#[tokio::test]
async fn next_link_to_another_origin_is_refused() {
    let (_script, session, _) =
        setup(vec![json_reply(200, &json!({"value":[], "@odata.nextLink": "https://evil.example/steal"}))])
            .await;
    let e = session.exo().invoke("Get-DistributionGroup", json!({})).await.unwrap_err();
    assert!(e.to_string().contains("another origin"), "{e}");
}

#[tokio::test]
async fn nul_gzip_403_is_forbidden_not_transport() {
    let (script, session, _) = setup(vec![Reply::Http {
        status: 403,
        headers: vec![("Content-Encoding", "gzip".into()), ("Content-Type", "application/json".into())],
        body: vec![0u8; 20],
    }])
    .await;
    let e = session.exo().get_policies().await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Forbidden, "{e}");
    assert_eq!(e.status, Some(403));
    assert_eq!(script.seen.lock().unwrap().len(), 1, "403 is not retried");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (script, session, _) = setup(vec![
        Reply::Http { status: 429, headers: vec![("Retry-After", "1".into())], body: b"{}".to_vec() },
        json_reply(200, &json!({"value":[]})),
    ])
    .await;
    let t0 = Instant::now();
    session.exo().get_policies().await.unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(script.seen.lock().unwrap().len(), 2);
    assert_eq!(session.stats().snapshot().get("Get-ApplicationAccessPolicy"), Some(&2));
}

#[tokio::test]
async fn reset_and_transient_500_are_retried_for_reads() {
    let detail = "|Microsoft.Exchange.Data.Directory.DCOverloadedException|overloaded";
    let (script, session, _) = setup(vec![
        Reply::Reset,
        json_reply(
            500,
            &json!({"error":{"code":"x","message":"Error executing cmdlet","details":[{"message":detail}]}}),
        ),
        Reply::Http { status: 504, headers: vec![], body: vec![] },
        json_reply(200, &json!({"value":[{"Name":"g","PrimarySmtpAddress":"g@x"}]})),
    ])
    .await;
    let g = session.exo().get_group("g").await.unwrap().unwrap();
    assert_eq!(g.name, "g");
    assert_eq!(script.seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn non_transient_500_is_not_retried() {
    let (script, session, _) = setup(vec![json_reply(
        500,
        &json!({"error":{"code":"x","message":"Error executing cmdlet","details":[{"message":"|Some.Exception|boom"}]}}),
    )])
    .await;
    let e = session.exo().get_policies().await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Server);
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn lost_reply_to_new_group_is_read_back_not_resent() {
    let group = json!({"Name":"mailscope-x","PrimarySmtpAddress":"x@c","ExternalDirectoryObjectId":"id-1"});
    let (script, session, _) = setup(vec![
        Reply::Http { status: 503, headers: vec![], body: vec![] }, // New-DistributionGroup: outcome unknown
        json_reply(200, &json!({"value":[group]})),                 // Get-DistributionGroup read-back
        json_reply(200, &json!({"value":[]})),                      // Set-DistributionGroup marker
    ])
    .await;
    let g = session.exo().new_group("mailscope-x", "mailscope-x", None, "mailscope/v1 m").await.unwrap();
    assert_eq!(g.id, "id-1");
    let cmdlets: Vec<String> =
        script.seen.lock().unwrap().iter().map(|s| s.header("x-cmdletname").unwrap().to_owned()).collect();
    assert_eq!(cmdlets, ["New-DistributionGroup", "Get-DistributionGroup", "Set-DistributionGroup"]);
}

#[tokio::test]
async fn unauthorized_refreshes_the_token_once() {
    let (script, session, _) = setup(vec![
        Reply::Http { status: 401, headers: vec![], body: vec![] },
        json_reply(200, &json!({"value":[]})),
    ])
    .await;
    session.exo().get_policies().await.unwrap();
    assert_eq!(*script.tokens.lock().unwrap(), 2);
    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen[1].header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn empty_tenant_not_found_means_no_policies() {
    let body = json!({"error":{"code":"NotFound","message":"Error executing cmdlet","details":[{"message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found on 'DC'."}]}});
    let (_s, session, _) = setup(vec![json_reply(404, &body)]).await;
    assert!(session.exo().get_policies().await.unwrap().is_empty());
}

#[tokio::test]
async fn throttling_that_never_ends_gives_throttled() {
    let replies = (0..10)
        .map(|_| Reply::Http { status: 429, headers: vec![("Retry-After", "0".into())], body: vec![] })
        .collect();
    let (script, session, _) = setup(replies).await;
    let e = session.exo().get_policies().await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Throttled);
    assert_eq!(e.attempts, 5);
    assert_eq!(script.seen.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn anchor_mailbox_takes_the_tenant_guid_from_the_token() {
    use base64::Engine as _;
    let creds =
        mailscope_exo::ClientCredentials::with_secret("contoso.onmicrosoft.com", mock::CLIENT, "s").unwrap();
    let (script, session, _) = mock::setup_with(vec![], creds).await;
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let token =
        format!("{}.{}.sig", b64(br#"{"typ":"JWT"}"#), b64(json!({"tid": TENANT}).to_string().as_bytes()));
    script
        .token_replies
        .lock()
        .unwrap()
        .push_back(json_reply(200, &json!({"access_token": token, "expires_in": 3600})));
    session.exo().get_policies().await.unwrap();
    let seen = script.seen.lock().unwrap();
    assert_eq!(seen[0].path, "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand");
    assert_eq!(
        seen[0].header("x-anchormailbox").map(str::to_owned),
        Some(format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}"))
    );
}
