//! RBAC for Applications: Exchange's service-principal pointers, management
//! scopes and application role assignments (`docs/exchange.md`, "Access
//! decision"), plus `Test-ServicePrincipalAuthorization`.
//!
//! Every object here has a unique identity (a pointer per app, a scope or
//! assignment per name), so a repeated create is recognisable: the writes
//! are sent as repeatable and an "already exists" answer is read back. It
//! counts as [`Outcome::AlreadySo`] only when the existing object is the
//! one the call would have made (same app and object id; same filter; same
//! app, role and scope); otherwise the `AlreadyExists` error stands, because
//! the object belongs to someone else.
//!
//! | cmdlet | harmless repeat ([`Outcome::AlreadySo`]) |
//! |---|---|
//! | `New-ServicePrincipal` | a pointer for the app exists with the same object id |
//! | `New-ManagementScope` | a scope of that name exists with an equivalent filter |
//! | `Set-ManagementScope` | never detected (setting the same filter twice is harmless) |
//! | `New-ManagementRoleAssignment` | an assignment of that name exists for the same app, role and scope |
//! | `Remove-*` | not found |

use serde_json::{Value, json};

use mailscope_planner::{LiveManagementScope, LiveRoleAssignment, LiveServicePrincipal, ScopeFilter};

use crate::error::{ExoError, ExoErrorKind};
use crate::exo::{ExoClient, Outcome, outcome, text};

/// One row of `Test-ServicePrincipalAuthorization`: one role the app holds
/// and whether the tested mailbox is inside its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacCheck {
    /// The role (`Application Mail.Send`).
    pub role: String,
    /// `AllowedResourceScope`: the scope's name, or `Organization`.
    pub scope: String,
    /// `InScope`; `None` when Exchange did not evaluate it (no resource
    /// given, "Not Run").
    pub in_scope: Option<bool>,
}

impl RbacCheck {
    /// The permission of an `Application <permission>` role.
    pub fn permission(&self) -> &str {
        self.role.strip_prefix("Application ").unwrap_or(&self.role)
    }
}

impl ExoClient {
    /// All of Exchange's service-principal pointers (one call).
    pub async fn get_service_principals(&self) -> Result<Vec<LiveServicePrincipal>, ExoError> {
        empty_if_none(self.invoke("Get-ServicePrincipal", json!({})).await)
            .map(|v| v.iter().filter_map(parse_service_principal).collect())
    }

    /// All management scopes (one call).
    pub async fn get_management_scopes(&self) -> Result<Vec<LiveManagementScope>, ExoError> {
        empty_if_none(self.invoke("Get-ManagementScope", json!({})).await)
            .map(|v| v.iter().filter_map(parse_management_scope).collect())
    }

    /// Every role assignment to a service principal (one call), each
    /// assignee resolved to its app id through `pointers` (what
    /// [`ExoClient::get_service_principals`] returned). An assignment whose
    /// assignee is none of them cannot grant anything mailscope could name
    /// and is left out.
    pub async fn get_role_assignments(
        &self,
        pointers: &[LiveServicePrincipal],
    ) -> Result<Vec<LiveRoleAssignment>, ExoError> {
        let v = empty_if_none(
            self.invoke("Get-ManagementRoleAssignment", json!({"RoleAssigneeType": "ServicePrincipal"}))
                .await,
        )?;
        Ok(v.iter().filter_map(|o| parse_role_assignment(o, pointers)).collect())
    }

    /// `New-ServicePrincipal -AppId -ObjectId -DisplayName`.
    pub async fn new_service_principal(
        &self,
        app_id: &str,
        object_id: &str,
        display_name: &str,
    ) -> Result<Outcome, ExoError> {
        const CMDLET: &str = "New-ServicePrincipal";
        let params = json!({"AppId": app_id, "ObjectId": object_id, "DisplayName": display_name});
        let err = match self.invoke(CMDLET, params).await {
            Ok(_) => return Ok(Outcome::Done),
            Err(e) if e.kind == ExoErrorKind::AlreadyExists => e,
            Err(e) => return Err(e),
        };
        let same =
            self.get_service_principals().await?.into_iter().any(|p| {
                p.app_id.eq_ignore_ascii_case(app_id) && p.object_id.eq_ignore_ascii_case(object_id)
            });
        if same { Ok(Outcome::AlreadySo) } else { Err(err) }
    }

    /// `Remove-ServicePrincipal` (Exchange removes its role assignments
    /// with it); not found is [`Outcome::AlreadySo`].
    pub async fn remove_service_principal(&self, identity: &str) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke("Remove-ServicePrincipal", json!({"Identity": identity, "Confirm": false})).await,
            &[ExoErrorKind::NotFound],
        )
    }

    /// `New-ManagementScope -Name -RecipientRestrictionFilter`.
    pub async fn new_management_scope(&self, name: &str, filter: &str) -> Result<Outcome, ExoError> {
        const CMDLET: &str = "New-ManagementScope";
        let params = json!({"Name": name, "RecipientRestrictionFilter": filter});
        let err = match self.invoke(CMDLET, params).await {
            Ok(_) => return Ok(Outcome::Done),
            Err(e) if e.kind == ExoErrorKind::AlreadyExists => e,
            Err(e) => return Err(e),
        };
        match self.get_management_scope(name).await? {
            Some(s) if same_filter(&s.filter, filter) => Ok(Outcome::AlreadySo),
            _ => Err(err),
        }
    }

    /// One management scope by name; `None` if absent.
    pub async fn get_management_scope(&self, name: &str) -> Result<Option<LiveManagementScope>, ExoError> {
        match self.invoke("Get-ManagementScope", json!({"Identity": name})).await {
            Ok(v) => Ok(v.iter().find_map(parse_management_scope)),
            Err(e) if e.kind == ExoErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `Set-ManagementScope -Identity -RecipientRestrictionFilter`.
    pub async fn set_management_scope(&self, identity: &str, filter: &str) -> Result<Outcome, ExoError> {
        self.invoke(
            "Set-ManagementScope",
            json!({"Identity": identity, "RecipientRestrictionFilter": filter}),
        )
        .await
        .map(|_| Outcome::Done)
    }

    /// `Remove-ManagementScope`; not found is [`Outcome::AlreadySo`].
    /// Exchange refuses while an assignment uses the scope.
    pub async fn remove_management_scope(&self, identity: &str) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke("Remove-ManagementScope", json!({"Identity": identity, "Confirm": false})).await,
            &[ExoErrorKind::NotFound],
        )
    }

    /// `New-ManagementRoleAssignment -Name -App -Role "Application <permission>"
    /// -CustomResourceScope`.
    pub async fn new_role_assignment(
        &self,
        name: &str,
        app_id: &str,
        permission: &str,
        scope: &str,
    ) -> Result<Outcome, ExoError> {
        const CMDLET: &str = "New-ManagementRoleAssignment";
        let role = format!("Application {permission}");
        let params =
            json!({"Name": name, "App": app_id, "Role": role.as_str(), "CustomResourceScope": scope});
        let err = match self.invoke(CMDLET, params).await {
            Ok(_) => return Ok(Outcome::Done),
            Err(e) if e.kind == ExoErrorKind::AlreadyExists => e,
            Err(e) => return Err(e),
        };
        let pointers = self.get_service_principals().await?;
        let same = self.get_role_assignments(&pointers).await?.into_iter().any(|a| {
            a.name.eq_ignore_ascii_case(name)
                && a.app_id.eq_ignore_ascii_case(app_id)
                && a.role.eq_ignore_ascii_case(&role)
                && a.scope.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(scope))
        });
        if same { Ok(Outcome::AlreadySo) } else { Err(err) }
    }

    /// `Remove-ManagementRoleAssignment`; not found is [`Outcome::AlreadySo`].
    pub async fn remove_role_assignment(&self, identity: &str) -> Result<Outcome, ExoError> {
        outcome(
            self.invoke("Remove-ManagementRoleAssignment", json!({"Identity": identity, "Confirm": false}))
                .await,
            &[ExoErrorKind::NotFound],
        )
    }

    /// `Test-ServicePrincipalAuthorization -Identity <appId> -Resource
    /// <mailbox>`: one row per role the app holds in RBAC. It consults RBAC
    /// only: Entra grants and access policies are not part of its answer.
    /// An app without a pointer is not found.
    pub async fn test_service_principal_authorization(
        &self,
        app_id: &str,
        mailbox: &str,
    ) -> Result<Vec<RbacCheck>, ExoError> {
        let v = self
            .invoke("Test-ServicePrincipalAuthorization", json!({"Identity": app_id, "Resource": mailbox}))
            .await?;
        Ok(v.iter()
            .filter_map(|o| {
                Some(RbacCheck {
                    role: text(o, "RoleName")?,
                    scope: text(o, "AllowedResourceScope").unwrap_or_else(|| "Organization".to_owned()),
                    in_scope: match o.get("InScope") {
                        Some(Value::Bool(b)) => Some(*b),
                        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
                        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
                        _ => None,
                    },
                })
            })
            .collect())
    }
}

/// An empty tenant's "couldn't be found" answer to a listing is an empty list.
fn empty_if_none(r: Result<Vec<Value>, ExoError>) -> Result<Vec<Value>, ExoError> {
    match r {
        Err(e) if e.kind == ExoErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// Whether two filters select the same recipients as far as mailscope can
/// tell: equal text (ignoring case and outer whitespace), or the same DNs
/// in one of the shapes mailscope writes.
fn same_filter(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
        || ScopeFilter::parse_opath(a)
            .is_some_and(|x| ScopeFilter::parse_opath(b).is_some_and(|y| dn_eq(&x, &y)))
}

fn dn_eq(a: &(Option<String>, Option<String>), b: &(Option<String>, Option<String>)) -> bool {
    let eq = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (None, None) => true,
        _ => false,
    };
    eq(&a.0, &b.0) && eq(&a.1, &b.1)
}

/// Parses a `Get-/New-ServicePrincipal` object.
pub(crate) fn parse_service_principal(o: &Value) -> Option<LiveServicePrincipal> {
    Some(LiveServicePrincipal {
        app_id: text(o, "AppId")?,
        object_id: text(o, "ObjectId").or_else(|| text(o, "ServiceId"))?,
        display_name: text(o, "DisplayName").unwrap_or_default(),
    })
}

/// Parses a `Get-ManagementScope` object.
pub(crate) fn parse_management_scope(o: &Value) -> Option<LiveManagementScope> {
    Some(LiveManagementScope {
        name: text(o, "Name").or_else(|| text(o, "Identity"))?,
        filter: text(o, "RecipientRestrictionFilter")
            .or_else(|| text(o, "RecipientFilter"))
            .unwrap_or_default(),
    })
}

/// Parses a `Get-ManagementRoleAssignment` object; the assignee (an object
/// id, or the pointer's name) is resolved to an app id through `pointers`.
pub(crate) fn parse_role_assignment(
    o: &Value,
    pointers: &[LiveServicePrincipal],
) -> Option<LiveRoleAssignment> {
    let keys: Vec<String> = ["RoleAssignee", "RoleAssigneeName"].iter().filter_map(|k| text(o, k)).collect();
    let pointer = pointers.iter().find(|p| {
        keys.iter().any(|k| {
            p.object_id.eq_ignore_ascii_case(k)
                || p.app_id.eq_ignore_ascii_case(k)
                || (!p.display_name.is_empty() && p.display_name.eq_ignore_ascii_case(k))
        })
    });
    let Some(pointer) = pointer else {
        tracing::debug!(assignment = ?text(o, "Name"), "role assignment to an unknown assignee left out");
        return None;
    };
    Some(LiveRoleAssignment {
        name: text(o, "Name").or_else(|| text(o, "Identity"))?,
        app_id: pointer.app_id.clone(),
        role: text(o, "Role")?,
        scope: text(o, "CustomResourceScope"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer() -> LiveServicePrincipal {
        LiveServicePrincipal {
            app_id: "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f7".into(),
            object_id: "0b1c2d3e-0000-4000-8000-000000000001".into(),
            display_name: "newsletter".into(),
        }
    }

    #[test]
    fn assignments_resolve_their_assignee_through_the_pointers() {
        let o = json!({
            "Name": "a", "Role": "Application Mail.Send",
            "RoleAssignee": "0B1C2D3E-0000-4000-8000-000000000001",
            "CustomResourceScope": "s"
        });
        let a = parse_role_assignment(&o, &[pointer()]).unwrap();
        assert_eq!(a.app_id, pointer().app_id);
        assert_eq!(a.scope.as_deref(), Some("s"));
        // Organization-wide: no scope.
        let o = json!({"Name": "b", "Role": "Application Mail.Read", "RoleAssigneeName": "newsletter",
                       "CustomResourceScope": null});
        assert_eq!(parse_role_assignment(&o, &[pointer()]).unwrap().scope, None);
        // Nobody we know.
        let o = json!({"Name": "c", "Role": "Application Mail.Read", "RoleAssignee": "other"});
        assert_eq!(parse_role_assignment(&o, &[pointer()]), None);
    }

    #[test]
    fn filters_compare_by_meaning_in_mailscopes_shapes() {
        let a = "MemberOfGroup -eq 'CN=a,OU=x'";
        assert!(same_filter(a, "(memberofgroup -eq 'cn=A,OU=x')"));
        assert!(!same_filter(a, "MemberOfGroup -eq 'CN=b,OU=x'"));
        assert!(!same_filter(a, "-not (MemberOfGroup -eq 'CN=a,OU=x')"));
        assert!(same_filter("Department -eq 'x'", " department -eq 'X' "));
    }
}
