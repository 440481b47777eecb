//! The tenant's recipients as a structurally shared collection with a lookup
//! index that is always current (issue 13, "Emulator at scale").
//!
//! Why: the emulator commits every write as a new immutable tenant state
//! (readers keep the one they started with, Graph may see an older one, the
//! exposure log compares before and after). With the recipients in one
//! `Vec`, each commit copied a pointer per recipient, rebuilt or re-checked
//! the index over all of them and the exposure log compared them all: about
//! 4 ms a write at 100,000 recipients. Here a state's recipients are chunks
//! of [`CHUNK`] slots, and each index (lookup keys; group membership) is
//! [`BUCKETS`] hash buckets in groups; chunks, buckets and the lists of them sit
//! behind `Arc`s ([`SharedVec`]). A copy of a state costs a few reference
//! counts; a write copies the list of chunks, the chunk it touches and,
//! when a key or a membership changed, that index's lists and the buckets of
//! the keys that moved. Two states that share history are compared chunk by
//! chunk ([`Directory::changed`]).
//!
//! Why not a persistent-collections crate: the maintained ones (`imbl`,
//! `rpds`) are MPL-2.0, outside the permissive licences `deny.toml` allows
//! for a single redistributed binary; a few levels of `Arc` are all this needs.
//!
//! Slots are stable: a removal leaves an empty slot and an addition takes a
//! new one at the end, so the tenant's order (creation order, as Exchange
//! lists) is slot order and a [`RecipientId`] keeps naming the same
//! recipient in every later state. The state file holds only the recipients,
//! in order; loading it packs the slots again.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::ops::{Deref, DerefMut, Index};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Recipient, SharedVec};

/// Slots per chunk: a write copies this many pointers; a state copies
/// `len / CHUNK` of them.
const CHUNK: usize = 256;

/// Index buckets, in [`BUCKET_GROUPS`] groups: a write that changes a key
/// copies the list of groups, one group's list of bucket pointers and the
/// buckets of the keys that moved (at 100,000 recipients about 600 lookup
/// keys or 100 memberships each). One flat list of 1,024 pointers made every
/// member change copy 1,024 pointers, which halved the write rate of a small
/// tenant.
const BUCKETS: usize = 1024;
/// Groups of buckets (also the buckets per group).
const BUCKET_GROUPS: usize = 32;

/// A recipient's slot: the same recipient in every state derived from the
/// one that gave it out (until it is removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecipientId(u32);

impl RecipientId {
    fn slot(self) -> usize {
        self.0 as usize
    }
}

type Chunk = Vec<Option<Arc<Recipient>>>;
/// Lower-cased key → ascending slots of the recipients that have it.
type Bucket = HashMap<Box<str>, Vec<u32>>;

/// Key → slots, in [`BUCKETS`] shared buckets.
#[derive(Clone)]
struct KeyIndex {
    groups: SharedVec<SharedVec<Arc<Bucket>>>,
}

impl KeyIndex {
    fn new() -> Self {
        // Every bucket starts as the same empty map; the first write to one copies it.
        let group: SharedVec<Arc<Bucket>> =
            std::iter::repeat_n(Arc::new(Bucket::new()), BUCKETS / BUCKET_GROUPS).collect();
        Self { groups: std::iter::repeat_n(group, BUCKET_GROUPS).collect() }
    }

    fn bucket(&self, b: usize) -> &Bucket {
        &self.groups[b / (BUCKETS / BUCKET_GROUPS)][b % (BUCKETS / BUCKET_GROUPS)]
    }

    /// The bucket `b`, copied first (with the pointer lists above it) if
    /// another state shares it.
    fn bucket_mut(&mut self, b: usize) -> &mut Bucket {
        Arc::make_mut(&mut self.groups[b / (BUCKETS / BUCKET_GROUPS)][b % (BUCKETS / BUCKET_GROUPS)])
    }

    /// Every bucket, in order (for tests of the sharing).
    #[cfg(test)]
    fn buckets(&self) -> impl Iterator<Item = &Arc<Bucket>> {
        self.groups.iter().flat_map(|g| g.iter())
    }

    /// Ascending slots under `lower_key` (already lower-cased).
    fn get(&self, lower_key: &str) -> Vec<RecipientId> {
        self.bucket(bucket_of(lower_key))
            .get(lower_key)
            .map(|slots| slots.iter().map(|&s| RecipientId(s)).collect())
            .unwrap_or_default()
    }

    fn add(&mut self, keys: &[String], slot: u32) {
        for k in keys {
            let slots = self.bucket_mut(bucket_of(k)).entry(k.as_str().into()).or_default();
            if let Err(at) = slots.binary_search(&slot) {
                slots.insert(at, slot);
            }
        }
    }

    fn remove(&mut self, keys: &[String], slot: u32) {
        for k in keys {
            let bucket = self.bucket_mut(bucket_of(k));
            if let Some(slots) = bucket.get_mut(k.as_str()) {
                slots.retain(|&s| s != slot);
                if slots.is_empty() {
                    bucket.remove(k.as_str());
                }
            }
        }
    }

    /// Moves `slot` from the keys `old` to the keys `new` (both sorted).
    fn rekey(&mut self, old: &[String], new: &[String], slot: u32) {
        if old != new {
            let gone: Vec<String> = old.iter().filter(|k| new.binary_search(k).is_err()).cloned().collect();
            let came: Vec<String> = new.iter().filter(|k| old.binary_search(k).is_err()).cloned().collect();
            self.remove(&gone, slot);
            self.add(&came, slot);
        }
    }
}

/// What a recipient is indexed under: its lookup keys and its members.
#[derive(PartialEq)]
struct IndexedKeys {
    lookup: Vec<String>,
    members: Vec<String>,
}

impl IndexedKeys {
    fn of(r: &Recipient) -> Self {
        let mut members: Vec<String> = r.members.iter().map(|m| m.to_ascii_lowercase()).collect();
        members.sort_unstable();
        members.dedup();
        Self { lookup: keys_of(r), members }
    }
}

/// The recipients of a tenant, in the tenant's order; see the module docs.
#[derive(Clone)]
pub struct Directory {
    chunks: SharedVec<Arc<Chunk>>,
    /// Slots handed out, empty ones included.
    slots: usize,
    /// Recipients present.
    live: usize,
    /// [`Recipient::lookup_keys`] → recipients.
    by_key: KeyIndex,
    /// A member's object id → the groups holding it (what `MemberOfGroup` asks).
    by_member: KeyIndex,
}

impl Default for Directory {
    fn default() -> Self {
        Self::new()
    }
}

/// A lookup key as the index files it. Full Unicode lower case, so that the
/// candidates are a superset both for identity lookups (ASCII
/// case-insensitive) and for OPATH `-eq` (which also accepts equal Unicode
/// lower cases, as the Kelvin sign `K` and `k`).
fn fold(key: &str) -> String {
    key.to_lowercase()
}

/// The keys an identity lookup compares with, folded and without repeats.
fn keys_of(r: &Recipient) -> Vec<String> {
    let mut keys: Vec<String> = r.lookup_keys().map(fold).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn bucket_of(lower_key: &str) -> usize {
    // A fixed hasher: the bucket of a key must not change between states.
    let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(lower_key);
    // The modulo keeps the value below BUCKETS, which fits usize.
    #[allow(clippy::cast_possible_truncation)]
    let b = (h % BUCKETS as u64) as usize;
    b
}

impl Directory {
    /// No recipients.
    pub fn new() -> Self {
        Self {
            chunks: SharedVec::new(),
            slots: 0,
            live: 0,
            by_key: KeyIndex::new(),
            by_member: KeyIndex::new(),
        }
    }

    /// Number of recipients.
    pub fn len(&self) -> usize {
        self.live
    }

    /// No recipients at all?
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn slot(&self, slot: usize) -> Option<&Arc<Recipient>> {
        self.chunks.get(slot / CHUNK)?.get(slot % CHUNK)?.as_ref()
    }

    fn slot_mut(&mut self, slot: usize) -> &mut Option<Arc<Recipient>> {
        &mut Arc::make_mut(&mut self.chunks[slot / CHUNK])[slot % CHUNK]
    }

    /// The recipients in the tenant's order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Recipient>> {
        self.chunks.iter().flat_map(|c| c.iter().flatten())
    }

    /// The recipients in the tenant's order, with their ids.
    ///
    /// # Panics
    /// Never: [`Directory::push`] hands out no slot past `u32::MAX`.
    pub fn entries(&self) -> impl Iterator<Item = (RecipientId, &Arc<Recipient>)> {
        self.chunks.iter().enumerate().flat_map(|(ci, c)| {
            c.iter().enumerate().filter_map(move |(i, r)| {
                let slot = u32::try_from(ci * CHUNK + i).expect("slots fit u32 (see push)");
                r.as_ref().map(|r| (RecipientId(slot), r))
            })
        })
    }

    /// The recipient `id` names, if it is still there.
    pub fn get(&self, id: RecipientId) -> Option<&Arc<Recipient>> {
        self.slot(id.slot())
    }

    /// Adds a recipient at the end of the tenant's order.
    ///
    /// # Panics
    /// Past `u32::MAX` slots, far beyond any tenant (or any emulator's memory).
    pub fn push(&mut self, recipient: Arc<Recipient>) -> RecipientId {
        let slot = self.slots;
        let id = RecipientId(u32::try_from(slot).expect("fewer than 2^32 recipient slots"));
        if slot.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let keys = IndexedKeys::of(&recipient);
        self.by_key.add(&keys.lookup, id.0);
        self.by_member.add(&keys.members, id.0);
        let last = self.chunks.last_mut().expect("a chunk was just ensured");
        Arc::make_mut(last).push(Some(recipient));
        self.slots += 1;
        self.live += 1;
        id
    }

    /// Removes the recipient `id` names; later ones keep their ids.
    pub fn remove(&mut self, id: RecipientId) -> Option<Arc<Recipient>> {
        self.get(id)?;
        let removed = self.slot_mut(id.slot()).take()?;
        let keys = IndexedKeys::of(&removed);
        self.by_key.remove(&keys.lookup, id.0);
        self.by_member.remove(&keys.members, id.0);
        self.live -= 1;
        Some(removed)
    }

    /// Changes the recipient `id` names in place (copying it first if
    /// another state shares it); the index follows when the guard drops.
    pub fn get_mut(&mut self, id: RecipientId) -> Option<RecipientMut<'_>> {
        let keys = IndexedKeys::of(self.get(id)?);
        Some(RecipientMut { directory: self, id, keys })
    }

    /// [`Directory::get_mut`] of the first recipient `pred` accepts.
    pub fn find_mut(&mut self, pred: impl Fn(&Recipient) -> bool) -> Option<RecipientMut<'_>> {
        let id = self.entries().find(|(_, r)| pred(r)).map(|(id, _)| id)?;
        self.get_mut(id)
    }

    /// Keeps only the recipients `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&Recipient) -> bool) {
        let gone: Vec<RecipientId> = self.entries().filter(|(_, r)| !keep(r)).map(|(id, _)| id).collect();
        for id in gone {
            self.remove(id);
        }
    }

    /// The recipients with a lookup key (name, alias, display name, an SMTP
    /// address, object id or GUID) equal to `key` case-insensitively (ASCII
    /// or Unicode lower case), in the tenant's order. Callers then compare
    /// the one field they mean.
    pub fn candidates(&self, key: &str) -> Vec<RecipientId> {
        self.by_key.get(&fold(key))
    }

    /// The recipients (groups) whose members include the object id
    /// `member`, ASCII case-insensitively, in the tenant's order.
    pub fn holding(&self, member: &str) -> Vec<RecipientId> {
        self.by_member.get(&member.to_ascii_lowercase())
    }

    /// The slots whose recipient differs between `before` and `after`, as
    /// (before, after) pairs in slot order; either side is `None` where the
    /// slot is empty. Chunks the two states share are skipped, so when
    /// `after` was derived from `before` this costs a pointer comparison per
    /// chunk plus the changed chunks. For unrelated states it is still exact:
    /// every slot is compared.
    pub(crate) fn changed<'a>(
        before: &'a Directory,
        after: &'a Directory,
    ) -> Vec<(Option<&'a Recipient>, Option<&'a Recipient>)> {
        let mut out = Vec::new();
        for c in 0..before.chunks.len().max(after.chunks.len()) {
            let (b, a) = (before.chunks.get(c), after.chunks.get(c));
            if let (Some(b), Some(a)) = (b, a)
                && Arc::ptr_eq(b, a)
            {
                continue;
            }
            for slot in c * CHUNK..(c + 1) * CHUNK {
                let (x, y) = (before.slot(slot), after.slot(slot));
                let same = match (x, y) {
                    (Some(x), Some(y)) => Arc::ptr_eq(x, y) || x == y,
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    out.push((x.map(AsRef::as_ref), y.map(AsRef::as_ref)));
                }
            }
        }
        out
    }
}

/// A recipient being changed in place; see [`Directory::get_mut`].
pub struct RecipientMut<'a> {
    directory: &'a mut Directory,
    id: RecipientId,
    /// What it was indexed under before the change.
    keys: IndexedKeys,
}

impl RecipientMut<'_> {
    /// Which recipient this is.
    pub fn id(&self) -> RecipientId {
        self.id
    }
}

impl Deref for RecipientMut<'_> {
    type Target = Recipient;
    fn deref(&self) -> &Recipient {
        self.directory.get(self.id).expect("a guard names a present recipient")
    }
}

impl DerefMut for RecipientMut<'_> {
    fn deref_mut(&mut self) -> &mut Recipient {
        Arc::make_mut(
            self.directory.slot_mut(self.id.slot()).as_mut().expect("a guard names a present recipient"),
        )
    }
}

impl Drop for RecipientMut<'_> {
    fn drop(&mut self) {
        let now = IndexedKeys::of(self);
        if now != self.keys {
            let slot = self.id.0;
            self.directory.by_key.rekey(&self.keys.lookup, &now.lookup, slot);
            self.directory.by_member.rekey(&self.keys.members, &now.members, slot);
        }
    }
}

impl Index<RecipientId> for Directory {
    type Output = Recipient;
    /// # Panics
    /// When the recipient was removed: ids come from this state or an ancestor.
    fn index(&self, id: RecipientId) -> &Recipient {
        self.get(id).expect("a recipient id of this tenant")
    }
}

impl<'a> IntoIterator for &'a Directory {
    type Item = &'a Arc<Recipient>;
    type IntoIter = Box<dyn Iterator<Item = &'a Arc<Recipient>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<Arc<Recipient>> for Directory {
    fn from_iter<I: IntoIterator<Item = Arc<Recipient>>>(iter: I) -> Self {
        let mut d = Self::new();
        for r in iter {
            d.push(r);
        }
        d
    }
}

impl PartialEq for Directory {
    /// Same recipients in the same order (slot numbers aside).
    fn eq(&self, other: &Self) -> bool {
        self.live == other.live && self.iter().zip(other.iter()).all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Directory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Directory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Arc<Recipient>>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::RecipientKind;

    fn recipient(name: &str) -> Recipient {
        Recipient {
            kind: RecipientKind::UserMailbox,
            name: name.to_owned(),
            alias: name.to_owned(),
            display_name: format!("Display {name}"),
            primary_smtp_address: format!("{name}@contoso.com"),
            email_addresses: vec![format!("SMTP:{name}@contoso.com"), format!("smtp:{name}@alt.contoso.com")],
            external_directory_object_id: format!("oid-{name}"),
            guid: format!("guid-{name}"),
            sid: String::new(),
            custom_attributes: Vec::new(),
            members: Vec::new(),
            managed_by: Vec::new(),
            member_join_restriction: String::new(),
            member_depart_restriction: String::new(),
            require_sender_authentication_enabled: false,
            hidden_from_address_lists_enabled: false,
            department: String::new(),
            when_created: 0,
            when_changed: 0,
        }
    }

    /// What a scan finds for `key`: the reference the index must match.
    fn scan(d: &Directory, key: &str) -> Vec<RecipientId> {
        d.entries()
            .filter(|(_, r)| r.lookup_keys().any(|k| k.eq_ignore_ascii_case(key)))
            .map(|(id, _)| id)
            .collect()
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(u8),
        Remove(u16),
        Rename(u16, u8),
        AddMember(u16),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => any::<u8>().prop_map(Op::Push),
            1 => any::<u16>().prop_map(Op::Remove),
            1 => (any::<u16>(), any::<u8>()).prop_map(|(i, n)| Op::Rename(i, n)),
            1 => any::<u16>().prop_map(Op::AddMember),
            1 => Just(Op::Snapshot),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Against a plain `Vec` model: same recipients in the same order,
        /// lookups equal to a scan, older snapshots unchanged by later
        /// writes, and `changed` naming exactly the slots that differ.
        #[test]
        fn behaves_like_a_vector_with_a_scan(ops in proptest::collection::vec(op(), 1..400)) {
            let mut d = Directory::new();
            let mut model: Vec<(RecipientId, Recipient)> = Vec::new();
            let mut snapshots: Vec<(Directory, Vec<Recipient>)> = Vec::new();
            for op in ops {
                match op {
                    // Names repeat on purpose: shared keys must list every holder.
                    Op::Push(n) => {
                        let r = recipient(&format!("u{}", n % 40));
                        let id = d.push(Arc::new(r.clone()));
                        model.push((id, r));
                    }
                    Op::Remove(i) if !model.is_empty() => {
                        let (id, r) = model.remove(usize::from(i) % model.len());
                        let removed = d.remove(id);
                        prop_assert_eq!(removed.as_deref(), Some(&r));
                        prop_assert!(d.remove(id).is_none());
                    }
                    Op::Rename(i, n) if !model.is_empty() => {
                        let k = usize::from(i) % model.len();
                        let name = format!("R{}", n % 40);
                        d.get_mut(model[k].0).unwrap().name.clone_from(&name);
                        model[k].1.name = name;
                    }
                    Op::AddMember(i) if !model.is_empty() => {
                        let k = usize::from(i) % model.len();
                        // Members come and go: the membership index must follow both ways.
                        let m = format!("m{}", i % 40);
                        let id = model[k].0;
                        let mut r = d.get_mut(id).unwrap();
                        if r.members.contains(&m) {
                            r.members.retain(|x| *x != m);
                        } else {
                            r.members.push(m);
                        }
                        drop(r);
                        model[k].1.members.clone_from(&d[id].members);
                    }
                    Op::Snapshot => snapshots.push((d.clone(), model.iter().map(|(_, r)| r.clone()).collect())),
                    _ => {}
                }
            }
            let listed: Vec<&Recipient> = d.iter().map(AsRef::as_ref).collect();
            let expected: Vec<&Recipient> = model.iter().map(|(_, r)| r).collect();
            prop_assert_eq!(listed, expected);
            prop_assert_eq!(d.len(), model.len());
            for n in 0..40 {
                for key in [format!("u{n}"), format!("r{n}"), format!("U{n}@ALT.contoso.com"), format!("oid-u{n}")] {
                    prop_assert_eq!(d.candidates(&key), scan(&d, &key), "key {}", key);
                }
                let member = format!("M{n}");
                let holders: Vec<RecipientId> = d
                    .entries()
                    .filter(|(_, r)| r.members.iter().any(|m| m.eq_ignore_ascii_case(&member)))
                    .map(|(id, _)| id)
                    .collect();
                prop_assert_eq!(d.holding(&member), holders);
                {
                }
            }
            for (snap, recipients) in &snapshots {
                let listed: Vec<&Recipient> = snap.iter().map(AsRef::as_ref).collect();
                prop_assert_eq!(listed, recipients.iter().collect::<Vec<_>>());
                // Every slot `changed` names differs, and every slot not named is equal.
                let changed = Directory::changed(snap, &d);
                for (b, a) in &changed {
                    prop_assert_ne!(b, a);
                }
                let (before_ids, after_ids) = (
                    snap.entries().filter(|(id, r)| d.get(*id).map(AsRef::as_ref) != Some(&***r)).count(),
                    d.entries().filter(|(id, r)| snap.get(*id).map(AsRef::as_ref) != Some(&***r)).count(),
                );
                prop_assert_eq!(changed.iter().filter(|(b, _)| b.is_some()).count(), before_ids);
                prop_assert_eq!(changed.iter().filter(|(_, a)| a.is_some()).count(), after_ids);
            }
        }
    }

    #[test]
    fn a_copy_shares_until_written_and_a_write_copies_one_chunk() {
        let d: Directory = (0..1000).map(|n| Arc::new(recipient(&format!("u{n}")))).collect();
        let mut copy = d.clone();
        assert!(copy.chunks.iter().zip(&d.chunks).all(|(a, b)| Arc::ptr_eq(a, b)));
        let id = copy.candidates("u700")[0];
        copy.get_mut(id).unwrap().members.push("x".to_owned());
        let shared = copy.chunks.iter().zip(&d.chunks).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert_eq!(shared, d.chunks.len() - 1, "only the written chunk is copied");
        assert!(copy.by_key.groups.ptr_eq(&d.by_key.groups), "no lookup key changed");
        let copied = copy.by_member.buckets().zip(d.by_member.buckets()).filter(|(a, b)| !Arc::ptr_eq(a, b));
        assert_eq!(copied.count(), 1, "one membership bucket changed");
        let groups = copy.by_member.groups.iter().zip(d.by_member.groups.iter());
        assert_eq!(groups.filter(|(a, b)| !a.ptr_eq(b)).count(), 1, "one group of buckets copied");
        assert_eq!(Directory::changed(&d, &copy).len(), 1);
        assert!(d.get(id).unwrap().members.is_empty(), "the original is untouched");
    }

    /// Candidates cover OPATH's Unicode case folding, not only ASCII's.
    #[test]
    fn candidates_fold_unicode_case() {
        let d: Directory =
            ["\u{212A}elvin", "Kelvin", "other"].iter().map(|n| Arc::new(recipient(n))).collect();
        assert_eq!(d.candidates("kelvin").len(), 2, "the Kelvin sign lower-cases to k");
        assert_eq!(d.candidates("KELVIN@contoso.com").len(), 2);
        assert_eq!(d.candidates("OTHER").len(), 1);
    }

    #[test]
    fn the_state_file_form_is_the_list_of_recipients() {
        let mut d: Directory = (0..3).map(|n| Arc::new(recipient(&format!("u{n}")))).collect();
        let first = d.candidates("u0")[0];
        d.remove(first);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(2));
        let back: Directory = serde_json::from_value(json).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.candidates("U2").len(), 1);
    }
}
