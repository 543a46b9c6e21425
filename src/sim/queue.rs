//! A monotone priority queue (radix heap) for the generator's waiting events.
//!
//! The generator never schedules an event before the last one it emitted, which is exactly what
//! a radix heap needs; it moves each item O(log range) times with sequential `Vec` operations,
//! several times faster than a binary heap of a few hundred thousand entries.

/// Keys are `(instant, push order)` packed in a `u128`, so ties keep push order.
pub(crate) struct RadixQueue {
    /// The last popped key: every key in the queue is at least this.
    last: u128,
    /// Bucket `i > 0` holds keys whose highest bit differing from `last` is bit `i − 1`;
    /// bucket 0 holds keys equal to `last`.
    buckets: Vec<Vec<(u128, u32)>>,
    /// The smallest item, cached so that peeking needs no `&mut`.
    min: Option<(u128, u32)>,
    len: usize,
}

fn bucket_of(key: u128, last: u128) -> usize {
    128 - (key ^ last).leading_zeros() as usize
}

impl RadixQueue {
    pub(crate) fn new() -> Self {
        RadixQueue {
            last: 0,
            buckets: (0..129).map(|_| Vec::new()).collect(),
            min: None,
            len: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds an item; `key` must not be below the last popped key.
    pub(crate) fn push(&mut self, key: u128, value: u32) {
        debug_assert!(key >= self.last, "radix queue keys must be monotone");
        let b = bucket_of(key, self.last);
        self.buckets[b].push((key, value));
        self.len += 1;
        if self.min.is_none_or(|(m, _)| key < m) {
            self.min = Some((key, value));
        }
    }

    /// The smallest item, without removing it.
    pub(crate) fn peek(&self) -> Option<(u128, u32)> {
        self.min
    }

    pub(crate) fn pop(&mut self) -> Option<(u128, u32)> {
        let (min, _) = self.min?;
        if self.buckets[0].is_empty() {
            // The minimum sits in the lowest non-empty bucket: re-bucket that one around it.
            let i = self.lowest_bucket().expect("a non-empty bucket");
            let mut moving = std::mem::take(&mut self.buckets[i]);
            self.last = min;
            for (k, v) in moving.drain(..) {
                self.buckets[bucket_of(k, min)].push((k, v));
            }
            // Give the emptied bucket its allocation back.
            self.buckets[i] = moving;
        }
        let item = self.buckets[0].pop().expect("the minimum is in bucket 0");
        debug_assert_eq!(item.0, min);
        self.len -= 1;
        self.min = self
            .lowest_bucket()
            .and_then(|i| self.buckets[i].iter().min_by_key(|(k, _)| *k).copied());
        Some(item)
    }

    fn lowest_bucket(&self) -> Option<usize> {
        self.buckets.iter().position(|b| !b.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_order_with_interleaved_pushes() {
        let mut q = RadixQueue::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut x: u64 = 12345;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut floor = 0u128;
        for round in 0..20_000u128 {
            for _ in 0..(next() % 3) {
                let k = (floor + (next() % 1_000_000) as u128) << 20 | round;
                q.push(k, round as u32);
                reference.insert(k);
            }
            if let Some((k, _)) = q.pop() {
                assert_eq!(Some(k), reference.pop_first());
                floor = k >> 20;
                assert_eq!(q.peek().map(|p| p.0), reference.first().copied());
            }
        }
        assert_eq!(q.len(), reference.len());
    }
}
