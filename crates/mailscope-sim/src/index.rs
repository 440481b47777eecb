//! A lookup index over a committed tenant's recipients, so that resolving an
//! identity or an object id on a 100,000-recipient tenant is a hash probe
//! instead of a scan (issue 13, "Emulator at scale").
//!
//! Why it cannot go stale: only a tenant the emulator has committed (behind
//! an `Arc`, never mutated again) turns its slot on; cloning a tenant — the
//! only way to get one you can change — gives an empty, switched-off slot.
//! Why it cannot change an answer: it only proposes candidates; callers still
//! run the exact comparison on each and keep the tenant's order, so the
//! index is a superset filter, never a source of truth.
//!
//! Building costs a pass over every recipient, so a state is indexed only
//! after it has served a few lookups by scanning: a write followed by one
//! read does not pay for an index that is thrown away at the next write.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Scanning lookups a committed state serves before it builds its index.
const SCANS_BEFORE_INDEX: u32 = 8;

/// Positions in `Tenant::recipients`, by lower-cased key.
#[derive(Debug, Default)]
pub(crate) struct RecipientIndex {
    /// Name, alias, display name, SMTP addresses, object id and GUID, all
    /// ASCII-lower-cased (the comparisons are `eq_ignore_ascii_case`).
    by_key: HashMap<String, Vec<usize>>,
    /// The first recipient with each `ExternalDirectoryObjectId`.
    by_object_id: HashMap<String, usize>,
}

impl RecipientIndex {
    /// From every recipient in tenant order: (its keys, its object id).
    /// (The model says which keys a recipient has; this module stays below it.)
    pub(crate) fn build<'a, K: Iterator<Item = &'a str>>(
        recipients: impl ExactSizeIterator<Item = (K, &'a str)>,
    ) -> Self {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::with_capacity(recipients.len() * 4);
        let mut by_object_id = HashMap::with_capacity(recipients.len());
        for (i, (keys, object_id)) in recipients.enumerate() {
            for k in keys {
                let v = by_key.entry(k.to_ascii_lowercase()).or_default();
                if v.last() != Some(&i) {
                    v.push(i);
                }
            }
            by_object_id.entry(object_id.to_ascii_lowercase()).or_insert(i);
        }
        Self { by_key, by_object_id }
    }

    /// Positions of recipients one of whose keys equals `key` (ASCII case-insensitively), ascending.
    pub(crate) fn candidates(&self, key: &str) -> &[usize] {
        self.by_key.get(&key.to_ascii_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// Position of the first recipient with this object id.
    pub(crate) fn object_id(&self, id: &str) -> Option<usize> {
        self.by_object_id.get(&id.to_ascii_lowercase()).copied()
    }
}

/// The tenant's index slot: off (and empty) unless the emulator committed the tenant.
#[derive(Default)]
pub(crate) struct IndexSlot {
    enabled: AtomicBool,
    scans: AtomicU32,
    index: OnceLock<RecipientIndex>,
}

impl IndexSlot {
    /// Switches the slot on. Only for a tenant that is about to become
    /// immutable (moved behind the emulator's `Arc`).
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// The index, when this tenant is committed and has served enough scans;
    /// `None` means "scan" (and counts one).
    pub(crate) fn get(&self, build: impl FnOnce() -> RecipientIndex) -> Option<&RecipientIndex> {
        if !self.enabled.load(Ordering::Relaxed) {
            return None;
        }
        if let Some(ix) = self.index.get() {
            return Some(ix);
        }
        if self.scans.fetch_add(1, Ordering::Relaxed) < SCANS_BEFORE_INDEX {
            return None;
        }
        Some(self.index.get_or_init(build))
    }
}

/// A copy is a tenant someone may change: it starts without an index.
impl Clone for IndexSlot {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Not part of the tenant's value.
impl PartialEq for IndexSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for IndexSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexSlot")
    }
}
