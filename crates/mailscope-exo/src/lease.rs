//! The cmdlet calls behind the apply lease (`mailscope-applier`'s `lease`
//! module holds its rules): a hidden mail-enabled security group with a
//! fixed name. `New-DistributionGroup` refuses a name that exists, which is
//! the mutual exclusion; `DisplayName` names the taking run from the first
//! call on, and `CustomAttribute14` holds the lease record (holder and
//! expiry), which renewals rewrite.
//!
//! `CustomAttribute15` is deliberately left empty: it is the ownership
//! marker of managed groups, and the lease group is not one (the planner
//! never reads, adopts or removes it).

use serde_json::{Value, json};

use crate::error::{ExoError, ExoErrorKind};
use crate::exo::{ExoClient, text};
use crate::session::Replay;

/// The lease group as read from the tenant (untrusted: any field may be
/// missing or hand-edited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseGroup {
    /// `ExternalDirectoryObjectId` (or `Guid`): renewals and the release
    /// address the group by it, so they never touch a group that replaced it.
    pub id: String,
    /// `DisplayName`, set when the group is created.
    pub display_name: String,
    /// `CustomAttribute14`, the lease record, if set.
    pub record: Option<String>,
}

fn parse_lease_group(o: &Value) -> Option<LeaseGroup> {
    Some(LeaseGroup {
        id: text(o, "ExternalDirectoryObjectId").or_else(|| text(o, "Guid"))?,
        display_name: text(o, "DisplayName").unwrap_or_default(),
        record: text(o, "CustomAttribute14"),
    })
}

impl ExoClient {
    /// Creates the lease group `name` with `display_name`, hidden from
    /// address lists. Fails with [`ExoErrorKind::AlreadyExists`] when a
    /// recipient has the name. Not replayed on an unknown outcome: the
    /// caller reads the group back and recognises its own display name.
    pub async fn new_lease_group(&self, name: &str, display_name: &str) -> Result<LeaseGroup, ExoError> {
        const CMDLET: &str = "New-DistributionGroup";
        let created = self
            .invoke_with(
                CMDLET,
                json!({
                    "Name": name,
                    "Alias": name,
                    "DisplayName": display_name,
                    "Type": "Security",
                    "IgnoreNamingPolicy": true,
                    "MemberJoinRestriction": "Closed",
                    "MemberDepartRestriction": "Closed",
                    "RequireSenderAuthenticationEnabled": true,
                }),
                Replay::Unsafe,
            )
            .await?;
        created
            .iter()
            .find_map(parse_lease_group)
            .ok_or_else(|| ExoError::new(ExoErrorKind::Server, CMDLET, "the lease group cannot be read back"))
    }

    /// The lease group `name`, or `None` when there is none.
    pub async fn get_lease_group(&self, name: &str) -> Result<Option<LeaseGroup>, ExoError> {
        match self.invoke("Get-DistributionGroup", json!({"Identity": name})).await {
            Ok(v) => Ok(v.iter().find_map(parse_lease_group)),
            Err(e) if e.kind == ExoErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the lease record of the group `id` (and hides it from address
    /// lists, which `New-DistributionGroup` cannot). Repeating it is harmless.
    pub async fn set_lease_record(&self, id: &str, record: &str) -> Result<(), ExoError> {
        self.invoke(
            "Set-DistributionGroup",
            json!({
                "Identity": id,
                "CustomAttribute14": record,
                "HiddenFromAddressListsEnabled": true,
                "BypassSecurityGroupManagerCheck": true,
            }),
        )
        .await
        .map(drop)
    }

    /// Removes the lease group `id`; a group already gone is fine.
    pub async fn remove_lease_group(&self, id: &str) -> Result<(), ExoError> {
        match self
            .invoke(
                "Remove-DistributionGroup",
                json!({"Identity": id, "Confirm": false, "BypassSecurityGroupManagerCheck": true}),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ExoErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}
