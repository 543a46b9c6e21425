//! The snapshot sources' step before the accept path: a record of a feed (portal sync records,
//! Debezium change records) → its snapshots ([`crate::wire::feed::decode`]) → the lifecycle
//! events they mean ([`crate::core::feed::derive`]), with what is kept of each dossier.
//!
//! The events then take the one accept path like any others: a derived event is a canonical
//! event, and a derived event sent twice is a duplicate there.

use std::sync::Arc;

use crate::core::feed::{derive, Derived, Memory, SnapshotError};
use crate::core::{Event, Registry};
use crate::wire::feed::{decode, FeedReject, Mapping, REJECT_CODES};

/// A feed's dossiers as far as they have been read, and its mapping.
pub struct Normalizer {
    mapping: Mapping,
    registry: Arc<Registry>,
    max_bytes: usize,
    /// foldhash: looked up on every snapshot.
    memories: foldhash::HashMap<Box<str>, Memory>,
}

/// Running counts of what a feed's records became.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedTally {
    pub records: u64,
    /// Dossier snapshots read and applied (maybe deriving nothing).
    pub applied: u64,
    /// Snapshots older than the dossier's last one: nothing derived.
    pub stale: u64,
    pub deleted: u64,
    /// Events derived.
    pub derived: u64,
    /// Rejects (of a record or of one dossier entry), indexed like [`REJECT_CODES`].
    pub rejected: [u64; REJECT_CODES.len()],
}

impl FeedTally {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// (code, count) of every reason with at least one reject, in [`REJECT_CODES`] order.
    pub fn rejects(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        REJECT_CODES
            .iter()
            .zip(self.rejected)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (*c, n))
    }

    fn reject(&mut self, r: &FeedReject) {
        let i = REJECT_CODES
            .iter()
            .position(|c| *c == r.code)
            .expect("every feed reject code is listed");
        self.rejected[i] += 1;
    }
}

fn snapshot_reject(e: SnapshotError) -> FeedReject {
    let code = match e {
        SnapshotError::NoDueTime => "no_due_time",
        SnapshotError::NoAgency => "missing_field",
    };
    FeedReject {
        code,
        detail: e.to_string(),
    }
}

impl Normalizer {
    pub fn new(mapping: Mapping, registry: Arc<Registry>, max_bytes: usize) -> Self {
        Normalizer {
            mapping,
            registry,
            max_bytes,
            memories: foldhash::HashMap::default(),
        }
    }

    /// Dossiers kept.
    pub fn dossiers(&self) -> usize {
        self.memories.len()
    }

    /// Reads one record, appends the events it derives to `out`, counts it in `tally` and
    /// hands each reject to `rejected` (a record can report several dossiers, each of which
    /// can be refused alone).
    pub fn record(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<Event<'static>>,
        tally: &mut FeedTally,
        mut rejected: impl FnMut(&FeedReject),
    ) {
        tally.records += 1;
        let snaps = match decode(bytes, &self.mapping, &self.registry, self.max_bytes) {
            Ok(snaps) => snaps,
            Err(r) => {
                tally.reject(&r);
                return rejected(&r);
            }
        };
        for snap in snaps {
            let before = out.len();
            let outcome = snap.and_then(|s| {
                let mut memory = self.memories.get(s.dossier.as_ref()).copied();
                let derived = derive(&mut memory, &s, out).map_err(snapshot_reject)?;
                if let Some(m) = memory {
                    match self.memories.get_mut(s.dossier.as_ref()) {
                        Some(slot) => *slot = m,
                        None => {
                            self.memories.insert(s.dossier.as_ref().into(), m);
                        }
                    }
                }
                Ok(derived)
            });
            match outcome {
                Ok(Derived::Stale) => tally.stale += 1,
                Ok(Derived::Deleted) => tally.deleted += 1,
                Ok(Derived::Applied(_)) => tally.applied += 1,
                Err(r) => {
                    tally.reject(&r);
                    rejected(&r);
                }
            }
            tally.derived += (out.len() - before) as u64;
        }
    }
}
