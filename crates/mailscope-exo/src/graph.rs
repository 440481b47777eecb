//! A small Microsoft Graph client: who holds mailbox application permissions,
//! and `sendMail` (to show an access policy's 403).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use mailscope_permissions::Resource;
use mailscope_planner::{EntraServicePrincipal, PermissionGrant};

use crate::exo::Outcome;

use crate::body::Pages;
use crate::error::{ExoError, ExoErrorKind, graph_error_from_response};
use crate::session::{Raw, Replay, Session};

/// Microsoft Graph's resource appId.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's resource appId.
pub(crate) const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";

/// True for app role values of `resource` that reach mailbox content:
/// the Graph and Exchange Online roles of `mailscope_permissions`' table
/// (policy-fenced ones, RBAC-only ones such as `MailboxItem.Read.All`, EWS
/// `full_access_as_app` and the legacy Outlook REST roles).
pub(crate) fn is_mailbox_permission(resource: &str, value: &str) -> bool {
    Resource::from_app_id(resource).and_then(|r| mailscope_permissions::app_role(r, value)).is_some()
}

/// Who holds mailbox application permissions: the grants, and the holders'
/// service principals (client id, object id, display name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxAccess {
    /// Every mailbox-reaching app-role grant, sorted.
    pub grants: Vec<PermissionGrant>,
    /// The service principals holding them, sorted by client id.
    pub service_principals: Vec<EntraServicePrincipal>,
}

/// The Graph client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GraphClient {
    session: Session,
}

impl GraphClient {
    /// A client on `session`.
    pub fn new(session: Session) -> Self {
        Self { session }
    }

    async fn request(
        &self,
        op: &str,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Raw, ExoError> {
        let inner = &self.session.inner;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let build = |_t: &str| {
            let mut b = inner
                .http
                .request(method.clone(), url)
                .header(reqwest::header::ACCEPT, "application/json")
                .header("client-request-id", &client_request_id);
            if let Some(body) = body {
                b = b.json(body);
            }
            b
        };
        let classify = |raw: &Raw| graph_error_from_response(op, raw.status, &raw.body);
        self.session
            .execute(op, &inner.endpoints.graph_scope, replay, &client_request_id, build, classify)
            .await
    }

    /// GETs a collection, following `@odata.nextLink`.
    pub async fn get_all(&self, op: &str, path_and_query: &str) -> Result<Vec<Value>, ExoError> {
        let base = &self.session.endpoints().graph_url;
        let mut url = format!("{base}{path_and_query}");
        let mut pages = Pages::new(&url);
        let mut out = Vec::new();
        loop {
            let raw = self.request(op, reqwest::Method::GET, &url, None, Replay::Safe).await?;
            let v: Value = serde_json::from_slice(&raw.body)
                .map_err(|_| ExoError::new(ExoErrorKind::Server, op, "the body is not JSON"))?;
            if let Some(a) = v.get("value").and_then(Value::as_array) {
                out.extend(a.iter().cloned());
            }
            match v.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => url = pages.follow(op, next.to_owned())?,
                None => return Ok(out),
            }
        }
    }

    /// GETs one object; `None` on 404.
    pub async fn get_one(&self, op: &str, path_and_query: &str) -> Result<Option<Value>, ExoError> {
        let url = format!("{}{path_and_query}", self.session.endpoints().graph_url);
        match self.request(op, reqwest::Method::GET, &url, None, Replay::Safe).await {
            Ok(raw) => serde_json::from_slice(&raw.body)
                .map(Some)
                .map_err(|_| ExoError::new(ExoErrorKind::Server, op, "the body is not JSON")),
            Err(e) if e.kind == ExoErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every service principal holding a mailbox application permission on
    /// Microsoft Graph or Exchange Online, as (client appId, permission)
    /// pairs. Role ids are resolved from each resource's `appRoles`;
    /// `principalId`s are resolved to appIds. Needs `Application.Read.All`.
    pub async fn list_mailbox_grants(&self) -> Result<Vec<PermissionGrant>, ExoError> {
        self.list_mailbox_access().await.map(|a| a.grants)
    }

    /// [`Self::list_mailbox_grants`] with the holders' service principals
    /// (display names for the audit; object ids to recognise an object id
    /// written where a client id belongs).
    pub async fn list_mailbox_access(&self) -> Result<MailboxAccess, ExoError> {
        let mut grants = Vec::new();
        let mut principals: BTreeSet<String> = BTreeSet::new();
        // (principal, resource app id, permission, role id, assignment id, resource SP id)
        let mut raw_grants: Vec<(String, String, String, String, String, String)> = Vec::new();
        for resource in [GRAPH_APP_ID, EXCHANGE_APP_ID] {
            let Some(sp) = self
                .get_one(
                    "GET servicePrincipals(appId)",
                    &format!("/v1.0/servicePrincipals(appId='{resource}')?$select=id,appId,appRoles"),
                )
                .await?
            else {
                continue;
            };
            let Some(sp_id) = sp.get("id").and_then(Value::as_str) else {
                continue;
            };
            let roles: HashMap<String, String> = sp
                .get("appRoles")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some((r.get("id")?.as_str()?.to_ascii_lowercase(), r.get("value")?.as_str()?.to_owned()))
                })
                .filter(|(_, v)| is_mailbox_permission(resource, v))
                .collect();
            let assignments = self
                .get_all(
                    "GET appRoleAssignedTo",
                    &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo?$top=999"),
                )
                .await?;
            for a in assignments {
                let field = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                if field("principalType") != "ServicePrincipal" {
                    continue;
                }
                let role_id = field("appRoleId").to_ascii_lowercase();
                let Some(value) = roles.get(&role_id) else {
                    continue;
                };
                let principal = field("principalId");
                principals.insert(principal.clone());
                raw_grants.push((
                    principal,
                    resource.to_owned(),
                    value.clone(),
                    role_id,
                    field("id"),
                    sp_id.to_string(),
                ));
            }
        }
        // principalId (tenant-local SP object id) -> appId, concurrently.
        let mut set = tokio::task::JoinSet::new();
        for p in principals {
            let me = self.clone();
            set.spawn(async move {
                let sp = me
                    .get_one(
                        "GET servicePrincipals(id)",
                        &format!("/v1.0/servicePrincipals/{p}?$select=id,appId,displayName"),
                    )
                    .await;
                (p, sp)
            });
        }
        let mut app_ids: BTreeMap<String, String> = BTreeMap::new();
        let mut service_principals = Vec::new();
        while let Some(j) = set.join_next().await {
            let (p, sp) =
                j.map_err(|e| ExoError::new(ExoErrorKind::Other, "list_mailbox_grants", e.to_string()))?;
            let sp = sp?;
            if let Some(app) = sp.as_ref().and_then(|v| v.get("appId")).and_then(Value::as_str) {
                app_ids.insert(p.clone(), app.to_owned());
                let display_name = sp
                    .as_ref()
                    .and_then(|v| v.get("displayName"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                service_principals.push(EntraServicePrincipal {
                    app_id: app.to_owned(),
                    object_id: p,
                    display_name,
                });
            }
        }
        service_principals.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        for (principal, resource, permission, role_id, id, resource_id) in raw_grants {
            if let Some(app_id) = app_ids.get(&principal) {
                grants.push(PermissionGrant {
                    app_id: app_id.clone(),
                    resource_app_id: resource,
                    permission,
                    app_role_id: role_id,
                    id: (!id.is_empty()).then_some(id),
                    resource_id: Some(resource_id),
                });
            }
        }
        grants.sort_by(|a, b| {
            (&a.app_id, &a.resource_app_id, &a.permission).cmp(&(
                &b.app_id,
                &b.resource_app_id,
                &b.permission,
            ))
        });
        grants.dedup();
        Ok(MailboxAccess { grants, service_principals })
    }

    /// The Entra service principal (enterprise application) of `app_id`;
    /// `None` when the app has none in this tenant. RBAC's Exchange pointer
    /// needs its object id, which differs from the app registration's.
    pub async fn service_principal(&self, app_id: &str) -> Result<Option<EntraServicePrincipal>, ExoError> {
        // The id goes into the URL: only a GUID is sent (it is untrusted
        // file content).
        let Ok(id) = uuid::Uuid::try_parse(app_id.trim()) else {
            return Err(ExoError::new(
                ExoErrorKind::InvalidParameter,
                "GET servicePrincipals(appId)",
                "the app id is not a GUID",
            ));
        };
        let sp = self
            .get_one(
                "GET servicePrincipals(appId)",
                &format!("/v1.0/servicePrincipals(appId='{}')?$select=id,appId,displayName", id.hyphenated()),
            )
            .await?;
        Ok(sp.and_then(|v| {
            let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            Some(EntraServicePrincipal {
                app_id: field("appId")?,
                object_id: field("id")?,
                display_name: field("displayName").unwrap_or_default(),
            })
        }))
    }

    /// Deletes an app-role assignment (a tenant-wide grant of an
    /// application permission): `DELETE
    /// /servicePrincipals/{resource_id}/appRoleAssignedTo/{grant_id}`.
    /// Needs `AppRoleAssignment.ReadWrite.All`. An assignment already gone
    /// (404) is [`Outcome::AlreadySo`], which also makes a repeat after a
    /// lost reply harmless.
    pub async fn remove_grant(&self, resource_id: &str, grant_id: &str) -> Result<Outcome, ExoError> {
        const OP: &str = "DELETE appRoleAssignedTo";
        // Both ids come from a plan file: keep them to URL-safe characters.
        let safe =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !safe(resource_id) || !safe(grant_id) {
            return Err(ExoError::new(ExoErrorKind::InvalidParameter, OP, "malformed resource or grant id"));
        }
        let url = format!(
            "{}/v1.0/servicePrincipals/{resource_id}/appRoleAssignedTo/{grant_id}",
            self.session.endpoints().graph_url
        );
        match self.request(OP, reqwest::Method::DELETE, &url, None, Replay::Safe).await {
            Ok(_) => Ok(Outcome::Done),
            Err(e) if e.kind == ExoErrorKind::NotFound => Ok(Outcome::AlreadySo),
            Err(e) => Err(e),
        }
    }

    /// Sends a plain-text mail as `mailbox` (`POST /users/{mailbox}/sendMail`).
    /// An application access policy that fences the app out answers 403
    /// `ErrorAccessDenied` ([`ExoErrorKind::Forbidden`]).
    pub async fn send_mail(
        &self,
        mailbox: &str,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), ExoError> {
        let url = format!("{}/v1.0/users/{mailbox}/sendMail", self.session.endpoints().graph_url);
        let payload = json!({
            "message": {
                "subject": subject,
                "body": {"contentType": "Text", "content": body},
                "toRecipients": [{"emailAddress": {"address": to}}],
            },
            "saveToSentItems": false,
        });
        // Not replayed on an unknown outcome: a second mail is not harmless.
        self.request("POST sendMail", reqwest::Method::POST, &url, Some(&payload), Replay::Unsafe)
            .await
            .map(drop)
    }
}
