//! The desired-state file format of mailscope (`apiVersion: mailscope/v1`).
//!
//! A policies repository holds YAML files that say, per Entra ID application,
//! which Exchange Online mailboxes it may reach (`allow`) and which it may
//! never reach (`deny`). This crate turns such a file into a validated
//! [`DesiredState`] or into a [`SpecError`] that lists every problem with its
//! `file:line:column` and what to do about it.
//!
//! It does no I/O: callers read the file and hand over its text and a name to
//! show in messages. The JSON Schema ([`json_schema`]) is generated from the
//! same serde types the parser uses, so editors and the parser cannot disagree.
//!
//! ```
//! let text = "apiVersion: mailscope/v1\napps:\n  - name: mailer\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: [billing@contoso.com]\n";
//! let desired = mailscope_spec::parse(text, "policies.yaml").unwrap();
//! assert_eq!(desired.apps[0].allow.as_ref().unwrap()[0].address, "billing@contoso.com");
//! ```

mod error;
mod keys;
mod lint;
mod model;
mod raw;
mod validate;
mod write;

pub use error::{Problem, SpecError};
pub use lint::warnings;
pub use model::{
    API_VERSION, AppSpec, DEFAULT_GROUP_PREFIX, DEFAULT_MARKER_ATTRIBUTE, DesiredState, EntraGrants, Entry,
    Exclusion, ListKind, Mechanism, Position, UnlistedApps, UnlistedMode,
};
pub use validate::{is_app_name, is_guid, is_smtp_address};
pub use write::{AppEntry, DesiredFile, WriteError, to_yaml};

/// Largest desired-state file accepted, in bytes.
///
/// Real files are a few kilobytes per hundred apps; the cap keeps a wrong
/// path (a log file, a binary) from being parsed at all.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Parses and validates a desired-state file.
///
/// `origin` is how the file is named in messages (usually its path).
pub fn parse(text: &str, origin: &str) -> Result<DesiredState, SpecError> {
    validate::parse(text, origin)
}

/// The JSON Schema (2020-12) of the desired-state file, pretty-printed with a
/// trailing newline. `policies/schema.json` is this output.
///
/// # Panics
///
/// Never in practice: a derived schema is plain JSON data.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(raw::RawDesiredState);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}
