//! Managed identity endpoints of the emulated Azure host: IMDS
//! (`GET /metadata/identity/oauth2/token`, `Metadata: true`, api-version
//! 2018-02-01) and the App Service / Container Apps style (`GET /msi/token`,
//! `X-IDENTITY-HEADER`, api-version 2019-08-01), issuing access tokens for the
//! seed's managed-identity service principals (`managedIdentity:` on an app).
//!
//! Shapes follow Microsoft Learn ("How to use managed identities for Azure
//! resources on an Azure VM to acquire an access token", "Managed identities
//! for App Service and Azure Functions"): IMDS answers every field as a
//! string, `expires_in` included; the App Service endpoint answers
//! `expires_on` (Unix seconds, as a string) and no `expires_in`, so a client
//! must handle both. The real endpoints listen on 169.254.169.254 and
//! loopback; the emulator serves them on its own origin.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::entra::{audience_for_scope, mint};
use crate::clock;
use crate::model::{App, ManagedIdentityKind, Tenant};
use crate::stats::Endpoint;

type S = State<std::sync::Arc<crate::state::Shared>>;

/// `api-version` IMDS is asked with (and the only one the emulator serves).
const IMDS_API_VERSION: &str = "2018-02-01";
/// `api-version` of the App Service style endpoint.
const APP_SERVICE_API_VERSION: &str = "2019-08-01";

/// The two endpoint styles, for their error shapes.
#[derive(Clone, Copy)]
enum Style {
    Imds,
    AppService,
}

fn fail(style: Style, status: StatusCode, error: &str, text: &str) -> Response {
    let body = match style {
        Style::Imds => json!({ "error": error, "error_description": text }),
        Style::AppService => {
            json!({ "statusCode": status.as_u16(), "message": text, "correlationId": uuid::Uuid::new_v4().to_string() })
        }
    };
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

/// The identity the query selects: `client_id`, `object_id`/`principal_id`,
/// or none for the system-assigned one.
fn select<'t>(tenant: &'t Tenant, q: &HashMap<String, String>) -> Result<&'t App, &'static str> {
    let mis = || tenant.apps.iter().map(AsRef::as_ref).filter(|a| a.managed_identity.is_some());
    let param = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if param("msi_res_id").is_some() || param("mi_res_id").is_some() {
        return Err("Selecting an identity by resource id is not supported by the emulator; use client_id.");
    }
    let found = if let Some(id) = param("client_id") {
        mis().find(|a| a.app_id.eq_ignore_ascii_case(id))
    } else if let Some(id) = param("object_id").or_else(|| param("principal_id")) {
        mis().find(|a| a.service_principal_id.eq_ignore_ascii_case(id))
    } else {
        mis().find(|a| a.managed_identity == Some(ManagedIdentityKind::SystemAssigned))
    };
    found.ok_or("Identity not found")
}

fn answer(shared: &crate::state::Shared, style: Style, q: &HashMap<String, String>) -> Response {
    let want_version = match style {
        Style::Imds => IMDS_API_VERSION,
        Style::AppService => APP_SERVICE_API_VERSION,
    };
    match q.get("api-version").map(String::as_str) {
        None => {
            return fail(
                style,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Required query variable 'api-version' is missing",
            );
        }
        Some(v) if v != want_version => {
            return fail(
                style,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("The emulator serves api-version {want_version} here, not {v}."),
            );
        }
        Some(_) => {}
    }
    let Some(resource) = q.get("resource").map(|r| r.trim().trim_end_matches('/')).filter(|r| !r.is_empty())
    else {
        return fail(
            style,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let Some((audience, resource_app)) = audience_for_scope(&format!("{resource}/.default")) else {
        return fail(
            style,
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            &format!("AADSTS500011: The resource principal named {resource} was not found in the tenant."),
        );
    };
    let tenant = shared.tenant();
    let app = match select(&tenant, q) {
        Ok(app) => app,
        Err(text) => return fail(style, StatusCode::BAD_REQUEST, "invalid_request", text),
    };
    let minted = match mint(shared, &tenant, app, audience, resource_app, "2") {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let token = minted["access_token"].clone();
    let lifetime = minted["expires_in"].as_u64().unwrap_or(0);
    let now = clock::unix_now();
    let body: Value = match style {
        Style::Imds => json!({
            "access_token": token,
            "client_id": app.app_id,
            "expires_in": lifetime.to_string(),
            "expires_on": (now + lifetime).to_string(),
            "ext_expires_in": lifetime.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
        Style::AppService => json!({
            "access_token": token,
            "expires_on": (now + lifetime).to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": app.app_id,
        }),
    };
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

/// `GET /metadata/identity/oauth2/token` (IMDS).
pub(crate) async fn imds(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    shared.stats.count(Endpoint::Token, None);
    shared.faults.latency().await;
    let metadata = headers.get("metadata").and_then(|v| v.to_str().ok());
    if !metadata.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return fail(
            Style::Imds,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    answer(&shared, Style::Imds, &q)
}

/// `GET /msi/token` (App Service, Functions, Container Apps: `IDENTITY_ENDPOINT`).
pub(crate) async fn app_service(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    shared.stats.count(Endpoint::Token, None);
    shared.faults.latency().await;
    let presented = headers.get("x-identity-header").and_then(|v| v.to_str().ok());
    let expected = shared.tenant().identity_header.clone();
    match (presented, expected) {
        (Some(p), Some(e)) if !e.is_empty() && p == e => answer(&shared, Style::AppService, &q),
        (None, _) => fail(
            Style::AppService,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The X-IDENTITY-HEADER header is missing.",
        ),
        _ => fail(
            Style::AppService,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The X-IDENTITY-HEADER value is not valid.",
        ),
    }
}
