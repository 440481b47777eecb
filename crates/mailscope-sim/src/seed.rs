//! The seed file: a human-written description of a tenant, turned into a
//! [`Tenant`] once. Format documented in `docs/sim.md` ("Seed format").
//!
//! Ids the seed leaves out are derived deterministically from the tenant id
//! and the object's address/name (SHA-256), so two loads of the same seed give
//! the same tenant and snapshot tests stay stable.
//!
//! Over 600 lines (about 690): the file format and every load-time check of
//! every object kind (directory, policies, apps, RBAC objects) stay in one
//! place, so the format has one reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use mailscope_permissions::Resource;

use crate::catalog::{self, DIRECTORY_ROLES};
use crate::model::{
    AccessRight, App, CertificateCredential, FederatedCredential, ManagedIdentityKind, ManagementScope,
    Policy, Recipient, RecipientKind, RoleAssignment, ServicePrincipalPointer, Tenant,
};
use crate::opath;

/// Why a seed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The seed (or a file it references) could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The seed is not valid YAML/JSON of the expected shape.
    #[error("cannot parse seed {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Parser message (with line and column).
        message: String,
    },
    /// The seed parses but describes an impossible tenant.
    #[error("invalid seed: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedFile {
    tenant: SeedTenant,
    #[serde(default)]
    recipients: Vec<SeedRecipient>,
    #[serde(default)]
    groups: Vec<SeedGroup>,
    #[serde(default)]
    policies: Vec<SeedPolicy>,
    #[serde(default)]
    apps: Vec<SeedApp>,
    #[serde(default)]
    service_principals: Vec<SeedServicePrincipal>,
    #[serde(default)]
    management_scopes: Vec<SeedScope>,
    #[serde(default)]
    role_assignments: Vec<SeedRoleAssignment>,
    #[serde(default)]
    operator_app: Option<String>,
    /// `IDENTITY_HEADER` of the emulated App Service / Container Apps host.
    #[serde(default)]
    identity_header: Option<String>,
}

/// An Exchange pointer to a seeded app's service principal.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedServicePrincipal {
    app_id: String,
    #[serde(default)]
    object_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedScope {
    name: String,
    recipient_restriction_filter: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedRoleAssignment {
    #[serde(default)]
    name: Option<String>,
    app: String,
    role: String,
    #[serde(default)]
    custom_resource_scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedTenant {
    id: String,
    display_name: String,
    initial_domain: String,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    dc_fqdn: Option<String>,
    #[serde(default)]
    sid_prefix: Option<String>,
    #[serde(default)]
    next_rid: Option<u64>,
    #[serde(default)]
    created: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedRecipient {
    address: String,
    kind: RecipientKind,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    proxy_addresses: Vec<String>,
    #[serde(default)]
    email_addresses: Option<Vec<String>>,
    #[serde(default)]
    department: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
enum SeedGroupType {
    Security,
    Distribution,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedGroup {
    name: String,
    primary_smtp_address: String,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(rename = "type", default = "default_group_type")]
    group_type: SeedGroupType,
    #[serde(default)]
    custom_attributes: BTreeMap<usize, String>,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    managed_by: Vec<String>,
}

fn default_group_type() -> SeedGroupType {
    SeedGroupType::Security
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedPolicy {
    app_id: String,
    scope: String,
    access_right: AccessRight,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedApp {
    app_id: String,
    display_name: String,
    #[serde(default)]
    service_principal_id: Option<String>,
    #[serde(default)]
    graph_permissions: Vec<String>,
    #[serde(default)]
    exchange_permissions: Vec<String>,
    #[serde(default)]
    directory_roles: Vec<String>,
    #[serde(default)]
    client_secrets: Vec<String>,
    #[serde(default)]
    certificates: Vec<PemSource>,
    #[serde(default)]
    federated_credentials: Vec<SeedFederated>,
    /// `systemAssigned` or `userAssigned`: a managed identity of the emulated host.
    #[serde(default)]
    managed_identity: Option<ManagedIdentityKind>,
}

/// PEM given inline or as a path relative to the seed file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PemSource {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    pem: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedFederated {
    issuer: String,
    subject: String,
    #[serde(default = "default_audiences")]
    audiences: Vec<String>,
    public_key: PemSource,
}

fn default_audiences() -> Vec<String> {
    vec!["api://AzureADTokenExchange".to_owned()]
}

/// Default creation time of seeded objects (2021-03-04T10:00:00Z), so outputs are stable.
const DEFAULT_CREATED: u64 = 1_614_852_000;

/// Parses a seed file (YAML, or JSON when the extension is `.json`).
pub(crate) fn load_file(path: &Path) -> Result<Tenant, SeedError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SeedError::Io { path: path.to_owned(), source })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    load_str(&text, is_json, base, path)
}

/// Parses seed text; `base` resolves relative PEM paths.
pub(crate) fn load_str(text: &str, is_json: bool, base: &Path, origin: &Path) -> Result<Tenant, SeedError> {
    let seed: SeedFile = if is_json {
        serde_json::from_str(text)
            .map_err(|e| SeedError::Parse { path: origin.to_owned(), message: e.to_string() })?
    } else {
        serde_saphyr::from_str(text)
            .map_err(|e| SeedError::Parse { path: origin.to_owned(), message: e.to_string() })?
    };
    build(&seed, base)
}

/// A stable GUID for a seeded object that names none.
pub(crate) fn derived_guid(tenant_id: &str, kind: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{tenant_id}|{kind}|{}", key.to_ascii_lowercase()).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

fn read_pem(src: &PemSource, base: &Path) -> Result<String, SeedError> {
    match (&src.path, &src.pem) {
        (Some(p), None) => {
            let path = base.join(p);
            std::fs::read_to_string(&path).map_err(|source| SeedError::Io { path, source })
        }
        (None, Some(pem)) => Ok(pem.clone()),
        _ => Err(SeedError::Invalid("a PEM source needs exactly one of `path` or `pem`".into())),
    }
}

fn invalid(msg: impl Into<String>) -> SeedError {
    SeedError::Invalid(msg.into())
}

fn check_guid(what: &str, s: &str) -> Result<String, SeedError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| invalid(format!("{what} `{s}` is not a GUID")))
}

fn build(seed: &SeedFile, base: &Path) -> Result<Tenant, SeedError> {
    let t = &seed.tenant;
    let tenant_id = check_guid("tenant id", &t.id)?;
    let created = t.created.unwrap_or(DEFAULT_CREATED);
    let mut domains = vec![t.initial_domain.to_ascii_lowercase()];
    for d in &t.domains {
        if !domains.iter().any(|x| x.eq_ignore_ascii_case(d)) {
            domains.push(d.to_ascii_lowercase());
        }
    }
    let sid_prefix = t.sid_prefix.clone().unwrap_or_else(|| {
        let d = Sha256::digest(tenant_id.as_bytes());
        let part = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        format!("S-1-5-21-{}-{}-{}", part(0), part(4), part(8))
    });
    let mut tenant = Tenant {
        id: tenant_id.clone(),
        display_name: t.display_name.clone(),
        initial_domain: t.initial_domain.to_ascii_lowercase(),
        domains,
        dc_fqdn: t
            .dc_fqdn
            .clone()
            .unwrap_or_else(|| "NAMPR01A001DC01.NAMPR01A001.PROD.OUTLOOK.COM".to_owned()),
        sid_prefix,
        next_rid: t.next_rid.unwrap_or(10_000),
        recipients: crate::model::Directory::new(),
        policies: crate::model::SharedVec::new(),
        apps: crate::model::SharedVec::new(),
        service_principals: Vec::new(),
        management_scopes: Vec::new(),
        role_assignments: Vec::new(),
        operator_app_id: None,
        identity_header: None,
    };

    for r in &seed.recipients {
        let (local, _) = r
            .address
            .split_once('@')
            .ok_or_else(|| invalid(format!("recipient address `{}` has no @", r.address)))?;
        let name = r.name.clone().unwrap_or_else(|| local.to_owned());
        let alias = r.alias.clone().unwrap_or_else(|| local.to_owned());
        let object_id = match &r.id {
            Some(id) => check_guid("recipient id", id)?,
            None => derived_guid(&tenant_id, "recipient", &r.address),
        };
        let email_addresses = recipient_email_addresses(r, &alias, &tenant.initial_domain)?;
        let sid = r.sid.clone().unwrap_or_else(|| tenant.next_sid());
        add_recipient(
            &mut tenant,
            Recipient {
                kind: r.kind,
                display_name: r.display_name.clone().unwrap_or_else(|| name.clone()),
                name,
                alias,
                primary_smtp_address: r.address.clone(),
                email_addresses,
                guid: derived_guid(&tenant_id, "exchange-guid", &object_id),
                external_directory_object_id: object_id,
                sid,
                custom_attributes: vec![String::new(); 15],
                members: Vec::new(),
                managed_by: Vec::new(),
                member_join_restriction: String::new(),
                member_depart_restriction: String::new(),
                require_sender_authentication_enabled: false,
                hidden_from_address_lists_enabled: false,
                department: r.department.clone().unwrap_or_default(),
                when_created: created,
                when_changed: created,
            },
        )?;
    }

    // Groups first without members, so members may name groups declared later.
    for g in &seed.groups {
        let object_id = match &g.id {
            Some(id) => check_guid("group id", id)?,
            None => derived_guid(&tenant_id, "group", &g.name),
        };
        let alias = g.alias.clone().unwrap_or_else(|| g.name.replace(' ', ""));
        let mut custom_attributes = vec![String::new(); 15];
        for (n, v) in &g.custom_attributes {
            if !(1..=15).contains(n) {
                return Err(invalid(format!("group `{}`: customAttributes index {n} is not 1..15", g.name)));
            }
            custom_attributes[n - 1].clone_from(v);
        }
        let sid = g.sid.clone().unwrap_or_else(|| tenant.next_sid());
        let (kind, restriction) = match g.group_type {
            SeedGroupType::Security => (RecipientKind::MailUniversalSecurityGroup, "Closed"),
            SeedGroupType::Distribution => (RecipientKind::MailUniversalDistributionGroup, "Open"),
        };
        let mut email_addresses = vec![format!("SMTP:{}", g.primary_smtp_address)];
        let onms = format!("{alias}@{}", tenant.initial_domain);
        if !onms.eq_ignore_ascii_case(&g.primary_smtp_address) {
            email_addresses.push(format!("smtp:{onms}"));
        }
        add_recipient(
            &mut tenant,
            Recipient {
                kind,
                name: g.name.clone(),
                alias,
                display_name: g.display_name.clone().unwrap_or_else(|| g.name.clone()),
                primary_smtp_address: g.primary_smtp_address.clone(),
                email_addresses,
                guid: derived_guid(&tenant_id, "exchange-guid", &object_id),
                external_directory_object_id: object_id,
                sid,
                custom_attributes,
                members: Vec::new(),
                managed_by: g.managed_by.clone(),
                member_join_restriction: restriction.to_owned(),
                member_depart_restriction: restriction.to_owned(),
                require_sender_authentication_enabled: true,
                hidden_from_address_lists_enabled: false,
                department: String::new(),
                when_created: created,
                when_changed: created,
            },
        )?;
    }
    for g in &seed.groups {
        let mut ids = Vec::new();
        for m in &g.members {
            let r = resolve(&tenant, m)
                .ok_or_else(|| invalid(format!("group `{}`: unknown member `{m}`", g.name)))?;
            if !ids.contains(&r.external_directory_object_id) {
                ids.push(r.external_directory_object_id.clone());
            }
        }
        // By the name index, not a scan: a seed of a thousand groups over
        // 100,000 recipients would otherwise compare 10^8 names.
        let id = (tenant.recipients.candidates(&g.name).into_iter())
            .find(|&i| tenant.recipients[i].name == g.name)
            .ok_or_else(|| invalid("group vanished"))?;
        tenant.recipients.get_mut(id).ok_or_else(|| invalid("group vanished"))?.members = ids;
    }

    for p in &seed.policies {
        let app_id = check_guid("policy appId", &p.app_id)?;
        let scope = resolve(&tenant, &p.scope)
            .ok_or_else(|| invalid(format!("policy scope `{}` not found", p.scope)))?;
        if !scope.kind.is_security_principal() {
            return Err(invalid(format!(
                "policy scope `{}` is not a MESG, UserMailbox or MailUser",
                p.scope
            )));
        }
        let mut policy = Policy {
            app_id,
            scope_object_id: scope.external_directory_object_id.clone(),
            scope_sid: scope.sid.clone(),
            scope_name: scope.name.clone(),
            access_right: p.access_right,
            description: String::new(),
        };
        policy.description = p.description.clone().unwrap_or_else(|| default_description(&policy));
        tenant.policies.push(Arc::new(policy));
    }

    for a in &seed.apps {
        let app_id = check_guid("app id", &a.app_id)?;
        for p in &a.graph_permissions {
            if catalog::find_role(Resource::Graph, p).is_none() {
                return Err(invalid(format!("app `{}`: unknown Graph permission `{p}`", a.display_name)));
            }
        }
        for p in &a.exchange_permissions {
            if catalog::find_role(Resource::ExchangeOnline, p).is_none() {
                return Err(invalid(format!("app `{}`: unknown Exchange permission `{p}`", a.display_name)));
            }
        }
        for r in &a.directory_roles {
            if !DIRECTORY_ROLES.iter().any(|(n, _, _)| n.eq_ignore_ascii_case(r)) {
                return Err(invalid(format!("app `{}`: unknown directory role `{r}`", a.display_name)));
            }
        }
        let certificates = a
            .certificates
            .iter()
            .map(|c| read_pem(c, base).map(|pem| CertificateCredential { pem }))
            .collect::<Result<Vec<_>, _>>()?;
        for c in &certificates {
            crate::token::certificate_key(&c.pem)
                .map_err(|e| invalid(format!("app `{}`: bad certificate: {e}", a.display_name)))?;
        }
        let federated_credentials = a
            .federated_credentials
            .iter()
            .map(|f| {
                Ok(FederatedCredential {
                    issuer: f.issuer.clone(),
                    subject: f.subject.clone(),
                    audiences: f.audiences.clone(),
                    public_key_pem: read_pem(&f.public_key, base)?,
                })
            })
            .collect::<Result<Vec<_>, SeedError>>()?;
        if tenant.app(&app_id).is_some() {
            return Err(invalid(format!("app `{app_id}` declared twice")));
        }
        tenant.apps.push(Arc::new(App {
            service_principal_id: match &a.service_principal_id {
                Some(id) => check_guid("servicePrincipalId", id)?,
                None => derived_guid(&tenant_id, "service-principal", &app_id),
            },
            app_id,
            display_name: a.display_name.clone(),
            graph_permissions: a.graph_permissions.clone(),
            exchange_permissions: a.exchange_permissions.clone(),
            directory_roles: a.directory_roles.clone(),
            client_secrets: a.client_secrets.clone(),
            certificates,
            federated_credentials,
            managed_identity: a.managed_identity,
            created,
        }));
    }
    let system_assigned = tenant
        .apps
        .iter()
        .filter(|a| a.managed_identity == Some(ManagedIdentityKind::SystemAssigned))
        .count();
    if system_assigned > 1 {
        return Err(invalid("more than one app is the host's systemAssigned managed identity"));
    }
    tenant.identity_header.clone_from(&seed.identity_header);
    seed_rbac(seed, &mut tenant, created)?;
    if let Some(op) = &seed.operator_app {
        let app = tenant
            .app(op)
            .or_else(|| {
                tenant.apps.iter().map(AsRef::as_ref).find(|a| a.display_name.eq_ignore_ascii_case(op))
            })
            .ok_or_else(|| invalid(format!("operatorApp `{op}` is not a declared app")))?;
        tenant.operator_app_id = Some(app.app_id.clone());
    }
    Ok(tenant)
}

/// Service principal pointers, management scopes and role assignments, with
/// the checks the cmdlets make (a pointer must match a seeded app's service
/// principal, filters must parse, roles must be application roles).
fn seed_rbac(seed: &SeedFile, tenant: &mut Tenant, created: u64) -> Result<(), SeedError> {
    let tid = tenant.id.clone();
    for sp in &seed.service_principals {
        let app = tenant
            .app(&sp.app_id)
            .ok_or_else(|| invalid(format!("servicePrincipal `{}`: not a declared app", sp.app_id)))?;
        let object_id = match &sp.object_id {
            Some(o) if !o.eq_ignore_ascii_case(&app.service_principal_id) => {
                return Err(invalid(format!(
                    "servicePrincipal `{}`: objectId `{o}` is not the app's service principal",
                    sp.app_id
                )));
            }
            _ => app.service_principal_id.clone(),
        };
        let pointer = ServicePrincipalPointer {
            app_id: app.app_id.clone(),
            display_name: sp.display_name.clone().unwrap_or_else(|| app.display_name.clone()),
            guid: derived_guid(&tid, "sp-pointer", &object_id),
            object_id,
            when_created: created,
        };
        if tenant.service_principal(&pointer.app_id).is_some() {
            return Err(invalid(format!("servicePrincipal `{}` declared twice", sp.app_id)));
        }
        tenant.service_principals.push(pointer);
    }
    for sc in &seed.management_scopes {
        opath::parse(&sc.recipient_restriction_filter)
            .map_err(|e| invalid(format!("managementScope `{}`: {e}", sc.name)))?;
        if tenant.management_scope(&sc.name).is_some() {
            return Err(invalid(format!("managementScope `{}` declared twice", sc.name)));
        }
        tenant.management_scopes.push(ManagementScope {
            name: sc.name.clone(),
            recipient_restriction_filter: sc.recipient_restriction_filter.clone(),
            guid: derived_guid(&tid, "management-scope", &sc.name),
            when_created: created,
            when_changed: created,
        });
    }
    for ra in &seed.role_assignments {
        let sp = tenant.service_principal(&ra.app).ok_or_else(|| {
            invalid(format!("roleAssignment: `{}` is not a declared servicePrincipal", ra.app))
        })?;
        let role = catalog::application_role(&ra.role)
            .ok_or_else(|| invalid(format!("roleAssignment: `{}` is not an application role", ra.role)))?;
        let scope = match &ra.custom_resource_scope {
            Some(sc) => Some(
                tenant
                    .management_scope(sc)
                    .ok_or_else(|| invalid(format!("roleAssignment: unknown managementScope `{sc}`")))?
                    .name
                    .clone(),
            ),
            None => None,
        };
        let name = ra.name.clone().unwrap_or_else(|| tenant.default_assignment_name(&role.role_name(), sp));
        if tenant.role_assignments.iter().any(|a| a.name.eq_ignore_ascii_case(&name)) {
            return Err(invalid(format!("roleAssignment `{name}` declared twice")));
        }
        let assignment = RoleAssignment {
            guid: derived_guid(&tid, "role-assignment", &name),
            name,
            role: role.role_name(),
            app_object_id: sp.object_id.clone(),
            custom_resource_scope: scope,
            when_created: created,
        };
        tenant.role_assignments.push(assignment);
    }
    Ok(())
}

/// A seeded recipient's `EmailAddresses`: the seed's own list when it gives
/// `emailAddresses` (exactly one `SMTP:` entry, the primary `address`), or
/// else `SMTP:<address>`, `smtp:<alias>@<initial domain>` (Exchange Online
/// gives every recipient one) and the bare `proxyAddresses` as `smtp:`.
fn recipient_email_addresses(
    r: &SeedRecipient,
    alias: &str,
    initial_domain: &str,
) -> Result<Vec<String>, SeedError> {
    let Some(given) = &r.email_addresses else {
        let mut out = vec![format!("SMTP:{}", r.address)];
        let onms = format!("{alias}@{initial_domain}");
        if !onms.eq_ignore_ascii_case(&r.address) {
            out.push(format!("smtp:{onms}"));
        }
        out.extend(r.proxy_addresses.iter().map(|p| format!("smtp:{p}")));
        return Ok(out);
    };
    let bad = |why: &str| invalid(format!("recipient `{}`: emailAddresses {why}", r.address));
    if !r.proxy_addresses.is_empty() {
        return Err(bad("and proxyAddresses cannot both be given"));
    }
    let mut primaries = 0;
    for e in given {
        let (scheme, address) =
            e.split_once(':').ok_or_else(|| bad(&format!("entry `{e}` has no prefix")))?;
        if !scheme.eq_ignore_ascii_case("smtp") {
            continue; // X500:, SIP: and the like are kept as written.
        }
        if !address.contains('@') {
            return Err(bad(&format!("entry `{e}` is not an address")));
        }
        if scheme == "SMTP" {
            primaries += 1;
            if !address.eq_ignore_ascii_case(&r.address) {
                return Err(bad(&format!("entry `{e}` is primary but the address is `{}`", r.address)));
            }
        }
    }
    if primaries != 1 {
        return Err(bad("need exactly one `SMTP:` entry (the primary address)"));
    }
    Ok(given.clone())
}

/// Every SMTP address a recipient owns: its primary and its `smtp:` proxies.
fn smtp_addresses(r: &Recipient) -> impl Iterator<Item = &str> {
    std::iter::once(r.primary_smtp_address.as_str()).chain(
        r.email_addresses.iter().filter_map(|e| {
            e.split_once(':').filter(|(s, _)| s.eq_ignore_ascii_case("smtp")).map(|(_, a)| a)
        }),
    )
}

fn add_recipient(tenant: &mut Tenant, r: Recipient) -> Result<(), SeedError> {
    // Every recipient the checks below can refuse has one of these keys;
    // ascending ids are the tenant's order, so the first clash named is the scan's.
    let keys = [&r.name, &r.alias, &r.external_directory_object_id].into_iter().map(String::as_str);
    let near: std::collections::BTreeSet<_> =
        keys.chain(smtp_addresses(&r)).flat_map(|k| tenant.recipients.candidates(k)).collect();
    for other in near.into_iter().map(|id| &tenant.recipients[id]) {
        if other.name.eq_ignore_ascii_case(&r.name)
            || other.alias.eq_ignore_ascii_case(&r.alias)
            || other.external_directory_object_id == r.external_directory_object_id
        {
            return Err(invalid(format!(
                "recipient `{}` clashes with `{}` (name, alias or id)",
                r.primary_smtp_address, other.primary_smtp_address
            )));
        }
        // Exchange refuses a proxy address another recipient already has
        // ("is already being used"), so no address may resolve to two recipients.
        if let Some(a) = smtp_addresses(&r).find(|a| other.has_smtp(a)) {
            return Err(invalid(format!(
                "address `{a}` of recipient `{}` is already an address of `{}`",
                r.primary_smtp_address, other.primary_smtp_address
            )));
        }
    }
    tenant.recipients.push(Arc::new(r));
    Ok(())
}

/// Seed-time identity lookup: address, name, alias or object id.
fn resolve<'a>(tenant: &'a Tenant, key: &str) -> Option<&'a Recipient> {
    tenant.recipients.candidates(key).into_iter().map(|id| &tenant.recipients[id]).find(|r| {
        r.has_smtp(key)
            || r.name.eq_ignore_ascii_case(key)
            || r.alias.eq_ignore_ascii_case(key)
            || r.external_directory_object_id.eq_ignore_ascii_case(key)
    })
}

/// The description Exchange generates when `-Description` is omitted (docs/exchange.md, "Access decision").
pub(crate) fn default_description(p: &Policy) -> String {
    format!(
        "AppId: {}; ScopeIdentitySid: {}; ScopeIdentityOid: {}; AccessRight: {}; ShardType: All",
        p.app_id,
        p.scope_sid,
        p.scope_object_id,
        p.access_right.as_str()
    )
}
