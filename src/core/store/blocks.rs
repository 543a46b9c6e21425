//! Many short, growable arrays (the dossiers' logs) in shared chunks, without a heap allocation
//! per array.
//!
//! A dossier's log grows one entry per logged event and most logs hold one to three entries, so
//! a `Vec` each would either waste its spare capacity (over the memory budget) or, kept exactly
//! sized, be reallocated on every event: most of that cost is the allocator's bookkeeping, which
//! also reads and writes memory next to the block at random. Here an array lives in a block of a
//! fixed size class (exact up to [`EXACT`] entries, powers of two above) inside large chunks;
//! growing past its class moves it to a block of the next class and puts the old block on that
//! class's free list, where the next array to reach that size picks it up. Arrays longer than
//! [`MAX_BLOCK`] entries (a dossier flooded with ratings, say) move to a vector of their own.
//!
//! In a stream of dossiers at every stage of their lives, what one array frees another picks up.
//! When arrays grow in lockstep instead (every dossier received, then every one processed, …),
//! the blocks they outgrow are never asked for again; once free blocks hold more than the arrays
//! do, [`Blocks::compact`] copies every array into fresh chunks, which costs about what the
//! arrays hold, like a growing `Vec` does.

use super::prefetch::prefetch;

/// Classes up to this length are exact: a block of `n` entries for an array of `n`.
const EXACT: u32 = 8;
/// The largest block in the chunks; longer arrays get a vector of their own.
const MAX_BLOCK: u32 = 1 << 12;
const CHUNK_BITS: u32 = 16;
const CHUNK: u32 = 1 << CHUNK_BITS;
/// Exact classes 1..=EXACT, then 16, 32, … MAX_BLOCK.
const CLASSES: usize = (EXACT + MAX_BLOCK.trailing_zeros() - EXACT.trailing_zeros()) as usize;

const _: () = assert!(MAX_BLOCK <= CHUNK && EXACT.is_power_of_two());

/// Where one array is: its first entry (or, when longer than [`MAX_BLOCK`], its vector) and its
/// length. The default is the empty array, which holds no block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockRef {
    start: u32,
    len: u32,
}

impl BlockRef {
    pub fn len(self) -> usize {
        self.len as usize
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    fn is_big(self) -> bool {
        self.len > MAX_BLOCK
    }
}

/// The block size for an array of `len` entries, and its class.
fn class(len: u32) -> (u32, usize) {
    debug_assert!((1..=MAX_BLOCK).contains(&len));
    if len <= EXACT {
        (len, len as usize - 1)
    } else {
        let size = len.next_power_of_two();
        let class = EXACT as usize - 1 + (size.trailing_zeros() - EXACT.trailing_zeros()) as usize;
        (size, class)
    }
}

/// The arrays' storage. Every [`BlockRef`] is only valid with the store that made it.
#[derive(Debug)]
pub struct Blocks<T> {
    chunks: Vec<Box<[T]>>,
    /// Entries used in the last chunk.
    used: u32,
    /// Per class, the starts of blocks no array holds.
    free: [Vec<u32>; CLASSES],
    /// Arrays longer than [`MAX_BLOCK`], by `BlockRef::start`.
    big: Vec<Vec<T>>,
    /// Entries in the blocks arrays hold, and in the free blocks.
    held: usize,
    idle: usize,
}

impl<T: Copy + Default> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            chunks: Vec::new(),
            used: CHUNK,
            free: Default::default(),
            big: Vec::new(),
            held: 0,
            idle: 0,
        }
    }
}

impl<T: Copy + Default> Blocks<T> {
    pub fn get(&self, r: BlockRef) -> &[T] {
        if r.is_empty() {
            &[]
        } else if r.is_big() {
            &self.big[r.start as usize]
        } else {
            let (chunk, pos) = split(r.start);
            &self.chunks[chunk][pos..pos + r.len as usize]
        }
    }

    pub fn get_mut(&mut self, r: BlockRef) -> &mut [T] {
        if r.is_empty() {
            &mut []
        } else if r.is_big() {
            &mut self.big[r.start as usize]
        } else {
            let (chunk, pos) = split(r.start);
            &mut self.chunks[chunk][pos..pos + r.len as usize]
        }
    }

    /// Asks for the line holding the array's first entry (see [`super::prefetch`]).
    pub fn prefetch(&self, r: BlockRef) {
        if let Some(first) = self.get(r).first() {
            prefetch(first);
        }
    }

    /// Inserts `value` at `pos` (at most `r.len()`), moving the array to a larger block if needed.
    pub fn insert(&mut self, r: &mut BlockRef, pos: usize, value: T) {
        let len = r.len;
        assert!(pos <= len as usize, "insert past the end of a block array");
        if r.is_big() {
            self.big[r.start as usize].insert(pos, value);
            r.len += 1;
            return;
        }
        if len + 1 > MAX_BLOCK {
            let mut v = Vec::with_capacity(len as usize + 1);
            v.extend_from_slice(self.get(*r));
            v.insert(pos, value);
            self.release(*r);
            self.big.push(v);
            *r = BlockRef {
                start: u32::try_from(self.big.len() - 1).expect("over 4 billion long arrays"),
                len: len + 1,
            };
            return;
        }
        let (size, _) = class(len + 1);
        if len > 0 && class(len).0 == size {
            // Room in the block: shift the tail by one.
            let (chunk, at) = split(r.start);
            let block = &mut self.chunks[chunk][at..at + size as usize];
            block.copy_within(pos..len as usize, pos + 1);
            block[pos] = value;
            r.len += 1;
            return;
        }
        let start = self.allocate(len + 1);
        if len > 0 {
            self.move_grown(r.start, start, len as usize, pos, value);
            self.release(*r);
        } else {
            let (chunk, at) = split(start);
            self.chunks[chunk][at] = value;
        }
        *r = BlockRef {
            start,
            len: len + 1,
        };
    }

    /// Copies the `len` entries at `from` to the (larger, disjoint) block at `to`, with `value`
    /// inserted at `pos`.
    fn move_grown(&mut self, from: u32, to: u32, len: usize, pos: usize, value: T) {
        let ((fc, f), (tc, t)) = (split(from), split(to));
        if fc == tc {
            let chunk = &mut self.chunks[fc];
            chunk.copy_within(f..f + pos, t);
            chunk.copy_within(f + pos..f + len, t + pos + 1);
            chunk[t + pos] = value;
            return;
        }
        let (src, dst) = if fc < tc {
            let (a, b) = self.chunks.split_at_mut(tc);
            (&a[fc], &mut b[0])
        } else {
            let (a, b) = self.chunks.split_at_mut(fc);
            (&b[0], &mut a[tc])
        };
        let (src, dst) = (&src[f..f + len], &mut dst[t..t + len + 1]);
        dst[..pos].copy_from_slice(&src[..pos]);
        dst[pos] = value;
        dst[pos + 1..].copy_from_slice(&src[pos..]);
    }

    /// Whether free blocks hold more than the arrays do (and more than a chunk): time for
    /// [`Blocks::compact`].
    pub fn wasteful(&self) -> bool {
        self.idle > self.held && self.idle > CHUNK as usize
    }

    /// Copies every array (all of them: `refs` must name every array of this store) into
    /// fresh chunks without free blocks, and points `refs` at the copies.
    pub fn compact<'a>(&mut self, refs: impl Iterator<Item = &'a mut BlockRef>) {
        let mut fresh = Blocks::default();
        let mut big = std::mem::take(&mut self.big);
        for r in refs {
            if r.is_empty() {
                continue;
            }
            if r.is_big() {
                fresh.big.push(std::mem::take(&mut big[r.start as usize]));
                r.start = u32::try_from(fresh.big.len() - 1).expect("over 4 billion long arrays");
                continue;
            }
            let start = fresh.allocate(r.len);
            let (to_chunk, to) = split(start);
            fresh.chunks[to_chunk][to..to + r.len as usize].copy_from_slice(self.get(*r));
            r.start = start;
        }
        *self = fresh;
    }

    /// A block for an array of `len` entries: a free one of its class, or a new one.
    fn allocate(&mut self, len: u32) -> u32 {
        let (size, class) = class(len);
        self.held += size as usize;
        if let Some(start) = self.free[class].pop() {
            self.idle -= size as usize;
            return start;
        }
        if self.used + size > CHUNK {
            // The rest of the last chunk (less than one block) goes unused.
            assert!(
                self.chunks.len() < (1 << (32 - CHUNK_BITS)),
                "over 4 billion entries in block arrays"
            );
            self.chunks
                .push(vec![T::default(); CHUNK as usize].into_boxed_slice());
            self.used = 0;
        }
        let start = ((self.chunks.len() as u32 - 1) << CHUNK_BITS) | self.used;
        self.used += size;
        start
    }

    fn release(&mut self, r: BlockRef) {
        if !r.is_empty() && !r.is_big() {
            let (size, class) = class(r.len);
            self.free[class].push(r.start);
            self.held -= size as usize;
            self.idle += size as usize;
        }
    }
}

fn split(start: u32) -> (usize, usize) {
    (
        (start >> CHUNK_BITS) as usize,
        (start & (CHUNK - 1)) as usize,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_exact_then_powers_of_two() {
        assert_eq!(class(1), (1, 0));
        assert_eq!(class(8), (8, 7));
        assert_eq!(class(9), (16, 8));
        assert_eq!(class(16), (16, 8));
        assert_eq!(class(17), (32, 9));
        assert_eq!(class(MAX_BLOCK), (MAX_BLOCK, CLASSES - 1));
    }

    /// Many arrays grown by inserts at every position match plain vectors, including past
    /// [`MAX_BLOCK`], and blocks are reused.
    #[test]
    fn arrays_match_vectors() {
        let mut store = Blocks::<u64>::default();
        let mut refs = vec![BlockRef::default(); 50];
        let mut model: Vec<Vec<u64>> = vec![Vec::new(); 50];
        let mut x = 12345u64;
        for step in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Array 0 grows long; the others stay short and are refilled.
            let a = if step % 3 == 0 {
                0
            } else {
                (x >> 33) as usize % 50
            };
            let pos = (x >> 20) as usize % (model[a].len() + 1);
            store.insert(&mut refs[a], pos, step);
            model[a].insert(pos, step);
            if a != 0 && model[a].len() > 20 {
                // Abandon it for a fresh one: its block goes back to the free list.
                store.release(refs[a]);
                refs[a] = BlockRef::default();
                model[a].clear();
            }
        }
        assert!(model[0].len() as u32 > MAX_BLOCK);
        for (r, m) in refs.iter().zip(&model) {
            assert_eq!(store.get(*r), &m[..]);
        }
        // 49 short arrays of at most 32 entries, one long one: a single chunk.
        assert_eq!(store.chunks.len(), 1);
        // Compaction keeps every array, the long one included, and they still grow.
        store.compact(refs.iter_mut());
        for (r, m) in refs.iter_mut().zip(&mut model) {
            assert_eq!(store.get(*r), &m[..]);
            store.insert(r, 0, 7);
            m.insert(0, 7);
            assert_eq!(store.get(*r), &m[..]);
        }
    }

    /// Arrays growing in turn, as dossiers' logs do, fill several chunks: blocks move from one
    /// chunk to another, and freed blocks are reused.
    #[test]
    fn arrays_move_across_chunks() {
        let mut store = Blocks::<u32>::default();
        let n = 20_000;
        let mut refs = vec![BlockRef::default(); n];
        for round in 0..6u32 {
            for (i, r) in refs.iter_mut().enumerate() {
                // Front, back or middle, by turns.
                let pos = match (i as u32 + round) % 3 {
                    0 => 0,
                    1 => r.len(),
                    _ => r.len() / 2,
                };
                store.insert(r, pos, i as u32 * 10 + round);
            }
        }
        assert!(store.chunks.len() > 1);
        for (i, r) in refs.iter().enumerate() {
            let mut got = store.get(*r).to_vec();
            got.sort_unstable();
            let want: Vec<u32> = (0..6).map(|k| i as u32 * 10 + k).collect();
            assert_eq!(got, want, "array {i}");
        }
        // Grown in lockstep, the arrays never reuse the blocks they outgrew: 1 + 2 + … + 5
        // entries each lie idle, more than the 6 they hold.
        assert!(store.wasteful());
        let before = store.chunks.len();
        store.compact(refs.iter_mut());
        assert!(!store.wasteful() && store.idle == 0);
        assert_eq!(store.chunks.len(), (n * 6).div_ceil(CHUNK as usize));
        assert!(store.chunks.len() < before / 2);
        for (i, r) in refs.iter().enumerate() {
            let mut got = store.get(*r).to_vec();
            got.sort_unstable();
            let want: Vec<u32> = (0..6).map(|k| i as u32 * 10 + k).collect();
            assert_eq!(got, want, "array {i} after compaction");
        }
    }
}
