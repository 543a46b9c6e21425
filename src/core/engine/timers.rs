//! Time as an input: [`Engine::advance_to`] re-evaluates only the dossiers whose next change
//! instant has passed (the deadline index), and settling recounts everything in one pass when
//! every dossier changes anyway (leaving the start of time, finishing a restore).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::periods::Tracked;
use super::{contributions, masks_into, Engine};
use crate::core::dossier::View;
use crate::core::time::Timestamp;

impl Engine {
    /// Moves the evaluation time forward to `now` (a time in the past is ignored; one before the
    /// clock's floor goes to the floor: [`Engine::set_clock_floor`]).
    pub fn advance_to(&mut self, now: Timestamp) {
        let now = now.max(self.expiry.floor);
        if now <= self.now {
            return;
        }
        if self.now == Timestamp::MIN {
            // Leaving the start of time (after a restore or a catch-up): every dossier changes,
            // and the tracked periods are all new.
            self.settle(now);
            return;
        }
        let horizon = self.settings.due_soon_horizon.nanos();
        let mut fired = Vec::new();
        while let Some(&Reverse((at, idx))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let d = &mut self.dossiers[idx as usize];
            if d.scheduled == at {
                d.scheduled = Timestamp::MAX;
                fired.push(idx);
            }
        }
        // In slab order, so that many dossiers are read front to back, not at random.
        fired.sort_unstable();
        for &idx in &fired {
            let d = &self.dossiers[idx as usize];
            masks_into(
                &self.periods,
                d,
                self.now,
                horizon,
                &self.logs,
                &mut self.old_masks,
            );
            masks_into(
                &self.periods,
                d,
                now,
                horizon,
                &self.logs,
                &mut self.new_masks,
            );
            let agency = d.agency.index();
            for (i, t) in self.periods.iter_mut().enumerate() {
                t.counts[agency].replace(self.old_masks[i], self.new_masks[i]);
            }
        }
        self.now = now;
        for idx in fired {
            self.schedule(idx, None);
            if let Some(t) = self.open_tracking.as_mut() {
                t.mark(idx);
            }
        }
        self.roll_periods();
        self.refresh_eval_times();
        self.refresh_expiry_bound();
        self.expire_if_worth_it();
    }

    /// Recounts every tracked period from every dossier at `max(now, self.now)` and rebuilds the
    /// deadline index: the engine [`Engine::advance_to`] would give, in one pass over all
    /// dossiers (one view per dossier and distinct evaluation time, the index built at once
    /// instead of pushed to). For leaving the start of time or finishing a restore, where every
    /// dossier changes anyway; it also counts the restored dossiers, which are neither counted
    /// nor in the index before.
    pub(super) fn settle(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        if let Some(t) = self.open_tracking.as_mut() {
            t.mark_all();
        }
        let n = self.registry.len();
        self.periods = self
            .wanted_periods()
            .into_iter()
            .map(|period| Tracked::new(period, n))
            .collect();
        self.refresh_eval_times();
        // Everything is recounted: drop all the droppable dossiers first.
        self.refresh_expiry_bound();
        self.expire();
        let horizon = self.settings.due_soon_horizon.nanos();
        let mut parts = Vec::with_capacity(self.eval_times.len());
        let mut timers = Vec::with_capacity(self.dossiers.len());
        for idx in 0..self.dossiers.len() {
            let d = &self.dossiers[idx];
            let view_now = contributions(
                d,
                &self.eval_times,
                self.now,
                horizon,
                &self.logs,
                &mut parts,
            );
            let agency = d.agency.index();
            for (t, &k) in self.periods.iter_mut().zip(&self.period_eval) {
                t.counts[agency].add_mask(parts[k].mask(t.start));
            }
            let next = d.next_change(self.now, horizon, &self.logs, view_now);
            self.dossiers[idx].scheduled = next;
            if next < Timestamp::MAX {
                timers.push(Reverse((next, idx as u32)));
            }
        }
        self.timers = BinaryHeap::from(timers);
    }

    /// Puts a dossier's next change instant in the deadline index if it is earlier than the one
    /// already there (a later one is found when the earlier timer fires and changes nothing).
    pub(super) fn schedule(&mut self, idx: u32, view_now: Option<View>) {
        let d = &mut self.dossiers[idx as usize];
        let next = d.next_change(
            self.now,
            self.settings.due_soon_horizon.nanos(),
            &self.logs,
            view_now,
        );
        if next < d.scheduled {
            d.scheduled = next;
            self.timers.push(Reverse((next, idx)));
        }
    }
}
