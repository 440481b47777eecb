//! `Get-Recipient`, `Get-Mailbox`, and the listing logic (`-Identity`,
//! `-Filter`, `-RecipientTypeDetails`, `-Anr`) the `Get-*` cmdlets share.

use serde_json::Value;

use crate::model::{Recipient, RecipientId, RecipientKind, Tenant};
use crate::opath::{self, Filter};

use super::cmdlets::{CmdResult, ReadCtx};
use super::error::CmdletError;
use super::lookup;
use super::objects;
use super::params::Params;

/// Parses `-Filter` into the real-shaped binding error on failure.
fn parse_filter(text: &str) -> Result<Filter, CmdletError> {
    opath::parse(text).map_err(|e| CmdletError::Binding {
        ex_type: "System.Management.Automation.ParameterBindingException",
        text: format!("Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"{e}\""),
    })
}

/// The recipients `filter` must be evaluated on, in the tenant's order: the
/// directory's candidates when the filter pins its matches to a few lookup
/// keys (the client's batched address reads: 50 `PrimarySmtpAddress -eq`
/// clauses), every recipient otherwise. Either way the filter then decides.
fn pool<'a>(t: &'a Tenant, filter: Option<&Filter>) -> Box<dyn Iterator<Item = &'a Recipient> + 'a> {
    match filter.and_then(Filter::lookup_values) {
        Some(values) => {
            let mut ids: Vec<RecipientId> =
                values.into_iter().flat_map(|v| t.recipients.candidates(v)).collect();
            ids.sort_unstable();
            ids.dedup();
            Box::new(ids.into_iter().map(|i| &t.recipients[i]))
        }
        None => Box::new(t.recipients.iter().map(AsRef::as_ref)),
    }
}

/// Recipients a `Get-*` cmdlet returns, sorted by Name; `base` restricts the kinds.
pub(crate) fn list<'a>(
    t: &'a Tenant,
    p: &Params,
    base: fn(&Recipient) -> bool,
) -> Result<Vec<&'a Recipient>, CmdletError> {
    let identity = p.string("Identity")?;
    let filter_text = p.string("Filter")?;
    let anr = p.string("Anr")?;
    if identity.is_some() && (filter_text.is_some() || anr.is_some()) {
        return Err(CmdletError::Binding {
            ex_type: "System.Management.Automation.ParameterBindingException",
            text: "Parameter set cannot be resolved using the specified named parameters.".to_owned(),
        });
    }
    let kinds: Option<Vec<RecipientKind>> = match p.strings("RecipientTypeDetails")? {
        None => None,
        Some(values) => {
            let names: Vec<&'static str> = RecipientKind::ALL.iter().map(|k| k.details()).collect();
            let mut kinds = Vec::new();
            for v in values {
                let m = super::params::match_enum(&v, &names).ok_or_else(|| CmdletError::Transform {
                    text: format!(
                        "Cannot process argument transformation on parameter 'RecipientTypeDetails'. Cannot convert value \"{v}\" to type \"Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails[]\". Error: \"Unable to match the identifier name {v} to a valid enumerator name. Specify one of the following enumerator names and try again: {}\"",
                        names.join(", ")
                    ),
                })?;
                kinds.extend(RecipientKind::ALL.iter().copied().filter(|k| k.details() == m));
            }
            Some(kinds)
        }
    };
    let kind_ok = |r: &Recipient| base(r) && kinds.as_ref().is_none_or(|k| k.contains(&r.kind));
    if let Some(id) = identity {
        return lookup::resolve(t, &id, kind_ok).map(|r| vec![r]);
    }
    let filter = filter_text.as_deref().map(parse_filter).transpose()?;
    let mut out: Vec<&Recipient> = pool(t, filter.as_ref())
        .filter(|r| kind_ok(r))
        .filter(|r| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(&|prop: &str| opath::recipient_property(t, r, prop, None)))
        })
        .filter(|r| {
            anr.as_deref().is_none_or(|a| {
                let a = a.to_lowercase();
                [&r.name, &r.alias, &r.display_name, &r.primary_smtp_address]
                    .iter()
                    .any(|v| v.to_lowercase().starts_with(&a))
            })
        })
        .collect();
    out.sort_by_cached_key(|r| r.name.to_lowercase());
    Ok(out)
}

/// `Get-Recipient`.
pub(crate) fn get_recipient(cx: &ReadCtx<'_>) -> CmdResult {
    let rows = list(cx.tenant, cx.params, lookup::any)?;
    Ok(rows.into_iter().map(|r| objects::recipient(cx.tenant, r)).collect())
}

/// `Get-Mailbox`.
pub(crate) fn get_mailbox(cx: &ReadCtx<'_>) -> CmdResult {
    let rows = list(cx.tenant, cx.params, lookup::mailboxes)?;
    Ok(rows.into_iter().map(|r| objects::mailbox(cx.tenant, r)).collect::<Vec<Value>>())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The candidate pool never changes an answer: for filters that use it
    /// and filters that do not, over ASCII and Unicode case variants, the
    /// result equals evaluating the filter on every recipient.
    #[test]
    fn the_candidate_pool_answers_as_the_full_scan() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
        let mut t = crate::seed::load_file(&path).unwrap();
        let mut kelvin = (*t.recipients.iter().next().unwrap()).as_ref().clone();
        kelvin.name = "\u{212A}elvin".to_owned();
        kelvin.alias = "kelvin-sign".to_owned();
        kelvin.display_name = "Kelvin Sign".to_owned();
        kelvin.primary_smtp_address = "kelvin@contoso.com".to_owned();
        kelvin.email_addresses = vec!["SMTP:kelvin@contoso.com".to_owned()];
        kelvin.external_directory_object_id = "00000000-0000-4000-8000-00000000ce11".to_owned();
        t.recipients.push(Arc::new(kelvin));
        let filters = [
            "PrimarySmtpAddress -eq 'ALICE@contoso.com' -or PrimarySmtpAddress -eq 'nobody@contoso.com'",
            "Name -eq 'kelvin'",
            "Name -eq 'KELVIN' -and RecipientTypeDetails -eq 'UserMailbox'",
            "RecipientTypeDetails -eq 'UserMailbox' -and Alias -eq 'kelvin-sign'",
            "DisplayName -eq 'kelvin sign' -or Name -like 'mailscope*'",
            "Name -eq ''",
            "-not (Name -eq 'kelvin')",
            "Guid -ne 'x'",
        ];
        for text in filters {
            let f = opath::parse(text).unwrap();
            let get = |r: &&Recipient| f.matches(&|p: &str| opath::recipient_property(&t, r, p, None));
            let pooled: Vec<&str> = pool(&t, Some(&f)).filter(get).map(|r| r.name.as_str()).collect();
            let scanned: Vec<&str> =
                t.recipients.iter().map(AsRef::as_ref).filter(get).map(|r| r.name.as_str()).collect();
            assert_eq!(pooled, scanned, "{text}");
        }
        let uses_pool = opath::parse("Name -eq 'kelvin' -or Alias -eq 'x'").unwrap();
        assert_eq!(uses_pool.lookup_values(), Some(vec!["kelvin", "x"]));
        assert_eq!(opath::parse("Name -eq 'a' -or Department -eq 'b'").unwrap().lookup_values(), None);
    }
}
