//! Dossier storage in fixed-size chunks: growing never copies the dossiers already stored and
//! never leaves a doubled vector's worth of slack (a `Vec` at 1.2 million entries may hold room
//! for 2 million). Entries are removed only in bulk, by [`Slab::retain`], which keeps the order.

use std::ops::{Index, IndexMut};

const CHUNK_BITS: u32 = 14;
const CHUNK: usize = 1 << CHUNK_BITS;

/// A vector in chunks of 16,384 entries, appended to one at a time and thinned in bulk.
#[derive(Debug, Clone)]
pub struct Slab<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub fn push(&mut self, value: T) -> usize {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks
            .last_mut()
            .expect("a chunk was just ensured")
            .push(value);
        self.len += 1;
        self.len - 1
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the entries `keep` accepts (given each entry's position), in order, moving them to
    /// the front; the chunks left empty are freed.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, &T) -> bool) {
        let mut kept = 0;
        for i in 0..self.len {
            if !keep(i, &self[i]) {
                continue;
            }
            if kept != i {
                let (to, from) = (
                    (kept >> CHUNK_BITS, kept & (CHUNK - 1)),
                    (i >> CHUNK_BITS, i & (CHUNK - 1)),
                );
                if to.0 == from.0 {
                    self.chunks[to.0].swap(to.1, from.1);
                } else {
                    // `kept < i`: the destination's chunk comes first.
                    let (front, back) = self.chunks.split_at_mut(from.0);
                    std::mem::swap(&mut front[to.0][to.1], &mut back[0][from.1]);
                }
            }
            kept += 1;
        }
        self.len = kept;
        let chunks = kept.div_ceil(CHUNK);
        self.chunks.truncate(chunks);
        if let Some(last) = self.chunks.last_mut() {
            last.truncate(kept - (chunks - 1) * CHUNK);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }
}

impl<T> Index<usize> for Slab<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

impl<T> IndexMut<usize> for Slab<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks() {
        let mut s = Slab::default();
        for i in 0..(CHUNK * 2 + 3) {
            assert_eq!(s.push(i), i);
        }
        assert_eq!(s[CHUNK + 7], CHUNK + 7);
        s[5] = 99;
        assert_eq!(s.iter().nth(5), Some(&99));
        assert_eq!(s.len(), CHUNK * 2 + 3);
    }

    #[test]
    fn retain_keeps_order_and_frees_chunks() {
        let mut s = Slab::default();
        for i in 0..(CHUNK * 3 + 5) {
            s.push(i.to_string());
        }
        s.retain(|i, v| {
            assert_eq!(v, &i.to_string());
            i % 3 == 0
        });
        let want: Vec<String> = (0..(CHUNK * 3 + 5))
            .step_by(3)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(s.iter().cloned().collect::<Vec<_>>(), want);
        assert_eq!(s.len(), want.len());
        assert_eq!(s.chunks.len(), want.len().div_ceil(CHUNK));
        // Appending goes on after the kept entries.
        assert_eq!(s.push("x".into()), want.len());
        assert_eq!(s[want.len()], "x");
        s.retain(|_, _| false);
        assert!(s.is_empty() && s.chunks.is_empty());
        assert_eq!(s.push("y".into()), 0);
    }
}
