//! The dossier index: (agency, dossier id) → position in the dossier slab, as a hash table whose
//! memory layout is known, so that a lookup can be prefetched.
//!
//! A general-purpose table (hashbrown) hides where a key's slot lies; each lookup then costs
//! three cache misses in a row (control bytes, slot, dossier), none of which can be asked for
//! ahead of time. Here the table is two plain arrays, one tag byte (7 bits of the hash, top bit
//! set; 0 marks an empty slot) and one `u32` per slot, probed linearly from the hash's home slot:
//! [`Index::prefetch`] fetches the home lines, and [`Index::candidate`] names the dossier a lookup
//! will most likely compare against, for the caller to prefetch in turn. Same memory as
//! hashbrown (5 bytes a slot, at most 7/8 full). Entries are never removed one by one: when values
//! go, the table is built anew over those left ([`Index::rebuild`]).

use super::prefetch::prefetch;

const EMPTY: u8 = 0;

/// Hash table of `u32` values whose keys live elsewhere: the caller hashes and compares.
#[derive(Debug, Clone, Default)]
pub struct Index {
    tags: Vec<u8>,
    slots: Vec<u32>,
    len: usize,
}

fn tag(hash: u64) -> u8 {
    // The top bits: the low ones pick the home slot.
    (hash >> 57) as u8 | 0x80
}

impl Index {
    fn mask(&self) -> usize {
        self.tags.len().wrapping_sub(1)
    }

    /// The first value stored under `hash`'s tag, in probe order, that `accept` accepts.
    fn probe(&self, hash: u64, mut accept: impl FnMut(u32) -> bool) -> Option<u32> {
        let (mask, t) = (self.mask(), tag(hash));
        let mut p = hash as usize & mask;
        // The table is never full: every probe run ends at an empty slot.
        loop {
            match *self.tags.get(p)? {
                EMPTY => return None,
                x if x == t && accept(self.slots[p]) => return Some(self.slots[p]),
                _ => p = (p + 1) & mask,
            }
        }
    }

    /// Asks for the cache lines a lookup of `hash` starts with.
    pub fn prefetch(&self, hash: u64) {
        let p = hash as usize & self.mask();
        if let (Some(t), Some(s)) = (self.tags.get(p), self.slots.get(p)) {
            prefetch(t);
            prefetch(s);
        }
    }

    /// The first value a lookup of `hash` will compare against, if any.
    pub fn candidate(&self, hash: u64) -> Option<u32> {
        self.probe(hash, |_| true)
    }

    /// The value whose key `is_key` recognises, among those stored under `hash`.
    pub fn find(&self, hash: u64, is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        self.probe(hash, is_key)
    }

    /// Adds the next value (the values are 0, 1, 2, … in order of insertion: positions in the
    /// dossier slab) under `hash`, for a key not in the table, and returns it. `hash_of` gives
    /// the hash of any value already stored, for moving it when the table grows.
    pub fn insert(&mut self, hash: u64, hash_of: impl Fn(u32) -> u64) -> u32 {
        let value = u32::try_from(self.len).expect("over 4 billion values in an index");
        // At most 7/8 full: probe runs stay short.
        if (self.len + 1) * 8 > self.tags.len() * 7 {
            let cap = (self.tags.len() * 2).max(16);
            self.tags = vec![EMPTY; cap];
            self.slots = vec![0; cap];
            // In value order: the keys (dossiers) are then read front to back, not at random.
            for v in 0..value {
                self.place(hash_of(v), v);
            }
        }
        self.place(hash, value);
        self.len += 1;
        value
    }

    /// A table of the values `0..len`, `hash_of` giving each one's hash, sized for them: what
    /// inserting them in order would give, without the intermediate tables.
    pub fn rebuild(len: usize, hash_of: impl Fn(u32) -> u64) -> Index {
        let len32 = u32::try_from(len).expect("over 4 billion values in an index");
        // The smallest power of two at most 7/8 full once one more value is inserted.
        let cap = ((len + 1) * 8).div_ceil(7).next_power_of_two().max(16);
        let mut ix = Index {
            tags: vec![EMPTY; cap],
            slots: vec![0; cap],
            len,
        };
        for v in 0..len32 {
            ix.place(hash_of(v), v);
        }
        ix
    }

    fn place(&mut self, hash: u64, value: u32) {
        let mask = self.mask();
        let mut p = hash as usize & mask;
        while self.tags[p] != EMPTY {
            p = (p + 1) & mask;
        }
        self.tags[p] = tag(hash);
        self.slots[p] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_value_and_only_those() {
        // Keys are the values themselves; a poor hash makes long runs and tag collisions.
        let hash = |v: u32| u64::from(v % 1000).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut ix = Index::default();
        assert_eq!(ix.find(hash(1), |_| true), None);
        for v in 0..20_000u32 {
            assert_eq!(ix.find(hash(v), |w| w == v), None);
            assert_eq!(ix.insert(hash(v), hash), v);
        }
        for v in 0..20_000u32 {
            assert_eq!(ix.find(hash(v), |w| w == v), Some(v));
            assert!(ix.candidate(hash(v)).is_some());
        }
        assert_eq!(ix.find(hash(20_000), |w| w == 20_000), None);
        let mut rebuilt = Index::rebuild(5_000, hash);
        for v in 0..5_000u32 {
            assert_eq!(rebuilt.find(hash(v), |w| w == v), Some(v));
        }
        assert_eq!(rebuilt.find(hash(5_000), |w| w == 5_000), None);
        assert_eq!(rebuilt.insert(hash(5_000), hash), 5_000);
        assert_eq!(rebuilt.find(hash(5_000), |w| w == 5_000), Some(5_000));
        assert_eq!(Index::rebuild(0, hash).find(hash(0), |_| true), None);
    }
}
