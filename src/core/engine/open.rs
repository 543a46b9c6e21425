//! The open dossiers of an engine, for the operator lists, kept up to date incrementally.
//!
//! A dossier's open state at `now` (open or not, late, paused, due soon, its due time) changes
//! only when an event reaches it or when one of its timers fires in [`Engine::advance_to`]: the
//! same two places that move its contribution to the counts. Both mark the dossier, and
//! [`Engine::drain_open_changes`] reports the marked dossiers' state at `now` — the cost follows
//! what changed, never the number of dossiers held. Settling (leaving the start of time, a
//! finished restore) changes every dossier at once and is reported as a reset followed by every
//! open dossier.

use super::Engine;
use crate::core::agency::AgencyIdx;
use crate::core::dossier::{LateRule, View};
use crate::core::time::Timestamp;

/// An open dossier as the operator lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDossier<'a> {
    pub id: &'a str,
    pub agency: AgencyIdx,
    pub procedure: Option<&'a str>,
    pub received_at: Timestamp,
    pub due: Timestamp,
    /// Late already (overdue, including paused dossiers late by rule 4).
    pub late: bool,
    /// The first on-time rule that makes it late; `None` when on time.
    pub late_rule: Option<LateRule>,
    /// Since when it is late (`Timestamp::MAX` when on time): never after `now`.
    pub late_since: Timestamp,
    /// Waiting for the applicant's papers.
    pub paused: bool,
    pub due_soon: bool,
    pub via_national_portal: bool,
    /// Its latest rating is "dissatisfied".
    pub dissatisfied: bool,
    /// An apology letter was issued.
    pub apology: bool,
}

/// One change of the open-dossier set since the last [`Engine::drain_open_changes`]. `key` is
/// the dossier's stable position in the engine (the same dossier always has the same key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenChange<'a> {
    /// Forget every dossier reported before: the open ones follow.
    Reset,
    /// This dossier is open at `now`, in this state (it may have been reported unchanged).
    Open { key: u32, dossier: OpenDossier<'a> },
    /// This dossier is not open at `now` (ended, rejected, or never received).
    Closed { key: u32 },
}

/// The dossiers marked since the last drain.
#[derive(Debug, Default)]
pub(super) struct OpenTracking {
    dirty: Vec<u32>,
    /// One bit per dossier: already in `dirty`.
    marked: Vec<u64>,
    /// Every dossier changed (settled): report a reset and the whole set.
    all: bool,
}

impl OpenTracking {
    #[inline]
    pub(super) fn mark(&mut self, idx: u32) {
        let (word, bit) = (idx as usize / 64, idx % 64);
        if word >= self.marked.len() {
            self.marked.resize(word + 1, 0);
        }
        if self.marked[word] & (1 << bit) == 0 {
            self.marked[word] |= 1 << bit;
            self.dirty.push(idx);
        }
    }

    pub(super) fn mark_all(&mut self) {
        self.all = true;
    }

    /// The dossiers' positions changed: forget the marks, report everything again.
    pub(super) fn restart(&mut self) {
        self.dirty.clear();
        self.marked.clear();
        self.all = true;
    }
}

impl Engine {
    /// Starts keeping track of the open dossiers; the first drain reports all of them.
    pub fn track_open_dossiers(&mut self) {
        let mut t = OpenTracking::default();
        t.mark_all();
        self.open_tracking = Some(t);
    }

    pub fn tracks_open_dossiers(&self) -> bool {
        self.open_tracking.is_some()
    }

    /// Reports what changed in the open-dossier set since the last call (everything on the
    /// first call after [`Engine::track_open_dossiers`]); nothing if tracking is off.
    pub fn drain_open_changes(&mut self, mut each: impl FnMut(OpenChange<'_>)) {
        let Some(t) = self.open_tracking.as_mut() else {
            return;
        };
        let all = std::mem::take(&mut t.all);
        let mut dirty = std::mem::take(&mut t.dirty);
        for &idx in &dirty {
            t.marked[idx as usize / 64] = 0;
        }
        if all {
            each(OpenChange::Reset);
            for key in 0..self.dossiers.len() as u32 {
                if let Some(dossier) = self.open_at_now(key) {
                    each(OpenChange::Open { key, dossier });
                }
            }
        } else {
            // In slab order: many dossiers are then read front to back, not at random.
            dirty.sort_unstable();
            for &key in &dirty {
                match self.open_at_now(key) {
                    Some(dossier) => each(OpenChange::Open { key, dossier }),
                    None => each(OpenChange::Closed { key }),
                }
            }
        }
        dirty.clear();
        if let Some(t) = self.open_tracking.as_mut() {
            t.dirty = dirty;
        }
    }

    /// Dossiers waiting to be reported by [`Engine::drain_open_changes`].
    pub fn open_changes_pending(&self) -> usize {
        self.open_tracking.as_ref().map_or(0, |t| {
            if t.all {
                self.dossiers.len()
            } else {
                t.dirty.len()
            }
        })
    }

    /// The dossier at `key` as an operator list shows it, if it is open at `now`.
    fn open_at_now(&self, key: u32) -> Option<OpenDossier<'_>> {
        let d = &self.dossiers[key as usize];
        match d.view(self.now, self.settings.due_soon_horizon.nanos(), &self.logs) {
            View::Known(s) if s.is_open() && !s.rejected => Some(OpenDossier {
                id: d.id(),
                agency: d.agency,
                procedure: self.procedure_of(d),
                received_at: s.received_at,
                due: s.due,
                late: s.late,
                late_rule: s.late_rule,
                late_since: s.late_since,
                paused: s.paused,
                due_soon: s.due_soon,
                via_national_portal: s.via_national_portal(),
                dissatisfied: s.dissatisfied,
                apology: s.apology,
            }),
            _ => None,
        }
    }
}
