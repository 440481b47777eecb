//! The HTTP layer: one router over the shared state for every endpoint the
//! sim serves. Handlers sit above `state` (and the cmdlets in `exo`); only
//! `server` sits above this module.

mod admin_api;
mod control;
mod entra;
mod graph;
mod managed_identity;
mod oidc;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::state::Shared;

pub use graph::AAP_DENIAL;

/// Whether the router is served over HTTP or HTTPS: discovery documents name
/// the emulator's own URLs, and client assertions are addressed to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// Plain HTTP (mailscope's own client, tests).
    Http,
    /// HTTPS with the emulator's local CA (Microsoft's client libraries).
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

tokio::task_local! {
    /// The scheme of the request being handled, for handlers that build
    /// absolute URLs from the `Host` header alone (`@odata.context`,
    /// `@odata.nextLink`): a client over HTTPS must be sent back to HTTPS,
    /// or it refuses the link as another origin.
    static SCHEME: Scheme;
}

/// The scheme of the request being handled (HTTP outside a request).
pub(crate) fn request_scheme() -> Scheme {
    SCHEME.try_with(|s| *s).unwrap_or(Scheme::Http)
}

/// Runs the handler with its scheme known, and gives an HTTP/2 request the
/// `Host` header that HTTP/1.1 clients send (HTTP/2 carries the authority in
/// the URI), so handlers read the origin the same way for both.
async fn with_origin(scheme: Scheme, mut req: Request, next: Next) -> Response {
    if !req.headers().contains_key(header::HOST)
        && let Some(value) = req.uri().authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(header::HOST, value);
    }
    SCHEME.scope(scheme, next.run(req)).await
}

/// `scheme://host[:port]` the client addressed: the `Host` header (HTTP/1.1)
/// or the request URI's authority (HTTP/2 carries no `Host`).
pub(crate) fn origin(scheme: Scheme, headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(ToString::to_string))?;
    Some(format!("{}://{host}", scheme.as_str()))
}

/// All endpoints on one origin: token and discovery, the managed identity
/// endpoints, `InvokeCommand`, Graph and `/_sim` control.
pub(crate) fn router(shared: Arc<Shared>, scheme: Scheme) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token_endpoint))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(oidc::openid_configuration_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(oidc::openid_configuration_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(oidc::keys))
        .route("/{tenant}/discovery/keys", get(oidc::keys))
        .route("/{tenant}/discovery/instance", get(oidc::instance_discovery))
        .route("/metadata/identity/oauth2/token", get(managed_identity::imds))
        .route("/msi/token", get(managed_identity::app_service))
        .route("/adminapi/{version}/{tenant}/InvokeCommand", post(admin_api::invoke_command))
        .route("/v1.0/users/{user}/sendMail", post(graph::send_mail))
        .route("/v1.0/{*rest}", get(graph::get).delete(graph::delete))
        .merge(control::routes())
        .layer(middleware::from_fn(move |req, next| with_origin(scheme, req, next)))
        .layer(Extension(scheme))
        .with_state(shared)
}
