//! `Get-Recipient`, `Get-Mailbox`, and the listing logic (`-Identity`,
//! `-Filter`, `-RecipientTypeDetails`, `-Anr`) the `Get-*` cmdlets share.

use serde_json::Value;

use crate::model::{Recipient, RecipientKind, Tenant};
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
    let member_of = filter.as_ref().map(|_| opath::MemberOf::new(t));
    let mut out: Vec<&Recipient> = t
        .recipients
        .iter()
        .map(AsRef::as_ref)
        .filter(|r| kind_ok(r))
        .filter(|r| {
            filter.as_ref().is_none_or(|f| {
                f.matches(&|prop: &str| opath::recipient_property(t, r, prop, member_of.as_ref()))
            })
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
