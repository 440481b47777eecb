//! Identity resolution: how `-Identity`, `-Member`, `-PolicyScopeGroupId`
//! find a recipient (docs/exchange.md, "Admin API wire format" and "Access decision"): Name, Alias,
//! `DisplayName`, any SMTP address, GUID (object id or Exchange guid) or DN,
//! all case-insensitive.

use crate::model::{Recipient, Tenant};

use super::error::CmdletError;

fn matches(t: &Tenant, r: &Recipient, key: &str) -> bool {
    let key = key.trim();
    let key = key.strip_prefix("SMTP:").or_else(|| key.strip_prefix("smtp:")).unwrap_or(key);
    r.name.eq_ignore_ascii_case(key)
        || r.alias.eq_ignore_ascii_case(key)
        || r.display_name.eq_ignore_ascii_case(key)
        || r.has_smtp(key)
        || r.external_directory_object_id.eq_ignore_ascii_case(key)
        || r.guid.eq_ignore_ascii_case(key)
        || t.distinguished_name(r).eq_ignore_ascii_case(key)
}

/// Index of the one recipient matching `key` among those `filter` keeps.
pub(crate) fn resolve_index(
    t: &Tenant,
    key: &str,
    filter: impl Fn(&Recipient) -> bool,
) -> Result<usize, CmdletError> {
    let mut found = None;
    for (i, r) in t.recipients.iter().enumerate() {
        if filter(r) && matches(t, r, key) {
            if found.is_some() {
                return Err(CmdletError::ambiguous(key));
            }
            found = Some(i);
        }
    }
    found.ok_or_else(|| CmdletError::not_found(key, &t.dc_fqdn))
}

/// The one recipient matching `key` among those `filter` keeps.
pub(crate) fn resolve<'a>(
    t: &'a Tenant,
    key: &str,
    filter: impl Fn(&Recipient) -> bool,
) -> Result<&'a Recipient, CmdletError> {
    resolve_index(t, key, filter).map(|i| &*t.recipients[i])
}

/// Any recipient.
pub(crate) fn any(_: &Recipient) -> bool {
    true
}

/// Groups only (Get-/Set-/Remove-DistributionGroup, member cmdlets).
pub(crate) fn groups(r: &Recipient) -> bool {
    r.kind.is_group()
}

/// Mailboxes only (Get-Mailbox).
pub(crate) fn mailboxes(r: &Recipient) -> bool {
    r.kind.is_mailbox()
}
