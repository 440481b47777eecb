//! The Microsoft Graph subset: `sendMail` and `messages` (with the combined
//! Entra grant / access policy / RBAC decision as Graph's cache sees it), the
//! `servicePrincipals` reads tools use to find which apps hold mailbox
//! permissions, and the removal of an app-role grant (`docs/exchange.md`,
//! "Access decision" and "Graph").
//!
//! Over 600 lines because it is the whole Graph surface with its shared
//! admission, error body, paging and service-principal model; split it by
//! resource (users, servicePrincipals) when a further endpoint lands.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::admin_api::injected_response;
use mailscope_permissions::Resource;

use crate::catalog::{
    self, APP_ROLE_ASSIGNMENT_WRITE, AppRole, EXCHANGE_APP_ID, GRAPH_APP_ID, GRAPH_AUDIENCE,
    GRAPH_READ_ROLES, MICROSOFT_TENANT_ID,
};
use crate::clock;
use crate::decision::{self, Access};
use crate::exo::{CmdletError, Params, WriteCtx};
use crate::model::{Recipient, Tenant};
use crate::seed::derived_guid;
use crate::state::{Shared, WriteError};
use crate::stats::Endpoint;
use crate::tcp::ConnInfo;
use crate::token::{self, AccessClaims, TokenProblem};

/// The AAP denial text Graph returns today (docs/exchange.md, "Graph" and "Access decision" default).
pub const AAP_DENIAL: &str =
    "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.";

/// Graph's text for an app holding no effective permission on the mailbox:
/// no Entra grant, and no RBAC assignment covering it (the RBAC case is not
/// documented; see docs/sim.md).
const ACCESS_DENIED: &str = "Access is denied. Check credentials and try again.";

fn graph_error(status: StatusCode, code: &str, message: &str, headers: &HeaderMap) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let body = json!({"error": {
        "code": code,
        "message": message,
        "innerError": {
            "date": clock::graph_time(clock::unix_now()),
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
    }});
    (status, axum::Json(body)).into_response()
}

/// What every Graph request goes through first: counting, injected latency
/// and faults, then the bearer token.
async fn admit(
    shared: &Shared,
    conn: &ConnInfo,
    headers: &HeaderMap,
) -> Result<(Arc<Tenant>, AccessClaims), Box<Response>> {
    shared.stats.count(Endpoint::Graph, None);
    shared.faults.latency().await;
    if let Some(inj) = shared.faults.draw() {
        return Err(Box::new(injected_response(shared, conn, inj)));
    }
    let tenant = shared.tenant();
    let claims = authenticate(shared, &tenant, headers)?;
    Ok((tenant, claims))
}

fn authenticate(
    shared: &Shared,
    tenant: &Tenant,
    headers: &HeaderMap,
) -> Result<AccessClaims, Box<Response>> {
    token::verify_bearer(&shared.signing_key, headers, GRAPH_AUDIENCE, tenant).map_err(|p| {
        let msg = match p {
            TokenProblem::Missing => "Access token is empty.",
            TokenProblem::Invalid => "Access token validation failure. Invalid token or expired.",
            TokenProblem::WrongAudience => "Access token validation failure. Invalid audience.",
            TokenProblem::WrongTenant => "Access token validation failure. Invalid tenant.",
        };
        let mut r = graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", msg, headers);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
        );
        Box::new(r)
    })
}

/// `POST /v1.0/users/{id|upn}/sendMail`.
pub(crate) async fn send_mail(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (tenant, claims) = match admit(&shared, &conn, &headers).await {
        Ok(admitted) => admitted,
        Err(r) => return *r,
    };
    let view = shared.graph_view();
    let entra = claims.roles.iter().any(|r| r == "Mail.Send");
    let any_rbac =
        decision::assignments_of(&view, &claims.appid).any(|a| decision::role_grants(&a.role, "Mail.Send"));
    if !entra && !any_rbac {
        return graph_error(StatusCode::FORBIDDEN, "ErrorAccessDenied", ACCESS_DENIED, &headers);
    }
    let Some(target) = mailbox(&tenant, &user) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            &format!("The requested user '{user}' is invalid."),
            &headers,
        );
    };
    let has_message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("message").map(Value::is_object))
        .unwrap_or(false);
    if !has_message {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "The value of the parameter 'Message' is empty.",
            &headers,
        );
    }
    let access = decide(&shared, &view, &claims, &["Mail.Send"], target);
    if let Some(denied) = denial(access, &headers) {
        return denied;
    }
    let mut r = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        r.headers_mut().insert("request-id", v);
    }
    r
}

/// The mailbox `/users/{user}` names (object id or any SMTP address).
fn mailbox<'a>(t: &'a Tenant, user: &str) -> Option<&'a Recipient> {
    // Both an object id and an SMTP address are lookup keys the directory indexes.
    t.recipients.candidates(user).into_iter().map(|i| &t.recipients[i]).find(|r| {
        r.kind.is_mailbox() && (r.external_directory_object_id.eq_ignore_ascii_case(user) || r.has_smtp(user))
    })
}

/// The best verdict over the permissions an endpoint accepts (any one of
/// them suffices), on Graph's delayed view; the Entra grant is the token's.
fn decide(
    shared: &Shared,
    view: &Tenant,
    claims: &AccessClaims,
    perms: &[&str],
    target: &Recipient,
) -> Access {
    let target = view.recipient_by_object_id(&target.external_directory_object_id).unwrap_or(target);
    let mut best = Access::Denied;
    for perm in perms {
        let entra = claims.roles.iter().any(|r| r.eq_ignore_ascii_case(perm));
        match decision::effective(view, &claims.appid, entra, perm, target, shared.knobs()) {
            Access::Granted => return Access::Granted,
            Access::DeniedByPolicy => best = Access::DeniedByPolicy,
            Access::Denied => {}
        }
    }
    best
}

/// The 403 of a denied verdict: the policy text when an Entra grant was
/// fenced by a policy, Graph's generic text otherwise.
fn denial(access: Access, headers: &HeaderMap) -> Option<Response> {
    match access {
        Access::Granted => None,
        Access::DeniedByPolicy => {
            Some(graph_error(StatusCode::FORBIDDEN, "ErrorAccessDenied", AAP_DENIAL, headers))
        }
        Access::Denied => {
            Some(graph_error(StatusCode::FORBIDDEN, "ErrorAccessDenied", ACCESS_DENIED, headers))
        }
    }
}

/// Permissions `GET /users/{id}/messages` accepts (any one).
const MESSAGE_READ: &[&str] = &["Mail.ReadBasic", "Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"];

/// `GET /v1.0/users/{id}/messages`: the sim stores no mail, so an allowed
/// call lists nothing; what it proves is the decision.
fn messages(
    shared: &Shared,
    tenant: &Tenant,
    claims: &AccessClaims,
    user: &str,
    headers: &HeaderMap,
) -> Response {
    let Some(target) = mailbox(tenant, user) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            &format!("The requested user '{user}' is invalid."),
            headers,
        );
    };
    let view = shared.graph_view();
    if let Some(denied) = denial(decide(shared, &view, claims, MESSAGE_READ, target), headers) {
        return denied;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let body = json!({"@odata.context": format!("http://{host}/v1.0/$metadata#users('{user}')/messages"), "value": []});
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// One service principal as Graph shows it.
struct Sp {
    id: String,
    app_id: String,
    display_name: String,
    owner: String,
    roles: Vec<AppRole>,
}

fn service_principals(t: &Tenant) -> Vec<Sp> {
    let mut out = vec![
        Sp {
            id: derived_guid(&t.id, "service-principal", GRAPH_APP_ID),
            app_id: GRAPH_APP_ID.to_owned(),
            display_name: "Microsoft Graph".to_owned(),
            owner: MICROSOFT_TENANT_ID.to_owned(),
            roles: catalog::app_roles(Resource::Graph),
        },
        Sp {
            id: derived_guid(&t.id, "service-principal", EXCHANGE_APP_ID),
            app_id: EXCHANGE_APP_ID.to_owned(),
            display_name: "Office 365 Exchange Online".to_owned(),
            owner: MICROSOFT_TENANT_ID.to_owned(),
            roles: catalog::app_roles(Resource::ExchangeOnline),
        },
    ];
    out.extend(t.apps.iter().map(|a| Sp {
        id: a.service_principal_id.clone(),
        app_id: a.app_id.clone(),
        display_name: a.display_name.clone(),
        owner: t.id.clone(),
        roles: Vec::new(),
    }));
    out
}

fn sp_json(sp: &Sp) -> Value {
    let roles: Vec<Value> = sp
        .roles
        .iter()
        .map(|r| {
            json!({
                "allowedMemberTypes": ["Application"],
                "description": r.display,
                "displayName": r.display,
                "id": r.id,
                "isEnabled": true,
                "origin": "Application",
                "value": r.value,
            })
        })
        .collect();
    json!({
        "id": sp.id,
        "deletedDateTime": null,
        "accountEnabled": true,
        "appDisplayName": sp.display_name,
        "appId": sp.app_id,
        "appOwnerOrganizationId": sp.owner,
        "displayName": sp.display_name,
        "servicePrincipalNames": [sp.app_id],
        "servicePrincipalType": "Application",
        "tags": [],
        "appRoles": roles,
    })
}

fn assignments(t: &Tenant, resource: &Sp) -> Vec<Value> {
    let mut out = Vec::new();
    for app in &t.apps {
        let granted = if resource.app_id == GRAPH_APP_ID {
            &app.graph_permissions
        } else if resource.app_id == EXCHANGE_APP_ID {
            &app.exchange_permissions
        } else {
            continue;
        };
        for perm in granted {
            let Some(role) = resource.roles.iter().find(|r| r.value.eq_ignore_ascii_case(perm)) else {
                continue;
            };
            out.push(json!({
                "id": assignment_id(&app.service_principal_id, role.id),
                "deletedDateTime": null,
                "appRoleId": role.id,
                "createdDateTime": clock::graph_time(app.created),
                "principalDisplayName": app.display_name,
                "principalId": app.service_principal_id,
                "principalType": "ServicePrincipal",
                "resourceDisplayName": resource.display_name,
                "resourceId": resource.id,
            }));
        }
    }
    out
}

/// An app-role assignment's id: stable for (principal, role), so a listing
/// and a later DELETE agree.
fn assignment_id(principal_id: &str, role_id: &str) -> String {
    let digest = Sha256::digest(format!("{principal_id}|{role_id}").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..32])
}

fn query_map(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(x) =
                std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `$filter` subset: `prop eq 'value'` joined by `and`, on appId / displayName / id.
fn graph_filter(f: &str) -> Option<Vec<(String, String)>> {
    f.split(" and ")
        .map(|clause| {
            let (prop, value) = clause.trim().split_once(" eq ")?;
            let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?.replace("''", "'");
            let prop = prop.trim();
            ["appId", "displayName", "id", "servicePrincipalType"]
                .iter()
                .find(|p| p.eq_ignore_ascii_case(prop))
                .map(|p| ((*p).to_owned(), value))
        })
        .collect()
}

fn page(
    headers: &HeaderMap,
    path: &str,
    qp: &[(String, String)],
    items: Vec<Value>,
    context: &str,
) -> Response {
    let bad = |m: &str| graph_error(StatusCode::BAD_REQUEST, "BadRequest", m, headers);
    let mut top = 100usize;
    let mut skip = 0usize;
    let mut select: Option<Vec<String>> = None;
    for (k, v) in qp {
        match k.to_ascii_lowercase().as_str() {
            "$top" => match v.parse::<usize>() {
                Ok(n) if (1..=999).contains(&n) => top = n,
                _ => {
                    return bad(&format!(
                        "Invalid page size specified: '{v}'. Must be between 1 and 999 inclusive."
                    ));
                }
            },
            "$skiptoken" => match v.parse::<usize>() {
                Ok(n) => skip = n,
                Err(_) => return bad("Invalid skip token."),
            },
            "$select" => select = Some(v.split(',').map(|s| s.trim().to_owned()).collect()),
            _ => {}
        }
    }
    let total = items.len();
    let end = (skip + top).min(total);
    let value: Vec<Value> =
        items
            .into_iter()
            .skip(skip)
            .take(end.saturating_sub(skip))
            .map(|v| match (&select, v) {
                (Some(sel), Value::Object(m)) => Value::Object(
                    m.into_iter()
                        .filter(|(k, _)| sel.iter().any(|s| s.eq_ignore_ascii_case(k)))
                        .collect::<Map<String, Value>>(),
                ),
                (_, v) => v,
            })
            .collect();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let scheme = super::request_scheme().as_str();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{scheme}://{host}/v1.0/$metadata#{context}")));
    body.insert("value".into(), Value::Array(value));
    if end < total {
        let mut url = format!("{scheme}://{host}/v1.0/{path}?");
        for (k, v) in qp.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken")) {
            let _ = write!(url, "{k}={}&", v.replace(' ', "%20").replace('\'', "%27"));
        }
        let _ = write!(url, "$skiptoken={end}");
        body.insert("@odata.nextLink".into(), json!(url));
    }
    (StatusCode::OK, axum::Json(Value::Object(body))).into_response()
}

/// `GET /v1.0/servicePrincipals...`.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (tenant, claims) = match admit(&shared, &conn, &headers).await {
        Ok(admitted) => admitted,
        Err(r) => return *r,
    };
    if let Some(user) = rest
        .trim_matches('/')
        .strip_prefix("users/")
        .and_then(|u| u.strip_suffix("/messages"))
        .filter(|u| !u.contains('/'))
    {
        return messages(&shared, &tenant, &claims, user, &headers);
    }
    if !claims.roles.iter().any(|r| GRAPH_READ_ROLES.contains(&r.as_str())) {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            &headers,
        );
    }
    let qp = query_map(query.as_deref());
    let sps = service_principals(&tenant);
    let not_found = |key: &str| {
        graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
            &headers,
        )
    };
    let path = rest.trim_matches('/');
    let (head, tail) = path.split_once('/').unwrap_or((path, ""));
    // servicePrincipals(appId='...') or servicePrincipals/{id}
    let (sp_key, sub) =
        if let Some(inner) = head.strip_prefix("servicePrincipals(").and_then(|s| s.strip_suffix(')')) {
            let Some(app_id) = inner.strip_prefix("appId=").map(|v| v.trim_matches('\'').to_owned()) else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Invalid object identifier.",
                    &headers,
                );
            };
            let Some(sp) = sps.iter().find(|s| s.app_id.eq_ignore_ascii_case(&app_id)) else {
                return not_found(&format!("appId={app_id}"));
            };
            (Some(sp), tail)
        } else if head == "servicePrincipals" {
            if tail.is_empty() {
                let mut items: Vec<&Sp> = sps.iter().collect();
                if let Some((_, f)) = qp.iter().find(|(k, _)| k.eq_ignore_ascii_case("$filter")) {
                    let Some(clauses) = graph_filter(f) else {
                        return graph_error(
                            StatusCode::BAD_REQUEST,
                            "BadRequest",
                            "Unsupported Query.",
                            &headers,
                        );
                    };
                    items.retain(|sp| {
                        let j = sp_json(sp);
                        clauses
                            .iter()
                            .all(|(k, v)| j[k.as_str()].as_str().is_some_and(|x| x.eq_ignore_ascii_case(v)))
                    });
                }
                let values = items.into_iter().map(sp_json).collect();
                return page(&headers, "servicePrincipals", &qp, values, "servicePrincipals");
            }
            let (id, sub) = tail.split_once('/').unwrap_or((tail, ""));
            let Some(sp) = sps.iter().find(|s| s.id.eq_ignore_ascii_case(id)) else {
                return not_found(id);
            };
            (Some(sp), sub)
        } else {
            (None, "")
        };
    let Some(sp) = sp_key else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{head}'."),
            &headers,
        );
    };
    match sub {
        "" => (StatusCode::OK, axum::Json(sp_json(sp))).into_response(),
        "appRoleAssignedTo" => page(
            &headers,
            path,
            &qp,
            assignments(&tenant, sp),
            &format!("servicePrincipals('{}')/appRoleAssignedTo", sp.id),
        ),
        other => graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{other}'."),
            &headers,
        ),
    }
}

/// Parameters of the grant removal handed to the write path.
const REMOVE_GRANT_PARAMS: &[&str] = &["ResourceAppId", "AssignmentId"];

/// Removes the app-role grant `AssignmentId` of the resource `ResourceAppId`
/// from the working tenant; not found when no app holds it.
fn remove_grant(cx: &mut WriteCtx<'_>) -> Result<Vec<Value>, CmdletError> {
    let resource_app = cx.params.required("ResourceAppId")?;
    let id = cx.params.required("AssignmentId")?;
    let resource = Resource::from_app_id(&resource_app).ok_or_else(|| CmdletError::not_found(&id, ""))?;
    let roles = catalog::app_roles(resource);
    for app in &mut cx.tenant.apps {
        let sp = &app.service_principal_id;
        let granted =
            if resource == Resource::Graph { &app.graph_permissions } else { &app.exchange_permissions };
        let hit = granted.iter().position(|perm| {
            roles.iter().any(|r| r.value.eq_ignore_ascii_case(perm) && assignment_id(sp, r.id) == id)
        });
        if let Some(i) = hit {
            // Copy only the app that loses the grant.
            let app = Arc::make_mut(app);
            if resource == Resource::Graph {
                app.graph_permissions.remove(i);
            } else {
                app.exchange_permissions.remove(i);
            }
            return Ok(Vec::new());
        }
    }
    Err(CmdletError::not_found(&id, ""))
}

/// `DELETE /v1.0/servicePrincipals/{resourceId}/appRoleAssignedTo/{id}`
/// (also addressed by `servicePrincipals(appId='…')`): removes an app's
/// grant. 204; 404 when gone; 403 `Authorization_RequestDenied` without
/// `AppRoleAssignment.ReadWrite.All` (Microsoft Learn, "Delete
/// appRoleAssignedTo"). The change is a committed mutation: persisted,
/// delayed for Graph, and counted by the exposure log.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (tenant, claims) = match admit(&shared, &conn, &headers).await {
        Ok(admitted) => admitted,
        Err(r) => return *r,
    };
    if !claims.roles.iter().any(|r| r == APP_ROLE_ASSIGNMENT_WRITE) {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            &headers,
        );
    }
    let not_found = |key: &str| {
        graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
            &headers,
        )
    };
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let sps = service_principals(&tenant);
    let (sp, id) = match parts.as_slice() {
        ["servicePrincipals", key, "appRoleAssignedTo", id] => {
            (sps.iter().find(|s| s.id.eq_ignore_ascii_case(key)), *id)
        }
        [head, "appRoleAssignedTo", id] => {
            let app_id = head
                .strip_prefix("servicePrincipals(appId=")
                .and_then(|s| s.strip_suffix(')'))
                .map(|s| s.trim_matches('\''));
            (app_id.and_then(|a| sps.iter().find(|s| s.app_id.eq_ignore_ascii_case(a))), *id)
        }
        _ => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Unsupported request: only appRoleAssignedTo entries can be deleted here.",
                &headers,
            );
        }
    };
    let Some(sp) = sp else {
        return not_found(parts.get(1).copied().unwrap_or_default());
    };
    let mut raw = Map::new();
    raw.insert("ResourceAppId".into(), json!(sp.app_id));
    raw.insert("AssignmentId".into(), json!(id));
    let Ok(params) = Params::bind(REMOVE_GRANT_PARAMS, &raw) else {
        return not_found(id);
    };
    match shared.execute_write("DELETE appRoleAssignedTo", remove_grant, &params) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(WriteError::Cmdlet(_)) => not_found(id),
        Err(WriteError::Persist(msg)) => {
            graph_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", &msg, &headers)
        }
    }
}
