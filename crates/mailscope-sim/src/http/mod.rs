//! The HTTP layer: one router over the shared state for every endpoint the
//! sim serves. Handlers sit above `state` (and the cmdlets in `exo`); only
//! `server` sits above this module.

mod admin_api;
mod control;
mod entra;
mod graph;
mod oidc;

use std::sync::Arc;

use axum::http::{HeaderMap, Uri, header};
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

/// All endpoints on one origin: token and discovery, `InvokeCommand`, Graph and `/_sim` control.
pub(crate) fn router(shared: Arc<Shared>, scheme: Scheme) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token_endpoint))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(oidc::openid_configuration_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(oidc::openid_configuration_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(oidc::keys))
        .route("/{tenant}/discovery/keys", get(oidc::keys))
        .route("/{tenant}/discovery/instance", get(oidc::instance_discovery))
        .route("/adminapi/{version}/{tenant}/InvokeCommand", post(admin_api::invoke_command))
        .route("/v1.0/users/{user}/sendMail", post(graph::send_mail))
        .route("/v1.0/{*rest}", get(graph::get))
        .merge(control::routes())
        .layer(Extension(scheme))
        .with_state(shared)
}
