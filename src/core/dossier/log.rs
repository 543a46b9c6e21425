//! The compact log of a dossier's events where several can matter (`received` corrections,
//! supplement requests and receipts, ratings), sorted by instant, in one store per engine.

use crate::core::store::blocks::Blocks;
use crate::core::store::slab::Slab;
use crate::core::time::Timestamp;

use super::Dossier;

pub(super) const NONE: Timestamp = Timestamp::MAX;

/// Kinds of logged entries; the order breaks ties at one instant (a receipt closes a request
/// made at the same instant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(super) enum EntryKind {
    #[default]
    Received,
    SupplementRequested,
    SupplementReceived,
    Rated,
    // Rare kinds where only the earliest matters: logged rather than given a field each.
    Overdue,
    Rejected,
    Apology,
}

// Flags of a `received` entry.
pub(super) const ONLINE: u8 = 1;
pub(super) const NATIONAL_PORTAL: u8 = 2;
pub(super) const FEE: u8 = 4;
pub(super) const DIGITIZED: u8 = 8;
pub(super) const REUSED: u8 = 16;
pub(super) const STORAGE: u8 = 32;
// Flag of a `supplement_received` entry that carries a new due time.
pub(super) const HAS_DUE: u8 = 1;
// Flags of the end, kept in the top bits of `Dossier::procedure`.
pub(super) const END_COMPLETED: u32 = 1 << 30;
pub(super) const END_ELECTRONIC: u32 = 1 << 31;
pub(super) const END_FLAGS: u32 = END_COMPLETED | END_ELECTRONIC;
/// "No procedure" in the low 30 bits of `Dossier::procedure`.
pub(crate) const NO_PROCEDURE: u32 = !END_FLAGS;

/// Event ids kept for tie-breaking, packed end to end in 1 MiB chunks (no per-id allocation).
#[derive(Debug, Clone, Default)]
pub struct Ties {
    pub(super) chunks: Vec<Vec<u8>>,
}

pub(super) const TIE_CHUNK_BITS: u32 = 20;
pub(super) const TIE_CHUNK: usize = 1 << TIE_CHUNK_BITS;

impl Ties {
    pub(super) fn push(&mut self, id: &str) -> (u32, u16) {
        self.push_bytes(id.as_bytes())
    }

    fn push_bytes(&mut self, id: &[u8]) -> (u32, u16) {
        debug_assert!(!id.is_empty() && id.len() <= u16::MAX as usize);
        if self
            .chunks
            .last()
            .is_none_or(|c| c.len() + id.len() > TIE_CHUNK)
        {
            self.chunks.push(Vec::with_capacity(TIE_CHUNK));
        }
        let chunk = self.chunks.len() - 1;
        let buf = &mut self.chunks[chunk];
        let pos = buf.len();
        buf.extend_from_slice(id);
        let offset = u32::try_from(chunk << TIE_CHUNK_BITS | pos)
            .expect("over 4 GiB of event ids in one engine");
        (offset, id.len() as u16)
    }

    pub(super) fn get(&self, offset: u32, len: u16) -> &[u8] {
        let (chunk, pos) = (
            (offset >> TIE_CHUNK_BITS) as usize,
            (offset as usize) & (TIE_CHUNK - 1),
        );
        &self.chunks[chunk][pos..pos + len as usize]
    }
}

/// 24 bytes: most dossiers log one or two of these.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Entry {
    pub(super) at: Timestamp,
    /// `received`: its due time; `supplement_received`: its `due_at` (if `HAS_DUE`).
    pub(super) due: Timestamp,
    /// Where the event id is kept in [`Ties`], for kinds where "latest wins, ties to the greater
    /// `event_id`"; `tie_len == 0` for the others (an id is never empty).
    pub(super) tie: u32,
    pub(super) tie_len: u16,
    pub(super) kind: EntryKind,
    pub(super) flags: u8,
}

impl Entry {
    /// Whether `self` is later than `other` by (`occurred_at`, `event_id`).
    pub(super) fn later_than(&self, other: &Entry, ties: &Ties) -> bool {
        match self.at.cmp(&other.at) {
            std::cmp::Ordering::Equal => {
                ties.get(self.tie, self.tie_len) > ties.get(other.tie, other.tie_len)
            }
            o => o.is_gt(),
        }
    }
}

/// Every dossier's log, and the event ids their entries keep for tie-breaks: one store per
/// engine, so that a log growing by one entry costs no heap allocation (see
/// [`crate::core::store::blocks`]).
#[derive(Debug, Default)]
pub struct Logs {
    pub(super) entries: Blocks<Entry>,
    pub(super) ties: Ties,
}

impl Logs {
    /// Whether the store's free blocks outweigh the logs (see [`crate::core::store::blocks`]).
    pub(crate) fn wasteful(&self) -> bool {
        self.entries.wasteful()
    }

    /// Copies every log, and the event ids its entries keep, into fresh chunks; `dossiers` must
    /// be every dossier of this store (the logs of dossiers removed before are then freed).
    pub(crate) fn compact(&mut self, dossiers: &mut Slab<Dossier>) {
        self.entries
            .compact(dossiers.iter_mut().map(|d| &mut d.log));
        let old = std::mem::take(&mut self.ties);
        for d in dossiers.iter_mut() {
            for e in self.entries.get_mut(d.log) {
                if e.tie_len > 0 {
                    (e.tie, _) = self.ties.push_bytes(old.get(e.tie, e.tie_len));
                }
            }
        }
    }
}
