//! Writing a desired-state file: the serialisable counterpart of
//! [`DesiredState`], for tools that produce files (`mailscope export`).
//!
//! The YAML itself comes from serde-saphyr, so quoting and escaping of
//! untrusted values (group names and addresses read from a tenant) are the
//! serializer's, never hand-made. Only the comments are put around it:
//! serde-saphyr's comment support is a separate feature that also changes
//! its parser, which reads every desired file, so comments are written here,
//! on their own lines, with line breaks and other control characters in
//! their text neutralised so that no text can end a comment early.

use serde::Serialize;

use crate::model::{API_VERSION, AppSpec, DesiredState, EntraGrants, Entry, Mechanism};

/// A desired-state file to write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredFile {
    /// Comment lines at the top of the file (without the `#`).
    pub header: Vec<String>,
    /// The tenant the file is for (`tenant:`), if any.
    pub tenant: Option<String>,
    /// The apps, in the order to write them.
    pub apps: Vec<AppEntry>,
}

/// One app of a [`DesiredFile`]: the keys of the file format, in the order
/// a reviewer reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppEntry {
    /// Comment lines written above the app (without the `#`): what the
    /// file cannot express or what planning it will do.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// `name`.
    pub name: String,
    /// `appId`.
    pub app_id: String,
    /// `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `mechanism`; written only when set (the file's default,
    /// `applicationAccessPolicy`, needs no key).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "mechanism_word")]
    pub mechanism: Option<Mechanism>,
    /// `permissions` of an `rbac` app, e.g. `Mail.Send`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// `entraGrants`; written only when set.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "entra_grants_word")]
    pub entra_grants: Option<EntraGrants>,
    /// `group`: an adopted allow group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `allow`; `Some(empty)` is written as `allow: []`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// `denyGroup`: an adopted deny group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_group: Option<String>,
    /// `deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny: Option<Vec<String>>,
}

impl From<&AppSpec> for AppEntry {
    fn from(app: &AppSpec) -> Self {
        let addresses = |list: &Option<Vec<Entry<String>>>| {
            list.as_ref().map(|l| l.iter().map(|e| e.address.clone()).collect())
        };
        AppEntry {
            notes: Vec::new(),
            name: app.name.clone(),
            app_id: app.app_id.clone(),
            description: app.description.clone(),
            mechanism: (app.mechanism == Mechanism::Rbac).then_some(Mechanism::Rbac),
            permissions: (app.mechanism == Mechanism::Rbac)
                .then(|| app.permissions.iter().map(|p| p.address.clone()).collect()),
            entra_grants: (app.entra_grants == EntraGrants::Remove).then_some(EntraGrants::Remove),
            group: app.group.clone(),
            allow: addresses(&app.allow),
            deny_group: app.deny_group.clone(),
            deny: addresses(&app.deny),
        }
    }
}

impl From<&DesiredState> for DesiredFile {
    fn from(state: &DesiredState) -> Self {
        DesiredFile {
            header: Vec::new(),
            tenant: state.tenant.clone(),
            apps: state.apps.iter().map(AppEntry::from).collect(),
        }
    }
}

// serde calls these with a reference to the field, `Option` included.
#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)]
fn mechanism_word<S: serde::Serializer>(m: &Option<Mechanism>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_str(m.as_str()),
        None => s.serialize_none(),
    }
}

#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)]
fn entra_grants_word<S: serde::Serializer>(g: &Option<EntraGrants>, s: S) -> Result<S::Ok, S::Error> {
    match g {
        Some(g) => s.serialize_str(g.as_str()),
        None => s.serialize_none(),
    }
}

/// The keys before `apps`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    api_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
}

/// A desired file that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write the desired-state file: {0}")]
pub struct WriteError(String);

/// Writes the file as YAML (`apiVersion: mailscope/v1`) that
/// [`crate::parse`] reads back to the same apps.
pub fn to_yaml(file: &DesiredFile) -> Result<String, WriteError> {
    let mut out = String::new();
    for line in &file.header {
        comment(&mut out, "", line);
    }
    out.push_str(&yaml(&Head { api_version: API_VERSION, tenant: file.tenant.as_deref() })?);
    if file.apps.is_empty() {
        out.push_str("apps: []\n");
        return Ok(out);
    }
    out.push_str("apps:\n");
    for app in &file.apps {
        out.push('\n');
        for note in &app.notes {
            comment(&mut out, "  ", note);
        }
        // One app as a one-item sequence, indented under `apps:`. Every
        // line moves by the same two spaces, so block scalars keep their
        // relative indentation.
        for line in yaml(&[app])?.lines() {
            if !line.is_empty() {
                out.push_str("  ");
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// One comment line; line breaks and other control characters in `text`
/// become U+FFFD, so the text cannot leave the comment.
fn comment(out: &mut String, indent: &str, text: &str) {
    out.push_str(indent);
    out.push('#');
    if !text.is_empty() {
        out.push(' ');
    }
    out.extend(
        text.chars()
            .map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { '\u{fffd}' } else { c }),
    );
    out.push('\n');
}

/// serde-saphyr with lists indented under their key, as the repository's
/// own files are written.
fn yaml<T: Serialize>(value: &T) -> Result<String, WriteError> {
    let options = serde_saphyr::ser_options! { compact_list_indent: false };
    serde_saphyr::to_string_with_options(value, options).map_err(|e| WriteError(e.to_string()))
}
