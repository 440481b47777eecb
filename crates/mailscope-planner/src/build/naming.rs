//! Names and markers: what mailscope calls the objects it creates, and how it
//! recognises its own objects later.
//!
//! These rules are shared by planning (which object an app owns, which name a
//! new group gets) and by whatever decides what to read from a tenant, so
//! they live apart from the passes that use them.

use mailscope_spec::ListKind;

use crate::live::{AccessRight, MARKER_PREFIX};
use crate::world::{Scope, World, key};

/// The marker mailscope writes on the group and policy of one list of one app.
pub fn marker(app_id: &str, list: ListKind) -> String {
    format!("{MARKER_PREFIX} app={} list={list}", key(app_id))
}

/// Reads a marker back; `None` for anything mailscope did not write.
pub fn parse_marker(text: &str) -> Option<(String, ListKind)> {
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

/// The name mailscope gives the group of one list of one app.
pub fn derived_group_name(app_name: &str, list: ListKind) -> String {
    format!("mailscope-{app_name}-{list}")
}

/// The name of the empty allow group that locks down an app which left the
/// file and has no usable managed allow group (before [`unused_name`]).
pub(crate) fn lockdown_group_name(app_id: &str) -> String {
    format!("mailscope-lockdown-{app_id}")
}

/// The crash-adoption rule: a group that exists under a derived name without
/// mailscope's marker is adopted implicitly only when it is empty and no
/// policy scopes it, because that is exactly what a crash between creating
/// a group and marking it leaves. Any other such group belongs to someone
/// else and must be adopted explicitly (`group:`) or deleted.
/// `group_key` is the group's [`key`]; a missing group is not half-created.
pub(crate) fn is_half_created(live: &World, group_key: &str) -> bool {
    live.groups.get(group_key).is_some_and(|g| {
        g.marker.as_deref().and_then(parse_marker).is_none()
            && g.members.is_empty()
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
/// derived group names (`mailscope-<name>-<list>`); `None` when none of its
/// groups has one (then callers fall back to the client id).
pub(crate) fn name_from_group(group_name: &str, list: ListKind) -> Option<&str> {
    group_name
        .strip_prefix("mailscope-")
        .and_then(|n| n.strip_suffix(&format!("-{list}")))
        .filter(|n| !n.starts_with("lockdown-"))
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
