//! Rebuilding an engine from events it accepted before (a state changelog), with duplicate
//! detection deferred to one bulk check at the end.

use super::{Engine, Hashes};
use crate::core::event::Event;
use crate::core::time::Timestamp;

/// A restore found event ids that repeat: the restored engine counted some events twice and is
/// gone; rebuild with [`Engine::ingest`], which drops the repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{repeats} restored events repeat an earlier event id; restore with checked ingestion")]
pub struct RestoreError {
    pub repeats: usize,
}

impl Engine {
    /// Starts rebuilding from events this engine accepted before (a state changelog), which repeat
    /// no event id: see [`Restore`]. Fastest with the engine's clock at `Timestamp::MIN` and one
    /// [`Engine::advance_to`] after [`Restore::finish`]: nothing is evaluated until then.
    pub fn restore(self) -> Restore {
        Restore {
            engine: self,
            hashes: Vec::new(),
        }
    }
}

/// An engine being rebuilt from events it accepted before, which therefore repeat no event id
/// (see [`Engine::restore`]).
///
/// Checking each id on arrival is most of what ingesting costs on a large engine; here the ids'
/// hashes are only listed, and [`Restore::finish`] sorts them once, builds the duplicate-detection
/// set in one pass and verifies the claim. The engine stays inside until then, so no live event
/// (which needs the check) can reach it by mistake, and a failed check hands back no engine.
pub struct Restore {
    engine: Engine,
    hashes: Vec<u64>,
}

impl Restore {
    /// Applies one event accepted before, without checking its id yet. Only the dossier
    /// changes: the counts and the deadline index are rebuilt once, at the end.
    pub fn ingest(&mut self, ev: &Event<'_>) {
        let h = Hashes::of(ev);
        self.hashes.push(h.id);
        self.engine.apply_with(ev, h.dossier, false);
        self.engine.expire_if_worth_it();
    }

    /// [`Restore::ingest`] on each event, prefetching ahead as [`Engine::ingest_batch`] does.
    pub fn ingest_batch(&mut self, events: &[Event<'_>]) {
        let hashes = &mut self.hashes;
        self.engine.pipelined(events, |engine, i, h| {
            hashes.push(h.id);
            engine.apply_with(&events[i], h.dossier, false);
        });
    }

    /// Verifies that no event id repeated (neither among the restored events nor with those the
    /// engine had before) and hands back the engine, ready for [`Engine::ingest`].
    ///
    /// An engine still at `Timestamp::MIN` sees nothing yet, so its (empty) counts are right as
    /// they are; its first [`Engine::advance_to`] settles it — counts every dossier and builds
    /// the deadline index, in one pass. One with a clock is settled here.
    pub fn finish(self) -> Result<Engine, RestoreError> {
        let Restore { mut engine, hashes } = self;
        engine
            .seen
            .extend_distinct(hashes)
            .map_err(|repeats| RestoreError { repeats })?;
        if engine.now > Timestamp::MIN {
            engine.settle(engine.now);
        }
        Ok(engine)
    }
}
