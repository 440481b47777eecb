//! Output objects with the real property names and `@odata.type` / `@data.type`
//! annotations (docs/exchange.md, "Admin API wire format").

use serde_json::{Map, Value, json};

use crate::clock;
use crate::decision::Verdict;
use crate::model::{Policy, Recipient, Tenant};

fn put_guid(m: &mut Map<String, Value>, key: &str, v: &str) {
    m.insert(format!("{key}@data.type"), json!("System.Guid"));
    m.insert(format!("{key}@odata.type"), json!("#Guid"));
    m.insert(key.to_owned(), json!(v));
}

fn put_strings(m: &mut Map<String, Value>, key: &str, v: &[String]) {
    m.insert(format!("{key}@odata.type"), json!("#Collection(String)"));
    m.insert(key.to_owned(), json!(v));
}

fn put_time(m: &mut Map<String, Value>, key: &str, secs: u64) {
    m.insert(format!("{key}@data.type"), json!("System.DateTime"));
    m.insert(key.to_owned(), json!(clock::exo_local(secs)));
    m.insert(format!("{key}UTC@data.type"), json!("System.DateTime"));
    m.insert(format!("{key}UTC"), json!(clock::exo_utc(secs)));
}

/// The properties every recipient output shares.
pub(crate) fn recipient_base(t: &Tenant, r: &Recipient) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Identity".into(), json!(r.name));
    m.insert("Id".into(), json!(r.name));
    m.insert("Name".into(), json!(r.name));
    m.insert("Alias".into(), json!(r.alias));
    m.insert("DisplayName".into(), json!(r.display_name));
    m.insert("PrimarySmtpAddress".into(), json!(r.primary_smtp_address));
    put_strings(&mut m, "EmailAddresses", &r.email_addresses);
    m.insert("ExternalDirectoryObjectId".into(), json!(r.external_directory_object_id));
    put_guid(&mut m, "ExchangeObjectId", &r.guid);
    put_guid(&mut m, "Guid", &r.guid);
    m.insert("DistinguishedName".into(), json!(t.distinguished_name(r)));
    m.insert("OrganizationalUnitRoot".into(), json!(t.initial_domain));
    m.insert("RecipientType".into(), json!(r.kind.recipient_type()));
    m.insert("RecipientTypeDetails".into(), json!(r.kind.details()));
    m.insert("IsValid".into(), json!(true));
    m.insert("IsValidSecurityPrincipal".into(), json!(r.kind.is_security_principal()));
    m.insert("HiddenFromAddressListsEnabled".into(), json!(r.hidden_from_address_lists_enabled));
    for n in 1..=15 {
        let v = r.custom_attribute(n);
        m.insert(format!("CustomAttribute{n}"), json!(v));
    }
    put_time(&mut m, "WhenCreated", r.when_created);
    put_time(&mut m, "WhenChanged", r.when_changed);
    m
}

/// A `Get-Recipient` / `Get-DistributionGroupMember` row.
pub(crate) fn recipient(t: &Tenant, r: &Recipient) -> Value {
    Value::Object(recipient_base(t, r))
}

/// A `Get-Mailbox` object.
pub(crate) fn mailbox(t: &Tenant, r: &Recipient) -> Value {
    let mut m = recipient_base(t, r);
    m.insert("UserPrincipalName".into(), json!(r.primary_smtp_address));
    m.insert("IsMailboxEnabled".into(), json!(true));
    m.insert("IsShared".into(), json!(r.kind.details() == "SharedMailbox"));
    m.insert("RecipientSoftDeletedStatus@data.type".into(), json!("System.Int32"));
    m.insert("RecipientSoftDeletedStatus".into(), json!(0));
    m.insert("ProhibitSendQuota".into(), json!("99 GB (106,300,440,576 bytes)"));
    m.insert("ForwardingAddress".into(), Value::Null);
    Value::Object(m)
}

/// A `Get-/New-DistributionGroup` object.
pub(crate) fn group(t: &Tenant, r: &Recipient) -> Value {
    let mut m = recipient_base(t, r);
    let security = r.kind.is_security_principal();
    m.insert("GroupType".into(), json!(if security { "Universal, SecurityEnabled" } else { "Universal" }));
    put_strings(&mut m, "ManagedBy", &r.managed_by);
    m.insert("MemberJoinRestriction".into(), json!(r.member_join_restriction));
    m.insert("MemberDepartRestriction".into(), json!(r.member_depart_restriction));
    m.insert("RequireSenderAuthenticationEnabled".into(), json!(r.require_sender_authentication_enabled));
    m.insert("SamAccountName".into(), json!(r.alias));
    m.insert("IsDirSynced".into(), json!(false));
    Value::Object(m)
}

/// A `Get-/New-ApplicationAccessPolicy` object (docs/exchange.md, "Admin API wire format").
pub(crate) fn policy(t: &Tenant, p: &Policy) -> Value {
    let scope = t.recipient_by_object_id(&p.scope_object_id);
    json!({
        "ScopeName": scope.map_or(p.scope_name.as_str(), |r| r.name.as_str()),
        "ScopeIdentity": scope.map_or(p.scope_name.as_str(), |r| r.name.as_str()),
        "Identity": p.identity(&t.id),
        "AppId": p.app_id,
        "ScopeIdentityRaw": format!("{};{}", p.scope_sid, p.scope_object_id),
        "Description": p.description,
        "AccessRight": p.access_right.as_str(),
        "ShardType": "All",
        "IsValid": scope.is_some(),
        "ObjectState": "Unchanged",
    })
}

/// A `Test-ApplicationAccessPolicy` result (docs/exchange.md, "Admin API wire format").
pub(crate) fn test_result(app_id: &str, r: &Recipient, verdict: Verdict) -> Value {
    json!({
        "AppId": app_id,
        "Mailbox": r.name,
        "MailboxId@data.type": "System.Guid",
        "MailboxId@odata.type": "#Guid",
        "MailboxId": r.guid,
        "MailboxSid": r.sid,
        "AccessCheckResult": verdict.as_str(),
    })
}
