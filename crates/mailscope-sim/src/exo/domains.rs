//! `Get-AcceptedDomain`: the tenant's accepted domains, the initial
//! `*.onmicrosoft.com` one included, shaped like Exchange Online's answer
//! (`Name`, `DomainName`, `DomainType`, `Default`, `InitialDomain`). mailscope
//! reads it to learn which domains name the tenant it logged in to.

use serde_json::{Value, json};

use crate::model::Tenant;

use super::cmdlets::{CmdResult, ReadCtx};
use super::error::CmdletError;

fn domain(t: &Tenant, name: &str) -> Value {
    let initial = name.eq_ignore_ascii_case(&t.initial_domain);
    // The first verified domain of the seed is the default, as an admin
    // usually sets it; a tenant with only its initial domain defaults to it.
    let default =
        t.domains.iter().find(|d| !d.eq_ignore_ascii_case(&t.initial_domain)).map_or(initial, |d| d == name);
    json!({
        "Identity": name,
        "Name": name,
        "DomainName": name,
        "DomainType": "Authoritative",
        "Default": default,
        "InitialDomain": initial,
        "IsValid": true,
    })
}

/// `Get-AcceptedDomain`: every accepted domain, or the one `Identity` names
/// (not found → the usual error).
pub(crate) fn get_accepted_domain(cx: &ReadCtx<'_>) -> CmdResult {
    let t = cx.tenant;
    match cx.params.string("Identity")? {
        Some(id) => {
            let found = t.domains.iter().find(|d| d.eq_ignore_ascii_case(id.trim()));
            let found = found.ok_or_else(|| CmdletError::not_found(&id, &t.dc_fqdn))?;
            Ok(vec![domain(t, found)])
        }
        None => Ok(t.domains.iter().map(|d| domain(t, d)).collect()),
    }
}
