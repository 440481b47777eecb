//! The Exchange Online admin API (`InvokeCommand`) client. The retry rule
//! per cmdlet is documented on [`ExoClient`], where the API docs show it.

use serde_json::{Value, json};

use mailscope_planner::{AccessRight, LiveGroup, LivePolicy, Recipient};

use crate::error::{ExoError, ExoErrorKind, exo_error_from_response};
use crate::paging::Invocation;
use crate::session::{Raw, Replay, Session};

/// Routing hint for organization-level cmdlets of an app-only caller.
const SYSTEM_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

/// The marker attribute when none is chosen: `CustomAttribute15`
/// (`markerAttribute` in the desired file picks another).
pub(crate) const DEFAULT_MARKER_ATTRIBUTE: u8 = 15;

/// The filter that finds mailscope's groups in one call: its marker in
/// `CustomAttribute<n>`. It asks for `mailscope/v1 app=` and not just
/// `mailscope/v1`: the apply lease's group keeps its record
/// (`mailscope/v1 lease …`) in `CustomAttribute14`, which a file may choose
/// as its `markerAttribute`, and the lease is no app's group.
pub(crate) fn managed_group_filter(attribute: u8) -> String {
    format!("CustomAttribute{attribute} -like 'mailscope/v1 app=*'")
}

/// Result of a write whose target state may already hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The call changed the tenant.
    Done,
    /// The tenant already was that way (already a member, not a member,
    /// already gone), e.g. because a previous attempt's reply was lost.
    AlreadySo,
}

/// Result of `Test-ApplicationAccessPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessCheck {
    /// The app may access the mailbox.
    Granted,
    /// The app may not access the mailbox.
    Denied,
}

/// The `InvokeCommand` client. Cheap to clone.
///
/// # Retry rule per cmdlet
///
/// Throttling (429) and connect failures are retried for every cmdlet: the
/// request was not processed. For a lost reply (reset, timeout, 502–504,
/// transient 500) the rule depends on whether a repeat is harmless:
///
/// | cmdlet | on an unknown outcome |
/// |---|---|
/// | `Get-*`, `Test-ApplicationAccessPolicy` | retried (reads) |
/// | `Set-DistributionGroup`, `Set-ApplicationAccessPolicy` | retried (setting the same value twice is harmless) |
/// | `Add-DistributionGroupMember` | retried; "is already a member" then counts as done ([`Outcome::AlreadySo`]) |
/// | `Remove-DistributionGroupMember` | retried; "isn't a member" / not found counts as done |
/// | `Remove-DistributionGroup`, `Remove-ApplicationAccessPolicy` | retried; not found counts as done |
/// | `New-DistributionGroup` | not blindly retried: the group is read back by name; if it exists it was created, otherwise the call is sent once more |
/// | `New-ApplicationAccessPolicy` | not blindly retried: policies are read back; a policy with the same app, scope and right means it was created, otherwise sent once more |
#[derive(Debug, Clone)]
pub struct ExoClient {
    session: Session,
    /// The `InvokeCommand` URL of the session's tenant (the first page's).
    pub(crate) url: String,
    /// N of the `CustomAttributeN` holding group markers (1..=15).
    marker_attribute: u8,
}

impl ExoClient {
    /// A client on `session`, reading and writing group markers in
    /// `CustomAttribute15`.
    pub fn new(session: Session) -> Self {
        let url = session.endpoints().invoke_command_url(session.tenant());
        Self { session, url, marker_attribute: DEFAULT_MARKER_ATTRIBUTE }
    }

    /// The same client with group markers in `CustomAttribute<n>` (the
    /// desired file's `markerAttribute`, for tenants whose
    /// `CustomAttribute15` already serves something else). The managed-group
    /// filter, every group read and every marker write use it. A number
    /// outside 1..=15 (the spec refuses one) keeps the current attribute.
    #[must_use]
    pub fn with_marker_attribute(mut self, n: u8) -> Self {
        if (1..=15).contains(&n) {
            self.marker_attribute = n;
        }
        self
    }

    /// `CustomAttribute<n>`: the property and parameter name of the marker.
    pub(crate) fn marker_key(&self) -> String {
        format!("CustomAttribute{}", self.marker_attribute)
    }

    /// The session (stats, tokens).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs a cmdlet and returns all output objects (every page), with
    /// `OData` annotation keys (those containing `@`) removed. Treated as
    /// repeatable: use it for reads and idempotent writes.
    pub async fn invoke(&self, cmdlet: &str, params: Value) -> Result<Vec<Value>, ExoError> {
        self.invoke_with(cmdlet, params, Replay::Safe).await
    }

    /// Runs a read cmdlet and returns its output objects (every page) with
    /// the `@adminapi.warnings` the pages carried, e.g. a note that a page
    /// was truncated. Warnings are also logged at `warn`.
    pub async fn invoke_read(&self, cmdlet: &str, params: Value) -> Result<Invocation, ExoError> {
        self.invoke_full(cmdlet, params, Replay::Safe).await
    }

    pub(crate) async fn invoke_with(
        &self,
        cmdlet: &str,
        params: Value,
        replay: Replay,
    ) -> Result<Vec<Value>, ExoError> {
        self.invoke_full(cmdlet, params, replay).await.map(|o| o.values)
    }

    pub(crate) async fn post(
        &self,
        cmdlet: &str,
        url: &str,
        body: &[u8],
        replay: Replay,
        client_request_id: &str,
    ) -> Result<Raw, ExoError> {
        let inner = &self.session.inner;
        let page_size = inner.config.page_size.clamp(1, 1000);
        let build = |token: &str| {
            let anchor = anchor_mailbox(token, &inner.tenant);
            inner
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "application/json")
                .header("Accept-Charset", "UTF-8")
                .header("X-CmdletName", cmdlet)
                .header("X-AnchorMailbox", anchor)
                .header("X-ResponseFormat", "json")
                .header("X-SerializationLevel", "Partial")
                .header("Prefer", format!("odata.maxpagesize={page_size}"))
                .header("client-request-id", client_request_id)
                .header("X-ClientApplication", "mailscope")
                .body(body.to_vec())
        };
        let classify = |raw: &Raw| {
            let header = |name: &str| raw.headers.get(name).and_then(|v| v.to_str().ok());
            exo_error_from_response(
                cmdlet,
                raw.status,
                header("x-ExceptionType"),
                header("x-ms-diagnostics"),
                &raw.body,
            )
        };
        self.session
            .execute(cmdlet, &inner.endpoints.exo_scope, replay, client_request_id, build, classify)
            .await
    }

    // ----- Application access policies -----

    /// All application access policies (one paged call). An empty tenant's
    /// "couldn't be found" answer gives an empty list.
    pub async fn get_policies(&self) -> Result<Vec<LivePolicy>, ExoError> {
        match self.invoke("Get-ApplicationAccessPolicy", json!({})).await {
            Ok(v) => Ok(v.iter().filter_map(parse_policy).collect()),
            Err(e) if e.kind == ExoErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Creates a policy for `app_id` scoped to `scope_group` (name, address
    /// or id of a mail-enabled security group). A lost reply is detected by
    /// reading the policies back.
    pub async fn new_policy(
        &self,
        app_id: &str,
        scope_group: &str,
        right: AccessRight,
        description: &str,
    ) -> Result<LivePolicy, ExoError> {
        const CMDLET: &str = "New-ApplicationAccessPolicy";
        let params = json!({
            "AppId": [app_id],
            "PolicyScopeGroupId": scope_group,
            "AccessRight": access_right_name(right),
            "Description": description,
        });
        let mut tries = 0;
        loop {
            tries += 1;
            match self.invoke_with(CMDLET, params.clone(), Replay::Unsafe).await {
                Ok(v) => {
                    if let Some(p) = v.iter().find_map(parse_policy) {
                        return Ok(p);
                    }
                    return self.find_policy(app_id, scope_group, right).await?.ok_or_else(|| {
                        ExoError::new(ExoErrorKind::Server, CMDLET, "the new policy cannot be read back")
                    });
                }
                Err(e) if e.maybe_applied && tries < 2 => {
                    tracing::warn!(cmdlet = CMDLET, "reply lost; reading policies back");
                    if let Some(p) = self.find_policy(app_id, scope_group, right).await? {
                        return Ok(p);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn find_policy(
        &self,
        app_id: &str,
        scope_group: &str,
        right: AccessRight,
    ) -> Result<Option<LivePolicy>, ExoError> {
        let scope = scope_group.to_ascii_lowercase();
        let group = self.get_group(scope_group).await?;
        Ok(self.get_policies().await?.into_iter().find(|p| {
            p.app_id.eq_ignore_ascii_case(app_id)
                && p.access_right == right
                && (p.scope_name.eq_ignore_ascii_case(&scope)
                    || p.scope_id.eq_ignore_ascii_case(&scope)
                    || group.as_ref().is_some_and(|g| g.id.eq_ignore_ascii_case(&p.scope_id)))
        }))
    }

    /// Removes a policy; an already-missing policy is [`Outcome::AlreadySo`].
    pub async fn remove_policy(&self, identity: &str) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke("Remove-ApplicationAccessPolicy", json!({"Identity": identity, "Confirm": false}))
                .await,
            &[ExoErrorKind::NotFound],
        )
    }

    /// Sets a policy's description (the only mutable field).
    pub async fn set_policy_description(&self, identity: &str, description: &str) -> Result<(), ExoError> {
        self.invoke("Set-ApplicationAccessPolicy", json!({"Identity": identity, "Description": description}))
            .await
            .map(drop)
    }

    /// `Test-ApplicationAccessPolicy` of one mailbox and app.
    pub async fn test_policy(&self, mailbox: &str, app_id: &str) -> Result<AccessCheck, ExoError> {
        const CMDLET: &str = "Test-ApplicationAccessPolicy";
        let v = self.invoke(CMDLET, json!({"Identity": mailbox, "AppId": app_id})).await?;
        let result = v.first().and_then(|o| o.get("AccessCheckResult"));
        match result {
            Some(Value::String(s)) if s.eq_ignore_ascii_case("Granted") => Ok(AccessCheck::Granted),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("Denied") => Ok(AccessCheck::Denied),
            Some(Value::Bool(true)) => Ok(AccessCheck::Granted),
            Some(Value::Bool(false)) => Ok(AccessCheck::Denied),
            other => Err(ExoError::new(
                ExoErrorKind::Server,
                CMDLET,
                format!("unexpected AccessCheckResult {other:?}"),
            )),
        }
    }

    // ----- Groups -----

    /// All groups carrying the mailscope marker, in one filtered call
    /// (members not filled in).
    pub async fn get_managed_groups(&self) -> Result<Vec<LiveGroup>, ExoError> {
        let v = self
            .invoke(
                "Get-DistributionGroup",
                json!({
                    "Filter": managed_group_filter(self.marker_attribute),
                    "RecipientTypeDetails": ["MailUniversalSecurityGroup"],
                }),
            )
            .await?;
        let key = self.marker_key();
        Ok(v.iter().filter_map(|o| parse_group(o, &key)).collect())
    }

    /// One group by any identity (name, alias, address, id); `None` if absent.
    pub async fn get_group(&self, identity: &str) -> Result<Option<LiveGroup>, ExoError> {
        match self.invoke("Get-DistributionGroup", json!({"Identity": identity})).await {
            Ok(v) => Ok(v.iter().find_map(|o| parse_group(o, &self.marker_key()))),
            Err(e) if e.kind == ExoErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a managed mail-enabled security group and marks it (two calls:
    /// `New-DistributionGroup` cannot set `CustomAttribute15`). The marking
    /// call also hides the group from address lists ([`Self::mark_new_group`]).
    pub async fn new_group(
        &self,
        name: &str,
        alias: &str,
        primary_smtp_address: Option<&str>,
        marker: &str,
    ) -> Result<LiveGroup, ExoError> {
        self.new_group_with_members(name, alias, primary_smtp_address, marker, &[]).await
    }

    /// [`ExoClient::new_group`] with its first members in the same
    /// `New-DistributionGroup -Members` call (Learn caps the parameter at
    /// 10,000 entries; the planner sends at most
    /// `mailscope_planner::cost::MAX_MEMBERS_PER_CALL`). The answer is the
    /// new group: it is not read again unless the reply was lost or held no
    /// group.
    pub async fn new_group_with_members(
        &self,
        name: &str,
        alias: &str,
        primary_smtp_address: Option<&str>,
        marker: &str,
        members: &[String],
    ) -> Result<LiveGroup, ExoError> {
        const CMDLET: &str = "New-DistributionGroup";
        let mut params = json!({
            "Name": name,
            "Alias": alias,
            "Type": "Security",
            "IgnoreNamingPolicy": true,
            "MemberJoinRestriction": "Closed",
            "MemberDepartRestriction": "Closed",
            "RequireSenderAuthenticationEnabled": true,
        });
        if let Some(a) = primary_smtp_address {
            params["PrimarySmtpAddress"] = json!(a);
        }
        if !members.is_empty() {
            params["Members"] = json!(members);
        }
        let mut tries = 0;
        let created = loop {
            tries += 1;
            match self.invoke_with(CMDLET, params.clone(), Replay::Unsafe).await {
                Ok(v) => match v.iter().find_map(|o| parse_group(o, &self.marker_key())) {
                    Some(g) => break g,
                    None => match self.get_group(name).await? {
                        Some(g) => break g,
                        None => {
                            return Err(ExoError::new(
                                ExoErrorKind::Server,
                                CMDLET,
                                "the new group cannot be read back",
                            ));
                        }
                    },
                },
                Err(e) if e.maybe_applied && tries < 2 => {
                    tracing::warn!(cmdlet = CMDLET, "reply lost; reading the group back");
                    if let Some(g) = self.get_group(name).await? {
                        break g;
                    }
                }
                Err(e) => return Err(e),
            }
        };
        let identity = if created.id.is_empty() { name } else { created.id.as_str() };
        self.mark_new_group(identity, marker).await?;
        Ok(LiveGroup { marker: Some(marker.to_owned()), ..created })
    }

    /// Marks a group mailscope created and hides it from address lists, in
    /// one `Set-DistributionGroup` call. A group mailscope creates exists only
    /// to scope a policy: its name is an app's and its members are who that
    /// app may (or may not) read, which is nobody's business in the address
    /// book. Groups adopted with `group:` keep their visibility
    /// ([`Self::set_group_marker`]): they are someone else's.
    pub async fn mark_new_group(&self, identity: &str, marker: &str) -> Result<(), ExoError> {
        self.invoke(
            "Set-DistributionGroup",
            json!({
                "Identity": identity,
                (self.marker_key()): marker,
                "HiddenFromAddressListsEnabled": true,
                "BypassSecurityGroupManagerCheck": true,
            }),
        )
        .await
        .map(drop)
    }

    /// Sets the marker attribute (`CustomAttribute15` unless
    /// [`Self::with_marker_attribute`] says otherwise) of a group.
    pub async fn set_group_marker(&self, identity: &str, marker: &str) -> Result<(), ExoError> {
        self.invoke(
            "Set-DistributionGroup",
            json!({
                "Identity": identity,
                (self.marker_key()): marker,
                "BypassSecurityGroupManagerCheck": true,
            }),
        )
        .await
        .map(drop)
    }

    /// Removes a group; an already-missing group is [`Outcome::AlreadySo`].
    pub async fn remove_group(&self, identity: &str) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke(
                "Remove-DistributionGroup",
                json!({"Identity": identity, "Confirm": false, "BypassSecurityGroupManagerCheck": true}),
            )
            .await,
            &[ExoErrorKind::NotFound],
        )
    }

    /// Adds one member; "already a member" is [`Outcome::AlreadySo`].
    pub async fn add_member(&self, group: &str, member: &str) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke(
                "Add-DistributionGroupMember",
                json!({"Identity": group, "Member": member, "BypassSecurityGroupManagerCheck": true}),
            )
            .await,
            &[ExoErrorKind::AlreadyMember],
        )
    }

    /// Removes one member; "not a member" (or a missing group) is
    /// [`Outcome::AlreadySo`].
    pub async fn remove_member(&self, group: &str, member: &str) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke(
                "Remove-DistributionGroupMember",
                json!({"Identity": group, "Member": member, "Confirm": false, "BypassSecurityGroupManagerCheck": true}),
            )
            .await,
            &[ExoErrorKind::NotMember, ExoErrorKind::NotFound],
        )
    }

    /// Replaces a group's whole membership with `members` in one
    /// `Update-DistributionGroupMember` call. Setting the same list twice is
    /// harmless, so a repeat is simply [`Outcome::Done`] again.
    pub async fn replace_members(&self, group: &str, members: &[String]) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke(
                "Update-DistributionGroupMember",
                json!({
                    "Identity": group,
                    "Members": members,
                    "Confirm": false,
                    "BypassSecurityGroupManagerCheck": true,
                }),
            )
            .await,
            &[],
        )
    }

    /// Direct members of a group (paged).
    pub async fn get_members(&self, group: &str) -> Result<Vec<Recipient>, ExoError> {
        let v = self.invoke("Get-DistributionGroupMember", json!({"Identity": group})).await?;
        Ok(v.iter().filter_map(parse_recipient).collect())
    }
}

pub(crate) fn outcome(
    result: Result<Vec<Value>, ExoError>,
    already: &[ExoErrorKind],
) -> Result<Outcome, ExoError> {
    match result {
        Ok(_) => Ok(Outcome::Done),
        Err(e) if already.contains(&e.kind) => {
            tracing::debug!(op = %e.operation, kind = %e.kind, "target state already holds");
            Ok(Outcome::AlreadySo)
        }
        Err(e) => Err(e),
    }
}

fn access_right_name(right: AccessRight) -> &'static str {
    match right {
        AccessRight::RestrictAccess => "RestrictAccess",
        AccessRight::DenyAccess => "DenyAccess",
    }
}

/// The `X-AnchorMailbox` routing hint of an app-only caller:
/// `APP:SystemMailbox{…}@<tenant GUID>`. Exchange wants the tenant GUID
/// whatever form the user configured (a domain works for the URL, not
/// reliably for the hint), so it is read from the access token's `tid`
/// claim; a token that is not a JWT with a GUID `tid` (the claim is
/// untrusted) falls back to the configured tenant.
fn anchor_mailbox(token: &str, configured_tenant: &str) -> String {
    let tenant = token_tenant_id(token).unwrap_or_else(|| configured_tenant.to_owned());
    format!("APP:{SYSTEM_MAILBOX}@{tenant}")
}

/// The `tid` claim of a JWT access token, if it is a GUID. The signature is
/// not checked: the value only routes a request the service authorizes by
/// the token itself.
fn token_tenant_id(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let tid = uuid::Uuid::try_parse(claims.get("tid")?.as_str()?).ok()?;
    Some(tid.hyphenated().to_string())
}

pub(crate) fn text(o: &Value, key: &str) -> Option<String> {
    match o.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Parses an `ApplicationAccessPolicy` object.
pub(crate) fn parse_policy(o: &Value) -> Option<LivePolicy> {
    let identity = text(o, "Identity")?;
    let app_id = text(o, "AppId").or_else(|| {
        // `<tenant>\<appId>:<sid>;<oid>`
        identity.split_once('\\').and_then(|(_, r)| r.split_once(':')).map(|(a, _)| a.to_owned())
    })?;
    let scope_raw = text(o, "ScopeIdentityRaw")
        .or_else(|| identity.split_once(':').map(|(_, r)| r.to_owned()))
        .unwrap_or_default();
    let scope_id = scope_raw.split(';').nth(1).map(str::to_owned).unwrap_or_default();
    let access_right = match text(o, "AccessRight")?.as_str() {
        s if s.eq_ignore_ascii_case("RestrictAccess") => AccessRight::RestrictAccess,
        s if s.eq_ignore_ascii_case("DenyAccess") => AccessRight::DenyAccess,
        _ => return None,
    };
    Some(LivePolicy {
        identity,
        app_id,
        scope_id,
        scope_name: text(o, "ScopeName").or_else(|| text(o, "ScopeIdentity")).unwrap_or_default(),
        access_right,
        description: o.get("Description").and_then(Value::as_str).unwrap_or_default().to_owned(),
    })
}

/// Parses a `DistributionGroup` object (members left empty); the marker is
/// read from `marker_key` (`CustomAttribute<n>`).
pub(crate) fn parse_group(o: &Value, marker_key: &str) -> Option<LiveGroup> {
    Some(LiveGroup {
        id: text(o, "ExternalDirectoryObjectId").or_else(|| text(o, "Guid")).unwrap_or_default(),
        name: text(o, "Name")?,
        primary_smtp_address: text(o, "PrimarySmtpAddress").unwrap_or_default(),
        marker: text(o, marker_key),
        distinguished_name: text(o, "DistinguishedName"),
        kind: text(o, "RecipientTypeDetails"),
        members: Vec::new(),
    })
}

/// Parses a recipient (member row, `Get-Recipient` object).
pub(crate) fn parse_recipient(o: &Value) -> Option<Recipient> {
    Some(Recipient {
        address: text(o, "PrimarySmtpAddress")?,
        kind: text(o, "RecipientTypeDetails").or_else(|| text(o, "RecipientType")).unwrap_or_default(),
        id: text(o, "ExternalDirectoryObjectId"),
        proxy_addresses: Vec::new(),
    })
}

/// Runs an `InvokeCommand` success body through the page parser and the
/// object parsers, for the fuzz targets in `fuzz/` (the parsers are private;
/// this is the one door to them from outside). Not part of the API.
#[doc(hidden)]
pub fn fuzz_invoke_page(body: &[u8]) {
    let raw = Raw { status: 200, headers: reqwest::header::HeaderMap::new(), body: body.to_vec() };
    if let Ok(page) = crate::paging::parse_envelope("Get-Fuzz", &raw) {
        for v in &page.values {
            let _ = (parse_policy(v), parse_group(v, "CustomAttribute15"), parse_recipient(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> String {
        use base64::Engine as _;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!("{}.{}.sig", b64(br#"{"alg":"none"}"#), b64(claims.to_string().as_bytes()))
    }

    #[test]
    fn anchor_uses_the_token_tenant_guid() {
        let tid = "8F3C2B1A-4D5E-4F6A-9B8C-7D6E5F4A3B2C";
        assert_eq!(
            anchor_mailbox(&jwt(&json!({"tid": tid})), "contoso.onmicrosoft.com"),
            "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c"
        );
        // Untrusted claim: anything but a GUID falls back to the configured tenant.
        for bad in [jwt(&json!({"tid": "x\r\nEvil: 1"})), jwt(&json!({})), "opaque".to_owned()] {
            assert_eq!(
                anchor_mailbox(&bad, "contoso.onmicrosoft.com"),
                "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com"
            );
        }
    }

    #[test]
    fn parses_policy_objects() {
        let o = json!({
            "ScopeName": "MyGroup", "ScopeIdentity": "MyGroup20210509",
            "Identity": "t\\5050e2d9-1797-4207-a012-27bf174ab2a7:S-1-5-21-1;3c976d04-866b-40ce-8825-5fb08d71d9bd",
            "AppId": "5050e2d9-1797-4207-a012-27bf174ab2a7",
            "ScopeIdentityRaw": "S-1-5-21-1;3c976d04-866b-40ce-8825-5fb08d71d9bd",
            "Description": "d", "AccessRight": "DenyAccess", "IsValid": true
        });
        let p = parse_policy(&o).unwrap();
        assert_eq!(p.scope_id, "3c976d04-866b-40ce-8825-5fb08d71d9bd");
        assert_eq!(p.access_right, AccessRight::DenyAccess);
        assert_eq!(p.scope_name, "MyGroup");
    }
}
