//! A compact set of 64-bit event-id hashes, for duplicate detection.
//!
//! Every accepted `event_id` is remembered for as long as the engine lives, so this set is the
//! largest piece of state per dossier. A hash table of `u64` costs 10–20 bytes per id with its
//! load factor; here the top 16 bits of the hash pick one of 65,536 buckets and each bucket is a
//! sorted vector of the remaining 48 bits: 6 bytes per id plus a little growth slack, with a
//! binary search per lookup. Buckets stay small (about 100 ids at 7 million), so the insertion
//! shift is short.

const BUCKET_BITS: u32 = 16;

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

impl IdSet {
    /// Adds `h`; `false` if it was already there.
    pub fn insert(&mut self, h: u64) -> bool {
        let (b, rest) = split(h);
        let bucket = &mut self.buckets[b];
        match bucket.binary_search(&rest) {
            Ok(_) => false,
            Err(pos) => {
                if bucket.len() == bucket.capacity() {
                    // Grow by an eighth: little slack, amortised shifts stay cheap.
                    bucket.reserve_exact((bucket.len() / 8).max(4));
                }
                bucket.insert(pos, rest);
                self.len += 1;
                true
            }
        }
    }

    pub fn contains(&self, h: u64) -> bool {
        let (b, rest) = split(h);
        self.buckets[b].binary_search(&rest).is_ok()
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
}
