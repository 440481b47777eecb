//! A loopback fake of the GitHub Actions ID token service
//! (`ACTIONS_ID_TOKEN_REQUEST_URL`): `GET …&audience=…` with
//! `Authorization: Bearer <request token>` answers `{"value": "<jwt>"}`.
//!
//! Its ID tokens are signed with the test-only key of the fake issuer
//! `https://token.actions.githubusercontent.com` that the Contoso seed
//! registers as a federated credential of the operator app, and expire
//! after a lifetime the test chooses, so a test can make them expire in the
//! middle of a run. It counts the ID tokens it hands out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The request token the fake accepts (the runner's `ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
pub const REQUEST_TOKEN: &str = "fake-actions-request-token-test-only";
/// The subject of the Contoso operator's federated credential.
pub const SUBJECT: &str = "repo:contoso/mailscope-policies:ref:refs/heads/main";
/// The issuer of the Contoso operator's federated credential.
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The running fake; stops when dropped.
#[derive(Debug)]
pub struct FakeActions {
    url: String,
    issued: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeActions {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeActions {
    /// Serves on `127.0.0.1:0` ID tokens for `subject` valid `lifetime_secs`.
    ///
    /// # Panics
    /// When loopback cannot be bound or the test key is missing.
    pub async fn start(subject: &str, lifetime_secs: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let key = std::fs::read(crate::sim_testdata("federated-issuer.key.pem")).expect("test issuer key");
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&key).expect("RSA key");
        let (issued, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (i, r, subject) = (issued.clone(), refused.clone(), subject.to_owned());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else { return };
                let (key, i, r, subject) = (key.clone(), i.clone(), r.clone(), subject.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65_536 {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let (status, body) = answer(&head, &key, &subject, lifetime_secs);
                    if status == 200 {
                        i.fetch_add(1, Ordering::SeqCst);
                    } else {
                        r.fetch_add(1, Ordering::SeqCst);
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self {
            url: format!("http://{addr}/_apis/distributedtask/idtoken?api-version=2.0"),
            issued,
            refused,
            task,
        }
    }

    /// The value of `ACTIONS_ID_TOKEN_REQUEST_URL` (with its own query, as the runner's).
    pub fn request_url(&self) -> &str {
        &self.url
    }

    /// ID tokens handed out so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }

    /// Requests refused (wrong request token, path or audience).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }
}

/// `(status, body)` for one request head.
fn answer(head: &str, key: &jsonwebtoken::EncodingKey, subject: &str, lifetime: u64) -> (u16, String) {
    let mut lines = head.split("\r\n");
    let target =
        lines.next().and_then(|l| l.strip_prefix("GET ")).and_then(|l| l.split(' ').next()).unwrap_or("");
    let authorized = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("authorization") && v.trim() == format!("Bearer {REQUEST_TOKEN}")
        })
    });
    if !authorized {
        return (401, r#"{"message":"Bad credentials"}"#.to_owned());
    }
    let Some((path, query)) = target.split_once('?') else {
        return (400, r#"{"message":"no query"}"#.to_owned());
    };
    let audience = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "audience")
        .map(|(_, v)| v.replace("%3A", ":").replace("%2F", "/").replace("%3a", ":").replace("%2f", "/"));
    if path != "/_apis/distributedtask/idtoken" || !query.split('&').any(|kv| kv == "api-version=2.0") {
        return (404, r#"{"message":"Not Found"}"#.to_owned());
    }
    let Some(audience) = audience else {
        return (400, r#"{"message":"audience is required"}"#.to_owned());
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": subject, "aud": audience, "iat": now, "nbf": now.saturating_sub(5),
        "exp": now + lifetime, "jti": format!("{now}-{}", std::process::id()),
        "repository": "contoso/mailscope-policies", "ref": "refs/heads/main",
    });
    match jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, key) {
        Ok(jwt) => (200, serde_json::json!({ "count": 1, "value": jwt }).to_string()),
        Err(e) => (500, serde_json::json!({ "message": e.to_string() }).to_string()),
    }
}
