//! Identity resolution: how `-Identity`, `-Member`, `-PolicyScopeGroupId`
//! find a recipient (docs/exchange.md, "Admin API wire format" and "Access decision"): Name, Alias,
//! `DisplayName`, any SMTP address, GUID (object id or Exchange guid) or DN,
//! all case-insensitive.

use crate::model::{Recipient, Tenant};

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

/// Index of the one recipient matching `key` among those `filter` keeps.
pub(crate) fn resolve_index(
    t: &Tenant,
    key: &str,
    filter: impl Fn(&Recipient) -> bool,
) -> Result<usize, CmdletError> {
    let norm = normalize(key);
    let suffix = dn_suffix(t);
    let hit = |i: usize| {
        let r = &*t.recipients[i];
        filter(r) && matches(r, norm, &suffix)
    };
    let mut found = None;
    let mut take = |i: usize| {
        if found.is_some() {
            return Err(CmdletError::ambiguous(key));
        }
        found = Some(i);
        Ok(())
    };
    // Every recipient `matches` accepts has `norm` (or, for a DN, the name
    // inside it) among its lookup keys; the candidates are checked exactly
    // and in the tenant's order, as the scan would.
    let dn = dn_name(norm, &suffix).and_then(|n| std::str::from_utf8(n).ok());
    let cands = match (t.recipient_candidates(norm), dn) {
        (Some(c), None) => Some(c),
        (Some(mut c), Some(name)) => t.recipient_candidates(name).map(|more| {
            c.extend(more);
            c.sort_unstable();
            c.dedup();
            c
        }),
        (None, _) => None,
    };
    if let Some(cands) = cands {
        for i in cands {
            if hit(i) {
                take(i)?;
            }
        }
    } else {
        for i in 0..t.recipients.len() {
            if hit(i) {
                take(i)?;
            }
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

    fn agree(indexed: &Tenant, scanning: &Tenant) {
        let filters: [fn(&Recipient) -> bool; 3] = [any, groups, mailboxes];
        for key in keys(indexed).iter().chain(&keys(scanning)) {
            for f in filters {
                assert_eq!(resolve_index(indexed, key, f), resolve_index(scanning, key, f), "key {key:?}");
            }
            let id = normalize(key);
            assert_eq!(
                indexed.recipient_by_object_id(id).map(|r| &r.name),
                scanning.recipient_by_object_id(id).map(|r| &r.name),
                "object id {id:?}"
            );
        }
    }

    /// The indexed lookup answers exactly as the scan does, on the state the
    /// index was built from and on a changed copy that inherited it, for
    /// keys several recipients share and for keys nobody has.
    #[test]
    fn indexed_resolution_agrees_with_the_scan() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
        let mut scanning = crate::seed::load_file(&path).unwrap();
        // Two recipients sharing a display name: both paths must call it ambiguous.
        let shared_name = scanning.recipients[0].display_name.clone();
        Arc::make_mut(&mut scanning.recipients[1]).display_name = shared_name;
        assert!(scanning.recipient_candidates("nobody").is_none(), "a seed-loaded tenant scans");
        let indexed = scanning.clone();
        indexed.index.enable();
        // Past the lookups a committed state serves before it builds its own index.
        for _ in 0..10 {
            indexed.recipient_candidates("nobody");
        }
        agree(&indexed, &scanning);
        assert!(resolve_index(&indexed, &scanning.recipients[0].display_name, any).is_err());

        // A working copy inherits the index; a renamed recipient and a new one
        // (which the index has never seen) must still be found, the old name not.
        let mut inherited = indexed.clone();
        let mut plain = scanning.clone();
        for t in [&mut inherited, &mut plain] {
            let last = t.recipients.len() - 1;
            let mut fresh = (*t.recipients[last]).clone();
            Arc::make_mut(&mut t.recipients[last]).name = "renamed-in-place".to_owned();
            fresh.name = "brand-new".to_owned();
            fresh.external_directory_object_id = "00000000-0000-4000-8000-00000000beef".to_owned();
            t.recipients.push(Arc::new(fresh));
        }
        assert!(inherited.recipient_candidates("nobody").is_some(), "the copy uses the inherited index");
        agree(&inherited, &plain);
        assert!(resolve_index(&inherited, "brand-new", any).is_ok());
        assert!(resolve_index(&inherited, "renamed-in-place", any).is_ok());
        // Committed, the copy computes its dirty positions once and keeps them.
        let committed = inherited.clone();
        committed.index.enable();
        for _ in 0..10 {
            agree(&committed, &plain);
        }

        // A removal shifts every later position: still exact.
        for t in [&mut inherited, &mut plain] {
            t.recipients.remove(0);
        }
        agree(&inherited, &plain);
    }
}
