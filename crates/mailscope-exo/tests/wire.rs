//! Wire-level behaviour against a scripted loopback HTTP server: exact
//! headers, paging, the NUL-"gzip" 403, Retry-After, resets, lost replies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailscope_exo::{
    ClientCredentials, Cloud, EndpointOverrides, ExoErrorKind, RetryPolicy, Session, SessionConfig,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TENANT: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
const CLIENT: &str = "11111111-2222-4333-8444-555555555555";

/// A scripted reply: raw head + body, or a dropped connection.
enum Reply {
    Http { status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8> },
    Reset,
}

fn json_reply(status: u16, v: &Value) -> Reply {
    Reply::Http {
        status,
        headers: vec![("Content-Type", "application/json".into())],
        body: v.to_string().into_bytes(),
    }
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
    tokens: Mutex<u32>,
}

async fn serve(script: Arc<Script>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let script = script.clone();
            tokio::spawn(async move {
                loop {
                    // Read one request (headers + Content-Length body).
                    let mut buf = Vec::new();
                    let head_end = loop {
                        let mut chunk = [0u8; 4096];
                        let Ok(n) = sock.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let path = lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_owned();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())))
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 4096];
                        let Ok(n) = sock.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = buf[head_end..head_end + len].to_vec();
                    let reply = if path.contains("/oauth2/v2.0/token") {
                        let mut n = script.tokens.lock().unwrap();
                        *n += 1;
                        json_reply(
                            200,
                            &json!({"token_type":"Bearer","expires_in":3599,"access_token":format!("tok-{n}")}),
                        )
                    } else {
                        script.seen.lock().unwrap().push(Seen { path, headers, body });
                        script
                            .replies
                            .lock()
                            .unwrap()
                            .pop_front()
                            .unwrap_or_else(|| json_reply(200, &json!({"value": []})))
                    };
                    match reply {
                        Reply::Reset => return, // Drop the socket without a response.
                        Reply::Http { status, headers, body } => {
                            let mut out =
                                format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                            for (k, v) in headers {
                                out.push_str(&format!("{k}: {v}\r\n"));
                            }
                            out.push_str("\r\n");
                            let mut bytes = out.into_bytes();
                            bytes.extend_from_slice(&body);
                            if sock.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    base
}

async fn setup(replies: Vec<Reply>) -> (Arc<Script>, Session, String) {
    let script = Arc::new(Script::default());
    script.replies.lock().unwrap().extend(replies);
    let base = serve(script.clone()).await;
    let creds = ClientCredentials::with_secret(TENANT, CLIENT, "wire-secret").unwrap();
    let config = SessionConfig {
        retry: RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
            total_budget: Duration::from_secs(30),
        },
        page_size: 2,
        ..SessionConfig::default()
    };
    let session = Session::new(creds, Cloud::Public, &EndpointOverrides::all(&base), config).unwrap();
    (script, session, base)
}

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
