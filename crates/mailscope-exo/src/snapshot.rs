//! Reading the live state for the planner with the fewest calls.
//!
//! Calls for a tenant with `G` relevant groups and `A` addresses not already
//! seen as members:
//!
//! 1. `Get-ApplicationAccessPolicy` — all policies, one (paged) call;
//! 2. `Get-DistributionGroup` with the marker filter — all managed groups,
//!    one call (concurrently with 1);
//! 3. `Get-DistributionGroup` — only for groups named in the request or
//!    referenced by a relevant policy but not found in 2 (concurrently),
//!    each group once: names with one `Name`/`Alias`/`PrimarySmtpAddress`
//!    filter per [`GROUP_NAME_BATCH`] names (a group the plan will create
//!    costs no call of its own), policy scopes by `-Identity`; a policy whose `ScopeName` is a
//!    group named in the request is not read again by id (unless that name
//!    turns out to be another group: then a second round reads the id);
//! 4. `Get-DistributionGroupMember` — one per group (concurrently); members
//!    double as known recipients;
//! 5. `Get-Recipient` with an `-or` filter — the remaining addresses,
//!    [`crate::recipients::RECIPIENT_BATCH`] per call; and `Get-Recipient
//!    -Identity` for each relevant policy scope that is no group (a policy
//!    scoped to a single mailbox), concurrently.
//!
//! RBAC for Applications, concurrently with 3–5:
//!
//! 6. `Get-ServicePrincipal` — every Exchange pointer, one call, always
//!    (concurrently with 1 and 2): without pointers no application role
//!    assignment can exist, so a tenant without RBAC stops here;
//! 7. `Get-ManagementScope` and `Get-ManagementRoleAssignment
//!    -RoleAssigneeType ServicePrincipal` — one call each, when 6 found a
//!    pointer or the request names RBAC apps (assignees are resolved to app
//!    ids through the pointers of 6);
//! 8. Graph `GET /servicePrincipals(appId='…')` — one per RBAC app of the
//!    request that has no pointer yet (only creating a pointer needs the
//!    Entra object id), concurrently; none in the steady state;
//! 9. for a full read (`all_policy_groups`), the groups the scopes name by
//!    `DistinguishedName` that 2–3 did not read, with their members;
//! 10. the Entra grants ([`crate::GraphClient::list_mailbox_access`]) when
//!     the request asks for them, with their holders' service principals
//!     (display names for unlisted apps); without Graph permission to read
//!     them the snapshot says so (`grants_read` false) instead of failing.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_planner::{
    EntraServicePrincipal, LiveGroup, LiveManagementScope, LiveRoleAssignment, LiveServicePrincipal,
    LiveSnapshot, PermissionGrant, Recipient, SNAPSHOT_FORMAT_VERSION, ScopeFilter,
};

use crate::error::{ExoError, ExoErrorKind};
use crate::exo::ExoClient;

/// What the planner needs read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// App ids of the desired file: groups their policies point at are read.
    pub app_ids: Vec<String>,
    /// Groups the desired file names explicitly (adopted groups).
    pub group_names: Vec<String>,
    /// Every mailbox address the desired file names.
    pub addresses: Vec<String>,
    /// Also read the groups of policies of apps not in `app_ids`, and the
    /// groups management scopes name (a full audit or export; costs one call
    /// per such group plus its members).
    pub all_policy_groups: bool,
    /// Client ids of the file's `mechanism: rbac` apps: their Entra service
    /// principals are read when they have no Exchange pointer yet, and the
    /// RBAC objects are read even in a tenant without pointers.
    pub rbac_app_ids: Vec<String>,
    /// Also read the apps' Entra grants of mailbox permissions (needed for
    /// `entraGrants: remove` and for reporting the additive trap).
    pub grants: bool,
}

/// What the RBAC and Graph half of a read found.
struct RbacReads {
    service_principals: Vec<EntraServicePrincipal>,
    management_scopes: Vec<LiveManagementScope>,
    role_assignments: Vec<LiveRoleAssignment>,
    grants: Option<Vec<PermissionGrant>>,
}

impl ExoClient {
    /// Reads policies, groups, members and recipients, the RBAC objects,
    /// and (when asked) the Entra grants.
    pub async fn read_snapshot(&self, req: &SnapshotRequest) -> Result<LiveSnapshot, ExoError> {
        let (policies, managed, pointers) =
            tokio::join!(self.get_policies(), self.get_managed_groups(), self.get_service_principals());
        let mut policies = policies?;
        let mut groups: Vec<LiveGroup> = managed?;
        let mut pointers = pointers?;
        // The RBAC half runs beside the group reads below.
        let rbac = {
            let me = self.clone();
            let (req, pointers) = (req.clone(), pointers.clone());
            tokio::spawn(async move { me.read_rbac(&req, &pointers).await })
        };

        // Groups still to fetch by identity.
        let have_id = |groups: &[LiveGroup], id: &str| groups.iter().any(|g| g.id.eq_ignore_ascii_case(id));
        let have_name = |groups: &[LiveGroup], name: &str| {
            groups.iter().any(|g| {
                g.name.eq_ignore_ascii_case(name) || g.primary_smtp_address.eq_ignore_ascii_case(name)
            })
        };
        let apps: BTreeSet<String> = req.app_ids.iter().map(|a| a.to_ascii_lowercase()).collect();
        let scope_ids: Vec<(&str, &str)> = policies
            .iter()
            .filter(|p| req.all_policy_groups || apps.contains(&p.app_id.to_ascii_lowercase()))
            .filter(|p| !p.scope_id.is_empty())
            .map(|p| (p.scope_id.as_str(), p.scope_name.as_str()))
            .collect();
        let mut wanted: Vec<String> = Vec::new();
        for name in &req.group_names {
            if !have_name(&groups, name) && !contains(&wanted, name) {
                wanted.push(name.clone());
            }
        }
        // A scope whose `ScopeName` is a group already wanted by name is not
        // also read by id; round 2 catches a name that resolved elsewhere.
        for (id, name) in &scope_ids {
            if !have_id(&groups, id)
                && !contains(&wanted, id)
                && (name.is_empty() || !contains(&wanted, name))
            {
                wanted.push((*id).to_owned());
            }
        }
        let tried = wanted.clone();
        // Names the file gives or derives are looked up with one filter per
        // batch instead of one call each: a group the plan will create is
        // not there, and a name filter says so for a whole batch at once.
        let (by_name, by_identity): (Vec<String>, Vec<String>) =
            wanted.into_iter().partition(|w| contains(&req.group_names, w) && plain_name(w));
        self.fetch_groups_by_name(&by_name, &mut groups).await?;
        self.fetch_groups(by_identity, &mut groups).await?;
        let mut again: Vec<String> = Vec::new();
        for (id, _) in &scope_ids {
            if !have_id(&groups, id) && !contains(&tried, id) && !contains(&again, id) {
                again.push((*id).to_owned());
            }
        }
        self.fetch_groups(again, &mut groups).await?;
        // A scope that is no group may be a single mailbox (Exchange allows
        // one as a policy scope): read it as a recipient, so the policy is a
        // one-mailbox scope rather than one whose group was deleted.
        let lone: Vec<String> = scope_ids
            .iter()
            .filter(|(id, _)| !have_id(&groups, id))
            .map(|(id, _)| (*id).to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let lone_recipients = self.fetch_recipients_by_id(lone).await?;

        // Members, concurrently.
        let mut set = tokio::task::JoinSet::new();
        for (i, g) in groups.iter().enumerate() {
            let me = self.clone();
            let identity = if g.id.is_empty() { g.name.clone() } else { g.id.clone() };
            set.spawn(async move { (i, me.get_members(&identity).await) });
        }
        let mut recipients: BTreeMap<String, Recipient> = BTreeMap::new();
        for r in lone_recipients {
            recipients.entry(r.address.to_ascii_lowercase()).or_insert(r);
        }
        while let Some(j) = set.join_next().await {
            let (i, members) = j.map_err(|e| join_error(&e))?;
            let members = members?;
            groups[i].members = members.iter().map(|m| m.address.clone()).collect();
            for m in members {
                recipients.entry(m.address.to_ascii_lowercase()).or_insert(m);
            }
        }

        let missing: Vec<String> = req
            .addresses
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty() && !recipients.contains_key(a))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            for found in self.resolve_recipients(&missing).await? {
                add_resolved(&mut recipients, found.recipient);
            }
        }

        let rbac = rbac.await.map_err(|e| join_error(&e))??;
        if req.all_policy_groups {
            self.read_scope_groups(&rbac.management_scopes, &mut groups, &mut recipients).await?;
        }
        groups.sort_by_key(|g| g.name.to_ascii_lowercase());
        policies.sort_by(|a, b| a.identity.cmp(&b.identity));
        pointers.sort_by_key(|p| p.app_id.to_ascii_lowercase());
        Ok(LiveSnapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            tenant: Some(self.session().tenant().to_owned()),
            groups,
            policies,
            recipients: recipients.into_values().collect(),
            grants_read: rbac.grants.is_some(),
            grants: rbac.grants.unwrap_or_default(),
            service_principals: rbac.service_principals,
            exchange_service_principals: pointers,
            management_scopes: rbac.management_scopes,
            role_assignments: rbac.role_assignments,
        })
    }

    /// Reads the groups the scopes name by `DistinguishedName` that are not
    /// read yet, with their members (after the scopes are known, so a
    /// second round; only for a full read).
    async fn read_scope_groups(
        &self,
        scopes: &[LiveManagementScope],
        groups: &mut Vec<LiveGroup>,
        recipients: &mut BTreeMap<String, Recipient>,
    ) -> Result<(), ExoError> {
        let mut dns: Vec<String> = Vec::new();
        for (allow, deny) in scopes.iter().filter_map(|s| ScopeFilter::parse_opath(&s.filter)) {
            for dn in [allow, deny].into_iter().flatten() {
                let known = groups
                    .iter()
                    .any(|g| g.distinguished_name.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(&dn)));
                if !known && !contains(&dns, &dn) {
                    dns.push(dn);
                }
            }
        }
        let before = groups.len();
        self.fetch_groups(dns, groups).await?;
        let mut set = tokio::task::JoinSet::new();
        for (i, g) in groups.iter().enumerate().skip(before) {
            let me = self.clone();
            let identity = if g.id.is_empty() { g.name.clone() } else { g.id.clone() };
            set.spawn(async move { (i, me.get_members(&identity).await) });
        }
        while let Some(j) = set.join_next().await {
            let (i, members) = j.map_err(|e| join_error(&e))?;
            let members = members?;
            groups[i].members = members.iter().map(|m| m.address.clone()).collect();
            for m in members {
                recipients.entry(m.address.to_ascii_lowercase()).or_insert(m);
            }
        }
        Ok(())
    }

    /// Steps 7–9 of the module docs, concurrently.
    async fn read_rbac(
        &self,
        req: &SnapshotRequest,
        pointers: &[LiveServicePrincipal],
    ) -> Result<RbacReads, ExoError> {
        let wanted = !pointers.is_empty() || !req.rbac_app_ids.is_empty();
        let exchange = async {
            if !wanted {
                return Ok((Vec::new(), Vec::new()));
            }
            let (scopes, assignments) =
                tokio::join!(self.get_management_scopes(), self.get_role_assignments(pointers));
            let mut scopes = scopes?;
            let mut assignments = assignments?;
            scopes.sort_by_key(|s| s.name.to_ascii_lowercase());
            assignments.sort_by_key(|a| a.name.to_ascii_lowercase());
            Ok::<_, ExoError>((scopes, assignments))
        };
        let graph = self.session().graph();
        let entra = async {
            let mut set = tokio::task::JoinSet::new();
            let mut asked: BTreeSet<String> = BTreeSet::new();
            for app in &req.rbac_app_ids {
                let key = app.trim().to_ascii_lowercase();
                if pointers.iter().any(|p| p.app_id.eq_ignore_ascii_case(&key)) || !asked.insert(key.clone())
                {
                    continue;
                }
                let graph = graph.clone();
                set.spawn(async move { graph.service_principal(&key).await });
            }
            let mut found = Vec::new();
            while let Some(j) = set.join_next().await {
                found.extend(j.map_err(|e| join_error(&e))??);
            }
            found.sort_by_key(|s: &EntraServicePrincipal| s.app_id.to_ascii_lowercase());
            Ok::<_, ExoError>(found)
        };
        let grants = async {
            if !req.grants {
                return Ok(None);
            }
            match graph.list_mailbox_access().await {
                Ok(a) => Ok(Some(a)),
                Err(e) if matches!(e.kind, ExoErrorKind::Forbidden | ExoErrorKind::Unauthorized) => {
                    tracing::warn!(error = %e, "cannot read the Entra grants; planning as if every app held them");
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        };
        let (exchange, entra, access) = tokio::join!(exchange, entra, grants);
        let (management_scopes, role_assignments) = exchange?;
        let mut service_principals = entra?;
        let grants = access?.map(|a| {
            // The grant holders' principals come with the grants at no extra
            // call: their display names name unlisted apps in the plan.
            for sp in a.service_principals {
                if !service_principals.iter().any(|s| s.app_id.eq_ignore_ascii_case(&sp.app_id)) {
                    service_principals.push(sp);
                }
            }
            a.grants
        });
        service_principals.sort_by_key(|s| s.app_id.to_ascii_lowercase());
        Ok(RbacReads { service_principals, management_scopes, role_assignments, grants })
    }
}

/// Case-insensitive membership of `item` in `list`.
fn contains(list: &[String], item: &str) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(item))
}

impl ExoClient {
    /// Reads `identities` as groups, concurrently, and adds those found (a
    /// policy scoped to a single mailbox is not a group: not found) that are
    /// not in `groups` yet.
    /// Groups whose `Name`, `Alias` or `PrimarySmtpAddress` is one of
    /// `names` (what `-Identity` would match for them), [`GROUP_NAME_BATCH`]
    /// names per filtered `Get-DistributionGroup` call, concurrently.
    async fn fetch_groups_by_name(
        &self,
        names: &[String],
        groups: &mut Vec<LiveGroup>,
    ) -> Result<(), ExoError> {
        let mut set = tokio::task::JoinSet::new();
        for chunk in names.chunks(GROUP_NAME_BATCH) {
            let me = self.clone();
            let filter = name_filter(chunk);
            let key = self.marker_key();
            set.spawn(async move {
                match me.invoke("Get-DistributionGroup", serde_json::json!({"Filter": filter})).await {
                    Ok(v) => {
                        Ok(v.iter().filter_map(|o| crate::exo::parse_group(o, &key)).collect::<Vec<_>>())
                    }
                    Err(e) if e.kind == ExoErrorKind::NotFound => Ok(Vec::new()),
                    Err(e) => Err(e),
                }
            });
        }
        while let Some(j) = set.join_next().await {
            for g in j.map_err(|e| join_error(&e))?? {
                if !groups.iter().any(|h| h.id.eq_ignore_ascii_case(&g.id)) {
                    groups.push(g);
                }
            }
        }
        Ok(())
    }

    async fn fetch_groups(
        &self,
        identities: Vec<String>,
        groups: &mut Vec<LiveGroup>,
    ) -> Result<(), ExoError> {
        let mut set = tokio::task::JoinSet::new();
        for identity in identities {
            let me = self.clone();
            set.spawn(async move { me.get_group(&identity).await });
        }
        while let Some(j) = set.join_next().await {
            if let Some(g) = j.map_err(|e| join_error(&e))??
                && !groups.iter().any(|h| h.id.eq_ignore_ascii_case(&g.id))
            {
                groups.push(g);
            }
        }
        Ok(())
    }
}

/// Adds a recipient `resolve_recipients` found, keyed by its primary
/// address; a recipient already known (a group member, or found by another
/// of its addresses) gains the secondary address that found it, so the
/// planner can map that address back to the primary.
fn add_resolved(recipients: &mut BTreeMap<String, Recipient>, found: Recipient) {
    let entry = recipients
        .entry(found.address.to_ascii_lowercase())
        .or_insert_with(|| Recipient { proxy_addresses: Vec::new(), ..found.clone() });
    for p in found.proxy_addresses {
        if !entry.proxy_addresses.contains(&p) {
            entry.proxy_addresses.push(p);
        }
    }
    entry.proxy_addresses.sort();
}

impl ExoClient {
    /// Reads `ids` as recipients (`Get-Recipient -Identity`), concurrently;
    /// ids that name nothing (a deleted scope) are absent.
    async fn fetch_recipients_by_id(&self, ids: Vec<String>) -> Result<Vec<Recipient>, ExoError> {
        let mut set = tokio::task::JoinSet::new();
        for id in ids {
            let me = self.clone();
            set.spawn(async move { me.invoke("Get-Recipient", serde_json::json!({ "Identity": id })).await });
        }
        let mut found = Vec::new();
        while let Some(j) = set.join_next().await {
            match j.map_err(|e| join_error(&e))? {
                Ok(v) => found.extend(v.iter().filter_map(crate::exo::parse_recipient)),
                Err(e) if e.kind == ExoErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        found.sort_by_key(|r| r.address.to_ascii_lowercase());
        Ok(found)
    }
}

/// Names per filtered group lookup; the planner's lower bound counts with the
/// same number.
pub(crate) const GROUP_NAME_BATCH: usize = mailscope_planner::cost::GROUP_NAME_BATCH;

/// Whether a group name can be looked up by the name filter: not an id or a
/// distinguished name, which only `-Identity` resolves.
fn plain_name(name: &str) -> bool {
    let guid_like = name.len() == 36 && name.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    !guid_like && !name.contains('=') && !name.contains('\\') && !name.trim().is_empty()
}

/// `(Name -eq 'a') -or (Alias -eq 'a') -or (PrimarySmtpAddress -eq 'a') -or …`,
/// single quotes doubled.
fn name_filter(names: &[String]) -> String {
    names
        .iter()
        .map(|n| {
            let n = n.replace('\'', "''");
            format!("(Name -eq '{n}') -or (Alias -eq '{n}') -or (PrimarySmtpAddress -eq '{n}')")
        })
        .collect::<Vec<_>>()
        .join(" -or ")
}

fn join_error(e: &tokio::task::JoinError) -> ExoError {
    ExoError::new(ExoErrorKind::Other, "read_snapshot", e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(address: &str, proxies: &[&str]) -> Recipient {
        Recipient {
            address: address.to_owned(),
            kind: "SharedMailbox".into(),
            id: Some("id".into()),
            proxy_addresses: proxies.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn resolved_secondaries_gather_on_the_primary() {
        let mut known = BTreeMap::new();
        // A group member, known by its primary only.
        known.insert("support@contoso.com".to_owned(), r("support@contoso.com", &[]));
        add_resolved(&mut known, r("Support@contoso.com", &["servicedesk@contoso.com"]));
        add_resolved(&mut known, r("Support@contoso.com", &["helpdesk@contoso.com"]));
        add_resolved(&mut known, r("Support@contoso.com", &["servicedesk@contoso.com"]));
        add_resolved(&mut known, r("ceo@contoso.com", &[]));
        assert_eq!(known.len(), 2);
        assert_eq!(
            known["support@contoso.com"].proxy_addresses,
            ["helpdesk@contoso.com", "servicedesk@contoso.com"]
        );
        assert!(known["ceo@contoso.com"].proxy_addresses.is_empty());
    }
}
