//! Client credentials of the app registration mailscope runs as.
//!
//! Read from the environment the way the Azure SDKs and `az` read them:
//! `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, and exactly one of
//! `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PATH` or
//! `AZURE_FEDERATED_TOKEN_FILE`. Every error names the variable to fix.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use sha1::Digest as _;

use crate::secret::Secret;

/// `AZURE_TENANT_ID`.
pub(crate) const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`.
pub(crate) const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`.
pub(crate) const ENV_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_CLIENT_CERTIFICATE_PATH`: a PEM file holding the certificate and its
/// unencrypted private key.
pub(crate) const ENV_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// `AZURE_CLIENT_CERTIFICATE_PASSWORD`: not supported (encrypted keys).
pub(crate) const ENV_CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
/// `AZURE_FEDERATED_TOKEN_FILE`: a file holding an OIDC token (workload
/// identity, GitHub Actions), re-read on every token refresh.
pub(crate) const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// `MAILSCOPE_CERTIFICATE_ALG`: `PS256` (default) or `RS256`.
pub(crate) const ENV_CERTIFICATE_ALG: &str = "MAILSCOPE_CERTIFICATE_ALG";

/// A credential configuration problem, naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A required variable is unset or empty.
    #[error("{variable} is not set; set it to the {what}")]
    Missing {
        /// The variable to set.
        variable: &'static str,
        /// What it must hold.
        what: &'static str,
    },
    /// None of the credential variables is set.
    #[error(
        "no client credential configured: set one of AZURE_CLIENT_SECRET, \
         AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"
    )]
    NoCredential,
    /// More than one credential variable is set.
    #[error("more than one client credential configured ({}); unset all but one", .variables.join(", "))]
    Conflicting {
        /// The variables that are set.
        variables: Vec<&'static str>,
    },
    /// A value that must be a GUID is not one.
    #[error("{variable} must be a GUID (the application (client) id), got {value:?}")]
    NotAGuid {
        /// The variable to fix.
        variable: String,
        /// The value found (ids are not secret).
        value: String,
    },
    /// The tenant is neither a GUID nor a domain name.
    #[error("{variable} must be the tenant GUID or a domain such as contoso.onmicrosoft.com, got {value:?}")]
    InvalidTenant {
        /// The variable to fix.
        variable: String,
        /// The value found.
        value: String,
    },
    /// A file named by a variable cannot be read.
    #[error("{variable}: cannot read {}: {source}", .path.display())]
    UnreadableFile {
        /// The variable to fix.
        variable: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file named by a variable is empty.
    #[error("{variable}: {} is empty", .path.display())]
    EmptyFile {
        /// The variable to fix.
        variable: String,
        /// The file.
        path: PathBuf,
    },
    /// The certificate file is not a usable PEM certificate + RSA key.
    #[error("{variable}: {} is not a usable certificate: {reason}", .path.display())]
    BadPem {
        /// The variable to fix.
        variable: String,
        /// The file.
        path: PathBuf,
        /// What is wrong (never key material).
        reason: String,
    },
    /// A password-protected certificate was configured.
    #[error(
        "{variable} is set, but encrypted private keys are not supported; export the \
         certificate as PEM with an unencrypted key (openssl pkcs12 -in cert.pfx -nodes) and unset {variable}"
    )]
    PasswordNotSupported {
        /// The variable to unset.
        variable: &'static str,
    },
    /// `MAILSCOPE_CERTIFICATE_ALG` has an unknown value.
    #[error("{ENV_CERTIFICATE_ALG} must be PS256 or RS256, got {0:?}")]
    UnknownAlgorithm(String),
}

/// Signature scheme of the certificate client assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssertionAlgorithm {
    /// `alg: PS256` with header `x5t#S256` (SHA-256 thumbprint); what the
    /// current Entra documentation specifies. The default.
    #[default]
    Ps256,
    /// `alg: RS256` with header `x5t` (SHA-1 thumbprint); the older form,
    /// still accepted by Entra.
    Rs256,
}

/// A certificate credential: signing key and thumbprints.
#[derive(Clone)]
pub struct CertificateCredential {
    key: EncodingKey,
    x5t: String,
    x5t_s256: String,
    algorithm: AssertionAlgorithm,
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("key", &"[redacted]")
            .field("x5t#S256", &self.x5t_s256)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl CertificateCredential {
    /// Parses a PEM holding a certificate and its unencrypted RSA private key
    /// (PKCS#1 or PKCS#8). `variable` names the setting, for errors.
    pub fn from_pem(pem: &[u8], variable: &str, path: &Path) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::BadPem {
            variable: variable.to_owned(),
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let text = String::from_utf8_lossy(pem);
        if text.contains("ENCRYPTED PRIVATE KEY") {
            return Err(bad("the private key is encrypted; export it unencrypted (openssl pkcs12 -nodes)"));
        }
        let cert = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or_else(|| bad("no CERTIFICATE block found"))?
            .map_err(|e| bad(&format!("malformed CERTIFICATE block ({e})")))?;
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| bad("no unencrypted private key block (RSA PRIVATE KEY or PRIVATE KEY) found"))?;
        let key = match &key {
            PrivateKeyDer::Pkcs1(k) => EncodingKey::from_rsa_der(k.secret_pkcs1_der()),
            PrivateKeyDer::Pkcs8(k) => {
                let pem = to_pem("PRIVATE KEY", k.secret_pkcs8_der());
                EncodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|_| bad("the private key is not an RSA key"))?
            }
            _ => return Err(bad("the private key is not an RSA key (Entra needs RSA)")),
        };
        let der = cert.as_ref();
        let cred = Self {
            key,
            x5t: URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(der)),
            x5t_s256: URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der)),
            algorithm: AssertionAlgorithm::default(),
        };
        // Sign once now, so that a broken key fails at configuration time and
        // names the variable, rather than at the first token request.
        cred.sign("probe", "probe")
            .map_err(|_| bad("the private key cannot sign (is it a valid RSA key?)"))?;
        Ok(cred)
    }

    /// Selects the assertion algorithm.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: AssertionAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The assertion algorithm in use.
    pub fn algorithm(&self) -> AssertionAlgorithm {
        self.algorithm
    }

    /// Base64url SHA-256 thumbprint of the certificate (`x5t#S256`).
    pub fn thumbprint_sha256(&self) -> &str {
        &self.x5t_s256
    }

    /// Base64url SHA-1 thumbprint of the certificate (`x5t`).
    pub fn thumbprint_sha1(&self) -> &str {
        &self.x5t
    }

    /// Builds a signed client assertion for `audience` (the token endpoint).
    pub(crate) fn sign(&self, client_id: &str, audience: &str) -> Result<Secret, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: u64,
            iat: u64,
            exp: u64,
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut header = match self.algorithm {
            AssertionAlgorithm::Ps256 => {
                let mut h = Header::new(Algorithm::PS256);
                h.x5t_s256 = Some(self.x5t_s256.clone());
                h
            }
            AssertionAlgorithm::Rs256 => {
                let mut h = Header::new(Algorithm::RS256);
                h.x5t = Some(self.x5t.clone());
                h
            }
        };
        header.typ = Some("JWT".to_owned());
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            // Entra tolerates small clock skew; back-dating nbf by a minute
            // keeps a runner whose clock is slightly ahead from being refused.
            nbf: now.saturating_sub(60),
            iat: now,
            exp: now + 600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map(Secret::from).map_err(|e| e.to_string())
    }
}

fn to_pem(tag: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {tag}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(tag);
    out.push_str("-----\n");
    out
}

/// The secret part of the client credentials.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A client secret (`client_secret`).
    Secret(Secret),
    /// A certificate (`private_key_jwt` client assertion).
    Certificate(CertificateCredential),
    /// A federated OIDC token in a file (`client_assertion`), re-read on every
    /// refresh because workload-identity and CI runners rotate it.
    FederatedTokenFile(PathBuf),
}

impl Credential {
    /// A short name of the kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Secret(_) => "client_secret",
            Credential::Certificate(_) => "certificate",
            Credential::FederatedTokenFile(_) => "federated_token_file",
        }
    }
}

/// Tenant, client id and credential of the app registration.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// Tenant GUID or initial domain.
    pub tenant: String,
    /// The application (client) id.
    pub client_id: String,
    /// The credential.
    pub credential: Credential,
}

impl ClientCredentials {
    /// Validates and builds credentials from values (the CLI's `sim:` target,
    /// tests). Errors name `tenant` / `client id` as the thing to fix.
    pub fn new(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        credential: Credential,
    ) -> Result<Self, CredentialError> {
        let tenant = tenant.into();
        let client_id = client_id.into();
        validate_tenant("tenant", &tenant)?;
        validate_guid("client id", &client_id)?;
        Ok(Self { tenant, client_id, credential })
    }

    /// Credentials with a client secret.
    pub fn with_secret(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Result<Self, CredentialError> {
        Self::new(tenant, client_id, Credential::Secret(secret.into()))
    }

    /// Credentials with a certificate PEM file (certificate + key).
    pub fn with_certificate_file(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, CredentialError> {
        let cert = load_certificate("certificate path", path.as_ref())?;
        Self::new(tenant, client_id, Credential::Certificate(cert))
    }

    /// Credentials with a federated token file.
    pub fn with_federated_token_file(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> Result<Self, CredentialError> {
        let path = path.into();
        read_token_file("federated token file", &path)?;
        Self::new(tenant, client_id, Credential::FederatedTokenFile(path))
    }

    /// Reads the `AZURE_*` variables of the process environment.
    pub fn from_env() -> Result<Self, CredentialError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ClientCredentials::from_env`] with a custom lookup (tests; the
    /// process environment cannot be changed safely in a threaded program).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let tenant = get(ENV_TENANT_ID).ok_or(CredentialError::Missing {
            variable: ENV_TENANT_ID,
            what: "directory (tenant) id of the app registration",
        })?;
        let tenant = tenant.trim().to_owned();
        validate_tenant(ENV_TENANT_ID, &tenant)?;
        let client_id = get(ENV_CLIENT_ID).ok_or(CredentialError::Missing {
            variable: ENV_CLIENT_ID,
            what: "application (client) id of the app registration",
        })?;
        let client_id = client_id.trim().to_owned();
        validate_guid(ENV_CLIENT_ID, &client_id)?;

        let set: Vec<&'static str> =
            [ENV_CLIENT_SECRET, ENV_CLIENT_CERTIFICATE_PATH, ENV_FEDERATED_TOKEN_FILE]
                .into_iter()
                .filter(|v| get(v).is_some())
                .collect();
        let credential = match set.as_slice() {
            [] => return Err(CredentialError::NoCredential),
            [one] if *one == ENV_CLIENT_SECRET => {
                Credential::Secret(Secret::new(get(ENV_CLIENT_SECRET).unwrap_or_default()))
            }
            [one] if *one == ENV_CLIENT_CERTIFICATE_PATH => {
                if get(ENV_CLIENT_CERTIFICATE_PASSWORD).is_some() {
                    return Err(CredentialError::PasswordNotSupported {
                        variable: ENV_CLIENT_CERTIFICATE_PASSWORD,
                    });
                }
                let path = PathBuf::from(get(ENV_CLIENT_CERTIFICATE_PATH).unwrap_or_default());
                let mut cert = load_certificate(ENV_CLIENT_CERTIFICATE_PATH, &path)?;
                if let Some(alg) = get(ENV_CERTIFICATE_ALG) {
                    cert = cert.with_algorithm(match alg.trim().to_ascii_uppercase().as_str() {
                        "PS256" => AssertionAlgorithm::Ps256,
                        "RS256" => AssertionAlgorithm::Rs256,
                        _ => return Err(CredentialError::UnknownAlgorithm(alg)),
                    });
                }
                Credential::Certificate(cert)
            }
            [_] => {
                let path = PathBuf::from(get(ENV_FEDERATED_TOKEN_FILE).unwrap_or_default());
                read_token_file(ENV_FEDERATED_TOKEN_FILE, &path)?;
                Credential::FederatedTokenFile(path)
            }
            _ => return Err(CredentialError::Conflicting { variables: set }),
        };
        Ok(Self { tenant, client_id, credential })
    }
}

/// Loads a certificate credential from a PEM file.
pub(crate) fn load_certificate(
    variable: &str,
    path: &Path,
) -> Result<CertificateCredential, CredentialError> {
    let pem = std::fs::read(path).map_err(|source| CredentialError::UnreadableFile {
        variable: variable.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    CertificateCredential::from_pem(&pem, variable, path)
}

/// Reads a federated token file; errors name `variable`.
pub(crate) fn read_token_file(variable: &str, path: &Path) -> Result<Secret, CredentialError> {
    let text = std::fs::read_to_string(path).map_err(|source| CredentialError::UnreadableFile {
        variable: variable.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CredentialError::EmptyFile { variable: variable.to_owned(), path: path.to_owned() });
    }
    Ok(Secret::new(token))
}

fn validate_guid(variable: &str, value: &str) -> Result<(), CredentialError> {
    let ok = value.len() == 36 && uuid::Uuid::try_parse(value).is_ok();
    if ok {
        Ok(())
    } else {
        Err(CredentialError::NotAGuid { variable: variable.to_owned(), value: value.to_owned() })
    }
}

fn validate_tenant(variable: &str, value: &str) -> Result<(), CredentialError> {
    let is_guid = value.len() == 36 && uuid::Uuid::try_parse(value).is_ok();
    let is_domain = value.contains('.')
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if is_guid || is_domain {
        Ok(())
    } else {
        Err(CredentialError::InvalidTenant { variable: variable.to_owned(), value: value.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TENANT: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
    const CLIENT: &str = "11111111-2222-4333-8444-555555555555";

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn secret_from_env() {
        let c = ClientCredentials::from_lookup(lookup(&[
            (ENV_TENANT_ID, TENANT),
            (ENV_CLIENT_ID, CLIENT),
            (ENV_CLIENT_SECRET, "s3cr3t-value"),
        ]))
        .unwrap();
        assert_eq!(c.credential.kind(), "client_secret");
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn misconfigurations_name_the_variable() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], ENV_TENANT_ID),
            (vec![(ENV_TENANT_ID, TENANT)], ENV_CLIENT_ID),
            (vec![(ENV_TENANT_ID, TENANT), (ENV_CLIENT_ID, "not-a-guid")], ENV_CLIENT_ID),
            (vec![(ENV_TENANT_ID, "bad tenant/"), (ENV_CLIENT_ID, CLIENT)], ENV_TENANT_ID),
            (vec![(ENV_TENANT_ID, TENANT), (ENV_CLIENT_ID, CLIENT)], ENV_CLIENT_SECRET),
            (
                vec![
                    (ENV_TENANT_ID, TENANT),
                    (ENV_CLIENT_ID, CLIENT),
                    (ENV_CLIENT_SECRET, "x"),
                    (ENV_FEDERATED_TOKEN_FILE, "/nope"),
                ],
                ENV_FEDERATED_TOKEN_FILE,
            ),
            (
                vec![
                    (ENV_TENANT_ID, TENANT),
                    (ENV_CLIENT_ID, CLIENT),
                    (ENV_FEDERATED_TOKEN_FILE, "/definitely/not/here"),
                ],
                ENV_FEDERATED_TOKEN_FILE,
            ),
            (
                vec![
                    (ENV_TENANT_ID, TENANT),
                    (ENV_CLIENT_ID, CLIENT),
                    (ENV_CLIENT_CERTIFICATE_PATH, "/definitely/not/here.pem"),
                ],
                ENV_CLIENT_CERTIFICATE_PATH,
            ),
            (
                vec![
                    (ENV_TENANT_ID, TENANT),
                    (ENV_CLIENT_ID, CLIENT),
                    (ENV_CLIENT_CERTIFICATE_PATH, "/definitely/not/here.pem"),
                    (ENV_CLIENT_CERTIFICATE_PASSWORD, "pw"),
                ],
                ENV_CLIENT_CERTIFICATE_PASSWORD,
            ),
        ];
        for (vars, variable) in cases {
            let err = ClientCredentials::from_lookup(lookup(&vars)).unwrap_err();
            assert!(err.to_string().contains(variable), "{vars:?}: {err} should name {variable}");
        }
    }

    #[test]
    fn bad_pem_names_the_variable() {
        let dir = std::env::temp_dir().join(format!("mailscope-exo-pem-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.pem");
        std::fs::write(&p, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        let err = ClientCredentials::from_lookup(lookup(&[
            (ENV_TENANT_ID, "contoso.onmicrosoft.com"),
            (ENV_CLIENT_ID, CLIENT),
            (ENV_CLIENT_CERTIFICATE_PATH, p.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert!(matches!(err, CredentialError::BadPem { .. }), "{err}");
        assert!(err.to_string().contains(ENV_CLIENT_CERTIFICATE_PATH));
        let empty = dir.join("empty.jwt");
        std::fs::write(&empty, "\n").unwrap();
        let err = ClientCredentials::from_lookup(lookup(&[
            (ENV_TENANT_ID, TENANT),
            (ENV_CLIENT_ID, CLIENT),
            (ENV_FEDERATED_TOKEN_FILE, empty.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert!(matches!(err, CredentialError::EmptyFile { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn certificate_assertion_headers_and_claims() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mailscope-sim/testdata");
        let (Ok(cert), Ok(key)) = (
            std::fs::read_to_string(dir.join("operator.cert.pem")),
            std::fs::read_to_string(dir.join("operator.key.pem")),
        ) else {
            return; // The emulator's test keys are not there (partial checkout).
        };
        let pem = format!("{cert}{key}");
        let c = CertificateCredential::from_pem(pem.as_bytes(), "X", Path::new("x.pem")).unwrap();
        let decode = |jwt: &str, part: usize| -> serde_json::Value {
            let seg = jwt.split('.').nth(part).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
        };
        let jwt = c.sign(CLIENT, "https://login.example/t/oauth2/v2.0/token").unwrap();
        let h = decode(jwt.expose(), 0);
        assert_eq!(h["alg"], "PS256");
        assert_eq!(h["typ"], "JWT");
        assert_eq!(h["x5t#S256"], c.thumbprint_sha256());
        assert!(h.get("x5t").is_none());
        let claims = decode(jwt.expose(), 1);
        assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert_eq!(claims["iss"], CLIENT);
        assert_eq!(claims["sub"], CLIENT);
        assert!(claims["exp"].as_u64().unwrap() > claims["nbf"].as_u64().unwrap());
        let rs = c.clone().with_algorithm(AssertionAlgorithm::Rs256).sign(CLIENT, "a").unwrap();
        let h = decode(rs.expose(), 0);
        assert_eq!(h["alg"], "RS256");
        assert_eq!(h["x5t"], c.thumbprint_sha1());
        assert!(!format!("{c:?}").contains("PRIVATE"));
        // Key only, or certificate only: a clear error.
        for partial in [cert.as_str(), key.as_str()] {
            let e = CertificateCredential::from_pem(
                partial.as_bytes(),
                "AZURE_CLIENT_CERTIFICATE_PATH",
                Path::new("p"),
            )
            .unwrap_err();
            assert!(e.to_string().contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{e}");
        }
    }
}
