//! `*-DistributionGroup` and `*-DistributionGroupMember` (docs/exchange.md, "Admin API wire format").

use std::sync::Arc;

use crate::model::{Recipient, RecipientId, RecipientKind, RecipientMut, Tenant};

use super::cmdlets::{CmdResult, ReadCtx, WriteCtx};
use super::error::CmdletError;
use super::lookup;
use super::objects;
use super::params::{MultiEdit, Params};
use super::recipients;

/// The recipient `id` names, to change (it was just resolved in this state).
fn set(t: &mut Tenant, id: RecipientId) -> RecipientMut<'_> {
    t.recipients.get_mut(id).expect("an id resolved in this state")
}

const ALREADY_EXISTS: &str = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException";

fn exec(ex_id: &'static str, ex_type: &'static str, text: String) -> CmdletError {
    CmdletError::Exec { ex_id, ex_type, text }
}

/// Rejects changes to a group the caller does not manage unless `BypassSecurityGroupManagerCheck` is set.
///
/// App principals are never in `ManagedBy` (docs/exchange.md, "Admin API wire format"), so
/// in practice every write to a group needs the switch.
fn check_manager(p: &Params, group: &Recipient) -> Result<(), CmdletError> {
    if p.switch("BypassSecurityGroupManagerCheck") {
        return Ok(());
    }
    Err(exec(
        "Ex7E4F71",
        "Microsoft.Exchange.Configuration.Tasks.OperationRequiresGroupManagerException",
        format!(
            "You don't have sufficient permissions. This operation can only be performed by a manager of the group \"{}\".",
            group.name
        ),
    ))
}

/// The recipients other than `except` that have `key` among their lookup keys.
fn others<'a>(t: &'a Tenant, key: &str, except: Option<RecipientId>) -> impl Iterator<Item = &'a Recipient> {
    t.recipients.candidates(key).into_iter().filter(move |&i| Some(i) != except).map(|i| &t.recipients[i])
}

fn name_taken(t: &Tenant, name: &str, except: Option<RecipientId>) -> Result<(), CmdletError> {
    if others(t, name, except).any(|r| r.name.eq_ignore_ascii_case(name)) {
        return Err(exec(
            "Ex2D1C39",
            ALREADY_EXISTS,
            format!("The name \"{name}\" is already being used. Please try another name."),
        ));
    }
    Ok(())
}

fn alias_taken(t: &Tenant, alias: &str, except: Option<RecipientId>) -> Result<(), CmdletError> {
    if others(t, alias, except).any(|r| r.alias.eq_ignore_ascii_case(alias)) {
        return Err(exec(
            "Ex2D1C3A",
            ALREADY_EXISTS,
            format!("The alias \"{alias}\" is already being used. Please try another alias."),
        ));
    }
    Ok(())
}

fn address_ok(t: &Tenant, address: &str, except: Option<RecipientId>) -> Result<(), CmdletError> {
    let Some((local, domain)) = address.split_once('@').filter(|(l, d)| !l.is_empty() && !d.is_empty())
    else {
        return Err(exec(
            "",
            "Microsoft.Exchange.Data.DataValidationException",
            format!(
                "The email address \"{address}\" isn't correct. Please use this format: user name, the @ sign, followed by the domain name. For example, tonysmith@contoso.com or tony.smith@contoso.com."
            ),
        ));
    };
    let _ = local;
    if !t.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(exec(
            "",
            "Microsoft.Exchange.Data.DataValidationException",
            format!(
                "The domain \"{domain}\" of the email address \"{address}\" isn't an accepted domain for your organization."
            ),
        ));
    }
    if let Some(other) = others(t, address, except).find(|r| r.has_smtp(address)) {
        return Err(exec(
            "ExB1F2C4",
            "Microsoft.Exchange.Data.Directory.ProxyAddressExistsException",
            format!(
                "The proxy address \"SMTP:{address}\" is already being used by the proxy addresses or LegacyExchangeDN of \"{}\". Please choose another proxy address.",
                other.name
            ),
        ));
    }
    Ok(())
}

fn restriction(p: &Params, name: &str, default: &str) -> Result<String, CmdletError> {
    Ok(p.enumeration(
        name,
        "Microsoft.Exchange.Data.Directory.Recipient.MemberUpdateType",
        &["Open", "Closed", "ApprovalRequired"],
    )?
    .unwrap_or(default)
    .to_owned())
}

/// `Get-DistributionGroup`.
pub(crate) fn get_group(cx: &ReadCtx<'_>) -> CmdResult {
    let rows = recipients::list(cx.tenant, cx.params, lookup::groups)?;
    Ok(rows.into_iter().map(|r| objects::group(cx.tenant, r)).collect())
}

/// `New-DistributionGroup`: `CustomAttributes` are not accepted here (as in real Exchange).
pub(crate) fn new_group(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let name = p.required("Name")?;
    let security = p.enumeration(
        "Type",
        "Microsoft.Exchange.Management.RecipientTasks.GroupType",
        &["Distribution", "Security"],
    )? == Some("Security");
    let alias = p.string("Alias")?.unwrap_or_else(|| name.replace(' ', ""));
    let t = &mut *cx.tenant;
    name_taken(t, &name, None)?;
    alias_taken(t, &alias, None)?;
    let primary = p.string("PrimarySmtpAddress")?.unwrap_or_else(|| format!("{alias}@{}", t.initial_domain));
    address_ok(t, &primary, None)?;
    let mut members = Vec::new();
    for m in p.strings("Members")?.unwrap_or_default() {
        let r = lookup::resolve(t, &m, lookup::any)?;
        if !members.contains(&r.external_directory_object_id) {
            members.push(r.external_directory_object_id.clone());
        }
    }
    // MemberJoinRestriction defaults to Closed for both types; leaving
    // defaults to Closed for security groups and Open for distribution
    // groups; a security group can never be Open (Microsoft Learn,
    // "New-DistributionGroup").
    let join = restriction(p, "MemberJoinRestriction", "Closed")?;
    let depart = restriction(p, "MemberDepartRestriction", if security { "Closed" } else { "Open" })?;
    if security && (join == "Open" || depart == "Open") {
        return Err(CmdletError::Exec {
            ex_id: "Ex8E7C1B",
            ex_type: "Microsoft.Exchange.Management.Tasks.RecipientTaskException",
            text: "Security groups can't be open for members to join or leave; \
                   use Closed or ApprovalRequired."
                .to_owned(),
        });
    }
    let mut email_addresses = vec![format!("SMTP:{primary}")];
    let onms = format!("{alias}@{}", t.initial_domain);
    if !onms.eq_ignore_ascii_case(&primary) {
        email_addresses.push(format!("smtp:{onms}"));
    }
    let group = Recipient {
        kind: if security {
            RecipientKind::MailUniversalSecurityGroup
        } else {
            RecipientKind::MailUniversalDistributionGroup
        },
        display_name: p.string("DisplayName")?.unwrap_or_else(|| name.clone()),
        name,
        alias,
        primary_smtp_address: primary,
        email_addresses,
        external_directory_object_id: uuid::Uuid::new_v4().to_string(),
        guid: uuid::Uuid::new_v4().to_string(),
        sid: t.next_sid(),
        custom_attributes: vec![String::new(); 15],
        members,
        managed_by: p.strings("ManagedBy")?.unwrap_or_default(),
        member_join_restriction: join,
        member_depart_restriction: depart,
        require_sender_authentication_enabled: p
            .boolean("RequireSenderAuthenticationEnabled")?
            .unwrap_or(true),
        hidden_from_address_lists_enabled: false,
        department: String::new(),
        when_created: cx.now,
        when_changed: cx.now,
    };
    let out = objects::group(t, &group);
    t.recipients.push(Arc::new(group));
    Ok(vec![out])
}

/// `Set-DistributionGroup`.
pub(crate) fn set_group(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let id = p.required("Identity")?;
    let t = &mut *cx.tenant;
    let idx = lookup::resolve_index(t, &id, lookup::groups)?;
    check_manager(p, &t.recipients[idx])?;
    if let Some(name) = p.string("Name")? {
        name_taken(t, &name, Some(idx))?;
        set(t, idx).name = name;
    }
    if let Some(alias) = p.string("Alias")? {
        alias_taken(t, &alias, Some(idx))?;
        set(t, idx).alias = alias;
    }
    if let Some(primary) = p.string("PrimarySmtpAddress")? {
        address_ok(t, &primary, Some(idx))?;
        let mut r = set(t, idx);
        for a in &mut r.email_addresses {
            if let Some(rest) = a.strip_prefix("SMTP:") {
                *a = format!("smtp:{rest}");
            }
        }
        r.email_addresses
            .retain(|a| !a.split_once(':').is_some_and(|(_, x)| x.eq_ignore_ascii_case(&primary)));
        r.email_addresses.insert(0, format!("SMTP:{primary}"));
        r.primary_smtp_address = primary;
    }
    let join = if p.has("MemberJoinRestriction") {
        Some(restriction(p, "MemberJoinRestriction", "Closed")?)
    } else {
        None
    };
    let depart = if p.has("MemberDepartRestriction") {
        Some(restriction(p, "MemberDepartRestriction", "Closed")?)
    } else {
        None
    };
    let mut r = set(t, idx);
    if let Some(d) = p.string("DisplayName")? {
        r.display_name = d;
    }
    if let Some(j) = join {
        r.member_join_restriction = j;
    }
    if let Some(d) = depart {
        r.member_depart_restriction = d;
    }
    if let Some(b) = p.boolean("RequireSenderAuthenticationEnabled")? {
        r.require_sender_authentication_enabled = b;
    }
    if let Some(b) = p.boolean("HiddenFromAddressListsEnabled")? {
        r.hidden_from_address_lists_enabled = b;
    }
    for n in 1..=15 {
        let key = CUSTOM_ATTRIBUTES[n - 1];
        if p.has(key) {
            r.custom_attributes[n - 1] = p.string(key)?.unwrap_or_default();
        }
    }
    match p.multi("ManagedBy")? {
        Some(MultiEdit::Replace(v)) => r.managed_by = v,
        Some(MultiEdit::Edit { add, remove }) => {
            r.managed_by.retain(|m| !remove.iter().any(|x| x.eq_ignore_ascii_case(m)));
            for a in add {
                if !r.managed_by.iter().any(|m| m.eq_ignore_ascii_case(&a)) {
                    r.managed_by.push(a);
                }
            }
        }
        None => {}
    }
    r.when_changed = cx.now;
    Ok(Vec::new())
}

/// `CustomAttribute1`..`CustomAttribute15` parameter names.
pub(crate) const CUSTOM_ATTRIBUTES: [&str; 15] = [
    "CustomAttribute1",
    "CustomAttribute2",
    "CustomAttribute3",
    "CustomAttribute4",
    "CustomAttribute5",
    "CustomAttribute6",
    "CustomAttribute7",
    "CustomAttribute8",
    "CustomAttribute9",
    "CustomAttribute10",
    "CustomAttribute11",
    "CustomAttribute12",
    "CustomAttribute13",
    "CustomAttribute14",
    "CustomAttribute15",
];

/// `Remove-DistributionGroup`: also drops it from other groups; policies scoped to it stay, `IsValid = False`.
pub(crate) fn remove_group(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let id = p.required("Identity")?;
    let t = &mut *cx.tenant;
    let idx = lookup::resolve_index(t, &id, lookup::groups)?;
    check_manager(p, &t.recipients[idx])?;
    let removed = t.recipients.remove(idx).expect("just resolved");
    let gone = &removed.external_directory_object_id;
    // Only the groups that held it are copied (the rest stay shared with the old state).
    let holders: Vec<RecipientId> =
        t.recipients.entries().filter(|(_, r)| r.members.iter().any(|m| m == gone)).map(|(i, _)| i).collect();
    for i in holders {
        set(t, i).members.retain(|m| m != gone);
    }
    Ok(Vec::new())
}

/// `Get-DistributionGroupMember`.
pub(crate) fn get_members(cx: &ReadCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    let t = cx.tenant;
    let g = lookup::resolve(t, &id, lookup::groups)?;
    let mut rows: Vec<&Recipient> = g.members.iter().filter_map(|m| t.recipient_by_object_id(m)).collect();
    rows.sort_by_cached_key(|r| r.name.to_lowercase());
    Ok(rows.into_iter().map(|r| objects::recipient(t, r)).collect())
}

/// `Add-DistributionGroupMember` (one `Member` per call).
pub(crate) fn add_member(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let id = p.required("Identity")?;
    let member = p.required("Member")?;
    let t = &mut *cx.tenant;
    let gi = lookup::resolve_index(t, &id, lookup::groups)?;
    check_manager(p, &t.recipients[gi])?;
    let m = lookup::resolve(t, &member, lookup::any)?.external_directory_object_id.clone();
    let mut g = set(t, gi);
    if g.members.iter().any(|x| x.eq_ignore_ascii_case(&m)) {
        return Err(exec(
            "Ex9E5A8B",
            "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException",
            format!("The recipient \"{member}\" is already a member of the group \"{}\".", g.name),
        ));
    }
    g.members.push(m);
    g.when_changed = cx.now;
    Ok(Vec::new())
}

/// `Remove-DistributionGroupMember`.
pub(crate) fn remove_member(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let id = p.required("Identity")?;
    let member = p.required("Member")?;
    let t = &mut *cx.tenant;
    let gi = lookup::resolve_index(t, &id, lookup::groups)?;
    check_manager(p, &t.recipients[gi])?;
    let m = lookup::resolve(t, &member, lookup::any)?.external_directory_object_id.clone();
    let mut g = set(t, gi);
    let before = g.members.len();
    g.members.retain(|x| !x.eq_ignore_ascii_case(&m));
    if g.members.len() == before {
        return Err(exec(
            "Ex2C0D5E",
            "Microsoft.Exchange.Management.Tasks.MemberNotFoundException",
            format!("The recipient \"{member}\" isn't a member of the group \"{}\".", g.name),
        ));
    }
    g.when_changed = cx.now;
    Ok(Vec::new())
}

/// `Update-DistributionGroupMember`: replaces the whole membership (`Members: []` empties it).
pub(crate) fn update_members(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let id = p.required("Identity")?;
    let t = &mut *cx.tenant;
    let gi = lookup::resolve_index(t, &id, lookup::groups)?;
    check_manager(p, &t.recipients[gi])?;
    let mut ids = Vec::new();
    for m in p.strings("Members")?.unwrap_or_default() {
        let r = lookup::resolve(t, &m, lookup::any)?;
        if !ids.contains(&r.external_directory_object_id) {
            ids.push(r.external_directory_object_id.clone());
        }
    }
    let mut g = set(t, gi);
    g.members = ids;
    g.when_changed = cx.now;
    Ok(Vec::new())
}
