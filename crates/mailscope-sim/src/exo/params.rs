//! Parameter binding: the JSON `Parameters` object of a `CmdletInput`,
//! checked against a cmdlet's accepted names and read with PowerShell's
//! coercions (a string where an array is expected, enum prefix matching).

use serde_json::{Map, Value};

use super::error::CmdletError;

/// Bound parameters: canonical name → JSON value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    values: Vec<(&'static str, Value)>,
}

/// A multi-valued edit: an array replaces, a `GenericHashTable` adds/removes (docs/exchange.md,
/// "Admin API wire format").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MultiEdit {
    /// Replace all values.
    Replace(Vec<String>),
    /// Add and remove values.
    Edit {
        /// Values to add.
        add: Vec<String>,
        /// Values to remove.
        remove: Vec<String>,
    },
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) if a.len() == 1 => as_string(&a[0]),
        _ => None,
    }
}

fn as_strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => a.iter().map(as_string).collect(),
        Value::Null => Some(Vec::new()),
        other => as_string(other).map(|s| vec![s]),
    }
}

impl Params {
    /// Binds `raw` against `accepted`; names are case-insensitive, keys holding `@` are annotations.
    pub(crate) fn bind(accepted: &[&'static str], raw: &Map<String, Value>) -> Result<Self, CmdletError> {
        let mut values = Vec::new();
        let mut unknown = Vec::new();
        for (k, v) in raw {
            if k.contains('@') {
                continue;
            }
            match accepted.iter().find(|a| a.eq_ignore_ascii_case(k)) {
                Some(name) => values.push((*name, v.clone())),
                None => unknown.push(k.clone()),
            }
        }
        if unknown.is_empty() { Ok(Self { values }) } else { Err(CmdletError::unknown_params(&unknown)) }
    }

    /// The raw value.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Was the parameter given (even as null)?
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A scalar string parameter.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, CmdletError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_string(v)
                .map(Some)
                .ok_or_else(|| CmdletError::bad_value(name, "Specified method is not supported.")),
        }
    }

    /// A mandatory scalar string parameter.
    pub(crate) fn required(&self, name: &str) -> Result<String, CmdletError> {
        self.string(name)?.filter(|s| !s.is_empty()).ok_or_else(|| CmdletError::missing(name))
    }

    /// A string-array parameter (a single string is an array of one).
    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<String>>, CmdletError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => as_strings(v)
                .map(Some)
                .ok_or_else(|| CmdletError::bad_value(name, "Specified method is not supported.")),
        }
    }

    /// A switch / boolean parameter.
    pub(crate) fn switch(&self, name: &str) -> bool {
        match self.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s == "1",
            _ => false,
        }
    }

    /// A boolean property value (`$true`/`$false`), when given.
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, CmdletError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(CmdletError::bad_value(name, "Cannot convert value to type System.Boolean.")),
        }
    }

    /// An enum parameter, prefix-matched case-insensitively like PowerShell
    /// (an exact match wins over prefixes; an ambiguous prefix is an error).
    pub(crate) fn enumeration(
        &self,
        name: &str,
        type_name: &str,
        choices: &[&'static str],
    ) -> Result<Option<&'static str>, CmdletError> {
        let Some(given) = self.string(name)? else {
            return Ok(None);
        };
        match_enum(&given, choices).map(Some).ok_or_else(|| CmdletError::Transform {
            text: format!(
                "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{given}\" to type \"{type_name}\". Error: \"Unable to match the identifier name {given} to a valid enumerator name. Specify one of the following enumerator names and try again: {}\"",
                choices.join(", ")
            ),
        })
    }

    /// A multi-valued edit (array or `GenericHashTable` with Add/Remove).
    pub(crate) fn multi(&self, name: &str) -> Result<Option<MultiEdit>, CmdletError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(o)) => {
                let get = |k: &str| {
                    o.iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(k))
                        .map_or(Some(Vec::new()), |(_, v)| as_strings(v))
                };
                match (get("Add"), get("Remove")) {
                    (Some(add), Some(remove)) => Ok(Some(MultiEdit::Edit { add, remove })),
                    _ => Err(CmdletError::bad_value(name, "Specified method is not supported.")),
                }
            }
            Some(v) => as_strings(v)
                .map(|v| Some(MultiEdit::Replace(v)))
                .ok_or_else(|| CmdletError::bad_value(name, "Specified method is not supported.")),
        }
    }
}

/// PowerShell enum conversion: exact (case-insensitive), else a unique prefix.
pub(crate) fn match_enum(given: &str, choices: &[&'static str]) -> Option<&'static str> {
    let g = given.trim();
    if g.is_empty() {
        return None;
    }
    if let Some(c) = choices.iter().find(|c| c.eq_ignore_ascii_case(g)) {
        return Some(c);
    }
    let lower = g.to_ascii_lowercase();
    let mut hits = choices.iter().filter(|c| c.to_ascii_lowercase().starts_with(&lower));
    match (hits.next(), hits.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_prefixes() {
        let c = &["RestrictAccess", "DenyAccess"];
        assert_eq!(match_enum("restrict", c), Some("RestrictAccess"));
        assert_eq!(match_enum("D", c), Some("DenyAccess"));
        assert_eq!(match_enum("DENYACCESS", c), Some("DenyAccess"));
        assert_eq!(match_enum("Allow", c), None);
        assert_eq!(match_enum("", c), None);
        let amb = &["MailUser", "MailContact"];
        assert_eq!(match_enum("Mail", amb), None);
    }
}
