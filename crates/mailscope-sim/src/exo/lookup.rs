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
    if let Some(ix) = t.recipient_index() {
        // Every recipient `matches` accepts has `norm` (or, for a DN, the
        // name inside it) among its indexed keys; the candidates are checked
        // exactly and in the tenant's order, as the scan would.
        let mut cands: Vec<usize> = ix.candidates(norm).to_vec();
        if let Some(name) = dn_name(norm, &suffix).and_then(|n| std::str::from_utf8(n).ok()) {
            cands.extend_from_slice(ix.candidates(name));
            cands.sort_unstable();
            cands.dedup();
        }
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
    use super::*;

    /// The indexed lookup answers exactly as the scan does, for every way
    /// of naming every recipient (any case, DN, `SMTP:` prefix, padding),
    /// for keys several recipients share and for keys nobody has.
    #[test]
    fn indexed_resolution_agrees_with_the_scan() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
        let mut scanning = crate::seed::load_file(&path).unwrap();
        // Two recipients sharing a display name: both paths must call it ambiguous.
        let shared_name = scanning.recipients[0].display_name.clone();
        std::sync::Arc::make_mut(&mut scanning.recipients[1]).display_name = shared_name;
        let indexed = scanning.clone();
        indexed.index.enable();
        // Past the scanning lookups a state serves before it builds its index.
        while indexed.recipient_index().is_none() {}

        let mut keys = vec!["nobody".to_owned(), String::new(), "CN=nobody".to_owned()];
        for r in &scanning.recipients {
            keys.extend([
                r.name.clone(),
                r.alias.to_uppercase(),
                r.display_name.clone(),
                format!(" SMTP:{} ", r.primary_smtp_address.to_uppercase()),
                r.external_directory_object_id.to_uppercase(),
                r.guid.clone(),
                scanning.distinguished_name(r).to_lowercase(),
            ]);
            keys.extend(
                r.email_addresses.iter().filter_map(|a| a.split_once(':')).map(|(_, a)| a.to_owned()),
            );
        }
        let filters: [fn(&Recipient) -> bool; 3] = [any, groups, mailboxes];
        for key in &keys {
            for f in filters {
                assert_eq!(resolve_index(&indexed, key, f), resolve_index(&scanning, key, f), "key {key:?}");
            }
            let id = normalize(key);
            assert_eq!(
                indexed.recipient_by_object_id(id).map(|r| &r.name),
                scanning.recipient_by_object_id(id).map(|r| &r.name),
                "object id {id:?}"
            );
        }
        assert!(resolve_index(&indexed, &scanning.recipients[0].display_name, any).is_err());
    }
}
