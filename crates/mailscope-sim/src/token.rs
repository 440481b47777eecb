//! The access tokens the sim mints and their verification by the APIs, and
//! the parsing of registered certificates (shared by the seed loader and the
//! token endpoint in `http::entra`).
//!
//! Tokens are HS256 JWTs signed with a per-state random key: clients treat
//! access tokens as opaque, so only the sim needs to verify them, and a
//! symmetric key keeps verification at a few microseconds per call.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::model::Tenant;

/// Claims of the access tokens the sim issues (the subset of real Entra v1 app tokens that matters).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    /// Audience: `https://outlook.office365.com` or `https://graph.microsoft.com`.
    pub aud: String,
    /// `https://sts.windows.net/{tid}/`.
    pub iss: String,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// Client id of the caller.
    pub appid: String,
    /// `1` secret, `2` certificate/assertion.
    pub appidacr: String,
    /// Service principal object id.
    pub oid: String,
    /// Same as `oid` for app tokens.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// App role values granted on the audience's resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Directory role template ids of the service principal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wids: Vec<String>,
    /// Always `app`.
    pub idtyp: String,
    /// Token version.
    pub ver: String,
}

/// A registered certificate, parsed.
pub(crate) struct CertKey {
    /// RSA public key of the certificate.
    pub key: DecodingKey,
    /// `x5t`: b64url(SHA-1(DER)).
    pub x5t: String,
    /// `x5t#S256`: b64url(SHA-256(DER)).
    pub x5t_s256: String,
    /// Upper-case hex SHA-1 thumbprint (what Entra error texts quote).
    pub sha1_hex: String,
    /// Start of validity, Unix seconds (Entra ignores a key before its start date).
    pub not_before: i64,
    /// End of validity, Unix seconds (Entra refuses an expired key with AADSTS700027).
    pub not_after: i64,
}

impl CertKey {
    /// Whether the certificate is valid at `now` (Unix seconds).
    pub(crate) fn valid_at(&self, now: u64) -> bool {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.not_before <= now && now <= self.not_after
    }
}

/// Parses a certificate PEM into its key and thumbprints.
pub(crate) fn certificate_key(pem: &str) -> Result<CertKey, String> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| e.to_string())?;
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
    let (_, parsed) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| e.to_string())?;
    let validity = parsed.validity();
    let (not_before, not_after) = (validity.not_before.timestamp(), validity.not_after.timestamp());
    let sha1 = Sha1::digest(der.as_ref());
    let sha256 = Sha256::digest(der.as_ref());
    Ok(CertKey {
        key,
        x5t: URL_SAFE_NO_PAD.encode(sha1),
        x5t_s256: URL_SAFE_NO_PAD.encode(sha256),
        sha1_hex: crate::store::hex(&sha1).to_ascii_uppercase(),
        not_before,
        not_after,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a token the sim signed, or expired.
    Invalid,
    /// Signed, valid, but for another audience.
    WrongAudience,
    /// Issued for another tenant.
    WrongTenant,
}

/// Verifies the bearer token of an API call for `audience` and `tenant`.
pub(crate) fn verify_bearer(
    signing_key: &[u8],
    headers: &HeaderMap,
    audience: &str,
    tenant: &Tenant,
) -> Result<AccessClaims, TokenProblem> {
    let value =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(TokenProblem::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenProblem::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenProblem::Missing);
    }
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_aud = false;
    v.leeway = 0;
    let claims =
        jsonwebtoken::decode::<AccessClaims>(token.trim(), &DecodingKey::from_secret(signing_key), &v)
            .map_err(|_| TokenProblem::Invalid)?
            .claims;
    if claims.aud != audience {
        return Err(TokenProblem::WrongAudience);
    }
    if !claims.tid.eq_ignore_ascii_case(&tenant.id) {
        return Err(TokenProblem::WrongTenant);
    }
    Ok(claims)
}
