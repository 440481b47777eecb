//! Azure managed identity: access tokens from the host's identity endpoint.
//!
//! Two endpoints, as azure-identity and MSAL speak them (Microsoft Learn,
//! "How to use managed identities for Azure resources on an Azure VM to
//! acquire an access token" and "Managed identities for App Service and
//! Azure Functions"):
//!
//! - **IMDS** (VMs, VM scale sets, AKS nodes): `GET
//!   http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`
//!   with `Metadata: true`; `client_id=` picks a user-assigned identity.
//! - **App Service, Functions, Container Apps**: `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=…`
//!   with `X-IDENTITY-HEADER: $IDENTITY_HEADER` (a secret the platform
//!   rotates); `client_id=` likewise.
//!
//! Both answer `access_token` with `expires_in` and/or `expires_on` (Unix
//! seconds, as a number or a string); both are untrusted and clamped.
//!
//! Plain HTTP is how these endpoints are served, so it is allowed for exactly
//! the IMDS address `169.254.169.254` and loopback (where App Service and
//! Container Apps listen); anything else must be HTTPS. The endpoints can be
//! overridden (`MAILSCOPE_IMDS_URL`, `IDENTITY_ENDPOINT`) so the emulator
//! serves them in tests.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use serde::Deserialize;

use crate::body::{BodyError, MAX_TOKEN_RESPONSE_BYTES, read_capped, redirect_message};
use crate::credentials::{CredentialError, ENV_IDENTITY_ENDPOINT, ENV_IDENTITY_HEADER, ENV_IMDS_URL};
use crate::secret::{Secret, scrub};
use crate::token::{AuthError, MAX_TOKEN_LIFETIME};

/// The instance metadata service's fixed link-local address.
const IMDS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
/// Default IMDS base URL.
const IMDS_BASE: &str = "http://169.254.169.254";
/// IMDS token path.
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// `api-version` of the IMDS token request.
const IMDS_API_VERSION: &str = "2018-02-01";
/// `api-version` of the App Service / Container Apps token request.
const APP_SERVICE_API_VERSION: &str = "2019-08-01";
/// Lifetime assumed when the endpoint states none (the Entra default).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Validates a token service URL from `variable`: `https://` anywhere,
/// `http://` only to loopback or (with `allow_imds`) to `169.254.169.254`.
/// No credentials in the URL; a query is kept (the GitHub runner's URL has one).
pub(crate) fn service_url(
    variable: &'static str,
    value: &str,
    allow_imds: bool,
) -> Result<Url, CredentialError> {
    let bad = |reason: &str| CredentialError::BadUrl { variable, reason: reason.to_owned() };
    let url = Url::parse(value.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials in the URL are not allowed"));
    }
    if url.host().is_none() {
        return Err(bad("the URL has no host"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            let imds = allow_imds
                && url.host_str().and_then(|h| h.parse::<IpAddr>().ok()) == Some(IpAddr::V4(IMDS_ADDRESS));
            if imds || crate::cloud::is_loopback(&url) {
                Ok(url)
            } else if allow_imds {
                Err(bad("plain http:// is allowed only to 169.254.169.254 (IMDS) and loopback; use https://"))
            } else {
                Err(bad("plain http:// is allowed only to loopback; use https://"))
            }
        }
        _ => Err(bad("the scheme must be https (or http to loopback)")),
    }
}

/// `IDENTITY_HEADER` cannot be sent as a header (control characters).
fn bad_header() -> CredentialError {
    CredentialError::BadUrl {
        variable: ENV_IDENTITY_HEADER,
        reason: "not a valid HTTP header value".to_owned(),
    }
}

/// `scheme://host[:port]/path` of a URL: what errors show (no query).
pub(crate) fn shown(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

#[derive(Clone)]
enum Endpoint {
    /// IMDS; the URL is the full token URL.
    Imds(Url),
    /// App Service / Container Apps: `IDENTITY_ENDPOINT` and its header.
    AppService { url: Url, header: Secret },
}

/// A managed identity: where its tokens come from and which identity.
#[derive(Clone)]
pub struct ManagedIdentity {
    endpoint: Endpoint,
    client_id: Option<String>,
}

impl fmt::Debug for ManagedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentity")
            .field("endpoint", &self.kind())
            .field("url", &self.url().as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ManagedIdentity {
    /// The IMDS endpoint, at `base_url` (default `http://169.254.169.254`).
    pub fn imds(base_url: Option<&str>) -> Result<Self, CredentialError> {
        let base = service_url(ENV_IMDS_URL, base_url.unwrap_or(IMDS_BASE), true)?;
        if base.query().is_some() {
            return Err(CredentialError::BadUrl {
                variable: ENV_IMDS_URL,
                reason: "a base URL takes no query".into(),
            });
        }
        let url = Url::parse(&format!("{}{IMDS_PATH}", base.as_str().trim_end_matches('/')))
            .map_err(|e| CredentialError::BadUrl { variable: ENV_IMDS_URL, reason: e.to_string() })?;
        Ok(Self { endpoint: Endpoint::Imds(url), client_id: None })
    }

    /// The App Service / Container Apps endpoint (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
    pub fn app_service(endpoint: &str, header: Secret) -> Result<Self, CredentialError> {
        let url = service_url(ENV_IDENTITY_ENDPOINT, endpoint, false)?;
        if reqwest::header::HeaderValue::from_str(header.expose()).is_err() {
            return Err(bad_header());
        }
        Ok(Self { endpoint: Endpoint::AppService { url, header }, client_id: None })
    }

    /// Selects a user-assigned identity by client id (`None`: system-assigned).
    #[must_use]
    pub fn with_client_id(mut self, client_id: Option<String>) -> Self {
        self.client_id = client_id;
        self
    }

    /// The user-assigned identity's client id, if one is selected.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// `imds` or `app_service`.
    pub fn kind(&self) -> &'static str {
        match self.endpoint {
            Endpoint::Imds(_) => "imds",
            Endpoint::AppService { .. } => "app_service",
        }
    }

    fn url(&self) -> &Url {
        match &self.endpoint {
            Endpoint::Imds(url) | Endpoint::AppService { url, .. } => url,
        }
    }

    /// Requests a token for `resource` (e.g. `https://outlook.office365.com`):
    /// the bearer value and its lifetime.
    pub(crate) async fn request(
        &self,
        http: &reqwest::Client,
        resource: &str,
    ) -> Result<(Secret, Duration), AuthError> {
        let mut url = self.url().clone();
        let (api_version, header, secret) = match &self.endpoint {
            Endpoint::Imds(_) => (IMDS_API_VERSION, ("Metadata", "true"), ""),
            Endpoint::AppService { header, .. } => {
                (APP_SERVICE_API_VERSION, ("X-IDENTITY-HEADER", header.expose()), header.expose())
            }
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", api_version).append_pair("resource", resource);
            if let Some(id) = &self.client_id {
                q.append_pair("client_id", id);
            }
        }
        let shown_url = shown(&url);
        // Marked sensitive, like `Authorization`, so the HTTP stack never prints it.
        let mut value =
            reqwest::header::HeaderValue::from_str(header.1).map_err(|_| AuthError::InvalidResponse {
                url: shown_url.clone(),
                status: 0,
                reason: "IDENTITY_HEADER is not a valid header value".to_owned(),
            })?;
        value.set_sensitive(true);
        let resp = http
            .get(url)
            .header(header.0, value)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|source| AuthError::Transport {
                url: shown_url.clone(),
                source: source.without_url(),
            })?;
        let status = resp.status().as_u16();
        tracing::Span::current().record("status", status);
        if (300..400).contains(&status) {
            return Err(AuthError::InvalidResponse {
                url: shown_url,
                status,
                reason: redirect_message(status, resp.headers()),
            });
        }
        let bytes = read_capped(resp, MAX_TOKEN_RESPONSE_BYTES).await.map_err(|e| match e {
            BodyError::Http(source) => {
                AuthError::Transport { url: shown_url.clone(), source: source.without_url() }
            }
            BodyError::TooLarge(cap) => AuthError::InvalidResponse {
                url: shown_url.clone(),
                status,
                reason: format!("the body exceeds the {cap}-byte cap"),
            },
        })?;
        if !(200..300).contains(&status) {
            let description = error_text(&bytes).map_or_else(
                || "no error description".to_owned(),
                |t| scrub(t.lines().next().unwrap_or("").trim(), &[secret]),
            );
            return Err(AuthError::ManagedIdentity { url: shown_url, status, description });
        }
        let invalid = |reason: &str| AuthError::InvalidResponse {
            url: shown_url.clone(),
            status,
            reason: reason.to_owned(),
        };
        let parsed: Answer =
            serde_json::from_slice(&bytes).map_err(|_| invalid("the body is not a token response"))?;
        let token = parsed
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("no access_token in the response"))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Ok((Secret::new(token), lifetime(parsed.expires_in.as_ref(), parsed.expires_on.as_ref(), now)))
    }
}

#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    expires_on: Option<serde_json::Value>,
}

/// Seconds in a JSON number or a numeric string.
fn seconds(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The token's lifetime: `expires_in` when given (relative, immune to clock
/// skew), else `expires_on` minus `now`; clamped to `0..=`[`MAX_TOKEN_LIFETIME`].
fn lifetime(
    relative: Option<&serde_json::Value>,
    absolute: Option<&serde_json::Value>,
    now: u64,
) -> Duration {
    let secs = seconds(relative)
        .or_else(|| seconds(absolute).map(|on| on.saturating_sub(now)))
        .map_or(DEFAULT_LIFETIME, Duration::from_secs);
    secs.min(MAX_TOKEN_LIFETIME)
}

/// The error text of a failed answer, in any of the shapes the endpoints use:
/// `{"error": "…", "error_description": "…"}` (IMDS),
/// `{"statusCode": 400, "message": "…"}` and `{"error": {"message": "…"}}` (App Service).
fn error_text(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let s = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    v.get("error_description")
        .and_then(s)
        .or_else(|| v.get("message").and_then(s))
        .or_else(|| v.get("error").and_then(|e| e.get("message")).and_then(s))
        .or_else(|| v.get("error").and_then(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn http_only_to_imds_and_loopback() {
        for ok in ["http://169.254.169.254", "http://127.0.0.1:9", "https://imds.example"] {
            assert!(ManagedIdentity::imds(Some(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://169.254.169.253",
            "http://10.0.0.1",
            "http://imds.example",
            "ftp://127.0.0.1",
            "https://u:p@x.example",
        ] {
            let err = ManagedIdentity::imds(Some(bad)).unwrap_err();
            assert!(err.to_string().contains(ENV_IMDS_URL), "{bad}: {err}");
        }
        assert!(ManagedIdentity::app_service("http://127.0.0.1:41741/msi/token", Secret::new("h")).is_ok());
        assert!(ManagedIdentity::app_service("http://localhost:42356/msi/token", Secret::new("h")).is_ok());
        // The IMDS exception is for IMDS only.
        let err =
            ManagedIdentity::app_service("http://169.254.169.254/msi/token", Secret::new("h")).unwrap_err();
        assert!(err.to_string().contains(ENV_IDENTITY_ENDPOINT), "{err}");
        let d = ManagedIdentity::imds(None).unwrap();
        assert_eq!(d.url().as_str(), "http://169.254.169.254/metadata/identity/oauth2/token");
        assert!(
            !format!(
                "{:?}",
                ManagedIdentity::app_service("https://x.example/", Secret::new("hdr-secret")).unwrap()
            )
            .contains("hdr-secret")
        );
    }

    #[test]
    fn lifetime_prefers_expires_in_and_clamps() {
        let now = 1_000_000;
        assert_eq!(lifetime(Some(&json!("3599")), Some(&json!("5")), now), Duration::from_secs(3599));
        assert_eq!(lifetime(Some(&json!(60)), None, now), Duration::from_secs(60));
        assert_eq!(lifetime(None, Some(&json!("1003600")), now), Duration::from_secs(3600));
        assert_eq!(lifetime(None, Some(&json!(1_000_010)), now), Duration::from_secs(10));
        // Already expired, absurdly far, or unreadable.
        assert_eq!(lifetime(None, Some(&json!("999")), now), Duration::ZERO);
        assert_eq!(lifetime(Some(&json!(u64::MAX)), None, now), MAX_TOKEN_LIFETIME);
        assert_eq!(lifetime(None, Some(&json!("09/14/2017 00:00:00 PM +00:00")), now), DEFAULT_LIFETIME);
        assert_eq!(lifetime(Some(&json!(-5)), None, now), DEFAULT_LIFETIME);
    }

    #[test]
    fn error_shapes() {
        assert_eq!(
            error_text(br#"{"error":"invalid_request","error_description":"Identity not found"}"#).as_deref(),
            Some("Identity not found")
        );
        assert_eq!(
            error_text(br#"{"statusCode":400,"message":"No MSI found"}"#).as_deref(),
            Some("No MSI found")
        );
        assert_eq!(
            error_text(br#"{"error":{"code":"x","message":"bad header"}}"#).as_deref(),
            Some("bad header")
        );
        assert_eq!(error_text(b"<html>"), None);
    }
}
