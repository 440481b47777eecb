//! Parsing with a budget, then every semantic check, reported together.

use std::collections::HashMap;

use serde_saphyr::{Location, Spanned};

use crate::error::{Problem, SpecError};
use crate::keys::KeyScan;
use crate::model::{
    API_VERSION, AppSpec, DEFAULT_GROUP_PREFIX, DEFAULT_MARKER_ATTRIBUTE, DesiredState, EntraGrants, Entry,
    Exclusion, ListKind, Mechanism, Position, UnlistedApps, UnlistedMode,
};
use crate::raw::{RawApp, RawDesiredState, RawEntraGrants, RawMechanism, RawUnlistedApps, RawUnlistedMode};

/// Longest app name; with the `mailscope-` prefix and `-allow` suffix a
/// derived group name stays within Exchange's 64-character `Name` limit.
const MAX_NAME: usize = 48;

pub(crate) fn parse(text: &str, origin: &str) -> Result<DesiredState, SpecError> {
    let fail = |at: Position, message: String, help: Option<&str>| SpecError {
        origin: origin.to_owned(),
        problems: vec![Problem { at, message, help: help.map(str::to_owned) }],
    };
    if text.len() > crate::MAX_FILE_BYTES {
        return Err(fail(
            Position::default(),
            format!("file is {} bytes, more than the {} accepted", text.len(), crate::MAX_FILE_BYTES),
            Some("split the apps over several files, or check that this is the right file"),
        ));
    }
    // A desired-state file of even a few thousand apps stays far below these
    // numbers; an alias bomb ("billion laughs") hits them within milliseconds
    // instead of expanding into gigabytes.
    let options = || {
        serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_aliases: 2_000,
                max_anchors: 2_000,
                max_nodes: 200_000,
                max_depth: 32,
                max_documents: 1,
                max_total_scalar_bytes: 8 * 1024 * 1024,
            },
            // A tag (`!foo`, `!!python/object`) means the author expects a
            // meaning this format does not have: refuse it rather than
            // silently read the value as plain text.
            reject_unsupported_tags: true,
            reject_tagged_field_names: true,
        }
    };
    // Unknown keys first, so that they are reported beside every other
    // problem instead of hiding them (see `keys`). A shape error here is
    // left to the typed pass below, which words it better.
    let unknown =
        serde_saphyr::from_str_with_options::<KeyScan>(text, options()).map(|k| k.0).unwrap_or_default();
    let mut validator = Validator { problems: Vec::new() };
    for u in unknown {
        validator.report(
            u.at,
            format!("unknown field `{}`; expected one of {}", u.key.escape_debug(), u.expected.join(", ")),
            "remove the field or fix its spelling; policies/schema.json lists the fields",
        );
    }
    match serde_saphyr::from_str_with_options::<RawDesiredState>(text, options()) {
        Ok(raw) => validator.run(raw, origin),
        Err(e) => {
            let at = e.location().map(position).unwrap_or_default();
            let (message, help) = describe_yaml_error(&e);
            validator.problems.push(Problem { at, message, help: help.map(str::to_owned) });
            Err(SpecError { origin: origin.to_owned(), problems: in_order_capped(validator.problems) })
        }
    }
}

fn position(loc: Location) -> Position {
    Position { line: loc.line(), column: loc.column() }
}

fn at<T>(s: &Spanned<T>) -> Position {
    position(s.referenced)
}

/// The parser's message without its rendered snippet and location (we print
/// `file:line:col` ourselves), plus advice for the common cases.
fn describe_yaml_error(e: &serde_saphyr::Error) -> (String, Option<&'static str>) {
    let full = e.without_snippet().to_string();
    let mut message = full.lines().next().unwrap_or_default().trim().to_owned();
    // serde-saphyr words positions as a prefix ("line N column M: ") or a
    // suffix (" at line N, column M") depending on the error kind.
    if let Some(rest) = message.strip_prefix("line ")
        && let Some(idx) = rest.find(": ")
    {
        message = rest[idx + 2..].to_owned();
    }
    // Positions the library appends, in either of its wordings: we print
    // `file:line:column` in front ourselves.
    for marker in [" (defined at line ", " (used at line ", " (used", " at line "] {
        if let Some(idx) = message.find(marker) {
            message.truncate(idx);
        }
    }
    // Words about Rust types mean nothing to the file's author.
    if message.starts_with("cannot deserialize null into") {
        "this key has no value".clone_into(&mut message);
    }
    message = message
        .replace("a span-aware newtype wrapper", "a value")
        .replace("expected string scalar", "expected a single text value, not a list or a mapping")
        .replace("expected sequence start", "expected a list")
        .replace("expected mapping start", "expected a mapping");
    // Advice aimed at the library's callers, not at our users.
    if let Some(idx) = message.find(", set DuplicateKeyPolicy") {
        message.truncate(idx);
    }
    let help = if message.contains("unknown field") {
        Some("remove the field or fix its spelling; policies/schema.json lists the fields")
    } else if message.contains("missing field") {
        Some("add the field; policies/schema.json lists the required fields")
    } else if message.contains("budget") {
        Some(
            "the file expands into too many nodes (aliases of aliases, or nesting too deep); write the lists out instead",
        )
    } else if message.contains("duplicate mapping key") {
        Some("each key may appear once per mapping; remove or merge the repeated one")
    } else if message.contains("has no value") {
        Some("give the key a value, or remove the key")
    } else if message.contains("tag") {
        Some("remove the `!tag`: this format has no tags; write the plain value")
    } else if message.contains("expected a single text value") {
        Some("write one value here, e.g. `name: mailer`")
    } else if message.contains("expected a list") {
        Some("this value must be a list: `[a@contoso.com, b@contoso.com]`, or one `- item` per line")
    } else if message.contains("unexpected end of input") {
        Some("the file is empty or cut short; it needs at least `apiVersion: mailscope/v1` and `apps:`")
    } else if message.contains("expected a mapping") {
        Some("this value must be a mapping of `key: value` lines")
    } else {
        None
    };
    (message, help)
}

struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn report(&mut self, at: Position, message: String, help: &str) {
        self.problems.push(Problem { at, message, help: (!help.is_empty()).then(|| help.to_owned()) });
    }

    fn run(mut self, raw: RawDesiredState, origin: &str) -> Result<DesiredState, SpecError> {
        if raw.api_version.value != API_VERSION {
            self.report(
                at(&raw.api_version),
                format!("unsupported apiVersion {}", quoted(&raw.api_version.value)),
                &format!("this build of mailscope reads `apiVersion: {API_VERSION}`"),
            );
        }
        let tenant = raw.tenant.map(|t| {
            let value = t.value.trim().to_ascii_lowercase();
            if !is_guid(&value) && !is_domain(&value) {
                self.report(
                    at(&t),
                    format!("tenant {} is neither a GUID nor a domain", quoted(&t.value)),
                    "give the tenant id (a GUID) or its initial domain, e.g. contoso.onmicrosoft.com",
                );
            }
            value
        });
        let mechanism = raw.mechanism.map_or(Mechanism::ApplicationAccessPolicy, |m| mechanism_of(m.value));
        let entra_grants = raw.entra_grants.map_or(EntraGrants::Keep, |g| entra_grants_of(g.value));
        let unlisted_apps = raw.unlisted_apps.map(|u| self.unlisted_apps(u)).unwrap_or_default();
        let group_prefix = raw.group_prefix.map_or_else(
            || DEFAULT_GROUP_PREFIX.to_owned(),
            |p| {
                if !is_group_prefix(&p.value) {
                    self.report(
                        at(&p),
                        format!("groupPrefix {} is not a valid prefix", quoted(&p.value)),
                        "1 to 16 letters, digits or `-`, starting with a letter, e.g. `mailscope` or `app-access`",
                    );
                }
                p.value.clone()
            },
        );
        let marker_attribute = raw.marker_attribute.map_or(DEFAULT_MARKER_ATTRIBUTE, |a| {
            marker_attribute_number(&a.value).unwrap_or_else(|| {
                self.report(
                    at(&a),
                    format!("markerAttribute {} is not a custom attribute", quoted(&a.value)),
                    "one of CustomAttribute1 to CustomAttribute15",
                );
                DEFAULT_MARKER_ATTRIBUTE
            })
        });

        let mut names: HashMap<String, Position> = HashMap::new();
        let mut app_ids: HashMap<String, (Position, String)> = HashMap::new();
        let mut groups: HashMap<String, (Position, String)> = HashMap::new();
        let mut apps = Vec::with_capacity(raw.apps.value.len());
        for app in raw.apps.value {
            let spec = self.app(app, mechanism, entra_grants);
            if let Some(first) = names.get(&spec.name) {
                self.report(
                    spec.at,
                    format!("duplicate app name \"{}\" (first at line {})", spec.name, first.line),
                    "app names are unique; rename one of them",
                );
            } else {
                names.insert(spec.name.clone(), spec.at);
            }
            if is_guid(&spec.app_id) {
                if let Some((first, other)) = app_ids.get(&spec.app_id) {
                    self.report(
                        spec.at,
                        format!(
                            "appId {} is already used by app \"{other}\" (line {})",
                            spec.app_id, first.line
                        ),
                        "one entry per application; merge the two entries",
                    );
                } else {
                    app_ids.insert(spec.app_id.clone(), (spec.at, spec.name.clone()));
                }
            }
            for group in spec.group.iter().chain(&spec.deny_group) {
                let key = group.to_lowercase();
                if let Some((first, other)) = groups.get(&key) {
                    self.report(
                        spec.at,
                        format!("group \"{group}\" is already adopted by app \"{other}\" (line {})", first.line),
                        "each app needs a group of its own; membership changes would otherwise widen the other app",
                    );
                } else {
                    groups.insert(key, (spec.at, spec.name.clone()));
                }
            }
            apps.push(spec);
        }

        self.adopted_derived_names(&apps, &group_prefix);

        if self.problems.is_empty() {
            Ok(DesiredState {
                origin: origin.to_owned(),
                tenant,
                mechanism,
                entra_grants,
                unlisted_apps,
                group_prefix,
                marker_attribute,
                apps,
            })
        } else {
            Err(SpecError { origin: origin.to_owned(), problems: in_order_capped(self.problems) })
        }
    }

    /// An adopted group must not be a group mailscope derives for a list of
    /// its own: adopting `mailscope-<app>-deny` as an allow group would fill
    /// one group from two lists, and the two policies would fight over it.
    fn adopted_derived_names(&mut self, apps: &[AppSpec], prefix: &str) {
        let prefix = prefix.to_ascii_lowercase();
        let derived: HashMap<String, (&str, ListKind)> = apps
            .iter()
            .flat_map(|a| {
                [ListKind::Allow, ListKind::Deny]
                    .map(|list| (format!("{prefix}-{}-{list}", a.name), (a.name.as_str(), list)))
            })
            .collect();
        for app in apps {
            for list in [ListKind::Allow, ListKind::Deny] {
                let Some(group) = app.adopted_group(list) else { continue };
                if let Some((owner, owner_list)) = derived.get(&group.to_ascii_lowercase())
                    && (*owner != app.name || *owner_list != list)
                {
                    let key = if list == ListKind::Allow { "group" } else { "denyGroup" };
                    self.report(
                        app.at,
                        format!(
                            "{key} \"{group}\" of app \"{}\" is the group mailscope derives for the {owner_list} list of app \"{owner}\"",
                            app.name
                        ),
                        "adopt a group of its own, or drop the key and let mailscope create the derived group",
                    );
                }
            }
        }
    }

    /// `unlistedApps`, with every exclusion's id and reason checked (the
    /// untagged long form carries one position for the whole key).
    fn unlisted_apps(&mut self, raw: Spanned<RawUnlistedApps>) -> UnlistedApps {
        let pos = at(&raw);
        let (mode, exclude) = match raw.value {
            RawUnlistedApps::Mode(m) => (unlisted_mode_of(m), Vec::new()),
            RawUnlistedApps::Full(f) => (f.mode.map_or(UnlistedMode::Warn, unlisted_mode_of), f.exclude),
        };
        let mut out = UnlistedApps { mode, exclude: Vec::with_capacity(exclude.len()) };
        for e in exclude {
            let app_id = e.app_id.trim().to_ascii_lowercase();
            if !is_guid(&app_id) {
                self.report(
                    pos,
                    format!("unlistedApps: excluded appId \"{}\" is not a GUID", e.app_id),
                    "give the Application (client) ID of the app to leave alone",
                );
            }
            if e.reason.trim().is_empty() {
                self.report(
                    pos,
                    format!("unlistedApps: the exclusion of {app_id} has no reason"),
                    "say why this app may reach mailboxes without being listed",
                );
            }
            out.exclude.push(Exclusion { app_id, reason: e.reason.trim().to_owned() });
        }
        out
    }

    fn app(&mut self, app: RawApp, file_mechanism: Mechanism, file_entra_grants: EntraGrants) -> AppSpec {
        let app_at = at(&app.name);
        let mut name = app.name.value.clone();
        if !is_app_name(&name) {
            self.report(
                app_at,
                format!("app name {} is not valid", quoted(&name)),
                &format!(
                    "use 1 to {MAX_NAME} lowercase letters, digits and '-', starting and ending with a letter or digit"
                ),
            );
            // Later messages name the app too: never with raw controls or
            // bidirectional overrides in them (the file is refused anyway).
            name = name.escape_debug().to_string();
        }
        let app_id = app.app_id.value.trim().to_ascii_lowercase();
        if !is_guid(&app_id) {
            self.report(
                at(&app.app_id),
                format!("appId {} of app \"{name}\" is not a GUID", quoted(&app.app_id.value)),
                "copy the Application (client) ID from the app registration's overview page in Entra ID",
            );
        }
        if app_id == NIL_GUID {
            self.report(
                at(&app.app_id),
                format!("appId of app \"{name}\" is the nil GUID"),
                "copy the Application (client) ID from the app registration's overview page in Entra ID",
            );
        }
        let mut group_name = |g: Spanned<String>, key: &str| {
            let value = g.value.trim().to_owned();
            if let Err(why) = check_group_name(&value) {
                self.report(
                    at(&g),
                    format!("{key} {} of app \"{name}\" is not a valid group name: {why}", quoted(&g.value)),
                    "give the existing mail-enabled security group's Name: at most 64 printable characters \
                     with at least one letter or digit, without \\ \" ' ` < > or control characters",
                );
            }
            value
        };
        let group = app.group.map(|g| group_name(g, "group"));
        let deny_group = app.deny_group.map(|g| group_name(g, "denyGroup"));
        if group.is_some() && app.allow.is_none() {
            self.report(
                app_at,
                format!("app \"{name}\" names a group but has no allow list"),
                "`group` adopts the group that holds the allow list; add `allow:` or remove `group:`",
            );
        }
        if deny_group.is_some() && app.deny.is_none() {
            self.report(
                app_at,
                format!("app \"{name}\" names a denyGroup but has no deny list"),
                "`denyGroup` adopts the group that holds the deny list; add `deny:` or remove `denyGroup:`",
            );
        }
        let allow = app.allow.map(|list| self.list(&name, "allow", list));
        let deny = app.deny.map(|list| self.list(&name, "deny", list));
        if allow.is_none() && deny.is_none() {
            self.report(
                app_at,
                format!("app \"{name}\" has neither `allow` nor `deny`"),
                "add `allow: [...]` (only these mailboxes), `deny: [...]` (all but these), or `allow: []` to lock it out",
            );
        }
        let mechanism = app.mechanism.map_or(file_mechanism, |m| mechanism_of(m.value));
        // Entra grants are what an access policy fences: removing them from
        // a policy app would cut it off entirely, so `remove` only ever
        // applies to RBAC apps.
        let entra_grants = match (&app.entra_grants, mechanism) {
            (Some(g), Mechanism::ApplicationAccessPolicy) => {
                if matches!(g.value, RawEntraGrants::Remove) {
                    self.report(
                        at(g),
                        format!("`entraGrants: remove` of app \"{name}\" only applies to `mechanism: rbac`"),
                        "an access policy fences the app's Entra grants; removing them would cut the app off: \
                         set `mechanism: rbac` on the app, or remove the key",
                    );
                }
                EntraGrants::Keep
            }
            (_, Mechanism::ApplicationAccessPolicy) => EntraGrants::Keep,
            (Some(g), Mechanism::Rbac) => entra_grants_of(g.value),
            (None, Mechanism::Rbac) => file_entra_grants,
        };
        let permissions = self.permissions(&name, app_at, mechanism, app.permissions);
        let description = app.description.map(|d| {
            if let Err(why) = check_description(&d.value) {
                self.report(
                    at(&d),
                    format!("description of app \"{name}\" is not valid: {why}"),
                    &format!("write at most {MAX_DESCRIPTION} characters of plain text on one line"),
                );
            }
            d.value
        });
        AppSpec {
            name,
            app_id,
            description,
            mechanism,
            permissions,
            entra_grants,
            group,
            deny_group,
            allow,
            deny,
            at: app_at,
        }
    }

    /// `permissions` of one app: required and known for `rbac`, refused for
    /// an access-policy app (a policy fences whatever Entra grants; it has
    /// no permissions of its own to assign).
    fn permissions(
        &mut self,
        app: &str,
        app_at: Position,
        mechanism: Mechanism,
        raw: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<Entry<String>> {
        let valid = || {
            let names: Vec<&str> = mailscope_permissions::RBAC_ROLES.iter().map(|r| r.permission).collect();
            format!("valid names: {}", names.join(", "))
        };
        let Some(list) = raw else {
            if mechanism == Mechanism::Rbac {
                self.report(
                    app_at,
                    format!("app \"{app}\" uses `mechanism: rbac` but has no `permissions`"),
                    &format!("list the permissions to assign, e.g. `permissions: [Mail.Send]`; {}", valid()),
                );
            }
            return Vec::new();
        };
        if mechanism != Mechanism::Rbac {
            self.report(
                at(&list),
                format!("`permissions` of app \"{app}\" only apply to `mechanism: rbac`"),
                "an application access policy fences the app's Entra grants and assigns nothing: \
                 remove `permissions`, or set `mechanism: rbac` on the app",
            );
            return Vec::new();
        }
        if list.value.is_empty() {
            self.report(
                at(&list),
                format!("`permissions` of app \"{app}\" is empty"),
                &format!("list at least one permission; {}", valid()),
            );
        }
        let mut out: Vec<Entry<String>> = Vec::new();
        for item in list.value {
            let Some(role) = mailscope_permissions::rbac_role(&item.value) else {
                self.report(
                    at(&item),
                    format!(
                        "{} in `permissions` of app \"{app}\" has no RBAC for Applications role",
                        quoted(&item.value)
                    ),
                    &valid(),
                );
                continue;
            };
            if let Some(first) = out.iter().find(|e| e.address == role.permission) {
                self.report(
                    at(&item),
                    format!(
                        "{} appears twice in `permissions` of app \"{app}\" (first at line {})",
                        role.permission, first.at.line
                    ),
                    "remove one of them",
                );
                continue;
            }
            out.push(Entry { at: at(&item), address: role.permission.to_owned() });
        }
        out
    }

    fn list(
        &mut self,
        app: &str,
        key: &str,
        list: Spanned<Option<Vec<Spanned<String>>>>,
    ) -> Vec<Entry<String>> {
        let list_at = at(&list);
        let Some(items) = list.value else {
            let help = if key == "allow" {
                "an empty allow list means \"no mailbox at all\"; write `allow: []` if that is what you want, or list the mailboxes"
            } else {
                "list the mailboxes to deny, or remove the `deny:` key"
            };
            self.report(list_at, format!("`{key}` of app \"{app}\" has no value"), help);
            return Vec::new();
        };
        let mut seen: HashMap<String, Position> = HashMap::new();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let item_at = at(&item);
            let address = item.value.trim().to_lowercase();
            if !is_smtp_address(&address) {
                self.report(
                    item_at,
                    format!("{} in `{key}` of app \"{app}\" is not an email address", quoted(&item.value)),
                    "write the mailbox's primary SMTP address, e.g. billing@contoso.com",
                );
                continue;
            }
            if let Some(first) = seen.get(&address) {
                self.report(
                    item_at,
                    format!(
                        "{address} appears twice in `{key}` of app \"{app}\" (first at line {}; addresses are compared case-insensitively)",
                        first.line
                    ),
                    "remove one of them",
                );
                continue;
            }
            seen.insert(address.clone(), item_at);
            out.push(Entry { at: item_at, address });
        }
        out
    }
}

/// `00000000-0000-0000-0000-000000000000`: syntactically a GUID, never an app.
const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// Longest app description; it is written beside the ownership marker into
/// Exchange attributes whose room is limited.
const MAX_DESCRIPTION: usize = 200;

/// A value for a message: quoted and with control and invisible characters
/// shown as escapes, so the message itself cannot be forged by the value.
/// Most problems reported for one file: a generated file with thousands of
/// the same mistake would otherwise print one line (and a help) for each.
pub(crate) const MAX_PROBLEMS: usize = 20;

/// The problems in file order, at most [`MAX_PROBLEMS`] of them and then
/// one that says how many more there are.
fn in_order_capped(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| p.at);
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        let at = problems[MAX_PROBLEMS].at;
        problems.truncate(MAX_PROBLEMS);
        problems.push(Problem {
            at,
            message: format!("{more} more problems from here on are not shown"),
            help: Some("fix the ones above and validate again".to_owned()),
        });
    }
    problems
}

fn quoted(value: &str) -> String {
    format!("{value:?}")
}

/// Characters that change what a reader sees without being visible: C0/C1
/// controls (ESC starts terminal sequences), zero-width characters,
/// bidirectional overrides and isolates, the byte-order mark.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Exchange's rules for a group `Name` (at most 64 characters) plus ours:
/// nothing that could forge a rendered plan (backticks and angle brackets
/// close markdown code and open HTML comments; controls drive terminals),
/// and at least one ASCII letter or digit, or the alias derived from the
/// name would be empty and the create would fail half-way through an apply.
fn check_group_name(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        Err("it is empty")
    } else if value.chars().count() > 64 {
        Err("it is longer than 64 characters")
    } else if value.chars().any(is_invisible) {
        Err("it contains a control or invisible character")
    } else if value.contains(['\\', '"', '\'', '`', '<', '>']) {
        Err("it contains one of \\ \" ' ` < >")
    } else if !value.bytes().any(|b| b.is_ascii_alphanumeric()) {
        Err("it has no letter or digit to derive an alias from")
    } else {
        Ok(())
    }
}

/// `groupPrefix`: 1 to 16 ASCII letters, digits or `-`, starting with a
/// letter, so that a derived name stays a valid group name and alias.
fn is_group_prefix(value: &str) -> bool {
    (1..=16).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `CustomAttribute1`..`CustomAttribute15` (any case) to 1..=15.
fn marker_attribute_number(value: &str) -> Option<u8> {
    let head = value.get(..15).filter(|h| h.eq_ignore_ascii_case("CustomAttribute"))?;
    let digits = &value[head.len()..];
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u8>().ok().filter(|n| (1..=15).contains(n))
}

fn check_description(value: &str) -> Result<(), &'static str> {
    if value.chars().count() > MAX_DESCRIPTION {
        Err("it is too long")
    } else if value.chars().any(is_invisible) {
        Err("it contains a line break, a control or an invisible character")
    } else {
        Ok(())
    }
}

fn mechanism_of(raw: RawMechanism) -> Mechanism {
    match raw {
        RawMechanism::ApplicationAccessPolicy => Mechanism::ApplicationAccessPolicy,
        RawMechanism::Rbac => Mechanism::Rbac,
    }
}

fn unlisted_mode_of(raw: RawUnlistedMode) -> UnlistedMode {
    match raw {
        RawUnlistedMode::Ignore => UnlistedMode::Ignore,
        RawUnlistedMode::Warn => UnlistedMode::Warn,
        RawUnlistedMode::LockDown => UnlistedMode::LockDown,
    }
}

fn entra_grants_of(raw: RawEntraGrants) -> EntraGrants {
    match raw {
        RawEntraGrants::Keep => EntraGrants::Keep,
        RawEntraGrants::Remove => EntraGrants::Remove,
    }
}

/// Whether `name` is a valid app name: lowercase letters, digits and `-`,
/// not at either end, at most 48 characters.
pub fn is_app_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `s` is a GUID in its usual 8-4-4-4-12 hexadecimal form.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

/// Whether `s` looks like an SMTP address Exchange would accept as a
/// primary address: `local@domain` with a dotted domain, no spaces, no
/// quotes, at most 320 characters.
pub fn is_smtp_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 320
        && !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&*+-/=?^_`{|}~.".contains(&c))
        && is_domain(domain)
}
