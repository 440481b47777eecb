//! A lookup index over a tenant's recipients, so that resolving an identity
//! or an object id on a 100,000-recipient tenant is a hash probe instead of a
//! scan (issue 13, "Emulator at scale").
//!
//! Why it cannot change an answer: it only proposes candidate positions;
//! callers run the exact comparison on each, in the tenant's order, so the
//! index is a superset filter, never a source of truth.
//!
//! Why the candidates are a superset even on a tenant that changed since the
//! index was built: the index keeps the `Arc` of every recipient it read.
//! While it does, no one can change such a recipient in place
//! (`Arc::make_mut` copies a shared value), so a position whose pointer is
//! still the indexed one still has exactly the indexed keys; every other
//! position (changed, added, or shifted by a removal) is "dirty" and always
//! proposed. A tenant's clone — the emulator's working copy for a write —
//! inherits the index this way, so a write's lookups cost a pointer
//! comparison per recipient instead of a string scan.
//!
//! Once the emulator commits a state (immutable behind its `Arc`), its dirty
//! positions are computed once and reused. Building costs a pass over every
//! recipient, so a committed state builds its own index only when it has no
//! usable inherited one (none, or more than an eighth of it dirty) and only
//! after a few scanning lookups: a write followed by one read does not pay
//! for an index that the next write replaces.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// Lookups a committed state serves before it builds its own index.
const LOOKUPS_BEFORE_INDEX: u32 = 8;

/// Above this share of dirty positions (1/`DIRTY_DIVISOR`), an inherited index is not worth it.
const DIRTY_DIVISOR: usize = 8;

/// Positions in `Tenant::recipients`, by lower-cased key, as of `snapshot`.
#[derive(Debug)]
pub(crate) struct RecipientIndex<T> {
    /// Name, alias, display name, SMTP addresses, object id and GUID, all
    /// ASCII-lower-cased (the comparisons are `eq_ignore_ascii_case`).
    by_key: HashMap<String, Vec<usize>>,
    /// The recipients indexed, position by position (keeps them shared; see above).
    snapshot: Vec<Arc<T>>,
}

impl<T> RecipientIndex<T> {
    /// Indexes `recipients` under the keys `keys` gives for each.
    /// (The model says which keys a recipient has; this module stays below it.)
    pub(crate) fn build<'a>(recipients: &'a [Arc<T>], keys: impl Fn(&'a T) -> Vec<&'a str>) -> Self {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::with_capacity(recipients.len() * 4);
        for (i, r) in recipients.iter().enumerate() {
            for k in keys(&**r) {
                let v = by_key.entry(k.to_ascii_lowercase()).or_default();
                if v.last() != Some(&i) {
                    v.push(i);
                }
            }
        }
        Self { by_key, snapshot: recipients.to_vec() }
    }

    /// Is position `i` of `recipients` still the recipient this index read?
    fn same(&self, recipients: &[Arc<T>], i: usize) -> bool {
        self.snapshot.get(i).zip(recipients.get(i)).is_some_and(|(s, r)| Arc::ptr_eq(s, r))
    }

    /// The positions of `recipients` this index does not describe, ascending;
    /// `None` when there are too many for the index to be worth using.
    fn dirty(&self, recipients: &[Arc<T>]) -> Option<Vec<usize>> {
        let dirty: Vec<usize> = (0..recipients.len()).filter(|&i| !self.same(recipients, i)).collect();
        (dirty.len() <= recipients.len() / DIRTY_DIVISOR).then_some(dirty)
    }

    /// Ascending positions in `recipients` that may have a key equal to
    /// `key` (ASCII case-insensitively): a superset of those that do.
    /// `dirty` is [`RecipientIndex::dirty`] of `recipients`, or `None` when
    /// `recipients` is the indexed vector itself.
    fn candidates(&self, recipients: &[Arc<T>], key: &str, dirty: Option<&[usize]>) -> Vec<usize> {
        let indexed = self.by_key.get(&key.to_ascii_lowercase()).map_or(&[][..], Vec::as_slice);
        let Some(dirty) = dirty else {
            return indexed.to_vec();
        };
        let mut out: Vec<usize> = indexed.iter().copied().filter(|&i| self.same(recipients, i)).collect();
        out.extend_from_slice(dirty);
        out.sort_unstable();
        out
    }
}

/// A tenant's index slot.
pub(crate) struct IndexSlot<T> {
    /// Set once the tenant is committed (immutable): only then may it build its own index.
    enabled: AtomicBool,
    lookups: AtomicU32,
    own: OnceLock<Arc<RecipientIndex<T>>>,
    /// The index of the tenant this one was cloned from, checked position by position.
    inherited: Option<Arc<RecipientIndex<T>>>,
    /// The inherited index's dirty positions, computed once the tenant is committed.
    dirty: OnceLock<Option<Vec<usize>>>,
}

impl<T> Default for IndexSlot<T> {
    fn default() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            lookups: AtomicU32::new(0),
            own: OnceLock::new(),
            inherited: None,
            dirty: OnceLock::new(),
        }
    }
}

impl<T> IndexSlot<T> {
    /// Lets the tenant build its own index. Only for a tenant that is about
    /// to become immutable (moved behind the emulator's `Arc`).
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Candidate positions for `key` (see [`RecipientIndex::candidates`]);
    /// `None` = scan every recipient.
    pub(crate) fn candidates(
        &self,
        recipients: &[Arc<T>],
        key: &str,
        build: impl FnOnce() -> RecipientIndex<T>,
    ) -> Option<Vec<usize>> {
        if let Some(ix) = self.own.get() {
            return Some(ix.candidates(recipients, key, None));
        }
        let committed = self.enabled.load(Ordering::Relaxed);
        if let Some(ix) = &self.inherited {
            if committed {
                // Immutable now: the dirty positions cannot change any more.
                if let Some(dirty) = self.dirty.get_or_init(|| ix.dirty(recipients)) {
                    return Some(ix.candidates(recipients, key, Some(dirty)));
                }
            } else if let Some(dirty) = ix.dirty(recipients) {
                // Still changeable: recheck every time.
                return Some(ix.candidates(recipients, key, Some(&dirty)));
            }
        }
        if committed && self.lookups.fetch_add(1, Ordering::Relaxed) >= LOOKUPS_BEFORE_INDEX {
            return Some(self.own.get_or_init(|| Arc::new(build())).candidates(recipients, key, None));
        }
        None
    }
}

/// A copy (the emulator's working copy for a write) inherits the index,
/// checked position by position, never trusted blindly.
impl<T> Clone for IndexSlot<T> {
    fn clone(&self) -> Self {
        Self { inherited: self.own.get().or(self.inherited.as_ref()).cloned(), ..Self::default() }
    }
}

/// Not part of the tenant's value.
impl<T> PartialEq for IndexSlot<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for IndexSlot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexSlot")
    }
}
