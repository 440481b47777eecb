//! The HTTP layer: one router over the shared state for every endpoint the
//! sim serves. Handlers sit above `state` (and the cmdlets in `exo`); only
//! `server` sits above this module.

mod admin_api;
mod control;
mod entra;
mod graph;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::Shared;

pub use graph::AAP_DENIAL;

/// All endpoints on one origin: token, `InvokeCommand`, Graph and `/_sim` control.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token_endpoint))
        .route("/adminapi/{version}/{tenant}/InvokeCommand", post(admin_api::invoke_command))
        .route("/v1.0/users/{user}/sendMail", post(graph::send_mail))
        .route("/v1.0/{*rest}", get(graph::get))
        .merge(control::routes())
        .with_state(shared)
}
