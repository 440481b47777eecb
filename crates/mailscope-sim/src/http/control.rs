//! `/_sim/...` control endpoints: faults, config, stats, exposure log, state dump.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::config::SimConfig;
use crate::exposure::OTHER_MAILBOX;
use crate::faults::FaultConfig;
use crate::state::Shared;

type S = State<Arc<Shared>>;

fn bad(e: &JsonRejection) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": e.body_text()}))).into_response()
}

async fn get_faults(State(s): S) -> Json<FaultConfig> {
    Json(s.faults.get())
}

async fn set_faults(State(s): S, body: Result<Json<FaultConfig>, JsonRejection>) -> Response {
    match body {
        Ok(Json(f)) => {
            s.faults.set(f.clone());
            Json(f).into_response()
        }
        Err(e) => bad(&e),
    }
}

async fn get_config(State(s): S) -> Json<SimConfig> {
    let mut c = s.config();
    c.faults = s.faults.get();
    Json(c)
}

async fn set_config(State(s): S, body: Result<Json<SimConfig>, JsonRejection>) -> Response {
    match body {
        Ok(Json(c)) => {
            s.set_config(c.clone());
            Json(c).into_response()
        }
        Err(e) => bad(&e),
    }
}

async fn stats(State(s): S) -> Response {
    Json(s.stats.snapshot()).into_response()
}

async fn stats_reset(State(s): S) -> StatusCode {
    s.stats.reset();
    StatusCode::NO_CONTENT
}

async fn checkpoint(State(s): S) -> StatusCode {
    s.exposure_checkpoint();
    StatusCode::NO_CONTENT
}

async fn exposure(State(s): S) -> Response {
    match s.exposure_report() {
        Some((mutations, exposures)) => Json(json!({
            "checkpoint": true,
            "mutations": mutations,
            "otherMailboxSentinel": OTHER_MAILBOX,
            "exposures": exposures,
        }))
        .into_response(),
        None => Json(json!({
            "checkpoint": false,
            "mutations": 0,
            "otherMailboxSentinel": OTHER_MAILBOX,
            "exposures": [],
        }))
        .into_response(),
    }
}

/// What a client secret reads as in `GET /_sim/state`.
const REDACTED: &str = "<redacted>";

/// The tenant without its client secrets and identity header: the dump is for looking at the
/// tenant's model, and a secret in it would be one unauthenticated GET away
/// from anyone who can reach the port. (The token-signing key is not part
/// of the tenant and never served.)
async fn state(State(s): S) -> Response {
    let mut tenant = (*s.tenant()).clone();
    if let Some(header) = &mut tenant.identity_header {
        REDACTED.clone_into(header);
    }
    for app in &mut tenant.apps {
        for secret in &mut Arc::make_mut(app).client_secrets {
            REDACTED.clone_into(secret);
        }
    }
    Json(tenant).into_response()
}

async fn health() -> &'static str {
    "ok"
}

/// The control routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/health", get(health))
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/config", get(get_config).post(set_config))
        .route("/_sim/stats", get(stats).delete(stats_reset))
        .route("/_sim/stats/reset", post(stats_reset))
        .route("/_sim/exposure/checkpoint", post(checkpoint))
        .route("/_sim/exposure", get(exposure))
        .route("/_sim/state", get(state))
}
