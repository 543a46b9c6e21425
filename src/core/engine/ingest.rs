//! Ingesting one event: the duplicate check, the dossier's log, and moving the dossier's
//! contribution in every tracked period whose evaluation time the event can change.

use super::{contributions, dossier_hash, Contribution, Engine, Hashes, Ingested};
use crate::core::agency::AgencyIdx;
use crate::core::dossier::Dossier;
use crate::core::event::{Event, EventKind};
use crate::core::time::Timestamp;

impl Engine {
    /// Applies one event. Duplicates (an `event_id` already accepted for the same agency) are
    /// ignored.
    pub fn ingest(&mut self, ev: &Event<'_>) -> Ingested {
        let ingested = self.ingest_hashed(ev, Hashes::of(ev));
        self.expire_if_worth_it();
        ingested
    }

    /// [`Engine::ingest`] with the event's hashes already computed.
    pub(super) fn ingest_hashed(&mut self, ev: &Event<'_>, hashes: Hashes) -> Ingested {
        if !self.seen.insert(hashes.id) {
            self.stats.duplicates += 1;
            return Ingested::Duplicate;
        }
        self.apply(ev, hashes.dossier);
        Ingested::Applied
    }

    /// Applies an event not seen before: everything [`Engine::ingest`] does but the duplicate
    /// check.
    pub(super) fn apply(&mut self, ev: &Event<'_>, dossier_hash: u64) {
        self.apply_with(ev, dossier_hash, true);
    }

    /// [`Engine::apply`]; without `evaluate`, only the dossier changes: its contribution to the
    /// counts and its place in the deadline index are left for [`Engine::settle`].
    pub(super) fn apply_with(&mut self, ev: &Event<'_>, dossier_hash: u64, evaluate: bool) {
        self.stats.applied += 1;
        self.stats.last_event_at = Some(
            self.stats
                .last_event_at
                .map_or(ev.occurred_at, |t| t.max(ev.occurred_at)),
        );
        if let EventKind::IndicatorReported(r) = &ev.kind {
            if let Some(&i) = self.reported.get(r.indicator.as_ref()) {
                self.reports.add(
                    ev.agency,
                    i,
                    r.period,
                    ev.occurred_at,
                    &ev.id,
                    (r.numerator, r.denominator),
                );
            }
            return;
        }
        let Some((idx, created)) = self.dossier_index(ev.agency, &ev.dossier, dossier_hash) else {
            // A dossier dropped for good: nothing it does can count any more.
            return;
        };
        if let Some(p) = ev.procedure.as_deref() {
            let d = &self.dossiers[idx as usize];
            if d.procedure().is_none() || matches!(ev.kind, EventKind::Received(_)) {
                let pid = self.intern_procedure(p);
                self.dossiers[idx as usize].set_procedure(pid);
            }
        }
        let at = ev.occurred_at;
        if !evaluate {
            self.apply_to_dossier(idx, ev);
            return;
        }
        // The view at `c` uses only events before `c`: evaluation times at or before this event
        // cannot change (the final periods, for an event of today), and are not evaluated. The
        // times are ascending, so those that can change are the last ones.
        let first = self.eval_times.partition_point(|&c| c <= at);
        let times = &self.eval_times[first..];
        let horizon = self.settings.due_soon_horizon.nanos();
        if created {
            self.old_parts.clear();
            self.old_parts.resize(times.len(), Contribution::EMPTY);
        } else {
            let d = &self.dossiers[idx as usize];
            contributions(d, times, self.now, horizon, &self.logs, &mut self.old_parts);
        }
        self.apply_to_dossier(idx, ev);
        let times = &self.eval_times[first..];
        let d = &self.dossiers[idx as usize];
        let view_now = contributions(d, times, self.now, horizon, &self.logs, &mut self.new_parts);
        let agency = d.agency.index();
        for (t, &k) in self.periods.iter_mut().zip(&self.period_eval) {
            let Some(k) = k.checked_sub(first) else {
                continue;
            };
            let (old, new) = (&self.old_parts[k], &self.new_parts[k]);
            if old != new {
                t.counts[agency].replace(old.mask(t.start), new.mask(t.start));
            }
        }
        self.schedule(idx, view_now);
        if let Some(t) = self.open_tracking.as_mut() {
            t.mark(idx);
        }
    }

    /// Records an event in its dossier, counting the dossier droppable if the event settles it
    /// (see [`super::expiry`]); compacts the dossiers' logs if their store has become mostly free
    /// blocks (dossiers growing in lockstep: see [`crate::core::store::blocks`]).
    #[inline]
    pub(super) fn apply_to_dossier(&mut self, idx: u32, ev: &Event<'_>) {
        let d = &mut self.dossiers[idx as usize];
        let (at, id, kind) = (ev.occurred_at, &ev.id, &ev.kind);
        let bound = self.expiry.bound;
        // Only a `received`, an end or a rejection can settle a dossier: the other events (most
        // of them) skip the two looks at its log.
        let may_settle = bound > Timestamp::MIN
            && matches!(
                kind,
                EventKind::Received(_)
                    | EventKind::Processed { .. }
                    | EventKind::Returned
                    | EventKind::Withdrawn
                    | EventKind::Rejected
            );
        let was_settled = may_settle && d.settled_before(bound, &self.logs);
        d.apply(at, id, kind, &self.calendar, &mut self.logs);
        if may_settle && !was_settled && d.settled_before(bound, &self.logs) {
            self.expiry.droppable += 1;
        }
        if self.logs.wasteful() {
            self.compact_logs();
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn compact_logs(&mut self) {
        self.logs.compact(&mut self.dossiers);
    }

    /// The dossier's position and whether it was just created; `None` for a dossier dropped for
    /// good ([`super::expiry`]).
    pub(super) fn dossier_index(
        &mut self,
        agency: AgencyIdx,
        id: &str,
        hash: u64,
    ) -> Option<(u32, bool)> {
        let dossiers = &self.dossiers;
        if let Some(i) = self.index.find(hash, |i| {
            let d = &dossiers[i as usize];
            d.agency == agency && d.id == id
        }) {
            return Some((i, false));
        }
        if self.expiry.dropped(hash) {
            return None;
        }
        self.dossiers.push(Dossier::new(agency, id));
        let dossiers = &self.dossiers;
        let i = self.index.insert(hash, |j| {
            let d = &dossiers[j as usize];
            dossier_hash(d.agency, &d.id)
        });
        debug_assert_eq!(i as usize + 1, self.dossiers.len());
        debug_assert!(i < (1 << 30), "procedure ids and flags share 32 bits");
        Some((i, true))
    }

    pub(super) fn intern_procedure(&mut self, p: &str) -> u32 {
        if let Some(&i) = self.procedure_ids.get(p) {
            return i;
        }
        let i = self.procedures.len() as u32;
        self.procedures.push(p.into());
        self.procedure_ids.insert(p.into(), i);
        i
    }
}
