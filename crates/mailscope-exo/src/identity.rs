//! Which tenant a session reached: its id and the domains that name it.
//!
//! A tenant may be named by its GUID, its initial `*.onmicrosoft.com`
//! domain or any verified domain; Entra ID accepts each in the token URL.
//! To compare two such names, mailscope asks the tenant itself: the access
//! token's `tid` claim is the tenant id, and `Get-AcceptedDomain` lists the
//! domains (the admin API needs no extra role for it). No name is guessed
//! from its text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::{ExoError, ExoErrorKind};
use crate::exo::ExoClient;

/// The tenant a session is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantIdentity {
    /// The tenant id (GUID, lower case): the access token's `tid`.
    pub id: String,
    /// The initial `*.onmicrosoft.com` domain, when the tenant reports it.
    pub initial_domain: Option<String>,
    /// Every accepted domain (lower case), the initial one included.
    pub domains: Vec<String>,
}

impl TenantIdentity {
    /// Whether `name` (a GUID or a domain, any case) names this tenant.
    pub fn is_named_by(&self, name: &str) -> bool {
        let name = name.trim();
        self.id.eq_ignore_ascii_case(name) || self.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
    }
}

/// The `tid` claim of an access token, read without checking the signature:
/// the token came from the login endpoint over TLS and is only used to learn
/// which tenant issued it, never to authorise anything.
fn token_tenant_id(bearer: &str) -> Option<String> {
    let payload = bearer.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let tid = claims.get("tid")?.as_str()?.trim().to_ascii_lowercase();
    uuid::Uuid::parse_str(&tid).ok().map(|_| tid)
}

impl ExoClient {
    /// `Get-AcceptedDomain`: the tenant's accepted domains, lower case, and
    /// which of them is the initial one.
    ///
    /// # Errors
    ///
    /// The call's [`ExoError`].
    pub async fn accepted_domains(&self) -> Result<(Vec<String>, Option<String>), ExoError> {
        let values = self.invoke("Get-AcceptedDomain", json!({})).await?;
        let mut domains = Vec::new();
        let mut initial = None;
        for v in &values {
            let Some(name) =
                v.get("DomainName").and_then(Value::as_str).map(|d| d.trim().to_ascii_lowercase())
            else {
                continue;
            };
            if v.get("InitialDomain").and_then(Value::as_bool) == Some(true) {
                initial = Some(name.clone());
            }
            if !name.is_empty() && !domains.contains(&name) {
                domains.push(name);
            }
        }
        Ok((domains, initial))
    }

    /// The tenant id of this client's Exchange token (its `tid` claim):
    /// which tenant the configured name led to, without a cmdlet call.
    ///
    /// # Errors
    ///
    /// No token ([`ExoErrorKind::Token`]) or a token without a GUID `tid`
    /// ([`ExoErrorKind::Other`]).
    pub async fn tenant_id(&self) -> Result<String, ExoError> {
        const OP: &str = "tenant id";
        let session = self.session();
        let token = session.tokens().token(&session.endpoints().exo_scope).await.map_err(|e| {
            let mut err = ExoError::new(ExoErrorKind::Token, OP, e.to_string());
            err.source = Some(Box::new(e));
            err
        })?;
        token_tenant_id(token.expose()).ok_or_else(|| {
            ExoError::new(ExoErrorKind::Other, OP, "the access token carries no tenant id (tid)")
        })
    }

    /// The tenant this client reaches: [`ExoClient::tenant_id`] and
    /// [`ExoClient::accepted_domains`].
    ///
    /// # Errors
    ///
    /// Those of the two calls.
    pub async fn tenant_identity(&self) -> Result<TenantIdentity, ExoError> {
        let id = self.tenant_id().await?;
        let (domains, initial_domain) = self.accepted_domains().await?;
        Ok(TenantIdentity { id, initial_domain, domains })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &Value) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
        format!("eyJhbGciOiJIUzI1NiJ9.{body}.c2ln")
    }

    #[test]
    fn the_tid_claim_is_the_tenant_id() {
        let t = token(&json!({"tid": "8F3C2B1A-4D5E-4F6A-9B8C-7D6E5F4A3B2C", "aud": "x"}));
        assert_eq!(token_tenant_id(&t).as_deref(), Some("8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c"));
    }

    #[test]
    fn a_token_without_a_guid_tid_gives_none() {
        assert_eq!(token_tenant_id(&token(&json!({"aud": "x"}))), None);
        assert_eq!(token_tenant_id(&token(&json!({"tid": "contoso.com"}))), None);
        assert_eq!(token_tenant_id("opaque"), None);
    }

    #[test]
    fn a_tenant_is_named_by_its_id_and_each_domain_in_any_case() {
        let t = TenantIdentity {
            id: "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c".into(),
            initial_domain: Some("contoso.onmicrosoft.com".into()),
            domains: vec!["contoso.onmicrosoft.com".into(), "contoso.com".into()],
        };
        for name in ["8F3C2B1A-4D5E-4F6A-9B8C-7D6E5F4A3B2C", "Contoso.com", " contoso.onmicrosoft.com "] {
            assert!(t.is_named_by(name), "{name}");
        }
        assert!(!t.is_named_by("fabrikam.com"));
        assert!(!t.is_named_by("00000000-0000-4000-8000-000000000000"));
    }
}
