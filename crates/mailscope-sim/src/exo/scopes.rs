//! `*-ManagementScope`: recipient scopes for RBAC for Applications role
//! assignments (`-CustomResourceScope`). The filter is the OPATH of
//! `crate::opath`, `MemberOfGroup` included.

use crate::model::{ManagementScope, Tenant};
use crate::opath;

use super::cmdlets::{CmdResult, ReadCtx, WriteCtx};
use super::error::CmdletError;
use super::objects;

/// Exchange's text for an AD object that already exists.
pub(super) fn already_exists(t: &Tenant, dn: &str) -> CmdletError {
    CmdletError::Exec {
        ex_id: "Ex9F3E70",
        ex_type: "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
        text: format!(
            "Active Directory operation failed on {}. The object '{dn}' already exists.",
            t.dc_fqdn
        ),
    }
}

/// Parses `-RecipientRestrictionFilter` into the real-shaped binding error on failure.
fn check_filter(text: &str) -> Result<(), CmdletError> {
    opath::parse(text).map(|_| ()).map_err(|e| CmdletError::Binding {
        ex_type: "System.Management.Automation.ParameterBindingException",
        text: format!(
            "Cannot bind parameter 'RecipientRestrictionFilter' to the target. Exception setting \"RecipientRestrictionFilter\": \"{e}\""
        ),
    })
}

/// Index of the scope `id` names (Name or GUID).
fn find(t: &Tenant, id: &str) -> Result<usize, CmdletError> {
    t.management_scopes
        .iter()
        .position(|s| s.name.eq_ignore_ascii_case(id.trim()) || s.guid.eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| CmdletError::not_found(id, &t.dc_fqdn))
}

/// `Get-ManagementScope`: all, or the one `Identity` names.
pub(crate) fn get_scope(cx: &ReadCtx<'_>) -> CmdResult {
    let t = cx.tenant;
    match cx.params.string("Identity")? {
        Some(id) => Ok(vec![objects::management_scope(t, &t.management_scopes[find(t, &id)?])]),
        None => Ok(t.management_scopes.iter().map(|s| objects::management_scope(t, s)).collect()),
    }
}

/// `New-ManagementScope -Name -RecipientRestrictionFilter`.
pub(crate) fn new_scope(cx: &mut WriteCtx<'_>) -> CmdResult {
    let name = cx.params.required("Name")?;
    let filter = cx.params.required("RecipientRestrictionFilter")?;
    check_filter(&filter)?;
    let t = &mut *cx.tenant;
    if t.management_scope(&name).is_some() {
        return Err(already_exists(t, &format!("CN={name},CN=Scopes")));
    }
    let scope = ManagementScope {
        name,
        recipient_restriction_filter: filter,
        guid: uuid::Uuid::new_v4().to_string(),
        when_created: cx.now,
        when_changed: cx.now,
    };
    let out = objects::management_scope(t, &scope);
    t.management_scopes.push(scope);
    Ok(vec![out])
}

/// `Set-ManagementScope -Identity -RecipientRestrictionFilter`.
pub(crate) fn set_scope(cx: &mut WriteCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    let filter = cx.params.string("RecipientRestrictionFilter")?;
    let t = &mut *cx.tenant;
    let i = find(t, &id)?;
    if let Some(filter) = filter {
        check_filter(&filter)?;
        t.management_scopes[i].recipient_restriction_filter = filter;
        t.management_scopes[i].when_changed = cx.now;
    }
    Ok(Vec::new())
}

/// `Remove-ManagementScope`: refused while a role assignment uses the scope.
pub(crate) fn remove_scope(cx: &mut WriteCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    let t = &mut *cx.tenant;
    let i = find(t, &id)?;
    let name = t.management_scopes[i].name.clone();
    let users: Vec<&str> = t
        .role_assignments
        .iter()
        .filter(|a| a.custom_resource_scope.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&name)))
        .map(|a| a.name.as_str())
        .collect();
    if !users.is_empty() {
        return Err(CmdletError::Exec {
            ex_id: "Ex3B8D21",
            ex_type: "Microsoft.Exchange.Configuration.Tasks.TaskInvalidOperationException",
            text: format!(
                "The management scope \"{name}\" can't be removed because it's used by the following management role assignments: {}.",
                users.join(", ")
            ),
        });
    }
    t.management_scopes.remove(i);
    Ok(Vec::new())
}
