//! GitHub Actions OIDC: an ID token from the runner, exchanged at Entra as a
//! federated client assertion.
//!
//! A job with `permissions: id-token: write` gets `ACTIONS_ID_TOKEN_REQUEST_URL`
//! and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; `GET $URL&audience=api://AzureADTokenExchange`
//! with `Authorization: Bearer $TOKEN` answers `{"value": "<jwt>"}` (GitHub
//! Docs, "About security hardening with `OpenID` Connect"; the same request
//! `azure/login` and Terraform's azurerm provider make).
//!
//! GitHub's ID tokens are valid for minutes, and Entra refuses an expired
//! assertion (AADSTS700024). A `azure/login` step followed by a long job
//! fails there; mailscope instead asks the runner for a fresh ID token every
//! time it needs an access token, so a job of any length keeps working.
//!
//! Neither the request token nor the ID token is ever logged or put in an
//! error: both are [`Secret`]s, and server text is scrubbed of them.

use std::fmt;

use reqwest::Url;
use serde::Deserialize;

use crate::body::{BodyError, MAX_TOKEN_RESPONSE_BYTES, read_capped, redirect_message};
use crate::credentials::{CredentialError, ENV_ACTIONS_URL};
use crate::managed_identity::{service_url, shown};
use crate::secret::{Secret, scrub};
use crate::token::AuthError;

/// The audience Entra expects of a federated assertion (the default of a
/// federated identity credential).
pub(crate) const ENTRA_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The runner's ID token service.
#[derive(Clone)]
pub struct GitHubOidc {
    request_url: Url,
    request_token: Secret,
    audience: String,
}

impl fmt::Debug for GitHubOidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOidc")
            .field("request_url", &shown(&self.request_url))
            .field("request_token", &"[redacted]")
            .field("audience", &self.audience)
            .finish()
    }
}

impl GitHubOidc {
    /// The service at `request_url` (https, or http to loopback for tests),
    /// authenticated with the runner's `request_token`.
    pub fn new(request_url: &str, request_token: Secret) -> Result<Self, CredentialError> {
        let request_url = service_url(ENV_ACTIONS_URL, request_url, false)?;
        Ok(Self { request_url, request_token, audience: ENTRA_AUDIENCE.to_owned() })
    }

    /// Asks for ID tokens with another audience (a federated credential
    /// configured with a custom one).
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// A fresh ID token from the runner.
    pub(crate) async fn id_token(&self, http: &reqwest::Client) -> Result<Secret, AuthError> {
        let mut url = self.request_url.clone();
        url.query_pairs_mut().append_pair("audience", &self.audience);
        let shown_url = shown(&self.request_url);
        let resp = http
            .get(url)
            .bearer_auth(self.request_token.expose())
            .header(reqwest::header::ACCEPT, "application/json; api-version=2.0")
            .send()
            .await
            .map_err(|source| AuthError::Transport {
                url: shown_url.clone(),
                source: source.without_url(),
            })?;
        let status = resp.status().as_u16();
        let fail = |reason: String| AuthError::IdToken { url: shown_url.clone(), status, reason };
        if (300..400).contains(&status) {
            return Err(fail(redirect_message(status, resp.headers())));
        }
        let bytes = read_capped(resp, MAX_TOKEN_RESPONSE_BYTES).await.map_err(|e| match e {
            BodyError::Http(source) => {
                AuthError::Transport { url: shown_url.clone(), source: source.without_url() }
            }
            BodyError::TooLarge(cap) => fail(format!("the body exceeds the {cap}-byte cap")),
        })?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<Problem>(&bytes)
                .ok()
                .and_then(|p| p.message)
                .map(|m| scrub(m.lines().next().unwrap_or("").trim(), &[self.request_token.expose()]));
            let hint = if status == 401 || status == 403 {
                " (hint: the request token is stale or the job lacks `permissions: id-token: write`)"
            } else {
                ""
            };
            return Err(fail(format!("{}{hint}", message.unwrap_or_else(|| "no ID token".to_owned()))));
        }
        let value = serde_json::from_slice::<Answer>(&bytes)
            .ok()
            .and_then(|a| a.value)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| fail("the answer has no `value` (ID token)".to_owned()))?;
        Ok(Secret::new(value.trim()))
    }
}

/// The runner's error body (`{"message": "…"}`).
#[derive(Deserialize)]
struct Problem {
    message: Option<String>,
}

/// The runner's answer (`{"value": "<jwt>"}`).
#[derive(Deserialize)]
struct Answer {
    value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules_and_redaction() {
        let gh = GitHubOidc::new(
            "https://pipelines.actions.example/abc/idtoken?api-version=2.0",
            Secret::new("runner-request-token"),
        )
        .unwrap();
        let debug = format!("{gh:?}");
        assert!(!debug.contains("runner-request-token"), "{debug}");
        assert!(!debug.contains("api-version"), "{debug}");
        assert!(GitHubOidc::new("http://127.0.0.1:8/t?x=1", Secret::new("t")).is_ok());
        for bad in ["http://actions.example/t", "http://169.254.169.254/t", "not a url"] {
            let err = GitHubOidc::new(bad, Secret::new("t")).unwrap_err();
            assert!(err.to_string().contains(ENV_ACTIONS_URL), "{bad}: {err}");
        }
    }
}
