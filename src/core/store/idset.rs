//! A compact set of 64-bit event-id hashes, for duplicate detection.
//!
//! Every accepted `event_id` is remembered for as long as the engine lives, so this set is the
//! largest piece of state per dossier. A hash table of `u64` costs 10–20 bytes per id with its
//! load factor; here the top 16 bits of the hash pick one of 65,536 buckets and each bucket is a
//! sorted vector of the remaining 48 bits: 6 bytes per id plus a little growth slack, with a
//! binary search per lookup. Buckets stay small (about 100 ids at 7 million), so the insertion
//! shift is short.
//!
//! A lookup misses the cache twice (the bucket's header, then its ids): callers that know the
//! next hashes in advance hide those misses with [`IdSet::prefetch_header`] and
//! [`IdSet::prefetch_ids`]. A set rebuilt from ids known to be distinct (a restore) is built in
//! one pass with [`IdSet::from_distinct`], which sorts once and still verifies the claim.

use super::prefetch::prefetch;

const BUCKET_BITS: u32 = 16;
/// Ids per 64-byte cache line, rounded down, so that prefetching every this many ids touches
/// every line of a bucket.
const IDS_PER_LINE: usize = 64 / 6;

/// Set of 64-bit hashes; the full 64 bits take part in equality.
#[derive(Debug, Clone)]
pub struct IdSet {
    buckets: Vec<Vec<[u16; 3]>>,
    len: usize,
}

impl Default for IdSet {
    fn default() -> Self {
        IdSet {
            buckets: vec![Vec::new(); 1 << BUCKET_BITS],
            len: 0,
        }
    }
}

fn split(h: u64) -> (usize, [u16; 3]) {
    // Most significant part first, so that array order is numeric order.
    (
        (h >> 48) as usize,
        [(h >> 32) as u16, (h >> 16) as u16, h as u16],
    )
}

/// The 48 bits as one number, in the same order as the arrays compare.
fn key(r: &[u16; 3]) -> u64 {
    (r[0] as u64) << 32 | (r[1] as u64) << 16 | r[2] as u64
}

/// `slice::binary_search` on a sorted bucket, comparing whole numbers instead of arrays and
/// without an early exit, so that each step is a compare and a conditional move.
fn search(bucket: &[[u16; 3]], rest: [u16; 3]) -> Result<usize, usize> {
    let k = key(&rest);
    let (mut lo, mut size) = (0, bucket.len());
    while size > 1 {
        let half = size / 2;
        if key(&bucket[lo + half]) <= k {
            lo += half;
        }
        size -= half;
    }
    match bucket.get(lo).map(key) {
        Some(x) if x == k => Ok(lo),
        Some(x) if x < k => Err(lo + 1),
        _ => Err(lo),
    }
}

impl IdSet {
    /// Adds `h`; `false` if it was already there.
    pub fn insert(&mut self, h: u64) -> bool {
        let (b, rest) = split(h);
        let bucket = &mut self.buckets[b];
        match search(bucket, rest) {
            Ok(_) => false,
            Err(pos) => {
                if bucket.len() == bucket.capacity() {
                    // Grow by a quarter, at least 8: about six reallocations for a bucket's
                    // first 50 ids (the size at 3 million), for a slack of about an eighth of
                    // the ids on average (2 bytes per dossier more than growing by an eighth).
                    bucket.reserve_exact((bucket.len() / 4).max(8));
                }
                bucket.insert(pos, rest);
                self.len += 1;
                true
            }
        }
    }

    /// First step of a lookup ahead of time: the header of `h`'s bucket.
    pub fn prefetch_header(&self, h: u64) {
        prefetch(&self.buckets[split(h).0]);
    }

    /// Second step, once the header is in cache: every line of the bucket's ids (a binary search
    /// visits most of them, and the insertion shifts the upper half).
    pub fn prefetch_ids(&self, h: u64) {
        let bucket = &self.buckets[split(h).0];
        for id in bucket.iter().step_by(IDS_PER_LINE) {
            prefetch(id);
        }
        if let Some(last) = bucket.last() {
            prefetch(last);
        }
    }

    /// The set of `hashes`, which are supposed to be distinct. If some are not, the number of
    /// values that were already there (as [`IdSet::insert`] would have answered `false`).
    pub fn from_distinct(mut hashes: Vec<u64>) -> Result<IdSet, usize> {
        hashes.sort_unstable();
        let repeats = hashes.windows(2).filter(|w| w[0] == w[1]).count();
        if repeats > 0 {
            return Err(repeats);
        }
        let mut set = IdSet::default();
        for run in hashes.chunk_by(|a, b| split(*a).0 == split(*b).0) {
            // Exactly as long as needed: the growth slack comes with the next insert, if any.
            set.buckets[split(run[0]).0] = run.iter().map(|&h| split(h).1).collect();
        }
        set.len = hashes.len();
        Ok(set)
    }

    /// Adds `hashes`, supposed distinct from each other and from the set. If some are not, the
    /// number of repeats, and the set is left as it was.
    pub fn extend_distinct(&mut self, hashes: Vec<u64>) -> Result<(), usize> {
        if self.is_empty() {
            *self = IdSet::from_distinct(hashes)?;
            return Ok(());
        }
        let mut fresh = IdSet::from_distinct(hashes)?;
        let repeats = fresh
            .buckets
            .iter()
            .enumerate()
            .map(|(b, ids)| {
                let old = &self.buckets[b];
                ids.iter().filter(|r| search(old, **r).is_ok()).count()
            })
            .sum::<usize>();
        if repeats > 0 {
            return Err(repeats);
        }
        for (old, new) in self.buckets.iter_mut().zip(&mut fresh.buckets) {
            if !new.is_empty() {
                old.append(new);
                old.sort_unstable();
            }
        }
        self.len += fresh.len;
        Ok(())
    }

    pub fn contains(&self, h: u64) -> bool {
        let (b, rest) = split(h);
        search(&self.buckets[b], rest).is_ok()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_full_64_bit_values() {
        let mut s = IdSet::default();
        assert!(s.insert(1));
        assert!(!s.insert(1));
        assert!(s.insert(1 << 48)); // same low bits, other bucket
        assert!(s.insert(1 << 32)); // same bucket, other value
        assert!(s.insert(u64::MAX));
        assert!(s.contains(1 << 32) && !s.contains(2));
        assert_eq!(s.len(), 4);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..10_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.insert(x);
        }
        assert_eq!(s.len(), 10_004);
    }

    fn hashes(n: usize, mut x: u64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                x
            })
            .collect()
    }

    #[test]
    fn bulk_build_equals_inserts_and_catches_repeats() {
        let hs = hashes(50_000, 7);
        let bulk = IdSet::from_distinct(hs.clone()).unwrap();
        let mut one_by_one = IdSet::default();
        for &h in &hs {
            assert!(one_by_one.insert(h));
        }
        assert_eq!(bulk.buckets, one_by_one.buckets);
        assert_eq!(bulk.len(), hs.len());
        assert!(hs
            .iter()
            .all(|&h| !one_by_one.insert(h) && bulk.contains(h)));
        assert!(hashes(1000, 8).iter().all(|&h| !bulk.contains(h)));
        let mut twice = hs.clone();
        twice.extend_from_slice(&hs[..3]);
        assert_eq!(IdSet::from_distinct(twice).unwrap_err(), 3);

        let mut grown = IdSet::from_distinct(hs[..20_000].to_vec()).unwrap();
        assert_eq!(grown.extend_distinct(hs[19_990..].to_vec()), Err(10));
        assert_eq!(grown.len(), 20_000);
        grown.extend_distinct(hs[20_000..].to_vec()).unwrap();
        assert_eq!(grown.buckets, one_by_one.buckets);
        assert_eq!(grown.len(), hs.len());
    }
}
