//! Identity resolution: how `-Identity`, `-Member`, `-PolicyScopeGroupId`
//! find a recipient (docs/exchange.md, "Admin API wire format" and "Access decision"): Name, Alias,
//! `DisplayName`, any SMTP address, GUID (object id or Exchange guid) or DN,
//! all case-insensitive.

use crate::model::{Recipient, RecipientId, Tenant};

use super::error::CmdletError;

/// The key as `matches` compares it: trimmed, without an `SMTP:` prefix.
fn normalize(key: &str) -> &str {
    let key = key.trim();
    key.strip_prefix("SMTP:").or_else(|| key.strip_prefix("smtp:")).unwrap_or(key)
}

/// `key` (normalized) against every identity of `r`. `dn_suffix` is what
/// follows the name in this tenant's DNs (`,OU=…`): comparing the DN in
/// three slices instead of formatting it saves an allocation per recipient.
fn matches(r: &Recipient, key: &str, dn_suffix: &str) -> bool {
    r.name.eq_ignore_ascii_case(key)
        || r.alias.eq_ignore_ascii_case(key)
        || r.display_name.eq_ignore_ascii_case(key)
        || r.has_smtp(key)
        || r.external_directory_object_id.eq_ignore_ascii_case(key)
        || r.guid.eq_ignore_ascii_case(key)
        || dn_name(key, dn_suffix).is_some_and(|name| r.name.as_bytes().eq_ignore_ascii_case(name))
}

/// The name inside `key` when `key` has the shape of this tenant's DNs
/// (`CN=<name><dn_suffix>`, ASCII case-insensitively), as bytes.
fn dn_name<'k>(key: &'k str, dn_suffix: &str) -> Option<&'k [u8]> {
    let b = key.as_bytes();
    let s = dn_suffix.as_bytes();
    if b.len() < 3 + s.len()
        || !b[..3].eq_ignore_ascii_case(b"CN=")
        || !b[b.len() - s.len()..].eq_ignore_ascii_case(s)
    {
        return None;
    }
    Some(&b[3..b.len() - s.len()])
}

/// What follows the name in a DN of this tenant (`Tenant::object_dn`).
fn dn_suffix(t: &Tenant) -> String {
    let dn = t.object_dn("");
    dn.strip_prefix("CN=").unwrap_or(&dn).to_owned()
}

/// The id of the one recipient matching `key` among those `filter` keeps.
pub(crate) fn resolve_index(
    t: &Tenant,
    key: &str,
    filter: impl Fn(&Recipient) -> bool,
) -> Result<RecipientId, CmdletError> {
    let norm = normalize(key);
    let suffix = dn_suffix(t);
    // Every recipient `matches` accepts has `norm` (or, for a DN, the name
    // inside it) among its lookup keys, which the directory indexes; the
    // candidates are checked exactly, in the tenant's order.
    let mut candidates = t.recipients.candidates(norm);
    if let Some(name) = dn_name(norm, &suffix).and_then(|n| std::str::from_utf8(n).ok()) {
        candidates.extend(t.recipients.candidates(name));
        candidates.sort_unstable();
        candidates.dedup();
    }
    let mut found = None;
    for id in candidates {
        let r = &t.recipients[id];
        if filter(r) && matches(r, norm, &suffix) {
            if found.is_some() {
                return Err(CmdletError::ambiguous(key));
            }
            found = Some(id);
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
    resolve_index(t, key, filter).map(|i| &t.recipients[i])
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Every way of naming every recipient of `t` (any case, DN, `SMTP:`
    /// prefix, padding), plus keys nobody has.
    fn keys(t: &Tenant) -> Vec<String> {
        let mut keys = vec!["nobody".to_owned(), String::new(), "CN=nobody".to_owned()];
        for r in &t.recipients {
            keys.extend([
                r.name.clone(),
                r.alias.to_uppercase(),
                r.display_name.clone(),
                format!(" SMTP:{} ", r.primary_smtp_address.to_uppercase()),
                r.external_directory_object_id.to_uppercase(),
                r.guid.clone(),
                t.distinguished_name(r).to_lowercase(),
            ]);
            keys.extend(
                r.email_addresses.iter().filter_map(|a| a.split_once(':')).map(|(_, a)| a.to_owned()),
            );
        }
        keys
    }

    /// What a scan of every recipient answers: the reference.
    fn scan(t: &Tenant, key: &str, filter: fn(&Recipient) -> bool) -> Result<RecipientId, ()> {
        let (norm, suffix) = (normalize(key), dn_suffix(t));
        let hits: Vec<RecipientId> = t
            .recipients
            .entries()
            .filter(|(_, r)| filter(r) && matches(r, norm, &suffix))
            .map(|(id, _)| id)
            .collect();
        match hits[..] {
            [one] => Ok(one),
            _ => Err(()),
        }
    }

    fn agree(t: &Tenant) {
        let filters: [fn(&Recipient) -> bool; 3] = [any, groups, mailboxes];
        for key in keys(t) {
            for f in filters {
                assert_eq!(resolve_index(t, &key, f).map_err(|_| ()), scan(t, &key, f), "key {key:?}");
            }
            let id = normalize(&key);
            assert_eq!(
                t.recipient_by_object_id(id).map(|r| &r.name),
                t.recipients
                    .iter()
                    .find(|r| r.external_directory_object_id.eq_ignore_ascii_case(id))
                    .map(|r| &r.name),
                "object id {id:?}"
            );
        }
    }

    /// The indexed lookup answers exactly as a scan does, for keys several
    /// recipients share, for keys nobody has, after a rename, an addition
    /// and a removal, and on the earlier state those left untouched.
    #[test]
    fn indexed_resolution_agrees_with_the_scan() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
        let mut t = crate::seed::load_file(&path).unwrap();
        // Two recipients sharing a display name: both paths must call it ambiguous.
        let ids: Vec<RecipientId> = t.recipients.entries().map(|(id, _)| id).collect();
        let shared_name = t.recipients[ids[0]].display_name.clone();
        t.recipients.get_mut(ids[1]).unwrap().display_name.clone_from(&shared_name);
        agree(&t);
        assert!(resolve_index(&t, &shared_name, any).is_err());

        let before = t.clone();
        let last = *ids.last().unwrap();
        let mut fresh = t.recipients[last].clone();
        t.recipients.get_mut(last).unwrap().name = "renamed-in-place".to_owned();
        fresh.name = "brand-new".to_owned();
        fresh.external_directory_object_id = "00000000-0000-4000-8000-00000000beef".to_owned();
        t.recipients.push(Arc::new(fresh));
        t.recipients.remove(ids[0]);
        agree(&t);
        assert!(resolve_index(&t, "brand-new", any).is_ok());
        assert!(resolve_index(&t, "renamed-in-place", any).is_ok());
        assert!(resolve_index(&before, "renamed-in-place", any).is_err(), "the earlier state is untouched");
        agree(&before);
    }
}
