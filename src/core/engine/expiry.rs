//! Dropping the dossiers that can no longer count, so that an engine that runs for years holds
//! the dossiers of the periods it tracks, not every dossier it ever saw.
//!
//! A dossier received and ended (or rejected) before the start of the oldest period tracked
//! counts in none of the tracked periods, nor in any period tracked later (periods only move
//! forward with the clock), whatever events come later: an end or a rejection only ever moves
//! earlier ([`Dossier::settled_before`](crate::core::dossier::Dossier)). Such dossiers are
//! counted as they settle and removed in one pass once they are a quarter of those held (so
//! each pass costs about what the dossiers dropped cost to ingest). What stays of them is their
//! key, 6 bytes, so that a late event of theirs is recognised and ignored instead of starting
//! the dossier anew (as a pending dossier, or as a new one if the event is a `received`); their
//! event ids stay in duplicate detection.
//!
//! The oldest tracked period is read at the engine's clock, or at its floor
//! ([`Engine::set_clock_floor`]) while the clock is still at the start of time: a restore or a
//! catch-up, which evaluates nothing until its first [`Engine::advance_to`], drops as it goes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::periods::PeriodPolicy;
use super::{dossier_hash, masks_into, Engine};
use crate::core::counts::Mask;
use crate::core::store::idset::IdSet;
use crate::core::store::index::Index;
use crate::core::time::Timestamp;

/// A pass is worth it from this many droppable dossiers.
const MIN_PASS: usize = 4096;

/// What the engine keeps to drop dossiers (see the module docs).
#[derive(Debug)]
pub(super) struct Expiry {
    /// The engine will not be evaluated before this instant.
    pub(super) floor: Timestamp,
    /// Dossiers settled before this instant count in no tracked period, now or later;
    /// `Timestamp::MIN` while none can be dropped.
    pub(super) bound: Timestamp,
    /// Dossiers held that are settled before `bound`.
    pub(super) droppable: usize,
    /// The keys of the dossiers dropped; made with the first of them.
    dropped: Option<Box<IdSet>>,
    /// Fewest droppable dossiers worth a pass.
    min_pass: usize,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            floor: Timestamp::MIN,
            bound: Timestamp::MIN,
            droppable: 0,
            dropped: None,
            min_pass: MIN_PASS,
        }
    }
}

impl Expiry {
    /// Whether the dossier with this key was dropped (a 64-bit key: two distinct dossiers share
    /// one with odds of about 1 in 10^19 per pair, as event ids do in duplicate detection).
    pub(super) fn dropped(&self, key: u64) -> bool {
        self.dropped.as_ref().is_some_and(|d| d.contains(key))
    }
}

/// The instant before which a settled dossier counts in none of the periods `policy` tracks at
/// `t` or later: the start of the oldest one, once `t` has reached it.
fn bound_at(policy: &PeriodPolicy, t: Timestamp) -> Timestamp {
    if t == Timestamp::MIN {
        return Timestamp::MIN;
    }
    match policy.periods_at(t).iter().map(|p| p.start()).min() {
        Some(start) if start <= t => start,
        _ => Timestamp::MIN,
    }
}

impl Engine {
    /// Promises that this engine will not be evaluated before `floor`: a later
    /// [`Engine::advance_to`] to an earlier time goes to `floor` instead. While the clock is still
    /// at the start of time (a restore or a catch-up), dossiers that can count in no period
    /// tracked from `floor` on are then dropped as they settle, instead of when the clock moves.
    pub fn set_clock_floor(&mut self, floor: Timestamp) {
        self.expiry.floor = self.expiry.floor.max(floor);
        self.refresh_expiry_bound();
        self.expire_if_worth_it();
    }

    /// Dossiers dropped because they can no longer count.
    pub fn expired_count(&self) -> usize {
        self.expiry.dropped.as_ref().map_or(0, |d| d.len())
    }

    /// Drops settled dossiers in passes from `n` of them on (instead of 4,096), for tests: 1
    /// drops at every chance, `usize::MAX` only when the engine settles (leaving the start of
    /// time), which a reference engine created at its evaluation time never does.
    #[doc(hidden)]
    pub fn set_expiry_pass(&mut self, n: usize) {
        self.expiry.min_pass = n.max(1);
        self.expire_if_worth_it();
    }

    /// Moves the bound to the oldest period tracked at the clock (or its floor) and, when it
    /// moved, counts the dossiers now droppable: when the oldest tracked period changes (once a
    /// year with the default rolling periods).
    pub(super) fn refresh_expiry_bound(&mut self) {
        let at = self.now.max(self.expiry.floor);
        let bound = bound_at(&self.settings.periods, at);
        if bound == self.expiry.bound {
            return;
        }
        self.expiry.bound = bound;
        self.expiry.droppable = if bound == Timestamp::MIN {
            0
        } else {
            self.dossiers
                .iter()
                .filter(|d| d.settled_before(bound, &self.logs))
                .count()
        };
    }

    /// Drops the droppable dossiers if they are at least a quarter of those held. Never called
    /// while slab positions are held elsewhere (a batch's prefetch ring).
    pub(super) fn expire_if_worth_it(&mut self) {
        let n = self.expiry.droppable;
        if n >= self.expiry.min_pass && n * 4 >= self.dossiers.len() {
            self.expire();
        }
    }

    /// Removes every dossier settled before the bound, keeping their keys, and rebuilds what
    /// points into the dossier slab: the index, the logs, the deadline index; the open-dossier
    /// tracking starts over (its keys are slab positions).
    pub(super) fn expire(&mut self) {
        let bound = self.expiry.bound;
        if bound == Timestamp::MIN || self.expiry.droppable == 0 {
            return;
        }
        let dropped = self.expiry.dropped.get_or_insert_with(Default::default);
        let before = dropped.len();
        let mut moved_to = vec![u32::MAX; self.dossiers.len()];
        let mut kept = 0u32;
        let (periods, logs, now) = (&self.periods, &self.logs, self.now);
        let horizon = self.settings.due_soon_horizon.nanos();
        let mut masks = Vec::new();
        self.dossiers.retain(|i, d| {
            if d.settled_before(bound, logs) {
                if cfg!(debug_assertions) && now > Timestamp::MIN {
                    masks_into(periods, d, now, horizon, logs, &mut masks);
                    debug_assert!(
                        masks.iter().all(|m| *m == Mask::EMPTY),
                        "a dropped dossier counted in a tracked period"
                    );
                }
                dropped.insert(dossier_hash(d.agency, &d.id));
                false
            } else {
                moved_to[i] = kept;
                kept += 1;
                true
            }
        });
        debug_assert_eq!(dropped.len() - before, self.expiry.droppable);
        self.expiry.droppable = 0;
        // Only each dossier's live timer moves along: the others were stale.
        let timers: Vec<_> = std::mem::take(&mut self.timers)
            .into_iter()
            .filter_map(|Reverse((at, i))| {
                let j = moved_to[i as usize];
                (j != u32::MAX && self.dossiers[j as usize].scheduled == at)
                    .then_some(Reverse((at, j)))
            })
            .collect();
        drop(moved_to);
        self.timers = BinaryHeap::from(timers);
        self.index = Index::default();
        let dossiers = &self.dossiers;
        self.index = Index::rebuild(dossiers.len(), |v| {
            let d = &dossiers[v as usize];
            dossier_hash(d.agency, &d.id)
        });
        self.logs.compact(&mut self.dossiers);
        if let Some(t) = self.open_tracking.as_mut() {
            t.restart();
        }
    }
}
