//! The names a command is given for its tenant, and whether they agree.
//!
//! `--tenant`, the desired file's `tenant:` and `AZURE_TENANT_ID` may each be
//! the tenant GUID, its initial `*.onmicrosoft.com` domain or any verified
//! domain. Text cannot tell whether `contoso.com` and `8f3c…` are the same
//! tenant, so the names are compared with what the tenant says about itself
//! ([`TenantIdentity`]: the token's `tid` and the accepted domains), and only
//! a name that is neither is refused, with where each value came from.

use std::fmt;

use mailscope_exo::TenantIdentity;

/// Where a tenant name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--tenant`.
    Flag,
    /// `tenant:` in the desired file (its name).
    File(String),
    /// The `AZURE_TENANT_ID` variable.
    Env,
    /// The emulator of `--tenant sim:PATH` (the value is its tenant id).
    Sim(String),
}

/// One tenant name and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantName {
    pub(crate) origin: Origin,
    pub(crate) value: String,
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Flag => write!(f, "--tenant {}", self.value),
            Origin::File(file) => write!(f, "`tenant: {}` in {file}", self.value),
            Origin::Env => write!(f, "AZURE_TENANT_ID={}", self.value),
            Origin::Sim(path) => write!(f, "--tenant sim:{path}"),
        }
    }
}

/// Whether a name is a tenant GUID (rather than a domain).
pub(crate) fn is_guid(name: &str) -> bool {
    let parts: Vec<&str> = name.trim().split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The names given, in the order that picks the one to log in with:
/// `--tenant`, then the file's `tenant:`, then `AZURE_TENANT_ID`. Empty
/// values count as not given.
pub(crate) fn given(flag: Option<&str>, file: Option<(&str, &str)>, env: Option<&str>) -> Vec<TenantName> {
    let mut out = Vec::new();
    let mut push = |origin, value: &str| {
        if !value.trim().is_empty() {
            out.push(TenantName { origin, value: value.trim().to_owned() });
        }
    };
    if let Some(v) = flag {
        push(Origin::Flag, v);
    }
    if let Some((file, v)) = file {
        push(Origin::File(file.to_owned()), v);
    }
    if let Some(v) = env {
        push(Origin::Env, v);
    }
    out
}

/// Two names that certainly name different tenants without asking one:
/// two different GUIDs. Saves a login that would be refused anyway.
pub(crate) fn guid_conflict(names: &[TenantName]) -> Option<(&TenantName, &TenantName)> {
    let guids: Vec<&TenantName> = names.iter().filter(|n| is_guid(&n.value)).collect();
    let first = *guids.first()?;
    guids.iter().find(|n| !n.value.eq_ignore_ascii_case(&first.value)).map(|n| (first, *n))
}

/// Whether comparing the names needs the tenant's accepted domains: some
/// name is a domain that differs, as text, from the name used to log in.
pub(crate) fn needs_domains(names: &[TenantName]) -> bool {
    let Some(login) = names.first() else { return false };
    names.iter().skip(1).any(|n| !is_guid(&n.value) && !n.value.eq_ignore_ascii_case(&login.value))
}

/// Checks every name against the tenant reached with the first one.
///
/// # Errors
///
/// A message naming the first name that is not this tenant, where it and
/// the login name came from, and what the tenant's names are.
pub(crate) fn check(names: &[TenantName], identity: &TenantIdentity) -> Result<(), String> {
    let Some(login) = names.first() else { return Ok(()) };
    let is_this =
        |n: &TenantName| n.value.eq_ignore_ascii_case(&login.value) || identity.is_named_by(&n.value);
    match names.iter().find(|n| !is_this(n)) {
        None => Ok(()),
        Some(other) => Err(mismatch(login, other, identity)),
    }
}

/// The refusal when `other` does not name the tenant `login` reached.
pub(crate) fn mismatch(login: &TenantName, other: &TenantName, identity: &TenantIdentity) -> String {
    let domains = if identity.domains.is_empty() {
        String::new()
    } else {
        format!(", domains {}", identity.domains.join(", "))
    };
    format!(
        "{other} does not name the tenant of {login} (tenant id {}{domains}); \
         make them name the same tenant, or drop one of them",
        identity.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";

    fn contoso() -> TenantIdentity {
        TenantIdentity {
            id: ID.into(),
            initial_domain: Some("contoso.onmicrosoft.com".into()),
            domains: vec!["contoso.onmicrosoft.com".into(), "contoso.com".into()],
        }
    }

    #[test]
    fn names_are_taken_flag_first_and_blank_ones_are_not_given() {
        let names = given(Some("contoso.com"), Some(("p.yaml", " ")), Some(ID));
        assert_eq!(
            names.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["--tenant contoso.com", &format!("AZURE_TENANT_ID={ID}")]
        );
        assert_eq!(
            given(None, Some(("p.yaml", "contoso.com")), None)[0].origin,
            Origin::File("p.yaml".into())
        );
    }

    #[test]
    fn the_guid_the_initial_and_a_verified_domain_agree_in_any_order_and_case() {
        let forms = [ID, "contoso.onmicrosoft.com", "CONTOSO.com"];
        for a in forms {
            for b in forms {
                for c in forms {
                    let names = given(Some(a), Some(("p.yaml", b)), Some(c));
                    assert_eq!(check(&names, &contoso()), Ok(()), "{a} {b} {c}");
                    assert!(guid_conflict(&names).is_none());
                }
            }
        }
    }

    #[test]
    fn another_tenant_is_refused_naming_both_sources() {
        let names = given(None, Some(("policies/contoso.yaml", "contoso.com")), Some("fabrikam.com"));
        assert!(needs_domains(&names));
        assert_eq!(
            check(&names, &contoso()).unwrap_err(),
            format!(
                "AZURE_TENANT_ID=fabrikam.com does not name the tenant of `tenant: contoso.com` in \
                 policies/contoso.yaml (tenant id {ID}, domains contoso.onmicrosoft.com, contoso.com); \
                 make them name the same tenant, or drop one of them"
            )
        );
    }

    #[test]
    fn two_different_guids_conflict_before_any_login() {
        let other = "00000000-0000-4000-8000-000000000001";
        let names = given(Some(ID), None, Some(other));
        let (a, b) = guid_conflict(&names).unwrap();
        assert_eq!((a.origin.clone(), b.origin.clone()), (Origin::Flag, Origin::Env));
        assert!(check(&names, &contoso()).is_err());
    }

    #[test]
    fn a_guid_is_told_from_a_domain() {
        assert!(is_guid(ID) && is_guid(&ID.to_ascii_uppercase()));
        assert!(!is_guid("contoso.onmicrosoft.com") && !is_guid("8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2"));
    }

    #[test]
    fn equal_names_and_guids_need_no_domain_list() {
        assert!(!needs_domains(&given(Some("contoso.com"), Some(("p", "Contoso.com")), Some(ID))));
        assert!(!needs_domains(&given(Some(ID), None, None)));
    }
}
