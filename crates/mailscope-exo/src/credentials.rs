//! Client credentials of the identity mailscope runs as.
//!
//! Read from the environment the way the Azure SDKs, `az` and Terraform's
//! azurerm provider read them. `AZURE_TENANT_ID` names the tenant; the
//! credential is chosen in this order (docs/auth.md, "Credentials"):
//!
//! 1. An explicit credential, exactly one of: `AZURE_CLIENT_SECRET`,
//!    `AZURE_CLIENT_CERTIFICATE_PATH` (PEM, or PKCS#12 with
//!    `AZURE_CLIENT_CERTIFICATE_PASSWORD`), `AZURE_FEDERATED_TOKEN_FILE`,
//!    or `MAILSCOPE_USE_MANAGED_IDENTITY=true`. Two of them are an error,
//!    not a guess.
//! 2. GitHub Actions OIDC, when the runner exposes
//!    `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`
//!    (a job with `permissions: id-token: write`).
//! 3. The App Service / Container Apps managed identity, when
//!    `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set.
//!
//! Explicit settings win over what the platform injects, as in
//! azure-identity's `DefaultAzureCredential` (environment and workload
//! identity before managed identity) and azurerm (certificate, secret, OIDC,
//! then managed identity). The VM metadata endpoint (IMDS) cannot be seen
//! from the environment, so it is used only when asked for, like azurerm's
//! `use_msi`. `AZURE_CLIENT_ID` is required except for a system-assigned
//! managed identity; with a managed identity it selects a user-assigned one.
//! Every error names the variable to fix.

use std::path::{Path, PathBuf};

use crate::certificate::{AssertionAlgorithm, CertificateCredential, load_certificate};
use crate::github_oidc::GitHubOidc;
use crate::managed_identity::ManagedIdentity;
use crate::secret::Secret;

/// `AZURE_TENANT_ID`.
pub(crate) const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`.
pub(crate) const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`.
pub(crate) const ENV_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_CLIENT_CERTIFICATE_PATH`: a PEM file holding the certificate and its
/// unencrypted private key, or a PKCS#12 file (`.pfx`/`.p12`).
pub(crate) const ENV_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// `AZURE_CLIENT_CERTIFICATE_PASSWORD`: the PKCS#12 file's password.
pub(crate) const ENV_CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
/// `AZURE_FEDERATED_TOKEN_FILE`: a file holding an OIDC token (workload
/// identity), re-read on every token refresh.
pub(crate) const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// `MAILSCOPE_CERTIFICATE_ALG`: `PS256` (default) or `RS256`.
pub(crate) const ENV_CERTIFICATE_ALG: &str = "MAILSCOPE_CERTIFICATE_ALG";
/// `ACTIONS_ID_TOKEN_REQUEST_URL`: set by the GitHub Actions runner.
pub(crate) const ENV_ACTIONS_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: set by the GitHub Actions runner.
pub(crate) const ENV_ACTIONS_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// `IDENTITY_ENDPOINT`: App Service / Container Apps managed identity.
pub(crate) const ENV_IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// `IDENTITY_HEADER`: the secret sent to `IDENTITY_ENDPOINT`.
pub(crate) const ENV_IDENTITY_HEADER: &str = "IDENTITY_HEADER";
/// `MAILSCOPE_USE_MANAGED_IDENTITY`: `true` to use the managed identity
/// (IMDS unless `IDENTITY_ENDPOINT` is set).
pub(crate) const ENV_USE_MANAGED_IDENTITY: &str = "MAILSCOPE_USE_MANAGED_IDENTITY";
/// `MAILSCOPE_IMDS_URL`: the instance metadata service's base URL (tests).
pub(crate) const ENV_IMDS_URL: &str = "MAILSCOPE_IMDS_URL";

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
        "no credential configured: set one of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or \
         AZURE_FEDERATED_TOKEN_FILE, run in GitHub Actions with `permissions: id-token: write`, or set \
         MAILSCOPE_USE_MANAGED_IDENTITY=true on an Azure host with a managed identity (see docs/auth.md)"
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
    /// The certificate file is not a usable PEM or PKCS#12 certificate + RSA key.
    #[error("{variable}: {} is not a usable certificate: {reason}", .path.display())]
    BadPem {
        /// The variable to fix.
        variable: String,
        /// The file.
        path: PathBuf,
        /// What is wrong (never key material).
        reason: String,
    },
    /// The PKCS#12 file does not open with the password given.
    #[error(
        "{variable}: {} does not open with AZURE_CLIENT_CERTIFICATE_PASSWORD (wrong password, \
         or the password is missing)",
        .path.display()
    )]
    WrongPassword {
        /// The variable naming the file.
        variable: String,
        /// The file.
        path: PathBuf,
    },
    /// A password was given for a PEM certificate.
    #[error(
        "{variable} is set, but the certificate is PEM and encrypted PEM keys are not supported; \
         point AZURE_CLIENT_CERTIFICATE_PATH at the .pfx/.p12 file instead, or export the key \
         unencrypted (openssl pkcs12 -in cert.pfx -nodes) and unset {variable}"
    )]
    PasswordNotSupported {
        /// The variable to unset.
        variable: &'static str,
    },
    /// `MAILSCOPE_CERTIFICATE_ALG` has an unknown value.
    #[error("{ENV_CERTIFICATE_ALG} must be PS256 or RS256, got {0:?}")]
    UnknownAlgorithm(String),
    /// A yes/no variable holds something else.
    #[error("{variable} must be true or false, got {value:?}")]
    NotABool {
        /// The variable to fix.
        variable: &'static str,
        /// The value found.
        value: String,
    },
    /// A token service setting (the GitHub Actions or managed identity URL,
    /// the identity header) is unusable.
    #[error("{variable}: {reason}")]
    BadUrl {
        /// The variable to fix.
        variable: &'static str,
        /// What is wrong (the URL itself is not repeated: it may carry a
        /// run-specific path).
        reason: String,
    },
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
    /// A GitHub Actions ID token, requested afresh from the runner for every
    /// access token (`client_assertion`).
    GitHubOidc(GitHubOidc),
    /// An Azure managed identity: tokens come from the host's identity
    /// endpoint, not from Entra's token endpoint.
    ManagedIdentity(ManagedIdentity),
}

impl Credential {
    /// A short name of the kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Secret(_) => "client_secret",
            Credential::Certificate(_) => "certificate",
            Credential::FederatedTokenFile(_) => "federated_token_file",
            Credential::GitHubOidc(_) => "github_oidc",
            Credential::ManagedIdentity(_) => "managed_identity",
        }
    }
}

/// Tenant, client id and credential of the identity mailscope runs as.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// Tenant GUID or initial domain.
    pub tenant: String,
    /// The application (client) id; empty for a system-assigned managed
    /// identity (the host's identity endpoint knows it).
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
        let cert = load_certificate("certificate path", path.as_ref(), None)?;
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

    /// Credentials of a managed identity: system-assigned when `client_id`
    /// is `None`, else the user-assigned identity with that client id.
    pub fn with_managed_identity(
        tenant: impl Into<String>,
        client_id: Option<String>,
        identity: ManagedIdentity,
    ) -> Result<Self, CredentialError> {
        let tenant = tenant.into();
        validate_tenant("tenant", &tenant)?;
        if let Some(id) = &client_id {
            validate_guid("client id", id)?;
        }
        let identity = identity.with_client_id(client_id.clone());
        Ok(Self {
            tenant,
            client_id: client_id.unwrap_or_default(),
            credential: Credential::ManagedIdentity(identity),
        })
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
        let client_id = get(ENV_CLIENT_ID).map(|c| c.trim().to_owned());
        if let Some(id) = &client_id {
            validate_guid(ENV_CLIENT_ID, id)?;
        }
        let require_client_id = || {
            client_id.clone().ok_or(CredentialError::Missing {
                variable: ENV_CLIENT_ID,
                what: "application (client) id of the app registration",
            })
        };
        let use_mi = match get(ENV_USE_MANAGED_IDENTITY) {
            None => false,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(CredentialError::NotABool { variable: ENV_USE_MANAGED_IDENTITY, value: v }),
            },
        };

        // 1. Explicit credentials: exactly one.
        let explicit: Vec<&'static str> = [
            ENV_CLIENT_SECRET,
            ENV_CLIENT_CERTIFICATE_PATH,
            ENV_FEDERATED_TOKEN_FILE,
            ENV_USE_MANAGED_IDENTITY,
        ]
        .into_iter()
        .filter(|v| if *v == ENV_USE_MANAGED_IDENTITY { use_mi } else { get(v).is_some() })
        .collect();
        let credential = match explicit.as_slice() {
            [] => None,
            [one] if *one == ENV_CLIENT_SECRET => {
                Some(Credential::Secret(Secret::new(get(ENV_CLIENT_SECRET).unwrap_or_default())))
            }
            [one] if *one == ENV_CLIENT_CERTIFICATE_PATH => {
                let path = PathBuf::from(get(ENV_CLIENT_CERTIFICATE_PATH).unwrap_or_default());
                // A password may legitimately be empty, so it is read raw.
                let password = lookup(ENV_CLIENT_CERTIFICATE_PASSWORD)
                    .filter(|p| !p.is_empty())
                    .map(|p| (ENV_CLIENT_CERTIFICATE_PASSWORD, Secret::new(p)));
                let mut cert = load_certificate(
                    ENV_CLIENT_CERTIFICATE_PATH,
                    &path,
                    password.as_ref().map(|(v, p)| (*v, p)),
                )?;
                if let Some(alg) = get(ENV_CERTIFICATE_ALG) {
                    cert = cert.with_algorithm(match alg.trim().to_ascii_uppercase().as_str() {
                        "PS256" => AssertionAlgorithm::Ps256,
                        "RS256" => AssertionAlgorithm::Rs256,
                        _ => return Err(CredentialError::UnknownAlgorithm(alg)),
                    });
                }
                Some(Credential::Certificate(cert))
            }
            [one] if *one == ENV_FEDERATED_TOKEN_FILE => {
                let path = PathBuf::from(get(ENV_FEDERATED_TOKEN_FILE).unwrap_or_default());
                read_token_file(ENV_FEDERATED_TOKEN_FILE, &path)?;
                Some(Credential::FederatedTokenFile(path))
            }
            [_] => {
                let identity = match (get(ENV_IDENTITY_ENDPOINT), get(ENV_IDENTITY_HEADER)) {
                    (Some(url), Some(header)) => ManagedIdentity::app_service(&url, Secret::new(header))?,
                    _ => ManagedIdentity::imds(get(ENV_IMDS_URL).as_deref())?,
                };
                Some(Credential::ManagedIdentity(identity))
            }
            _ => return Err(CredentialError::Conflicting { variables: explicit }),
        };
        // 2. and 3.: what the platform provides.
        let credential = match credential {
            Some(c) => c,
            None => match (
                get(ENV_ACTIONS_URL),
                get(ENV_ACTIONS_TOKEN),
                get(ENV_IDENTITY_ENDPOINT),
                get(ENV_IDENTITY_HEADER),
            ) {
                (Some(url), Some(token), _, _) => {
                    Credential::GitHubOidc(GitHubOidc::new(&url, Secret::new(token))?)
                }
                (_, _, Some(url), Some(header)) => {
                    Credential::ManagedIdentity(ManagedIdentity::app_service(&url, Secret::new(header))?)
                }
                _ => {
                    // Without a client id that is the first thing to fix.
                    require_client_id()?;
                    return Err(CredentialError::NoCredential);
                }
            },
        };
        let client_id = match credential {
            Credential::ManagedIdentity(identity) => {
                let credential = Credential::ManagedIdentity(identity.with_client_id(client_id.clone()));
                return Ok(Self { tenant, client_id: client_id.unwrap_or_default(), credential });
            }
            _ => require_client_id()?,
        };
        Ok(Self { tenant, client_id, credential })
    }
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
mod tests;
