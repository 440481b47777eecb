//! Client secrets at rest: the emulator keeps only a salted SHA-256 of each
//! (in memory and in its state file), and the clear ones only in memory,
//! as the seed gave them, for the operator's own logins.
//!
//! The secrets are the emulator's test fakes, but a state file is copied,
//! attached to bug reports and left in temp directories; a hash there can
//! only verify a secret, not sign in (docs/reliability.md, issue 14).

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::model::Tenant;
use crate::store::{hex, unhex};

/// Marks a stored secret as `sha256:<salt hex>:<digest hex>`.
const PREFIX: &str = "sha256:";

/// `sha256:<salt>:<SHA-256(salt ‖ secret)>` with a fresh 16-byte salt.
pub(crate) fn hash(secret: &str) -> String {
    let salt = uuid::Uuid::new_v4().into_bytes();
    format!("{PREFIX}{}:{}", hex(&salt), hex(&digest(&salt, secret)))
}

fn digest(salt: &[u8], secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// Whether `offered` is the secret `stored` was hashed from. A stored value
/// that is not a hash matches nothing: clear secrets never stay stored.
pub(crate) fn matches(stored: &str, offered: &str) -> bool {
    let Some((salt, want)) = stored.strip_prefix(PREFIX).and_then(|r| r.split_once(':')) else {
        return false;
    };
    let (Some(salt), Some(want)) = (unhex(salt), unhex(want)) else { return false };
    // Compare every byte (no early exit): the emulator is loopback-only,
    // but the habit costs nothing.
    let got = digest(&salt, offered);
    want.len() == got.len() && want.iter().zip(got).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The clear client secrets of a tenant's apps (app id, lower case → secrets).
#[derive(Clone, Debug, Default)]
pub(crate) struct ClearSecrets(BTreeMap<String, Vec<String>>);

impl ClearSecrets {
    /// Whether any app had a clear secret.
    pub(crate) fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// The first clear secret of `app_id`.
    pub(crate) fn first(&self, app_id: &str) -> Option<&str> {
        self.0.get(&app_id.to_ascii_lowercase())?.first().map(String::as_str)
    }
}

/// Replaces every clear secret of `tenant` by its hash and returns the
/// clear ones (hashes already there stay).
pub(crate) fn seal(tenant: &mut Tenant) -> ClearSecrets {
    let mut clear = BTreeMap::new();
    for app in &mut tenant.apps {
        if app.client_secrets.iter().all(|s| s.starts_with(PREFIX)) {
            continue;
        }
        let mut mine = Vec::new();
        let app = Arc::make_mut(app);
        for s in &mut app.client_secrets {
            if !s.starts_with(PREFIX) {
                mine.push(std::mem::replace(s, hash(s)));
            }
        }
        if !mine.is_empty() {
            clear.insert(app.app_id.to_ascii_lowercase(), mine);
        }
    }
    ClearSecrets(clear)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_secret_only_and_is_salted() {
        let a = hash("s3cret~value");
        let b = hash("s3cret~value");
        assert_ne!(a, b, "salted");
        assert!(!a.contains("s3cret"));
        assert!(matches(&a, "s3cret~value") && matches(&b, "s3cret~value"));
        assert!(!matches(&a, "s3cret~valuf") && !matches(&a, ""));
        assert!(!matches("s3cret~value", "s3cret~value"), "a clear stored value matches nothing");
        assert!(!matches("sha256:zz:00", "x") && !matches("sha256:", "x"));
    }
}
