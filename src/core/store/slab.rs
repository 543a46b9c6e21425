//! Dossier storage in fixed-size chunks: growing never copies the dossiers already stored and
//! never leaves a doubled vector's worth of slack (a `Vec` at 1.2 million entries may hold room
//! for 2 million).

use std::ops::{Index, IndexMut};

const CHUNK_BITS: u32 = 14;
const CHUNK: usize = 1 << CHUNK_BITS;

/// An append-only vector in chunks of 16,384 entries.
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
}
