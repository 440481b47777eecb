//! RBAC for Applications: `*-ServicePrincipal` (Exchange's pointer to an
//! Entra service principal), `*-ManagementRoleAssignment` for "Application X"
//! roles, and `Test-ServicePrincipalAuthorization` (`docs/exchange.md`,
//! "RBAC for Applications").

use serde_json::json;

use crate::catalog;
use crate::decision::ScopeFilter;
use crate::model::{RoleAssignment, ServicePrincipalPointer, Tenant};

use super::cmdlets::{CmdResult, ReadCtx, WriteCtx};
use super::error::CmdletError;
use super::lookup;
use super::objects;
use super::scopes::already_exists;

fn task_argument(ex_id: &'static str, text: String) -> CmdletError {
    CmdletError::Exec { ex_id, ex_type: "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException", text }
}

/// Index of the pointer `id` names: `AppId`, `ObjectId` (= `Name`), `DisplayName` or GUID.
fn find_sp(t: &Tenant, id: &str) -> Result<usize, CmdletError> {
    let key = id.trim();
    let mut hits = t.service_principals.iter().enumerate().filter(|(_, s)| {
        s.app_id.eq_ignore_ascii_case(key)
            || s.object_id.eq_ignore_ascii_case(key)
            || s.display_name.eq_ignore_ascii_case(key)
            || s.guid.eq_ignore_ascii_case(key)
    });
    match (hits.next(), hits.next()) {
        (Some((i, _)), None) => Ok(i),
        (Some(_), Some(_)) => Err(CmdletError::ambiguous(id)),
        _ => Err(CmdletError::not_found(id, &t.dc_fqdn)),
    }
}

/// `Get-ServicePrincipal`: all, or the one `Identity` names.
pub(crate) fn get_sp(cx: &ReadCtx<'_>) -> CmdResult {
    let t = cx.tenant;
    match cx.params.string("Identity")? {
        Some(id) => Ok(vec![objects::service_principal(t, &t.service_principals[find_sp(t, &id)?])]),
        None => Ok(t.service_principals.iter().map(|s| objects::service_principal(t, s)).collect()),
    }
}

/// `New-ServicePrincipal -AppId -ObjectId [-DisplayName]`: the pointer must
/// name the Entra service principal of that app (Exchange rejects invalid
/// pointers); `-ServiceId` is the older name of `-ObjectId`.
pub(crate) fn new_sp(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let app_id = p.required("AppId")?;
    let object_id = match p.string("ObjectId")? {
        Some(o) if !o.is_empty() => o,
        _ => p
            .string("ServiceId")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CmdletError::missing("ObjectId"))?,
    };
    let display = p.string("DisplayName")?;
    let t = &mut *cx.tenant;
    let Some(app) = t.apps.iter().find(|a| {
        a.app_id.eq_ignore_ascii_case(app_id.trim())
            && a.service_principal_id.eq_ignore_ascii_case(object_id.trim())
    }) else {
        return Err(task_argument(
            "ExA7B3C1",
            format!(
                "The service principal with AppId \"{app_id}\" and ObjectId \"{object_id}\" couldn't be found in Microsoft Entra ID. The ObjectId must be the object ID of the app's enterprise application (service principal), not of its app registration."
            ),
        ));
    };
    if t.service_principals.iter().any(|s| s.app_id.eq_ignore_ascii_case(&app.app_id)) {
        return Err(already_exists(t, &t.object_dn(&app.service_principal_id)));
    }
    let sp = ServicePrincipalPointer {
        app_id: app.app_id.clone(),
        object_id: app.service_principal_id.clone(),
        display_name: display.unwrap_or_else(|| app.display_name.clone()),
        guid: uuid::Uuid::new_v4().to_string(),
        when_created: cx.now,
    };
    let out = objects::service_principal(t, &sp);
    t.service_principals.push(sp);
    Ok(vec![out])
}

/// `Remove-ServicePrincipal`: its role assignments go with it.
pub(crate) fn remove_sp(cx: &mut WriteCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    let t = &mut *cx.tenant;
    let sp = t.service_principals.remove(find_sp(t, &id)?);
    t.role_assignments.retain(|a| !a.app_object_id.eq_ignore_ascii_case(&sp.object_id));
    Ok(Vec::new())
}

/// Built-in management roles that are not application roles: `-App` refuses them.
const NON_APPLICATION_ROLES: &[&str] = &[
    "Mail Recipients",
    "Distribution Groups",
    "Role Management",
    "Organization Configuration",
    "View-Only Configuration",
    "View-Only Recipients",
    "ApplicationImpersonation",
    "Mailbox Import Export",
    "User Options",
];

/// The canonical name of the application role `-Role` names.
fn application_role(t: &Tenant, role: &str) -> Result<String, CmdletError> {
    if let Some(r) = catalog::application_role(role) {
        return Ok(r.role_name());
    }
    if NON_APPLICATION_ROLES.iter().any(|n| n.eq_ignore_ascii_case(role.trim())) {
        return Err(task_argument(
            "Ex5E1F42",
            format!(
                "The role \"{role}\" isn't an application role. Only application roles (\"Application ...\") can be assigned with the App parameter."
            ),
        ));
    }
    Err(CmdletError::not_found(role, &t.dc_fqdn))
}

/// `New-ManagementRoleAssignment [-Name] -App -Role [-CustomResourceScope]`:
/// no scope = the whole organization.
pub(crate) fn new_assignment(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let app = p.required("App")?;
    let role = p.required("Role")?;
    let scope = p.string("CustomResourceScope")?.filter(|s| !s.is_empty());
    let name = p.string("Name")?.filter(|s| !s.is_empty());
    let t = &mut *cx.tenant;
    let role = application_role(t, &role)?;
    let sp = t.service_principals[find_sp(t, &app)?].clone();
    let scope = match scope {
        Some(s) => Some(
            t.management_scope(&s)
                .map(|m| m.name.clone())
                .ok_or_else(|| CmdletError::not_found(&s, &t.dc_fqdn))?,
        ),
        None => None,
    };
    let name = name.unwrap_or_else(|| t.default_assignment_name(&role, &sp));
    if t.role_assignments.iter().any(|a| a.name.eq_ignore_ascii_case(&name)) {
        return Err(already_exists(t, &format!("CN={name},CN=Role Assignments")));
    }
    if let Some(same) = t.role_assignments.iter().find(|a| {
        a.app_object_id.eq_ignore_ascii_case(&sp.object_id)
            && a.role.eq_ignore_ascii_case(&role)
            && a.custom_resource_scope.as_deref().map(str::to_ascii_lowercase)
                == scope.as_deref().map(str::to_ascii_lowercase)
    }) {
        return Err(CmdletError::Exec {
            ex_id: "Ex1C7A93",
            ex_type: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException",
            text: format!(
                "The role assignment \"{}\" already assigns role \"{role}\" to \"{}\" with the same scope.",
                same.name,
                sp.name()
            ),
        });
    }
    let assignment = RoleAssignment {
        name,
        role,
        app_object_id: sp.object_id.clone(),
        custom_resource_scope: scope,
        guid: uuid::Uuid::new_v4().to_string(),
        when_created: cx.now,
    };
    let out = objects::role_assignment(t, &assignment);
    t.role_assignments.push(assignment);
    Ok(vec![out])
}

/// Index of the assignment `id` names (Name or GUID).
fn find_assignment(t: &Tenant, id: &str) -> Result<usize, CmdletError> {
    t.role_assignments
        .iter()
        .position(|a| a.name.eq_ignore_ascii_case(id.trim()) || a.guid.eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| CmdletError::not_found(id, &t.dc_fqdn))
}

/// `Get-ManagementRoleAssignment [-Identity] [-RoleAssignee] [-RoleAssigneeType] [-Role]`.
/// The sim holds only application-role assignments, so any other assignee type lists nothing.
pub(crate) fn get_assignment(cx: &ReadCtx<'_>) -> CmdResult {
    let (t, p) = (cx.tenant, cx.params);
    let kind = p.enumeration(
        "RoleAssigneeType",
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.RoleAssigneeType",
        &[
            "User",
            "SecurityGroup",
            "RoleGroup",
            "MailboxPlan",
            "Computer",
            "ForeignSecurityPrincipal",
            "LinkedRoleGroup",
            "PartnerLinkedRoleGroup",
            "ServicePrincipal",
        ],
    )?;
    let assignee = match p.string("RoleAssignee")? {
        Some(a) => Some(t.service_principals[find_sp(t, &a)?].object_id.clone()),
        None => None,
    };
    let role = match p.string("Role")? {
        Some(r) => Some(application_role(t, &r)?),
        None => None,
    };
    let rows: Vec<&RoleAssignment> = match p.string("Identity")? {
        Some(id) => vec![&t.role_assignments[find_assignment(t, &id)?]],
        None => t.role_assignments.iter().collect(),
    };
    Ok(rows
        .into_iter()
        .filter(|_| kind.is_none_or(|k| k == "ServicePrincipal"))
        .filter(|a| assignee.as_ref().is_none_or(|o| a.app_object_id.eq_ignore_ascii_case(o)))
        .filter(|a| role.as_ref().is_none_or(|r| a.role.eq_ignore_ascii_case(r)))
        .map(|a| objects::role_assignment(t, a))
        .collect())
}

/// `Remove-ManagementRoleAssignment`.
pub(crate) fn remove_assignment(cx: &mut WriteCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    let t = &mut *cx.tenant;
    let i = find_assignment(t, &id)?;
    t.role_assignments.remove(i);
    Ok(Vec::new())
}

/// `Test-ServicePrincipalAuthorization -Identity [-Resource]`: one row per
/// assigned role, RBAC only (Entra grants and policies are not consulted),
/// on the current state (no cache).
pub(crate) fn test_authorization(cx: &ReadCtx<'_>) -> CmdResult {
    let (t, p) = (cx.tenant, cx.params);
    let id = p.required("Identity")?;
    let sp = &t.service_principals[find_sp(t, &id)?];
    let resource = match p.string("Resource")? {
        Some(r) => Some(lookup::resolve(t, &r, lookup::mailboxes)?),
        None => None,
    };
    Ok(t.role_assignments
        .iter()
        .filter(|a| a.app_object_id.eq_ignore_ascii_case(&sp.object_id))
        .map(|a| {
            let grants = mailscope_permissions::rbac_role(&a.role).map_or_else(Vec::new, |r| r.grants.to_vec());
            let in_scope = match resource {
                None => "Not Run",
                Some(r) if ScopeFilter::new(t, a.custom_resource_scope.as_deref()).covers(t, Some(r), None) => {
                    "True"
                }
                Some(_) => "False",
            };
            json!({
                "RoleName": a.role,
                "GrantedPermissions": grants.join(", "),
                "AllowedResourceScope": a.custom_resource_scope.as_deref().unwrap_or("Organization"),
                "ScopeType": if a.custom_resource_scope.is_some() { "CustomRecipientScope" } else { "Organization" },
                "InScope": in_scope,
            })
        })
        .collect())
}
