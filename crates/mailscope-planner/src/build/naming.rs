//! Names and markers: what mailscope calls the objects it creates, and how it
//! recognises its own objects later.
//!
//! These rules are shared by planning (which object an app owns, which name a
//! new group gets) and by whatever decides what to read from a tenant, so
//! they live apart from the passes that use them.

use mailscope_spec::ListKind;

use crate::live::{AccessRight, MARKER_PREFIX};
use std::collections::BTreeSet;

use crate::world::{PolicyKey, PolicyState, Scope, World, key};

/// The marker mailscope writes on the group and policy of one list of one app.
pub fn marker(app_id: &str, list: ListKind) -> String {
    format!("{MARKER_PREFIX} app={} list={list}", key(app_id))
}

/// Separates the marker from the app's human description in a policy's
/// `Description`: `mailscope/v1 app=… list=allow | Sends invoices`. The
/// marker never contains it, so the first occurrence ends the marker.
pub(crate) const DESCRIPTION_SEPARATOR: &str = " | ";

/// The `Description` mailscope gives the policy of one list of one app: the
/// marker, then the human text (the file's `description`, or the one a
/// hand-made policy had when it was adopted), so reviewers in the Exchange
/// admin center still read what the policy is for.
pub(crate) fn policy_description(app_id: &str, list: ListKind, human: Option<&str>) -> String {
    let mark = marker(app_id, list);
    match human.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => format!("{mark}{DESCRIPTION_SEPARATOR}{h}"),
        None => mark,
    }
}

/// The human part of a live policy's `Description`: after the marker for a
/// description mailscope wrote, the whole text for any other (a hand-made
/// policy's own words, kept when it is adopted); `None` when there is none.
pub(crate) fn human_description(description: &str) -> Option<&str> {
    let text = if parse_marker(description).is_some() {
        description.split_once(DESCRIPTION_SEPARATOR).map_or("", |(_, human)| human)
    } else {
        description
    };
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// Reads a marker back; `None` for anything mailscope did not write. Text
/// after the separator (` | `) is the human description, not the marker.
pub fn parse_marker(text: &str) -> Option<(String, ListKind)> {
    let text = text.split_once(DESCRIPTION_SEPARATOR).map_or(text, |(mark, _)| mark);
    let rest = text.trim().strip_prefix(MARKER_PREFIX)?.trim();
    let mut app = None;
    let mut list = None;
    for part in rest.split_whitespace() {
        match part.split_once('=')? {
            ("app", v) if mailscope_spec::is_guid(v) => app = Some(key(v)),
            ("list", "allow") => list = Some(ListKind::Allow),
            ("list", "deny") => list = Some(ListKind::Deny),
            _ => return None,
        }
    }
    Some((app?, list?))
}

/// Whether mailscope owns a policy: its description is a marker that names
/// the policy's own app **and** the list of the policy's right (`allow` on a
/// Restrict policy, `deny` on a Deny policy). A marker copied onto another
/// app's policy, or onto a policy of the other right, is not ownership, and
/// a policy for every app (`AppId` `*`) is never mailscope's, whatever it
/// says.
pub(crate) fn owns_policy(k: &PolicyKey, p: &PolicyState) -> bool {
    k.app_id != "*"
        && parse_marker(&p.description)
            .is_some_and(|(app, list)| app == k.app_id && right_of(list) == k.right)
}

/// Whether a policy carries a marker naming its own app, whatever list the
/// marker says. Not ownership ([`owns_policy`]): used only for a policy on a
/// managed group of that app that goes away. Such a policy with the other
/// list's marker (a Deny policy marked `list=allow`) is what a hand edit or
/// an older bug leaves; it goes with its group, after the app's replacement
/// group and policy exist, instead of keeping the group alive forever.
pub(crate) fn marked_for_own_app(k: &PolicyKey, p: &PolicyState) -> bool {
    k.app_id != "*" && parse_marker(&p.description).is_some_and(|(app, _)| app == k.app_id)
}

/// The name mailscope gives the group of one list of one app under the
/// default prefix (`mailscope-<app>-<list>`); [`prefixed_group_name`] for a
/// file's own `groupPrefix`.
pub fn derived_group_name(app_name: &str, list: ListKind) -> String {
    prefixed_group_name(mailscope_spec::DEFAULT_GROUP_PREFIX, app_name, list)
}

/// The name mailscope gives the group of one list of one app:
/// `<prefix>-<app>-<list>`, the prefix being the file's `groupPrefix`.
pub fn prefixed_group_name(prefix: &str, app_name: &str, list: ListKind) -> String {
    format!("{prefix}-{app_name}-{list}")
}

/// The name of the empty allow group that locks down an app which left the
/// file and has no usable managed allow group (before [`unused_name`]).
pub(crate) fn lockdown_group_name(prefix: &str, app_id: &str) -> String {
    format!("{prefix}-lockdown-{app_id}")
}

/// The crash-adoption rule: a group that exists under a derived name without
/// mailscope's marker is adopted implicitly only when it holds nothing but
/// members the file wants in it and no policy scopes it, because that is
/// exactly what a crash between creating a group and marking it leaves. Any other such group belongs to someone
/// else and must be adopted explicitly (`group:`) or deleted.
/// `group_key` is the group's [`key`]; a missing group is not half-created.
///
/// mailscope creates a group with its first members in the same call
/// (`New-DistributionGroup -Members`), so a half-created group may hold
/// members: only ones from `wanted` (the list the file asks for it), which
/// no policy can use while the group has none.
pub(crate) fn is_half_created(live: &World, group_key: &str, wanted: &BTreeSet<String>) -> bool {
    live.groups.get(group_key).is_some_and(|g| {
        g.marker.as_deref().and_then(parse_marker).is_none()
            && g.members.is_subset(wanted)
            && live.policies_on(group_key).next().is_none()
    })
}

/// The policy right of a list.
pub(crate) fn right_of(list: ListKind) -> AccessRight {
    match list {
        ListKind::Allow => AccessRight::RestrictAccess,
        ListKind::Deny => AccessRight::DenyAccess,
    }
}

/// `base-2`, `base-3`, …: the first name no live group has.
pub(crate) fn unused_name(live: &World, base: &str) -> String {
    // There are finitely many groups, so one of the first `len + 1` is free.
    (2..=live.groups.len() + 2)
        .map(|n| format!("{base}-{n}"))
        .find(|n| !live.groups.contains_key(&key(n)))
        .unwrap_or_else(|| format!("{base}-{}", live.groups.len() + 3))
}

/// Whether the group scopes a policy of the app with the right *other* than
/// the list's. A policy's identity holds the app and the scope but not the
/// right, so such a group cannot take the list's policy as well.
pub(crate) fn carries_other_right(live: &World, app_id: &str, gk: &str, list: ListKind) -> bool {
    let right = right_of(list);
    live.app_policies(app_id).any(|(k, _)| k.scope == Scope::Group(gk.to_owned()) && k.right != right)
}

/// The file name of an app that left the file, read back from one of its
/// derived group names (`<prefix>-<name>-<list>`, any case of the prefix);
/// `None` when none of its groups has one (then callers fall back to the
/// client id).
pub(crate) fn name_from_group<'a>(prefix: &str, group_name: &'a str, list: ListKind) -> Option<&'a str> {
    let head = group_name.get(..prefix.len()).filter(|h| h.eq_ignore_ascii_case(prefix))?;
    group_name[head.len()..]
        .strip_prefix('-')
        .and_then(|n| n.strip_suffix(&format!("-{list}")))
        .filter(|n| !n.starts_with("lockdown-"))
}

/// Exchange's limit on the `Name` of a management scope or role assignment
/// (an Active Directory common name).
pub(crate) const RBAC_NAME_MAX: usize = 64;

/// The name of the management scope of an app: `mailscope-<client id>-scope`.
///
/// Scopes and role assignments have no description or custom attribute, so
/// their name is the ownership marker: the prefix says mailscope wrote it,
/// the client id says for which app. 52 characters, within the limit.
pub(crate) fn scope_name(app_id: &str) -> String {
    format!("mailscope-{}-scope", key(app_id))
}

/// The name of the role assignment of one permission of an app:
/// `mailscope-<client id>-<permission>`, the permission's spaces written as
/// `_`. A permission too long for the 64-character limit keeps its first 8
/// characters and gets 8 hex digits of its SHA-256, so that two long
/// permissions never share a name.
pub(crate) fn assignment_name(app_id: &str, permission: &str) -> String {
    use sha2::Digest;
    let canonical = mailscope_permissions::rbac_role(permission).map_or(permission, |r| r.permission);
    let suffix = canonical.replace(' ', "_");
    let full = format!("mailscope-{}-{suffix}", key(app_id));
    if full.len() <= RBAC_NAME_MAX {
        return full;
    }
    let digest = sha2::Sha256::digest(canonical.to_lowercase().as_bytes());
    let hex = digest.iter().take(4).fold(String::new(), |mut out, b| {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
        out
    });
    let head: String = suffix.chars().take(8).collect();
    format!("mailscope-{}-{head}-{hex}", key(app_id))
}

/// Reads the owner back from a scope or assignment name mailscope wrote:
/// the client id, and what follows it (`scope` or the permission).
pub(crate) fn parse_rbac_name(name: &str) -> Option<(String, &str)> {
    let rest = name.trim().strip_prefix("mailscope-")?;
    let (id, suffix) = (rest.get(..36)?, rest.get(36..)?.strip_prefix('-')?);
    (mailscope_spec::is_guid(id) && !suffix.is_empty()).then(|| (key(id), suffix))
}

/// The `DisplayName` mailscope gives the Exchange service-principal pointer
/// it creates: the marker of the app.
pub(crate) fn pointer_name(app_id: &str) -> String {
    format!("{MARKER_PREFIX} app={}", key(app_id))
}

/// Reads the owner back from a pointer's `DisplayName`.
pub(crate) fn parse_pointer_name(text: &str) -> Option<String> {
    let id = text.trim().strip_prefix(MARKER_PREFIX)?.trim().strip_prefix("app=")?;
    mailscope_spec::is_guid(id).then(|| key(id))
}

/// A mail nickname for a new group: Exchange aliases allow letters, digits
/// and a few punctuation marks, no spaces.
pub(crate) fn alias_for(name: &str) -> String {
    let alias: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' })
        .collect();
    alias.trim_matches(['-', '.']).chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{LiveGroup, LivePolicy, LiveSnapshot};

    const APP: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";

    fn group(name: &str, id: &str, marker: Option<String>, members: &[&str]) -> LiveGroup {
        LiveGroup {
            kind: None,
            id: id.to_owned(),
            name: name.to_owned(),
            primary_smtp_address: format!("{name}@contoso.com"),
            marker,
            distinguished_name: None,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn a_policy_is_owned_only_through_a_marker_naming_its_own_app_and_list() {
        let other = "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d";
        let k =
            |app: &str, right| PolicyKey { app_id: app.to_owned(), scope: Scope::Group("g".into()), right };
        let p = |description: String| PolicyState { identity: "id".into(), description };
        let allow = AccessRight::RestrictAccess;
        assert!(owns_policy(&k(APP, allow), &p(marker(APP, ListKind::Allow))));
        // Another app's marker, or free text: not ours.
        assert!(!owns_policy(&k(APP, allow), &p(marker(other, ListKind::Allow))));
        assert!(!owns_policy(&k(APP, allow), &p(marker(APP, ListKind::Deny))), "a marker of the other list");
        assert!(owns_policy(&k(APP, AccessRight::DenyAccess), &p(marker(APP, ListKind::Deny))));
        // The human description after the marker does not change ownership.
        assert!(owns_policy(&k(APP, allow), &p(policy_description(APP, ListKind::Allow, Some("Invoices")))));
        assert!(!owns_policy(&k(APP, allow), &p("mailscope/v1 by hand".into())));
        // A policy for every app is never managed, even with a marker.
        assert!(!owns_policy(&k("*", allow), &p("mailscope/v1 app=* list=allow".into())));
        assert!(!owns_policy(&k("*", allow), &p(marker(APP, ListKind::Allow))));
    }

    #[test]
    fn a_policy_description_carries_the_marker_then_the_human_text() {
        let d = policy_description(APP, ListKind::Allow, Some("  Sends invoices | monthly "));
        assert_eq!(d, format!("mailscope/v1 app={APP} list=allow | Sends invoices | monthly"));
        assert_eq!(parse_marker(&d), Some((APP.to_owned(), ListKind::Allow)));
        assert_eq!(human_description(&d), Some("Sends invoices | monthly"));
        assert_eq!(policy_description(APP, ListKind::Deny, Some(" ")), marker(APP, ListKind::Deny));
        assert_eq!(human_description(&marker(APP, ListKind::Deny)), None);
        // A hand-made policy's description is all human text.
        assert_eq!(human_description("CRM sync, ticket 4711"), Some("CRM sync, ticket 4711"));
        assert_eq!(human_description(""), None);
        // Only the marker's own form counts: not a marker with junk before the separator.
        assert_eq!(parse_marker(&format!("{} x=1 | text", marker(APP, ListKind::Allow))), None);
    }

    #[test]
    fn markers_round_trip_and_foreign_text_is_not_a_marker() {
        let text = marker(&APP.to_uppercase(), ListKind::Deny);
        assert_eq!(text, format!("mailscope/v1 app={APP} list=deny"));
        assert_eq!(parse_marker(&text), Some((APP.to_owned(), ListKind::Deny)));
        assert_eq!(parse_marker(&format!("{text} extra=1")), None);
        assert_eq!(parse_marker("mailscope/v1 app=not-a-guid list=allow"), None);
        assert_eq!(parse_marker("set up by hand"), None);
    }

    #[test]
    fn rbac_names_carry_the_owner_and_fit_exchanges_limit() {
        let scope = scope_name(&APP.to_uppercase());
        assert_eq!(parse_rbac_name(&scope), Some((APP.to_owned(), "scope")));
        assert_eq!(assignment_name(APP, "mail.send"), format!("mailscope-{APP}-Mail.Send"));
        assert_eq!(assignment_name(APP, "MailboxItem.Read"), format!("mailscope-{APP}-MailboxItem.Read"));
        // 67 characters in full: shortened, with a hash against collisions.
        let long = assignment_name(APP, "Exchange Full Access");
        assert!(
            long.starts_with(&format!("mailscope-{APP}-Exchange-")) && long.len() == RBAC_NAME_MAX,
            "{long}"
        );
        let mut names = std::collections::BTreeSet::new();
        for role in mailscope_permissions::RBAC_ROLES {
            let name = assignment_name(APP, role.permission);
            assert!(name.len() <= RBAC_NAME_MAX, "{name}");
            assert_eq!(parse_rbac_name(&name).map(|(a, _)| a), Some(APP.to_owned()));
            assert!(names.insert(name), "two permissions share a name");
        }
        assert_eq!(parse_rbac_name("mailscope-not-a-guid-scope"), None);
        assert_eq!(
            parse_rbac_name("mailscope-zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz-scope"),
            None,
            "36 characters, no GUID"
        );
        assert_eq!(parse_rbac_name(&format!("mailscope-{APP}-")), None, "nothing after the id");
        assert_eq!(parse_rbac_name("Exchange Mail.Send"), None);
        assert_eq!(parse_pointer_name(&pointer_name(APP)), Some(APP.to_owned()));
        assert_eq!(parse_pointer_name("CRM app"), None);
    }

    #[test]
    fn derived_names_read_back_except_lockdown_groups() {
        let name = derived_group_name("billing", ListKind::Allow);
        assert_eq!(name, "mailscope-billing-allow");
        assert_eq!(name_from_group("mailscope", &name, ListKind::Allow), Some("billing"));
        assert_eq!(name_from_group("mailscope", &name, ListKind::Deny), None);
        let lockdown = format!("{}-allow", lockdown_group_name("mailscope", APP));
        assert_eq!(name_from_group("mailscope", &lockdown, ListKind::Allow), None);
        // A file's own prefix, read back whatever case Exchange returns.
        let custom = prefixed_group_name("App-Access", "billing", ListKind::Deny);
        assert_eq!(custom, "App-Access-billing-deny");
        assert_eq!(name_from_group("app-access", &custom, ListKind::Deny), Some("billing"));
        assert_eq!(name_from_group("mailscope", &custom, ListKind::Deny), None);
        assert_eq!(alias_for("Crm Readers (EU)"), "Crm-Readers--EU");
    }

    #[test]
    fn only_an_unmarked_unscoped_group_with_wanted_members_counts_as_half_created() {
        let mut live = LiveSnapshot {
            groups: vec![
                group("mailscope-a-allow", "g1", None, &[]),
                group("mailscope-b-allow", "g2", None, &["x@contoso.com"]),
                group("mailscope-c-allow", "g3", None, &[]),
                group("mailscope-d-allow", "g4", Some(marker(APP, ListKind::Allow)), &[]),
            ],
            ..LiveSnapshot::default()
        };
        live.policies.push(LivePolicy {
            identity: "p".to_owned(),
            app_id: APP.to_owned(),
            scope_id: "g3".to_owned(),
            scope_name: "mailscope-c-allow".to_owned(),
            access_right: AccessRight::RestrictAccess,
            description: String::new(),
        });
        let world = World::from_live(&live);
        let none = BTreeSet::new();
        assert!(is_half_created(&world, &key("mailscope-A-allow"), &none));
        assert!(!is_half_created(&world, "mailscope-b-allow", &none), "has members the file does not want");
        let wanted = BTreeSet::from(["x@contoso.com".to_owned(), "y@contoso.com".to_owned()]);
        assert!(
            is_half_created(&world, "mailscope-b-allow", &wanted),
            "created with the file's members, then the marker call was lost"
        );
        assert!(!is_half_created(&world, "mailscope-c-allow", &none), "a policy scopes it");
        assert!(!is_half_created(&world, "mailscope-d-allow", &none), "already marked");
        assert!(!is_half_created(&world, "mailscope-e-allow", &none), "does not exist");
        assert_eq!(unused_name(&world, "mailscope-a-allow"), "mailscope-a-allow-2");
    }
}

#[cfg(test)]
mod unused_name_tests {
    use super::*;
    use crate::live::{LiveGroup, LiveSnapshot};

    /// "The first name no live group has", whatever the live groups are
    /// called: with one group, `-2` taken, it is `-3`.
    #[test]
    fn the_first_free_suffix_is_taken_even_with_few_groups() {
        let live = LiveSnapshot {
            groups: vec![LiveGroup {
                kind: None,
                id: "g".to_owned(),
                name: "X-2".to_owned(),
                primary_smtp_address: "x-2@contoso.com".to_owned(),
                marker: None,
                distinguished_name: None,
                members: Vec::new(),
            }],
            ..LiveSnapshot::default()
        };
        assert_eq!(unused_name(&World::from_live(&live), "x"), "x-3");
    }
}
