//! Access tokens from the Entra ID token endpoint (client credentials grant).
//!
//! One hand-written form POST covers the three credential kinds. Tokens are
//! cached in memory per scope and refreshed [`REFRESH_SKEW`] before they
//! expire; concurrent callers that find the cache stale wait for one refresh
//! instead of each sending their own request.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::Instrument as _;

use crate::cloud::Endpoints;
use crate::credentials::{ClientCredentials, Credential, CredentialError, read_token_file};
use crate::retry::RetryPolicy;
use crate::secret::Secret;

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
    /// The credential could not be used (e.g. the federated token file vanished).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The client assertion could not be signed.
    #[error("cannot sign the client assertion: {0}")]
    Signing(String),
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
        Some("AADSTS700024") => {
            " (hint: the assertion is outside its validity window; check the clock or refresh the federated token)"
        }
        Some("AADSTS7000112") => " (hint: the application is disabled)",
        _ => "",
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

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Obtains and caches access tokens for one app registration.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    credentials: ClientCredentials,
    retry: RetryPolicy,
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
    /// A token source for `credentials` at the endpoints' login authority.
    pub fn new(
        http: reqwest::Client,
        endpoints: &Endpoints,
        credentials: ClientCredentials,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            token_url: endpoints.token_url(&credentials.tenant),
            credentials,
            retry,
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
        // Holding the slot's lock across the request is the single flight:
        // other callers for the same scope wait here and then find the cache
        // fresh.
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.clone());
        }
        let fresh = self.request(scope).await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drops the cached token for `scope` if it is still `stale` (after a 401).
    pub async fn invalidate(&self, scope: &str, stale: &AccessToken) {
        let slot = self.slot(scope);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|t| t.expose() == stale.expose()) {
            *cached = None;
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
                Err(AuthError::InvalidResponse { status, .. } | AuthError::Entra { status, .. }) => {
                    (*status == 429 || *status >= 500, None)
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
        let bytes = resp.bytes().await.map_err(|source| AuthError::Transport {
            url: self.token_url.clone(),
            source: source.without_url(),
        })?;
        let scrub = |s: &str| s.replace(credential.expose(), "[redacted]");
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
            let lifetime = Duration::from_secs(expires_in);
            // Short-lived tokens (emulator, some federated flows) would be
            // stale at once with the full skew; refresh those at half-life.
            let skew = if lifetime > REFRESH_SKEW * 2 { REFRESH_SKEW } else { lifetime / 2 };
            return Ok(AccessToken {
                secret: Secret::new(token),
                refresh_at: Instant::now() + lifetime.saturating_sub(skew),
            });
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
                    trace_id: e.trace_id,
                    correlation_id: e.correlation_id,
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
