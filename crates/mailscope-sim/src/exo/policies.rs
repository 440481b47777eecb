//! `*-ApplicationAccessPolicy` (docs/exchange.md, "Access decision" and "Admin API wire format").

use std::sync::Arc;

use crate::decision;
use crate::model::{AccessRight, POLICY_SPACE_BUDGET, Policy, Tenant};
use crate::seed::default_description;

use super::cmdlets::{CmdResult, ReadCtx, WriteCtx};
use super::error::CmdletError;
use super::lookup;
use super::objects;

fn exec(ex_id: &'static str, ex_type: &'static str, text: String) -> CmdletError {
    CmdletError::Exec { ex_id, ex_type, text }
}

fn space_exceeded() -> CmdletError {
    exec(
        "Ex4A2B91",
        "Microsoft.Exchange.Management.Tasks.ApplicationAccessPolicySizeLimitExceededException",
        "The total size of App Access Policies exceeded the limit.".to_owned(),
    )
}

/// Index of the policy whose Identity is `id` (case-insensitive).
fn find(t: &Tenant, id: &str) -> Result<usize, CmdletError> {
    t.policies
        .iter()
        .position(|p| p.identity(&t.id).eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| CmdletError::not_found(id, &t.dc_fqdn))
}

/// `Get-ApplicationAccessPolicy`: all, or the one `Identity` names. An
/// `Identity` that matches nothing returns *every* policy, as the cmdlet's
/// page warns: a client that filters by identity and trusts the answer would
/// take all of them for one (docs/exchange.md, "Admin API wire format").
pub(crate) fn get_policy(cx: &ReadCtx<'_>) -> CmdResult {
    let t = cx.tenant;
    let all = || t.policies.iter().map(|p| objects::policy(t, p)).collect();
    match cx.params.string("Identity")? {
        Some(id) => match find(t, &id) {
            Ok(i) => Ok(vec![objects::policy(t, &t.policies[i])]),
            Err(_) => Ok(all()),
        },
        None => Ok(all()),
    }
}

/// `New-ApplicationAccessPolicy`: one policy per `AppId`; all-or-nothing.
pub(crate) fn new_policy(cx: &mut WriteCtx<'_>) -> CmdResult {
    let p = cx.params;
    let app_ids =
        p.strings("AppId")?.filter(|v| !v.is_empty()).ok_or_else(|| CmdletError::missing("AppId"))?;
    let scope_key = p.required("PolicyScopeGroupId")?;
    let right = match p.enumeration(
        "AccessRight",
        "Microsoft.Exchange.Data.ApplicationAccessPolicyAccessRight",
        &["RestrictAccess", "DenyAccess"],
    )? {
        Some("RestrictAccess") => AccessRight::RestrictAccess,
        Some(_) => AccessRight::DenyAccess,
        None => return Err(CmdletError::missing("AccessRight")),
    };
    let description = p.string("Description")?;
    let t = &mut *cx.tenant;
    let scope = lookup::resolve(t, &scope_key, lookup::any)?;
    if !scope.kind.is_security_principal() {
        return Err(exec(
            "Ex8D3E2F",
            "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException",
            format!(
                "The recipient \"{scope_key}\" can't be used as PolicyScopeGroupId: it's a {} and only a mail-enabled security group (MailUniversalSecurityGroup), a UserMailbox or a MailUser is a valid security principal.",
                scope.kind.details()
            ),
        ));
    }
    let mut new = Vec::new();
    for app in app_ids {
        let app = app.trim().to_owned();
        if app != "*" && uuid::Uuid::parse_str(&app).is_err() {
            return Err(exec(
                "",
                "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException",
                format!(
                    "The AppId \"{app}\" isn't valid. Specify the application (client) ID as a GUID, or \"*\"."
                ),
            ));
        }
        let mut policy = Policy {
            app_id: app,
            scope_object_id: scope.external_directory_object_id.clone(),
            scope_sid: scope.sid.clone(),
            scope_name: scope.name.clone(),
            access_right: right,
            description: String::new(),
        };
        policy.description = description.clone().unwrap_or_else(|| default_description(&policy));
        let clash = t.policies.iter().map(AsRef::as_ref).chain(new.iter()).find(|q: &&Policy| {
            q.app_id.eq_ignore_ascii_case(&policy.app_id) && q.scope_object_id == policy.scope_object_id
        });
        if let Some(q) = clash {
            return Err(exec(
                "Ex5C6A1D",
                "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException",
                format!(
                    "An application access policy with identity \"{}\" already exists (AccessRight {}).",
                    q.identity(&t.id),
                    q.access_right.as_str()
                ),
            ));
        }
        new.push(policy);
    }
    let used = t.policy_space_used() + new.iter().map(Policy::space_cost).sum::<usize>();
    if used > POLICY_SPACE_BUDGET {
        return Err(space_exceeded());
    }
    let out = new.iter().map(|p| objects::policy(t, p)).collect();
    t.policies.extend(new.into_iter().map(Arc::new));
    Ok(out)
}

/// `Set-ApplicationAccessPolicy`: only Description changes.
pub(crate) fn set_policy(cx: &mut WriteCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    // Mandatory on the cmdlet: it is the only thing Set can change.
    let d = cx.params.required("Description")?;
    let t = &mut *cx.tenant;
    let i = find(t, &id)?;
    let old = t.policies[i].description.len();
    if t.policy_space_used() - old + d.len() > POLICY_SPACE_BUDGET {
        return Err(space_exceeded());
    }
    Arc::make_mut(&mut t.policies[i]).description = d;
    Ok(Vec::new())
}

/// `Remove-ApplicationAccessPolicy`.
pub(crate) fn remove_policy(cx: &mut WriteCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    let t = &mut *cx.tenant;
    let i = find(t, &id)?;
    t.policies.remove(i);
    Ok(Vec::new())
}

/// `Test-ApplicationAccessPolicy`: the decision on the current state, no delay.
pub(crate) fn test_policy(cx: &ReadCtx<'_>) -> CmdResult {
    let id = cx.params.required("Identity")?;
    let app = cx.params.required("AppId")?;
    let t = cx.tenant;
    let r = lookup::resolve(t, &id, lookup::any)?;
    let verdict = decision::aap_for(t, &app, r, cx.knobs);
    Ok(vec![objects::test_result(&app, r, verdict)])
}
