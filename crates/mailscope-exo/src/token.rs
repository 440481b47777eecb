//! Access tokens from the Entra ID token endpoint (client credentials grant).
//!
//! One hand-written form POST covers the app credentials (secret, certificate,
//! federated token file, GitHub Actions ID token); a managed identity asks
//! its host's endpoint instead (`managed_identity`). Tokens are
//! cached in memory per scope and refreshed [`REFRESH_SKEW`] before they
//! expire; concurrent callers that find the cache stale wait for one refresh
//! instead of each sending their own request.
//!
//! A refresh has one deadline (the session's request timeout) covering all
//! its attempts. Callers that waited for a refresh share its outcome: when it
//! fails they get its error at once instead of each starting their own, so a
//! hanging token endpoint costs the timeout once, not once per waiting call.
//!
//! The endpoint's answer is untrusted: no redirect is followed (it would
//! carry the credential elsewhere), the body is capped at 64 KiB, and
//! `expires_in` is clamped to [`MAX_TOKEN_LIFETIME`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::Instrument as _;

use crate::body::{BodyError, MAX_TOKEN_RESPONSE_BYTES, read_capped, redirect_message};
use crate::cloud::Endpoints;
use crate::credentials::{ClientCredentials, Credential, CredentialError, read_token_file};
use crate::retry::RetryPolicy;
use crate::secret::{self, Secret};

/// How long before expiry a cached token is replaced.
///
/// A token taken from the cache is not used at once: the request may wait
/// behind the per-tenant concurrency limit, be retried with backoff for a few
/// minutes after throttling, or page through a large result. Five minutes of
/// margin makes sure the token is still valid when the request reaches the
/// service (Entra issues 60–90 minute tokens, so this costs nothing), and it
/// matches the margin MSAL uses. Expiry is computed on the monotonic clock
/// from `expires_in`, so the local wall clock's skew does not matter.
pub(crate) const REFRESH_SKEW: Duration = Duration::from_secs(300);

/// Longest lifetime believed from `expires_in` (one day; Entra issues 60–90
/// minute tokens). Larger values, up to `u64::MAX`, are clamped to it.
pub(crate) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An access token. `Debug`/`Display` print `[redacted]`.
#[derive(Clone)]
pub struct AccessToken {
    secret: Secret,
    /// When the token should be replaced (expiry minus the skew).
    pub refresh_at: Instant,
}

impl AccessToken {
    /// The bearer value; only for the `Authorization` header.
    pub fn expose(&self) -> &str {
        self.secret.expose()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Why no token could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Entra ID answered with an error (wrong secret, unknown app, …).
    #[error("Entra ID refused the token request for {scope}{}: {description}{}",
        .aadsts.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
        hint(.aadsts.as_deref()))]
    Entra {
        /// The scope requested.
        scope: String,
        /// HTTP status.
        status: u16,
        /// OAuth `error` (e.g. `invalid_client`).
        error: String,
        /// `AADSTSnnnnn`, from `error_codes[0]` or the description.
        aadsts: Option<String>,
        /// First line of `error_description` (never includes the credential).
        description: String,
        /// `trace_id`, for support cases.
        trace_id: Option<String>,
        /// `correlation_id`, for support cases.
        correlation_id: Option<String>,
    },
    /// The token endpoint could not be reached.
    #[error("cannot reach the token endpoint {url}")]
    Transport {
        /// The token endpoint.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint answered something that is not a token.
    #[error("unexpected answer from the token endpoint {url} (HTTP {status}): {reason}")]
    InvalidResponse {
        /// The token endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// What is wrong.
        reason: String,
    },
    /// The GitHub Actions runner did not hand out an ID token.
    #[error("cannot get a GitHub Actions ID token from {url} (HTTP {status}): {reason}")]
    IdToken {
        /// The runner's ID token URL, without its query.
        url: String,
        /// HTTP status.
        status: u16,
        /// What went wrong (never a token).
        reason: String,
    },
    /// The managed identity endpoint refused the token request.
    #[error("the managed identity endpoint {url} refused the token request (HTTP {status}): {description}{}",
        mi_hint(*.status, .description))]
    ManagedIdentity {
        /// The endpoint, without its query.
        url: String,
        /// HTTP status.
        status: u16,
        /// The endpoint's error text, first line.
        description: String,
    },
    /// The credential could not be used (e.g. the federated token file vanished).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The client assertion could not be signed.
    #[error("cannot sign the client assertion: {0}")]
    Signing(String),
    /// The token request (all its attempts) did not finish within its
    /// deadline.
    #[error("the token endpoint {url} did not answer within {}s", .after.as_secs())]
    Timeout {
        /// The token endpoint.
        url: String,
        /// The deadline.
        after: Duration,
    },
    /// The token request this call waited for (sent by a concurrent caller
    /// for the same scope) failed with this error.
    #[error("{0}")]
    Shared(String),
}

impl AuthError {
    /// A copy for the callers that waited for the failed request. Transport
    /// and credential causes cannot be cloned; they keep their text.
    fn for_waiters(&self) -> AuthError {
        match self {
            AuthError::Entra { scope, status, error, aadsts, description, trace_id, correlation_id } => {
                AuthError::Entra {
                    scope: scope.clone(),
                    status: *status,
                    error: error.clone(),
                    aadsts: aadsts.clone(),
                    description: description.clone(),
                    trace_id: trace_id.clone(),
                    correlation_id: correlation_id.clone(),
                }
            }
            AuthError::InvalidResponse { url, status, reason } => {
                AuthError::InvalidResponse { url: url.clone(), status: *status, reason: reason.clone() }
            }
            AuthError::Signing(s) => AuthError::Signing(s.clone()),
            AuthError::IdToken { url, status, reason } => {
                AuthError::IdToken { url: url.clone(), status: *status, reason: reason.clone() }
            }
            AuthError::ManagedIdentity { url, status, description } => AuthError::ManagedIdentity {
                url: url.clone(),
                status: *status,
                description: description.clone(),
            },
            AuthError::Timeout { url, after } => AuthError::Timeout { url: url.clone(), after: *after },
            AuthError::Shared(s) => AuthError::Shared(s.clone()),
            AuthError::Transport { .. } | AuthError::Credential(_) => {
                let mut text = self.to_string();
                let mut source = std::error::Error::source(self);
                while let Some(e) = source {
                    text.push_str(": ");
                    text.push_str(&e.to_string());
                    source = e.source();
                }
                AuthError::Shared(text)
            }
        }
    }
}

fn hint(code: Option<&str>) -> &'static str {
    match code {
        Some("AADSTS7000215") => " (hint: AZURE_CLIENT_SECRET is wrong or expired)",
        Some("AADSTS7000222") => " (hint: the client secret expired; create a new one)",
        Some("AADSTS700016") => {
            " (hint: AZURE_CLIENT_ID is not an app in this tenant, or admin consent is missing)"
        }
        Some("AADSTS90002" | "AADSTS900023") => " (hint: AZURE_TENANT_ID names no tenant)",
        Some("AADSTS700027" | "AADSTS700023") => {
            " (hint: the certificate is not uploaded to the app registration, or the assertion is malformed)"
        }
        Some("AADSTS70021" | "AADSTS700213" | "AADSTS700211") => {
            " (hint: no federated credential on the app matches the token's issuer, subject and audience)"
        }
        Some("AADSTS7002137" | "AADSTS7002138") => {
            " (hint: no federated credential on the app has this token's subject; the match is \
             case-sensitive, so compare the token's `sub`, e.g. repo:owner/name:environment:prod, \
             with the credential character for character)"
        }
        Some("AADSTS700024") => {
            " (hint: the assertion is outside its validity window; check the clock or refresh the federated token)"
        }
        Some("AADSTS7000112") => " (hint: the application is disabled)",
        _ => "",
    }
}

fn mi_hint(status: u16, description: &str) -> &'static str {
    let d = description.to_ascii_lowercase();
    if status == 400
        && (d.contains("identity not found") || d.contains("no managed identity") || d.contains("msi"))
    {
        " (hint: no managed identity is assigned to this host, or AZURE_CLIENT_ID names a user-assigned \
         identity that is not assigned to it)"
    } else if status == 401 || status == 403 {
        " (hint: IDENTITY_HEADER is stale or wrong; it is set by the platform, do not set it by hand)"
    } else {
        ""
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct EntraError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

/// The cache of one scope.
#[derive(Default)]
struct SlotState {
    token: Option<AccessToken>,
    /// Refreshes finished so far.
    fetches: u64,
    /// The error of the last refresh, if it failed, tagged with its number.
    failure: Option<(u64, AuthError)>,
}

#[derive(Default)]
struct SlotInner {
    state: tokio::sync::Mutex<SlotState>,
    /// `state.fetches`, readable without waiting for the lock.
    fetches: std::sync::atomic::AtomicU64,
}

type Slot = Arc<SlotInner>;

/// Obtains and caches access tokens for one app registration.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    credentials: ClientCredentials,
    retry: RetryPolicy,
    deadline: Duration,
    slots: Mutex<HashMap<String, Slot>>,
    requests: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("client_id", &self.credentials.client_id)
            .field("credential", &self.credentials.credential.kind())
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A token source for `credentials` at the endpoints' login authority;
    /// one refresh, all attempts included, ends after `deadline`. `http`
    /// must not follow redirects.
    pub(crate) fn new(
        http: reqwest::Client,
        endpoints: &Endpoints,
        credentials: ClientCredentials,
        retry: RetryPolicy,
        deadline: Duration,
    ) -> Self {
        // A managed identity endpoint is on this host (IMDS's link-local
        // address, or loopback): an HTTP(S)_PROXY must not carry the request
        // (and the identity header) elsewhere, as azure-identity also
        // ensures. Its own client has no proxy; if one cannot be built, the
        // session's is used.
        let http = if matches!(credentials.credential, Credential::ManagedIdentity(_)) {
            reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(deadline)
                .user_agent(concat!("mailscope/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or(http)
        } else {
            http
        };
        Self {
            http,
            token_url: endpoints.token_url(&credentials.tenant),
            credentials,
            retry,
            deadline,
            slots: Mutex::new(HashMap::new()),
            requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The credentials in use.
    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// Token requests sent so far (for tests of the cache).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn slot(&self, scope: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.entry(scope.to_owned()).or_default().clone()
    }

    /// A valid token for `scope` (e.g. `https://outlook.office365.com/.default`),
    /// from the cache or freshly requested.
    pub async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let slot = self.slot(scope);
        let before = slot.fetches.load(std::sync::atomic::Ordering::SeqCst);
        // Holding the slot's lock across the request is the single flight:
        // other callers for the same scope wait here and then find the cache
        // fresh, or share the failure of the refresh they waited for.
        let mut state = slot.state.lock().await;
        if let Some(t) = state.token.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.clone());
        }
        if state.fetches != before
            && let Some((n, e)) = &state.failure
            && *n == state.fetches
        {
            return Err(e.for_waiters());
        }
        let result = match tokio::time::timeout(self.deadline, self.request(scope)).await {
            Ok(result) => result,
            Err(_) => Err(AuthError::Timeout { url: self.token_url.clone(), after: self.deadline }),
        };
        state.fetches += 1;
        slot.fetches.store(state.fetches, std::sync::atomic::Ordering::SeqCst);
        match result {
            Ok(fresh) => {
                state.token = Some(fresh.clone());
                state.failure = None;
                Ok(fresh)
            }
            Err(e) => {
                state.failure = Some((state.fetches, e.for_waiters()));
                Err(e)
            }
        }
    }

    /// Drops the cached token for `scope` if it is still `stale` (after a 401).
    pub async fn invalidate(&self, scope: &str, stale: &AccessToken) {
        let slot = self.slot(scope);
        let mut cache = slot.state.lock().await;
        if cache.token.as_ref().is_some_and(|t| t.expose() == stale.expose()) {
            cache.token = None;
        }
    }

    async fn request(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let span = tracing::debug_span!(
                "entra.token",
                scope,
                credential = self.credentials.credential.kind(),
                attempt,
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let t0 = Instant::now();
            let result = self.request_once(scope).instrument(span.clone()).await;
            span.record("duration_ms", u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX));
            let (retryable, retry_after) = match &result {
                Ok(_) => return result,
                Err(AuthError::Transport { source, .. }) => {
                    (source.is_connect() || source.is_timeout() || source.is_request(), None)
                }
                Err(
                    AuthError::InvalidResponse { status, .. }
                    | AuthError::Entra { status, .. }
                    | AuthError::IdToken { status, .. },
                ) => (*status == 429 || *status >= 500, None),
                // IMDS answers 410 while it is being updated, and 404 while
                // the identity is still being assigned: both pass.
                Err(AuthError::ManagedIdentity { status, .. }) => {
                    (matches!(*status, 404 | 410 | 429) || *status >= 500, None)
                }
                Err(_) => (false, None),
            };
            let delay = self.retry.delay(attempt, retry_after);
            if !retryable
                || attempt >= self.retry.max_attempts
                || started.elapsed() + delay > self.retry.total_budget
            {
                return result;
            }
            tracing::warn!(parent: &span, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "token request failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn request_once(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let c = &self.credentials;
        if let Credential::ManagedIdentity(identity) = &c.credential {
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Managed identity endpoints take the resource, not a scope.
            let resource = scope.strip_suffix("/.default").unwrap_or(scope);
            let (secret, lifetime) = identity.request(&self.http, resource).await?;
            return Ok(fresh_token(secret, lifetime));
        }
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", c.client_id.clone()),
            ("scope", scope.to_owned()),
        ];
        // The credential value, kept to scrub it from any error text.
        let credential: Secret = match &c.credential {
            Credential::Secret(s) => {
                form.push(("client_secret", s.expose().to_owned()));
                s.clone()
            }
            Credential::Certificate(cert) => {
                let jwt = cert.sign(&c.client_id, &self.token_url).map_err(AuthError::Signing)?;
                form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
                form.push(("client_assertion", jwt.expose().to_owned()));
                jwt
            }
            Credential::FederatedTokenFile(path) => {
                // Re-read on every refresh: the runner rotates the file.
                let jwt = read_token_file(crate::credentials::ENV_FEDERATED_TOKEN_FILE, path)?;
                form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
                form.push(("client_assertion", jwt.expose().to_owned()));
                jwt
            }
            Credential::GitHubOidc(github) => {
                // A fresh ID token for every access token: GitHub's expire
                // within minutes, long before a long apply ends.
                let jwt = github.id_token(&self.http).await?;
                form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
                form.push(("client_assertion", jwt.expose().to_owned()));
                jwt
            }
            Credential::ManagedIdentity(_) => unreachable!("answered above"),
        };
        self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = self
            .http
            .post(&self.token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|source| AuthError::Transport {
                url: self.token_url.clone(),
                source: source.without_url(),
            })?;
        drop(form);
        let status = resp.status().as_u16();
        tracing::Span::current().record("status", status);
        if (300..400).contains(&status) {
            return Err(AuthError::InvalidResponse {
                url: self.token_url.clone(),
                status,
                reason: redirect_message(status, resp.headers()),
            });
        }
        let bytes = read_capped(resp, MAX_TOKEN_RESPONSE_BYTES).await.map_err(|e| match e {
            BodyError::Http(source) => {
                AuthError::Transport { url: self.token_url.clone(), source: source.without_url() }
            }
            BodyError::TooLarge(cap) => AuthError::InvalidResponse {
                url: self.token_url.clone(),
                status,
                reason: format!("the body exceeds the {cap}-byte cap"),
            },
        })?;
        let scrub = |s: &str| secret::scrub(s, &[credential.expose()]);
        if (200..300).contains(&status) {
            let parsed: TokenResponse =
                serde_json::from_slice(&bytes).map_err(|_| AuthError::InvalidResponse {
                    url: self.token_url.clone(),
                    status,
                    reason: "the body is not a token response".to_owned(),
                })?;
            let token =
                parsed.access_token.filter(|t| !t.is_empty()).ok_or_else(|| AuthError::InvalidResponse {
                    url: self.token_url.clone(),
                    status,
                    reason: "no access_token in the response".to_owned(),
                })?;
            let expires_in = match parsed.expires_in {
                Some(serde_json::Value::Number(n)) => n.as_u64(),
                Some(serde_json::Value::String(s)) => s.parse().ok(),
                _ => None,
            }
            .unwrap_or(3600);
            // Untrusted: a huge value would overflow `Instant + Duration`.
            let lifetime = Duration::from_secs(expires_in).min(MAX_TOKEN_LIFETIME);
            return Ok(fresh_token(Secret::new(token), lifetime));
        }
        match serde_json::from_slice::<EntraError>(&bytes) {
            Ok(e) if !e.error.is_empty() || !e.error_description.is_empty() => {
                let first_line = e.error_description.lines().next().unwrap_or("").trim();
                let aadsts = e.error_codes.first().map(|c| format!("AADSTS{c}")).or_else(|| {
                    first_line.split(':').next().filter(|p| p.starts_with("AADSTS")).map(str::to_owned)
                });
                Err(AuthError::Entra {
                    scope: scope.to_owned(),
                    status,
                    error: scrub(&e.error),
                    aadsts,
                    description: scrub(first_line),
                    trace_id: e.trace_id.as_deref().map(scrub),
                    correlation_id: e.correlation_id.as_deref().map(scrub),
                })
            }
            _ => Err(AuthError::InvalidResponse {
                url: self.token_url.clone(),
                status,
                reason: "the body is not an Entra error".to_owned(),
            }),
        }
    }
}

/// A token that lives `lifetime` from now (already clamped), refreshed
/// [`REFRESH_SKEW`] before it ends.
fn fresh_token(secret: Secret, lifetime: Duration) -> AccessToken {
    // Short-lived tokens (emulator, some federated flows) would be
    // stale at once with the full skew; refresh those at half-life.
    let skew = if lifetime > REFRESH_SKEW * 2 { REFRESH_SKEW } else { lifetime / 2 };
    AccessToken { secret, refresh_at: Instant::now() + lifetime.saturating_sub(skew) }
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn federated_mismatch_codes_have_hints() {
        for code in ["AADSTS7002137", "AADSTS7002138"] {
            assert!(hint(Some(code)).contains("case-sensitive"), "{code}");
        }
        assert!(hint(Some("AADSTS70021")).contains("federated credential"));
        assert_eq!(hint(Some("AADSTS1")), "");
        assert_eq!(hint(None), "");
    }
}
