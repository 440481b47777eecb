//! A key-only pass over the file, so that every unknown field is reported
//! with its position together with the file's other problems.
//!
//! serde's `deny_unknown_fields` stops at the first unknown key and hides
//! everything after it: a user who misspells `allow` in one app would fix
//! that, run again, and only then learn that another app's `appId` is wrong.
//! The typed pass therefore accepts unknown keys, and this pass walks the
//! mapping keys of the top level and of each app and names the unknown ones.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::model::Position;

/// Keys a desired-state file may have at its top level.
pub(crate) const TOP_KEYS: &[&str] = &[
    "apiVersion",
    "tenant",
    "mechanism",
    "entraGrants",
    "unlistedApps",
    "groupPrefix",
    "markerAttribute",
    "apps",
];
/// Keys an app may have.
pub(crate) const APP_KEYS: &[&str] = &[
    "name",
    "appId",
    "description",
    "mechanism",
    "permissions",
    "entraGrants",
    "group",
    "denyGroup",
    "allow",
    "deny",
];

/// A key the format does not know, where it stands, and which keys the
/// mapping it stands in accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownKey {
    pub(crate) at: Position,
    pub(crate) key: String,
    pub(crate) expected: &'static [&'static str],
}

/// Every unknown key of the top level and of each app, in file order.
/// Shape errors (an `apps` that is not a list, …) are left to the typed pass,
/// which reports them with better words: this pass then finds nothing.
#[derive(Debug, Default)]
pub(crate) struct KeyScan(pub(crate) Vec<UnknownKey>);

fn position<T>(s: &Spanned<T>) -> Position {
    Position { line: s.referenced.line(), column: s.referenced.column() }
}

impl<'de> Deserialize<'de> for KeyScan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = KeyScan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyScan, A::Error> {
        let mut found = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if key.value == "apps" {
                let apps: AppsScan = map.next_value()?;
                found.extend(apps.0);
            } else {
                if !TOP_KEYS.contains(&key.value.as_str()) {
                    found.push(UnknownKey { at: position(&key), key: key.value.clone(), expected: TOP_KEYS });
                }
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(KeyScan(found))
    }
}

struct AppsScan(Vec<UnknownKey>);

impl<'de> Deserialize<'de> for AppsScan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(AppsVisitor)
    }
}

struct AppsVisitor;

impl<'de> Visitor<'de> for AppsVisitor {
    type Value = AppsScan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of apps")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AppsScan, A::Error> {
        let mut found = Vec::new();
        while let Some(app) = seq.next_element::<AppScan>()? {
            found.extend(app.0);
        }
        Ok(AppsScan(found))
    }
}

struct AppScan(Vec<UnknownKey>);

impl<'de> Deserialize<'de> for AppScan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AppVisitor)
    }
}

struct AppVisitor;

impl<'de> Visitor<'de> for AppVisitor {
    type Value = AppScan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an app mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AppScan, A::Error> {
        let mut found = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if !APP_KEYS.contains(&key.value.as_str()) {
                found.push(UnknownKey { at: position(&key), key: key.value.clone(), expected: APP_KEYS });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(AppScan(found))
    }

    fn visit_unit<E: de::Error>(self) -> Result<AppScan, E> {
        Ok(AppScan(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::{APP_KEYS, TOP_KEYS};

    /// The key lists and the serde types must agree, or a valid key would be
    /// called unknown (or a misspelt one slip through): the schema is
    /// generated from the serde types, so compare against it.
    #[test]
    fn the_key_lists_match_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(&crate::json_schema()).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v["properties"].as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let sorted = |l: &[&str]| {
            let mut k: Vec<String> = l.iter().map(|s| (*s).to_owned()).collect();
            k.sort();
            k
        };
        assert_eq!(keys(&schema), sorted(TOP_KEYS));
        assert_eq!(keys(&schema["$defs"]["RawApp"]), sorted(APP_KEYS));
    }
}
