//! The cmdlet table: adding a cmdlet is one [`CmdletSpec`] entry plus one function.

use serde_json::Value;

use crate::decision::DecisionKnobs;
use crate::model::Tenant;

use super::error::CmdletError;
use super::params::Params;
use super::{domains, groups, policies, rbac, recipients, scopes};

/// A cmdlet's output objects or its failure.
pub(crate) type CmdResult = Result<Vec<Value>, CmdletError>;

/// What a read-only cmdlet sees.
pub(crate) struct ReadCtx<'a> {
    /// The tenant (a consistent snapshot).
    pub tenant: &'a Tenant,
    /// Bound parameters.
    pub params: &'a Params,
    /// Decision knobs (for Test-ApplicationAccessPolicy).
    pub knobs: DecisionKnobs,
}

/// What a mutating cmdlet sees: a working copy, committed only if it returns `Ok`.
pub(crate) struct WriteCtx<'a> {
    /// The working copy.
    pub tenant: &'a mut Tenant,
    /// Bound parameters.
    pub params: &'a Params,
    /// Now, Unix seconds.
    pub now: u64,
}

/// How a cmdlet runs.
#[derive(Clone, Copy)]
pub(crate) enum Handler {
    /// Reads only (`Get-*`, `Test-*`): allowed for read-only roles, never persisted.
    Read(fn(&ReadCtx<'_>) -> CmdResult),
    /// Mutates: needs a full admin role, is persisted, counts for `failNthMutation` and the exposure log.
    Write(fn(&mut WriteCtx<'_>) -> CmdResult),
}

/// One cmdlet.
pub(crate) struct CmdletSpec {
    /// Canonical name.
    pub name: &'static str,
    /// Accepted parameter names (canonical spelling).
    pub params: &'static [&'static str],
    /// Implementation.
    pub handler: Handler,
}

impl CmdletSpec {
    /// Does it change state?
    pub(crate) fn mutating(&self) -> bool {
        matches!(self.handler, Handler::Write(_))
    }
}

const GET_RECIPIENTS: &[&str] = &["Identity", "Filter", "RecipientTypeDetails", "ResultSize", "Anr"];
const MEMBER_EDIT: &[&str] = &["Identity", "Member", "BypassSecurityGroupManagerCheck", "Confirm", "WhatIf"];

/// Every cmdlet the sim implements.
pub(crate) static CMDLETS: &[CmdletSpec] = &[
    CmdletSpec {
        name: "Get-ApplicationAccessPolicy",
        params: &["Identity"],
        handler: Handler::Read(policies::get_policy),
    },
    CmdletSpec {
        name: "New-ApplicationAccessPolicy",
        params: &["AppId", "PolicyScopeGroupId", "AccessRight", "Description", "Confirm", "WhatIf"],
        handler: Handler::Write(policies::new_policy),
    },
    CmdletSpec {
        name: "Set-ApplicationAccessPolicy",
        // No `WhatIf`: the cmdlet page says it does not work on this cmdlet.
        params: &["Identity", "Description", "Confirm"],
        handler: Handler::Write(policies::set_policy),
    },
    CmdletSpec {
        name: "Remove-ApplicationAccessPolicy",
        params: &["Identity", "Confirm", "WhatIf"],
        handler: Handler::Write(policies::remove_policy),
    },
    CmdletSpec {
        name: "Test-ApplicationAccessPolicy",
        params: &["Identity", "AppId"],
        handler: Handler::Read(policies::test_policy),
    },
    CmdletSpec {
        name: "Get-DistributionGroup",
        params: GET_RECIPIENTS,
        handler: Handler::Read(groups::get_group),
    },
    CmdletSpec {
        name: "New-DistributionGroup",
        params: &[
            "Name",
            "Alias",
            "Type",
            "PrimarySmtpAddress",
            "DisplayName",
            "ManagedBy",
            "Members",
            "MemberDepartRestriction",
            "MemberJoinRestriction",
            "IgnoreNamingPolicy",
            "RequireSenderAuthenticationEnabled",
            "Notes",
            "CopyOwnerToMember",
            "Confirm",
            "WhatIf",
        ],
        handler: Handler::Write(groups::new_group),
    },
    CmdletSpec {
        name: "Set-DistributionGroup",
        params: &[
            "Identity",
            "Name",
            "Alias",
            "DisplayName",
            "PrimarySmtpAddress",
            "ManagedBy",
            "MemberJoinRestriction",
            "MemberDepartRestriction",
            "RequireSenderAuthenticationEnabled",
            "HiddenFromAddressListsEnabled",
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
            "BypassSecurityGroupManagerCheck",
            "IgnoreNamingPolicy",
            "Confirm",
            "WhatIf",
        ],
        handler: Handler::Write(groups::set_group),
    },
    CmdletSpec {
        name: "Remove-DistributionGroup",
        params: &["Identity", "BypassSecurityGroupManagerCheck", "Confirm", "WhatIf"],
        handler: Handler::Write(groups::remove_group),
    },
    CmdletSpec {
        name: "Get-DistributionGroupMember",
        params: &["Identity", "ResultSize"],
        handler: Handler::Read(groups::get_members),
    },
    CmdletSpec {
        name: "Add-DistributionGroupMember",
        params: MEMBER_EDIT,
        handler: Handler::Write(groups::add_member),
    },
    CmdletSpec {
        name: "Remove-DistributionGroupMember",
        params: MEMBER_EDIT,
        handler: Handler::Write(groups::remove_member),
    },
    CmdletSpec {
        name: "Update-DistributionGroupMember",
        params: &["Identity", "Members", "BypassSecurityGroupManagerCheck", "Confirm", "WhatIf"],
        handler: Handler::Write(groups::update_members),
    },
    CmdletSpec {
        name: "Get-Recipient",
        params: GET_RECIPIENTS,
        handler: Handler::Read(recipients::get_recipient),
    },
    CmdletSpec {
        name: "Get-Mailbox",
        params: GET_RECIPIENTS,
        handler: Handler::Read(recipients::get_mailbox),
    },
    CmdletSpec { name: "Get-ServicePrincipal", params: &["Identity"], handler: Handler::Read(rbac::get_sp) },
    CmdletSpec {
        name: "New-ServicePrincipal",
        params: &["AppId", "ObjectId", "ServiceId", "DisplayName", "Confirm", "WhatIf"],
        handler: Handler::Write(rbac::new_sp),
    },
    CmdletSpec {
        name: "Remove-ServicePrincipal",
        params: &["Identity", "Confirm", "WhatIf"],
        handler: Handler::Write(rbac::remove_sp),
    },
    CmdletSpec {
        name: "Get-ManagementScope",
        params: &["Identity"],
        handler: Handler::Read(scopes::get_scope),
    },
    CmdletSpec {
        name: "New-ManagementScope",
        params: &["Name", "RecipientRestrictionFilter", "Confirm", "WhatIf"],
        handler: Handler::Write(scopes::new_scope),
    },
    CmdletSpec {
        name: "Set-ManagementScope",
        params: &["Identity", "RecipientRestrictionFilter", "Confirm", "WhatIf"],
        handler: Handler::Write(scopes::set_scope),
    },
    CmdletSpec {
        name: "Remove-ManagementScope",
        params: &["Identity", "Confirm", "WhatIf"],
        handler: Handler::Write(scopes::remove_scope),
    },
    CmdletSpec {
        name: "Get-ManagementRoleAssignment",
        params: &["Identity", "RoleAssignee", "RoleAssigneeType", "Role"],
        handler: Handler::Read(rbac::get_assignment),
    },
    CmdletSpec {
        name: "New-ManagementRoleAssignment",
        params: &["Name", "App", "Role", "CustomResourceScope", "Confirm", "WhatIf"],
        handler: Handler::Write(rbac::new_assignment),
    },
    CmdletSpec {
        name: "Remove-ManagementRoleAssignment",
        params: &["Identity", "Confirm", "WhatIf"],
        handler: Handler::Write(rbac::remove_assignment),
    },
    CmdletSpec {
        name: "Test-ServicePrincipalAuthorization",
        params: &["Identity", "Resource"],
        handler: Handler::Read(rbac::test_authorization),
    },
    CmdletSpec {
        name: "Get-AcceptedDomain",
        params: &["Identity", "ResultSize"],
        handler: Handler::Read(domains::get_accepted_domain),
    },
];

/// Looks a cmdlet up by name, case-insensitively.
pub(crate) fn find(name: &str) -> Option<&'static CmdletSpec> {
    CMDLETS.iter().find(|c| c.name.eq_ignore_ascii_case(name.trim()))
}
