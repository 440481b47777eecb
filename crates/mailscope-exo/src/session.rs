//! A connection to one tenant: HTTP client, tokens, limits, counters, and the
//! retry loop every Exchange and Graph call goes through.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use tracing::Instrument as _;

use crate::aimd::{Limiter, Signal, parse_reset};
use crate::body::{BodyError, DEFAULT_MAX_RESPONSE_BYTES, read_capped, redirect_message};
use crate::cloud::{Cloud, EndpointError, EndpointOverrides, Endpoints};
use crate::credentials::{ClientCredentials, Credential};
use crate::error::{ExoError, ExoErrorKind};
use crate::retry::{RetryPolicy, parse_retry_after};
use crate::secret::{scrub, scrub_bytes};
use crate::token::TokenSource;

/// Tuning of a [`Session`].
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Retry policy of every call.
    pub retry: RetryPolicy,
    /// Most requests in flight at once on this session (at least 1): the
    /// ceiling of the adaptive limit ([`crate::Aimd`]),
    /// which starts at [`SessionConfig::initial_concurrency`], grows while
    /// calls succeed and halves on throttling.
    ///
    /// The limit belongs to the [`Session`]: its clones and the
    /// [`crate::ExoClient`] / [`crate::GraphClient`] made from it share it,
    /// another `Session` has its own. One session per tenant is the intended
    /// use; two sessions for the same tenant add up their limits.
    ///
    /// Exchange throttles app-only callers by concurrency as well as by rate
    /// (`X-Concurrencycount`); the adaptive limit finds how many a tenant
    /// takes instead of guessing.
    pub max_concurrency: usize,
    /// Where the adaptive limit starts (clamped to `1..=max_concurrency`;
    /// default [`crate::DEFAULT_INITIAL_CONCURRENCY`]).
    pub initial_concurrency: usize,
    /// `Prefer: odata.maxpagesize` (1..=1000).
    pub page_size: u32,
    /// Per-request timeout. The module allows 960 s per cmdlet (3600 s for
    /// member cmdlets); one page of ours is far smaller.
    pub request_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Largest body read from one `InvokeCommand` page or Graph response
    /// (default 64 MiB). The body is streamed and the call fails with
    /// [`ExoErrorKind::Server`] as soon as it passes the cap; token responses
    /// have a fixed 64 KiB cap.
    pub max_response_bytes: usize,
    /// Extra root CA certificates (PEM, one or more) trusted besides the
    /// built-in roots: the emulator's local CA (`mailscope sim ca`) or a
    /// corporate TLS proxy's. Certificate verification itself is never
    /// turned off.
    pub extra_root_pem: Option<Vec<u8>>,
}

/// Default ceiling of a session's adaptive concurrency: four times the
/// start, room to grow on a quiet tenant while a throttle halves it back.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            initial_concurrency: crate::aimd::DEFAULT_INITIAL_CONCURRENCY,
            page_size: 1000,
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(30),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            extra_root_pem: None,
        }
    }
}

/// Calls made per operation (cmdlet name or Graph request kind), counting
/// every HTTP request: each page and each retry.
#[derive(Debug, Default)]
pub struct CallStats {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl CallStats {
    fn record(&self, op: &str) {
        let mut c = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *c.entry(op.to_owned()).or_default() += 1;
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Sum over all operations.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Resets all counters.
    pub fn reset(&self) {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// Why no response was read.
enum SendError {
    /// The access token cannot be a header value (nothing was sent).
    BadToken,
    /// Transport failure.
    Http(reqwest::Error),
    /// The body of a response with this status passed the cap (bytes).
    TooLarge(u16, usize),
}

/// Whether a request may be sent again after a failure whose outcome is
/// unknown (lost reply, 5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads, and writes whose repeat is harmless or detected by the caller.
    Safe,
    /// Writes whose repeat could do something twice: only retried when the
    /// request certainly was not processed (429, connect failure); otherwise
    /// the error comes back with `maybe_applied` set for the caller to check.
    Unsafe,
}

pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: TokenSource,
    pub(crate) endpoints: Endpoints,
    pub(crate) tenant: String,
    pub(crate) config: SessionConfig,
    /// The adaptive concurrency limit ([`SessionConfig::max_concurrency`]).
    pub(crate) limiter: Limiter,
    pub(crate) stats: CallStats,
}

/// A connection to one tenant, shared by [`crate::ExoClient`] and
/// [`crate::GraphClient`]. Cheap to clone.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("tenant", &self.inner.tenant)
            .field("endpoints", &self.inner.endpoints)
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

/// Errors building a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Bad cloud or endpoint override.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
    /// [`SessionConfig::extra_root_pem`] holds no usable certificate.
    #[error("the extra root CA is not a PEM certificate")]
    RootCertificate(#[source] Option<reqwest::Error>),
}

impl Session {
    /// Connects (lazily: nothing is sent until the first call) to the tenant
    /// of `credentials` in `cloud`, with `overrides` applied.
    pub fn new(
        credentials: ClientCredentials,
        cloud: Cloud,
        overrides: &EndpointOverrides,
        config: SessionConfig,
    ) -> Result<Self, SessionError> {
        let endpoints = Endpoints::new(cloud, overrides)?;
        Self::with_endpoints(credentials, endpoints, config)
    }

    /// Like [`Session::new`] with resolved endpoints.
    pub fn with_endpoints(
        credentials: ClientCredentials,
        endpoints: Endpoints,
        config: SessionConfig,
    ) -> Result<Self, SessionError> {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = &config.extra_root_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| SessionError::RootCertificate(Some(e)))?;
            if roots.is_empty() {
                return Err(SessionError::RootCertificate(None));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder
            // Exchange's 403 carries a NUL-byte body declared as gzip; with
            // decompression on, reading it would fail as a transport error.
            .no_gzip()
            // A 3xx is an error, never followed: see `body::redirect_message`.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("mailscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(SessionError::Http)?;
        let tenant = credentials.tenant.clone();
        let tokens =
            TokenSource::new(http.clone(), &endpoints, credentials, config.retry, config.request_timeout);
        // Sized by this session's own options: no process-wide state, so
        // the first session of a tenant does not decide for later ones.
        let limiter = Limiter::new(config.initial_concurrency, config.max_concurrency);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                tokens,
                endpoints,
                tenant,
                config,
                limiter,
                stats: CallStats::default(),
            }),
        })
    }

    /// The tenant (GUID or domain) as configured.
    pub fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// The resolved endpoints.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The token source (for diagnostics and tests).
    pub fn tokens(&self) -> &TokenSource {
        &self.inner.tokens
    }

    /// Calls made so far, per operation, including pages and retries.
    pub fn stats(&self) -> &CallStats {
        &self.inner.stats
    }

    /// Calls this session lets in flight right now: the adaptive limit,
    /// between 1 and [`SessionConfig::max_concurrency`]. Schedulers size
    /// their own concurrency by it (the applier does), and it is worth a
    /// gauge in metrics.
    pub fn concurrency_limit(&self) -> usize {
        self.inner.limiter.limit()
    }

    /// An Exchange Online client on this session.
    pub fn exo(&self) -> crate::ExoClient {
        crate::ExoClient::new(self.clone())
    }

    /// A Microsoft Graph client on this session.
    pub fn graph(&self) -> crate::GraphClient {
        crate::GraphClient::new(self.clone())
    }

    /// The client secret, if that is the credential (to scrub it from
    /// server-supplied error text).
    fn client_secret(&self) -> &str {
        match &self.inner.tokens.credentials().credential {
            Credential::Secret(s) => s.expose(),
            _ => "",
        }
    }

    /// Sends one logical request with retries. `build` makes the request for
    /// a bearer token; `classify` turns a non-2xx response into an error.
    pub(crate) async fn execute(
        &self,
        op: &str,
        scope: &str,
        replay: Replay,
        client_request_id: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
        classify: impl Fn(&Raw) -> ExoError,
    ) -> Result<Raw, ExoError> {
        let inner = &self.inner;
        let policy = inner.config.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed_after_401 = false;
        loop {
            attempt += 1;
            let token = inner.tokens.token(scope).await.map_err(|e| {
                let mut err = ExoError::new(ExoErrorKind::Token, op, e.to_string());
                err.attempts = attempt;
                err.client_request_id = Some(client_request_id.to_owned());
                err.source = Some(Box::new(e));
                err
            })?;
            let span = tracing::info_span!(
                "exo.call",
                op,
                attempt,
                client_request_id,
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let permit = inner.limiter.acquire().await;
            inner.stats.record(op);
            let t0 = Instant::now();
            let sent = async {
                let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| SendError::BadToken)?;
                auth.set_sensitive(true);
                let resp = build(token.expose())
                    .header(reqwest::header::AUTHORIZATION, auth)
                    .send()
                    .await
                    .map_err(SendError::Http)?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = read_capped(resp, inner.config.max_response_bytes).await.map_err(|e| match e {
                    BodyError::Http(e) => SendError::Http(e),
                    BodyError::TooLarge(cap) => SendError::TooLarge(status, cap),
                })?;
                Ok::<Raw, SendError>(Raw { status, headers, body })
            }
            .instrument(span.clone())
            .await;
            finish_permit(permit, &sent, policy.max_retry_after);
            let elapsed_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
            span.record("duration_ms", elapsed_ms);

            // Decide: success, retry (with an optional server-given delay), or fail.
            let (mut err, retry, retry_after) = match sent {
                Ok(raw) => {
                    span.record("status", raw.status);
                    if (200..300).contains(&raw.status) {
                        tracing::debug!(parent: &span, op, attempt, status = raw.status, duration_ms = elapsed_ms, "call succeeded");
                        return Ok(raw);
                    }
                    if (300..400).contains(&raw.status) {
                        let mut err = ExoError::new(
                            ExoErrorKind::Server,
                            op,
                            redirect_message(raw.status, &raw.headers),
                        );
                        err.status = Some(raw.status);
                        err.attempts = attempt;
                        err.client_request_id = Some(client_request_id.to_owned());
                        tracing::warn!(parent: &span, op, attempt, status = raw.status, "redirect refused");
                        return Err(err);
                    }
                    let retry_after = raw
                        .headers
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    // The body and headers come from the server: an echo of
                    // the bearer token or the client secret must not reach
                    // the error (and from there logs and journals).
                    let secrets = [token.expose(), self.client_secret()];
                    let scrubbed = Raw {
                        status: raw.status,
                        headers: raw.headers.clone(),
                        body: scrub_bytes(&raw.body, &secrets),
                    };
                    let mut err = classify(&scrubbed);
                    err.message = scrub(&err.message, &secrets);
                    err.exception_type = err.exception_type.as_deref().map(|t| scrub(t, &secrets));
                    err.error_id = err.error_id.as_deref().map(|t| scrub(t, &secrets));
                    err.retry_after = retry_after;
                    if raw.status == 401 && !refreshed_after_401 {
                        // A claims challenge or a token minted before a
                        // grant: fetch a fresh token once.
                        refreshed_after_401 = true;
                        inner.tokens.invalidate(scope, &token).await;
                        tracing::info!(parent: &span, op, attempt, "401: refreshing the token and retrying once");
                        continue;
                    }
                    let transient_500 = raw.status == 500 && err.is_transient_server_error();
                    let unknown_outcome = matches!(raw.status, 500 | 502 | 503 | 504);
                    let retry = match raw.status {
                        429 => true,
                        502..=504 => replay == Replay::Safe,
                        500 => transient_500 && replay == Replay::Safe,
                        _ => false,
                    };
                    err.maybe_applied = replay == Replay::Unsafe && unknown_outcome;
                    (err, retry, retry_after)
                }
                Err(SendError::TooLarge(status, cap)) => {
                    span.record("status", status);
                    let mut err = ExoError::new(
                        ExoErrorKind::Server,
                        op,
                        format!("the response body exceeds the {cap}-byte cap (max_response_bytes)"),
                    );
                    err.status = Some(status);
                    err.maybe_applied = replay == Replay::Unsafe;
                    (err, false, None)
                }
                // Nothing was sent: retried like a connect failure.
                Err(SendError::BadToken) => (
                    ExoError::new(ExoErrorKind::Transport, op, "the token is not a valid header value"),
                    true,
                    None,
                ),
                Err(SendError::Http(e)) => {
                    let connect = e.is_connect();
                    let e = e.without_url();
                    let mut err = ExoError::new(ExoErrorKind::Transport, op, e.to_string());
                    err.source = Some(Box::new(e));
                    // A connect failure means nothing was sent; anything
                    // later (reset, timeout) leaves the outcome unknown.
                    err.maybe_applied = replay == Replay::Unsafe && !connect;
                    (err, connect || replay == Replay::Safe, None)
                }
            };
            err.attempts = attempt;
            err.client_request_id = Some(client_request_id.to_owned());
            let delay = policy.delay(attempt, retry_after);
            if !retry || attempt >= policy.max_attempts || started.elapsed() + delay > policy.total_budget {
                tracing::warn!(parent: &span, op, attempt, kind = %err.kind, status = err.status, "call failed");
                return Err(err);
            }
            tracing::warn!(
                parent: &span,
                op,
                attempt,
                kind = %err.kind,
                status = err.status,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "call failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// Tells the adaptive limit what an answer says about the service's load:
/// 429 and 503 (and a 500 naming an overload exception) are throttling, with
/// their `Retry-After`; a 2xx is a success; anything else says nothing
/// about load. The `Rate-Limit-*` headers count whenever present. Pauses
/// are capped at `max_pause` (the retry policy's `max_retry_after`): the
/// values come from the server, and a huge one must not stall the session
/// longer than a retry would wait.
fn finish_permit(permit: crate::aimd::Permit<'_>, sent: &Result<Raw, SendError>, max_pause: Duration) {
    let Ok(raw) = sent else {
        drop(permit);
        return;
    };
    let header = |name: &str| raw.headers.get(name).and_then(|v| v.to_str().ok());
    let overloaded = || {
        let body = String::from_utf8_lossy(&raw.body);
        crate::retry::OVERLOAD_EXCEPTIONS.iter().any(|e| body.contains(e))
    };
    let signal = match raw.status {
        200..=299 => Some(Signal::Success),
        429 | 503 => Some(Signal::Throttled),
        500 if overloaded() => Some(Signal::Throttled),
        _ => None,
    };
    let retry_after = header("retry-after").and_then(parse_retry_after).map(|d| d.min(max_pause));
    let rate_limit =
        header("rate-limit-remaining").and_then(|v| v.trim().parse::<u64>().ok()).map(|remaining| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            (
                remaining,
                header("rate-limit-reset").and_then(|v| parse_reset(v, now)).map(|d| d.min(max_pause)),
            )
        });
    permit.finish(signal, retry_after, rate_limit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(max_concurrency: usize) -> Session {
        let creds = ClientCredentials::with_secret(
            "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c",
            "11111111-2222-4333-8444-555555555555",
            "s",
        )
        .unwrap();
        let config = SessionConfig { max_concurrency, ..SessionConfig::default() };
        Session::new(creds, Cloud::Public, &EndpointOverrides::default(), config).unwrap()
    }

    #[test]
    fn each_session_owns_its_concurrency_limit() {
        // Same tenant, different options: the second session must not
        // inherit the first one's size (it did with a process-wide map).
        let small = session(1);
        let large = session(4);
        assert_eq!(small.inner.limiter.available(), 1);
        assert_eq!(large.inner.limiter.available(), 4);
        assert_eq!(large.concurrency_limit(), 4);
        assert_eq!(session(0).inner.limiter.available(), 1, "0 is raised to 1");
        // Clones share the one limit.
        let clone = large.clone();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let _permit = rt.block_on(clone.inner.limiter.acquire());
        assert_eq!(large.inner.limiter.available(), 3);
    }
}
