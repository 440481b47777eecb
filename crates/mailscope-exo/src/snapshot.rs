//! Reading the live state for the planner with the fewest calls.
//!
//! Calls for a tenant with `G` relevant groups and `A` addresses not already
//! seen as members:
//!
//! 1. `Get-ApplicationAccessPolicy` — all policies, one (paged) call;
//! 2. `Get-DistributionGroup` with the marker filter — all managed groups,
//!    one call (concurrently with 1);
//! 3. `Get-DistributionGroup -Identity` — only for groups named in the
//!    request or referenced by a relevant policy but not found in 2
//!    (concurrently), each group once: a policy whose `ScopeName` is a
//!    group named in the request is not read again by id (unless that name
//!    turns out to be another group: then a second round reads the id);
//! 4. `Get-DistributionGroupMember` — one per group (concurrently); members
//!    double as known recipients;
//! 5. `Get-Recipient` with an `-or` filter — the remaining addresses,
//!    [`crate::exo::RECIPIENT_BATCH`] per call.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_planner::{LiveGroup, LiveSnapshot, Recipient, SNAPSHOT_FORMAT_VERSION};

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
    /// Also read the groups of policies of apps not in `app_ids` (a full
    /// audit; costs one call per such group plus its members).
    pub all_policy_groups: bool,
}

impl ExoClient {
    /// Reads policies, groups, members and recipients (not Graph grants; see
    /// [`crate::GraphClient::list_mailbox_grants`]).
    pub async fn read_snapshot(&self, req: &SnapshotRequest) -> Result<LiveSnapshot, ExoError> {
        let (policies, managed) = tokio::join!(self.get_policies(), self.get_managed_groups());
        let mut policies = policies?;
        let mut groups: Vec<LiveGroup> = managed?;

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
        self.fetch_groups(wanted, &mut groups).await?;
        let mut again: Vec<String> = Vec::new();
        for (id, _) in &scope_ids {
            if !have_id(&groups, id) && !contains(&tried, id) && !contains(&again, id) {
                again.push((*id).to_owned());
            }
        }
        self.fetch_groups(again, &mut groups).await?;

        // Members, concurrently.
        let mut set = tokio::task::JoinSet::new();
        for (i, g) in groups.iter().enumerate() {
            let me = self.clone();
            let identity = if g.id.is_empty() { g.name.clone() } else { g.id.clone() };
            set.spawn(async move { (i, me.get_members(&identity).await) });
        }
        let mut recipients: BTreeMap<String, Recipient> = BTreeMap::new();
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
            for r in self.resolve_recipients(&missing).await? {
                recipients.entry(r.address.to_ascii_lowercase()).or_insert(r);
            }
        }

        groups.sort_by_key(|g| g.name.to_ascii_lowercase());
        policies.sort_by(|a, b| a.identity.cmp(&b.identity));
        Ok(LiveSnapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            tenant: Some(self.session().tenant().to_owned()),
            groups,
            policies,
            recipients: recipients.into_values().collect(),
            ..LiveSnapshot::default()
        })
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

fn join_error(e: &tokio::task::JoinError) -> ExoError {
    ExoError::new(ExoErrorKind::Other, "read_snapshot", e.to_string())
}
