//! mailscope-exo: the only part of mailscope that talks to a real tenant.
//!
//! - [`ClientCredentials`] reads `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and one
//!   of `AZURE_CLIENT_SECRET` / `AZURE_CLIENT_CERTIFICATE_PATH` (PEM or
//!   PKCS#12) / `AZURE_FEDERATED_TOKEN_FILE`, or uses GitHub Actions OIDC
//!   ([`GitHubOidc`]) or an Azure managed identity ([`ManagedIdentity`]),
//!   like the Azure SDKs and Terraform's azurerm provider.
//! - [`Cloud`] and [`Endpoints`] know the login, Exchange and Graph hosts of
//!   each national cloud; [`EndpointOverrides`] redirects them (the emulator).
//! - [`Session`] holds the HTTP client, the [`TokenSource`], its own
//!   concurrency limit, the call counters and the retry loop.
//! - [`ExoClient`] speaks `InvokeCommand` (typed cmdlets, paging, errors) and
//!   reads a [`LiveSnapshot`](mailscope_planner::LiveSnapshot) with
//!   [`ExoClient::read_snapshot`].
//! - RBAC for Applications (pointers, management scopes, role assignments,
//!   [`RbacCheck`]) is read and written through [`ExoClient`] too.
//! - [`GraphClient`] lists mailbox permission grants, finds an app's
//!   service principal, removes a grant and sends mail.
//!
//! Secrets, tokens and assertions are wrapped in [`Secret`] / [`AccessToken`]
//! and never appear in `Debug` output, errors or tracing fields.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mailscope_exo::{ClientCredentials, Cloud, EndpointOverrides, Session, SessionConfig, SnapshotRequest};
//! let creds = ClientCredentials::from_env()?;
//! let session = Session::new(creds, Cloud::Public, &EndpointOverrides::from_env(), SessionConfig::default())?;
//! let snapshot = session.exo().read_snapshot(&SnapshotRequest::default()).await?;
//! println!("{} policies; {} calls", snapshot.policies.len(), session.stats().total());
//! # Ok(()) }
//! ```

// The modules are private: the crate's API is what is re-exported here, so
// a helper that is public only for a sibling module cannot leak into it.
mod aimd;
mod body;
mod certificate;
mod cloud;
mod credentials;
mod error;
mod exo;
mod github_oidc;
mod graph;
mod identity;
mod lease;
mod managed_identity;
mod paging;
mod rbac;
mod recipients;
mod retry;
mod secret;
mod session;
mod snapshot;
mod token;

pub use aimd::{Aimd, DEFAULT_INITIAL_CONCURRENCY, Signal};
pub use certificate::{AssertionAlgorithm, CertificateCredential};
pub use cloud::{Cloud, EndpointError, EndpointOverrides, Endpoints};
pub use credentials::{ClientCredentials, Credential, CredentialError};
pub use error::{ExoError, ExoErrorDetails, ExoErrorKind};
pub use exo::{AccessCheck, ExoClient, Outcome, fuzz_invoke_page};
pub use github_oidc::GitHubOidc;
pub use graph::{GraphClient, MailboxAccess};
pub use identity::TenantIdentity;
pub use lease::LeaseGroup;
pub use managed_identity::ManagedIdentity;
pub use paging::{Invocation, MAX_WARNING_CHARS, MAX_WARNINGS};
pub use rbac::RbacCheck;
pub use recipients::ResolvedAddress;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::{CallStats, DEFAULT_MAX_CONCURRENCY, Session, SessionConfig, SessionError};
pub use snapshot::SnapshotRequest;
pub use token::{AccessToken, AuthError, TokenSource};
