//! [`SharedVec`]: a `Vec` that copies of a tenant state share until one of
//! them writes to it.
//!
//! Why: the emulator commits every write as a new tenant state. A list of
//! 1,000 `Arc`ed policies or apps costs 1,000 reference-count updates to
//! copy and as many to drop, on every write, whether or not the write
//! touched the list; behind one more `Arc`, it costs one, and only the write
//! that changes the list pays for copying it (issue 13, "Emulator at scale").

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A `Vec` behind an `Arc`, copied on first write ([`Arc::make_mut`]).
/// Reads go through `Deref` to the `Vec`; writes through `DerefMut`. The
/// state file holds the plain list.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SharedVec<T>(Arc<Vec<T>>);

impl<T> SharedVec<T> {
    /// An empty list.
    pub fn new() -> Self {
        Self(Arc::new(Vec::new()))
    }

    /// Do the two lists share their storage (so neither wrote since the copy)?
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for SharedVec<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T: Clone> DerefMut for SharedVec<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> From<Vec<T>> for SharedVec<T> {
    fn from(v: Vec<T>) -> Self {
        Self(Arc::new(v))
    }
}

impl<T> FromIterator<T> for SharedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(Arc::new(iter.into_iter().collect()))
    }
}

impl<'a, T> IntoIterator for &'a SharedVec<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut SharedVec<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        Arc::make_mut(&mut self.0).iter_mut()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SharedVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_shares_until_it_writes_and_the_original_never_sees_the_write() {
        let a: SharedVec<u32> = vec![1, 2, 3].into();
        let mut b = a.clone();
        assert!(a.ptr_eq(&b));
        assert_eq!(b.iter().sum::<u32>(), 6, "reads do not copy");
        assert!(a.ptr_eq(&b));
        b.push(4);
        assert!(!a.ptr_eq(&b));
        assert_eq!(*a, [1, 2, 3]);
        assert_eq!(*b, [1, 2, 3, 4]);
        assert_eq!(serde_json::to_string(&b).unwrap(), "[1,2,3,4]");
        let back: SharedVec<u32> = serde_json::from_str("[1,2,3,4]").unwrap();
        assert_eq!(back, b);
    }
}
