//! A scripted loopback HTTP/1.1 server: answers token requests itself and
//! plays a queue of replies (or connection resets) to every other request.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailscope_exo::{ClientCredentials, Cloud, EndpointOverrides, RetryPolicy, Session, SessionConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const TENANT: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
pub const CLIENT: &str = "11111111-2222-4333-8444-555555555555";

/// A scripted reply: raw head + body, or a dropped connection.
pub enum Reply {
    Http {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Bytes written as they are (status line and headers included), e.g. a
    /// chunked body without `Content-Length`.
    Raw(Vec<u8>),
    Reset,
}

pub fn json_reply(status: u16, v: &Value) -> Reply {
    Reply::Http {
        status,
        headers: vec![("Content-Type", "application/json".into())],
        body: v.to_string().into_bytes(),
    }
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct Script {
    pub replies: Mutex<VecDeque<Reply>>,
    pub seen: Mutex<Vec<Seen>>,
    pub tokens: Mutex<u32>,
    pub token_bodies: Mutex<Vec<String>>,
    /// Replies to token requests, in order; the default token after them.
    pub token_replies: Mutex<VecDeque<Reply>>,
    /// How long the token endpoint waits before answering.
    pub token_delay: Mutex<Duration>,
}

pub async fn serve(script: Arc<Script>) -> String {
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
                        script.token_bodies.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
                        let n = {
                            let mut n = script.tokens.lock().unwrap();
                            *n += 1;
                            *n
                        };
                        let delay = *script.token_delay.lock().unwrap();
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        let scripted = script.token_replies.lock().unwrap().pop_front();
                        scripted.unwrap_or_else(|| {
                            json_reply(
                                200,
                                &json!({"token_type":"Bearer","expires_in":3599,"access_token":format!("tok-{n}")}),
                            )
                        })
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
                        Reply::Raw(bytes) => {
                            if sock.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                        Reply::Http { status, headers, body } => {
                            let mut out =
                                format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                            for (k, v) in headers {
                                out.push_str(k);
                                out.push_str(": ");
                                out.push_str(&v);
                                out.push_str("\r\n");
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

pub async fn setup(replies: Vec<Reply>) -> (Arc<Script>, Session, String) {
    let creds = ClientCredentials::with_secret(TENANT, CLIENT, "wire-secret").unwrap();
    setup_with(replies, creds).await
}

/// Like [`setup`] with other credentials.
pub async fn setup_with(replies: Vec<Reply>, creds: ClientCredentials) -> (Arc<Script>, Session, String) {
    setup_full(replies, creds, |_| {}).await
}

/// Like [`setup`] with changes to the session options.
pub async fn setup_config(
    replies: Vec<Reply>,
    tune: impl FnOnce(&mut SessionConfig),
) -> (Arc<Script>, Session, String) {
    let creds = ClientCredentials::with_secret(TENANT, CLIENT, "wire-secret").unwrap();
    setup_full(replies, creds, tune).await
}

async fn setup_full(
    replies: Vec<Reply>,
    creds: ClientCredentials,
    tune: impl FnOnce(&mut SessionConfig),
) -> (Arc<Script>, Session, String) {
    let script = Arc::new(Script::default());
    script.replies.lock().unwrap().extend(replies);
    let base = serve(script.clone()).await;
    let mut config = SessionConfig {
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
    tune(&mut config);
    let session = Session::new(creds, Cloud::Public, &EndpointOverrides::all(&base), config).unwrap();
    (script, session, base)
}
