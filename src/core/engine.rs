//! The engine: events in, results out, time as an input.
//!
//! - [`Engine::ingest`] drops duplicates (an `event_id` seen before in the same agency), updates
//!   one dossier and moves that dossier's contribution in every tracked period (retract the old
//!   mask, add the new one).
//! - [`Engine::advance_to`] moves the evaluation time. Open dossiers change with time alone
//!   (rule 5: late at the due time; due soon at the horizon; events stamped in the future become
//!   visible), so every dossier sits in a deadline index at its next such instant and only the
//!   dossiers whose instant has passed are re-evaluated.
//! - [`Engine::results`] pools the counts through the agency tree and scores them.
//! - [`Engine::restore`] rebuilds an engine from events it accepted before (a state changelog)
//!   with duplicate detection deferred to one bulk check at the end ([`Restore`]).
//!
//! Invariant: for every tracked period `p` and agency `a`, `counts[p][a]` equals the sum of the
//! contributions of `a`'s dossiers evaluated at `min(now, p.end)`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::agency::{AgencyIdx, Registry};
use super::calendar::WorkCalendar;
use super::counts::{Counts, Mask};
use super::dossier::{contribution, Contribution, Dossier, Logs, View};
use super::event::{Event, EventKind};
use super::period::{Period, PeriodKind};
use super::reports::Reports;
use super::scoring::{ScoreCard, ScoringModel, Source};
use super::store::idset::IdSet;
use super::store::index::Index;
use super::store::prefetch::prefetch;
use super::store::slab::Slab;
use super::time::{Timestamp, NANOS_PER_HOUR};

/// Which periods the engine keeps counts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodPolicy {
    /// The month, quarter and year containing `now`, plus this many final ones before each
    /// (months, quarters, years), rolling forward with the clock.
    Rolling { finals_kept: [u32; 3] },
    /// Exactly these periods (replay with `--period`).
    Fixed(Vec<Period>),
}

/// Engine settings that are not the registry, the model or the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// How far ahead of its due time an open dossier counts as due soon, in nanoseconds.
    pub due_soon_horizon: i64,
    pub periods: PeriodPolicy,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            due_soon_horizon: 24 * NANOS_PER_HOUR,
            periods: PeriodPolicy::Rolling {
                finals_kept: [0, 0, 0],
            },
        }
    }
}

/// What happened to one ingested event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Applied,
    /// Its `event_id` was accepted before for the same agency: ignored.
    Duplicate,
}

/// A restore found event ids that repeat: the restored engine counted some events twice and is
/// gone; rebuild with [`Engine::ingest`], which drops the repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{repeats} restored events repeat an earlier event id; restore with checked ingestion")]
pub struct RestoreError {
    pub repeats: usize,
}

/// Engine-wide figures for health metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub applied: u64,
    pub duplicates: u64,
    /// The latest `occurred_at` among applied events.
    pub last_event_at: Option<Timestamp>,
}

struct Tracked {
    period: Period,
    /// `period.start()`, which every event needs.
    start: Timestamp,
    /// Own (not pooled) counts, indexed by agency.
    counts: Vec<Counts>,
}

impl Tracked {
    fn new(period: Period, agencies: usize) -> Self {
        Tracked {
            period,
            start: period.start(),
            counts: vec![Counts::default(); agencies],
        }
    }
}

/// One agency's result for one period (DOMAIN results, before serialisation).
#[derive(Debug, Clone, PartialEq)]
pub struct AgencyResult {
    pub agency: AgencyIdx,
    pub period: Period,
    pub evaluated_at: Timestamp,
    pub is_final: bool,
    pub counts: Counts,
    pub card: ScoreCard,
}

/// The pure indicator engine. See the module docs.
pub struct Engine {
    registry: Arc<Registry>,
    model: Arc<ScoringModel>,
    calendar: Arc<WorkCalendar>,
    settings: EngineSettings,
    now: Timestamp,
    periods: Vec<Tracked>,
    dossiers: Slab<Dossier>,
    /// The dossiers' logs.
    logs: Logs,
    /// (agency, dossier id) → index into `dossiers`.
    index: Index,
    /// Every accepted event's [`event_hash`]: its `event_id` within its agency.
    seen: IdSet,
    timers: BinaryHeap<Reverse<(Timestamp, u32)>>,
    reports: Reports,
    reported: HashMap<String, u16>,
    procedures: Vec<Box<str>>,
    /// foldhash: several times cheaper than SipHash on short keys, and randomly seeded too.
    procedure_ids: foldhash::HashMap<Box<str>, u32>,
    stats: Stats,
    /// The distinct evaluation times `min(now, end)` of the tracked periods, ascending…
    eval_times: Vec<Timestamp>,
    /// …and, for each tracked period, the index of its time in `eval_times`.
    period_eval: Vec<usize>,
    /// Scratch space: one event's dossier before and after, per evaluation time.
    old_parts: Vec<Contribution>,
    new_parts: Vec<Contribution>,
    old_masks: Vec<Mask>,
    new_masks: Vec<Mask>,
}

/// The two hashes ingesting an event needs.
#[derive(Debug, Clone, Copy, Default)]
struct Hashes {
    /// What duplicate detection remembers of the event: its `event_id` within its agency.
    id: u64,
    /// The dossier's key in the index.
    dossier: u64,
}

impl Hashes {
    fn of(ev: &Event<'_>) -> Self {
        Hashes {
            id: event_hash(ev.agency, &ev.id),
            dossier: dossier_hash(ev.agency, &ev.dossier),
        }
    }
}

/// Duplicates are per agency: the same `event_id` under another agency is another event. The
/// id's hash is mixed with a mask drawn from the agency. Not xxh3's seed: for inputs of up to 8
/// bytes the seed enters almost linearly, so `("e16", agency 0)` and `("e10", agency 2)` would
/// share a hash (found by the property tests).
fn event_hash(agency: AgencyIdx, id: &str) -> u64 {
    xxh3_64(id.as_bytes()) ^ agency_mask(agency)
}

/// The splitmix64 finaliser of the agency's index: unrelated 64-bit masks for distinct agencies.
fn agency_mask(agency: AgencyIdx) -> u64 {
    let mut z = (agency.0 as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn dossier_hash(agency: AgencyIdx, id: &str) -> u64 {
    xxh3_64_with_seed(id.as_bytes(), agency.0 as u64)
}

/// Fills `out` with a dossier's contribution at each of `times` (ascending; a view found equal
/// to the previous one reuses its contribution), and returns its view at `now` if `now` is one of
/// them.
#[inline]
fn contributions(
    d: &Dossier,
    times: &[Timestamp],
    now: Timestamp,
    horizon: i64,
    logs: &Logs,
    out: &mut Vec<Contribution>,
) -> Option<View> {
    out.clear();
    let mut view_now = None;
    d.views(times, horizon, logs, |c, v, same| {
        if c == now {
            view_now = Some(*v);
        }
        let part = match out.last() {
            Some(last) if same => *last,
            _ => Contribution::of(v),
        };
        out.push(part);
    });
    view_now
}

/// Fills `out` with a dossier's contribution to each tracked period at `now`.
fn masks_into(
    periods: &[Tracked],
    d: &Dossier,
    now: Timestamp,
    horizon: i64,
    logs: &Logs,
    out: &mut Vec<Mask>,
) {
    out.clear();
    let mut cached: Option<(Timestamp, View)> = None;
    for t in periods {
        let c = now.min(t.period.end());
        let view = match cached {
            Some((cc, v)) if cc == c => v,
            _ => {
                let v = d.view(c, horizon, logs);
                cached = Some((c, v));
                v
            }
        };
        out.push(contribution(&view, t.start, c));
    }
}

impl Engine {
    pub fn new(
        registry: Arc<Registry>,
        model: Arc<ScoringModel>,
        calendar: Arc<WorkCalendar>,
        settings: EngineSettings,
        now: Timestamp,
    ) -> Self {
        let reported = model
            .indicators
            .iter()
            .enumerate()
            .filter(|(_, i)| i.source == Source::Reported)
            .map(|(n, i)| (i.id.clone(), n as u16))
            .collect();
        let mut engine = Engine {
            registry,
            model,
            calendar,
            settings,
            now,
            periods: Vec::new(),
            dossiers: Slab::default(),
            logs: Logs::default(),
            index: Index::default(),
            seen: IdSet::default(),
            timers: BinaryHeap::new(),
            reports: Reports::default(),
            reported,
            procedures: Vec::new(),
            procedure_ids: foldhash::HashMap::default(),
            stats: Stats::default(),
            eval_times: Vec::new(),
            period_eval: Vec::new(),
            old_parts: Vec::new(),
            new_parts: Vec::new(),
            old_masks: Vec::new(),
            new_masks: Vec::new(),
        };
        engine.roll_periods();
        engine.refresh_eval_times();
        engine
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn model(&self) -> &Arc<ScoringModel> {
        &self.model
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The tracked periods, sorted by kind then start.
    pub fn periods(&self) -> impl Iterator<Item = Period> + '_ {
        self.periods.iter().map(|t| t.period)
    }

    pub fn dossier_count(&self) -> usize {
        self.dossiers.len()
    }

    /// Event ids remembered for duplicate detection.
    pub fn seen_count(&self) -> usize {
        self.seen.len()
    }

    /// Dossiers with events but no `received` yet, at `now`, engine-wide.
    pub fn pending(&self) -> u64 {
        // Every current period is evaluated at `now`; the month is always tracked.
        self.periods
            .iter()
            .find(|t| t.period.kind() == PeriodKind::Month && t.period.end() > self.now)
            .map_or(0, |t| t.counts.iter().map(Counts::pending).sum())
    }

    /// Starts rebuilding from events this engine accepted before (a state changelog), which repeat
    /// no event id: see [`Restore`]. Fastest with the engine's clock at `Timestamp::MIN` and one
    /// [`Engine::advance_to`] after [`Restore::finish`]: nothing is evaluated until then.
    pub fn restore(self) -> Restore {
        Restore {
            engine: self,
            hashes: Vec::new(),
        }
    }

    /// Applies one event. Duplicates (an `event_id` already accepted for the same agency) are
    /// ignored.
    pub fn ingest(&mut self, ev: &Event<'_>) -> Ingested {
        self.ingest_hashed(ev, Hashes::of(ev))
    }

    /// Applies events in order, exactly as [`Engine::ingest`] on each would, and tells `each`
    /// what happened to every one (by position in `events`).
    ///
    /// Faster than one call per event on large engines. The reads that miss the cache (the
    /// event id's duplicate-detection bucket, the dossier's index slot, the dossier, its log) each
    /// depend on the one before, so ingesting one event waits for them in turn; here each event
    /// is hashed a few events ahead and those reads are asked for in stages (see
    /// [`super::store::prefetch`]), so that the misses of consecutive events overlap.
    pub fn ingest_batch(&mut self, events: &[Event<'_>], mut each: impl FnMut(usize, Ingested)) {
        self.pipelined(events, |engine, i, h| {
            each(i, engine.ingest_hashed(&events[i], h))
        });
    }

    /// Calls `step` on every event in order, with its hashes, after prefetching what it reads
    /// (see [`Engine::ingest_batch`]).
    fn pipelined(&mut self, events: &[Event<'_>], mut step: impl FnMut(&mut Self, usize, Hashes)) {
        // Far enough ahead for a miss to come back before the next stage needs it.
        const AHEAD: usize = 8;
        const RING: usize = 4 * AHEAD;
        let mut hashes = [Hashes::default(); RING];
        let mut candidates = [None; RING];
        for (i, ev) in events.iter().enumerate().take(2 * AHEAD) {
            hashes[i] = self.prefetch_first(ev);
        }
        for i in 0..events.len() {
            // Stage 1: the bucket header and the index slot.
            if let Some(far) = events.get(i + 2 * AHEAD) {
                hashes[(i + 2 * AHEAD) % RING] = self.prefetch_first(far);
            }
            // Stage 2: the bucket's ids and the dossier the index slot points to.
            if i + AHEAD < events.len() {
                let k = (i + AHEAD) % RING;
                self.seen.prefetch_ids(hashes[k].id);
                candidates[k] = self.index.candidate(hashes[k].dossier);
                if let Some(c) = candidates[k] {
                    // 72 bytes: they may straddle two lines.
                    let d = &self.dossiers[c as usize];
                    prefetch(d);
                    prefetch(&d.agency);
                }
            }
            // Stage 3: that dossier's log.
            if i + 1 < events.len() {
                if let Some(c) = candidates[(i + 1) % RING] {
                    self.dossiers[c as usize].prefetch_log(&self.logs);
                }
            }
            step(self, i, hashes[i % RING]);
        }
    }

    /// Hashes an event and asks for the first lines its ingestion reads.
    fn prefetch_first(&self, ev: &Event<'_>) -> Hashes {
        let h = Hashes::of(ev);
        self.seen.prefetch_header(h.id);
        self.index.prefetch(h.dossier);
        h
    }

    /// [`Engine::ingest`] with the event's hashes already computed.
    fn ingest_hashed(&mut self, ev: &Event<'_>, hashes: Hashes) -> Ingested {
        if !self.seen.insert(hashes.id) {
            self.stats.duplicates += 1;
            return Ingested::Duplicate;
        }
        self.apply(ev, hashes.dossier);
        Ingested::Applied
    }

    /// Applies an event not seen before: everything [`Engine::ingest`] does but the duplicate
    /// check.
    fn apply(&mut self, ev: &Event<'_>, dossier_hash: u64) {
        self.apply_with(ev, dossier_hash, true);
    }

    /// [`Engine::apply`]; without `evaluate`, only the dossier changes: its contribution to the
    /// counts and its place in the deadline index are left for [`Engine::settle`].
    fn apply_with(&mut self, ev: &Event<'_>, dossier_hash: u64, evaluate: bool) {
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
                    r.numerator,
                    r.denominator,
                );
            }
            return;
        }
        let (idx, created) = self.dossier_index(ev.agency, &ev.dossier, dossier_hash);
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
        let horizon = self.settings.due_soon_horizon;
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
    }

    /// Records an event in its dossier; compacts the dossiers' logs if their store has become
    /// mostly free blocks (dossiers growing in lockstep: see [`super::store::blocks`]).
    #[inline]
    fn apply_to_dossier(&mut self, idx: u32, ev: &Event<'_>) {
        let d = &mut self.dossiers[idx as usize];
        let (at, id, kind) = (ev.occurred_at, &ev.id, &ev.kind);
        d.apply(at, id, kind, &self.calendar, &mut self.logs);
        if self.logs.wasteful() {
            self.compact_logs();
        }
    }

    #[cold]
    #[inline(never)]
    fn compact_logs(&mut self) {
        self.logs.compact(self.dossiers.iter_mut());
    }

    /// Recomputes the distinct evaluation times after `now` or the tracked periods changed.
    fn refresh_eval_times(&mut self) {
        let at = |t: &Tracked| self.now.min(t.period.end());
        self.eval_times = self.periods.iter().map(at).collect();
        self.eval_times.sort_unstable();
        self.eval_times.dedup();
        self.period_eval = self
            .periods
            .iter()
            .map(|t| {
                self.eval_times
                    .binary_search(&at(t))
                    .expect("every period's time is listed")
            })
            .collect();
    }

    /// Moves the evaluation time forward to `now` (a time in the past is ignored).
    pub fn advance_to(&mut self, now: Timestamp) {
        if now <= self.now {
            return;
        }
        if self.now == Timestamp::MIN {
            // Leaving the start of time (after a restore or a catch-up): every dossier changes,
            // and the tracked periods are all new.
            self.settle(now);
            return;
        }
        let horizon = self.settings.due_soon_horizon;
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
        }
        self.roll_periods();
        self.refresh_eval_times();
    }

    /// Recounts every tracked period from every dossier at `max(now, self.now)` and rebuilds the
    /// deadline index: the engine [`Engine::advance_to`] would give, in one pass over all
    /// dossiers (one view per dossier and distinct evaluation time, the index built at once
    /// instead of pushed to). For leaving the start of time or finishing a restore, where every
    /// dossier changes anyway; it also counts the restored dossiers, which are neither counted
    /// nor in the index before.
    fn settle(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        let n = self.registry.len();
        self.periods = self
            .wanted_periods()
            .into_iter()
            .map(|period| Tracked::new(period, n))
            .collect();
        self.refresh_eval_times();
        let horizon = self.settings.due_soon_horizon;
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
    fn schedule(&mut self, idx: u32, view_now: Option<View>) {
        let d = &mut self.dossiers[idx as usize];
        let next = d.next_change(
            self.now,
            self.settings.due_soon_horizon,
            &self.logs,
            view_now,
        );
        if next < d.scheduled {
            d.scheduled = next;
            self.timers.push(Reverse((next, idx)));
        }
    }

    fn wanted_periods(&self) -> Vec<Period> {
        let mut wanted = match &self.settings.periods {
            PeriodPolicy::Fixed(list) => list.clone(),
            PeriodPolicy::Rolling { finals_kept } => {
                let mut v = Vec::new();
                for (kind, &keep) in PeriodKind::ALL.iter().zip(finals_kept) {
                    let mut p = Some(Period::containing(*kind, self.now));
                    for _ in 0..=keep {
                        let Some(cur) = p else { break };
                        v.push(cur);
                        p = cur.previous();
                    }
                }
                v
            }
        };
        wanted.sort_by_key(|p| (p.kind(), p.start()));
        wanted.dedup();
        wanted
    }

    /// Brings the tracked periods in line with the policy at `now`: new periods are counted from
    /// every dossier (once per period), periods no longer wanted are dropped.
    fn roll_periods(&mut self) {
        let wanted = self.wanted_periods();
        if wanted.len() == self.periods.len()
            && wanted
                .iter()
                .zip(&self.periods)
                .all(|(w, t)| *w == t.period)
        {
            return;
        }
        let mut old: HashMap<Period, Tracked> =
            self.periods.drain(..).map(|t| (t.period, t)).collect();
        let horizon = self.settings.due_soon_horizon;
        for p in wanted {
            let tracked = old.remove(&p).unwrap_or_else(|| {
                let mut t = Tracked::new(p, self.registry.len());
                let c = self.now.min(p.end());
                for d in self.dossiers.iter() {
                    t.counts[d.agency.index()].add_mask(contribution(
                        &d.view(c, horizon, &self.logs),
                        t.start,
                        c,
                    ));
                }
                t
            });
            self.periods.push(tracked);
        }
    }

    fn dossier_index(&mut self, agency: AgencyIdx, id: &str, hash: u64) -> (u32, bool) {
        let dossiers = &self.dossiers;
        if let Some(i) = self.index.find(hash, |i| {
            let d = &dossiers[i as usize];
            d.agency == agency && d.id == id
        }) {
            return (i, false);
        }
        self.dossiers.push(Dossier::new(agency, id));
        let dossiers = &self.dossiers;
        let i = self.index.insert(hash, |j| {
            let d = &dossiers[j as usize];
            dossier_hash(d.agency, &d.id)
        });
        debug_assert_eq!(i as usize + 1, self.dossiers.len());
        debug_assert!(i < (1 << 30), "procedure ids and flags share 32 bits");
        (i, true)
    }

    fn intern_procedure(&mut self, p: &str) -> u32 {
        if let Some(&i) = self.procedure_ids.get(p) {
            return i;
        }
        let i = self.procedures.len() as u32;
        self.procedures.push(p.into());
        self.procedure_ids.insert(p.into(), i);
        i
    }

    /// Looks a dossier up by agency and dossier id.
    pub fn dossier(&self, agency: AgencyIdx, id: &str) -> Option<&Dossier> {
        let hash = dossier_hash(agency, id);
        self.index
            .find(hash, |i| {
                let d = &self.dossiers[i as usize];
                d.agency == agency && d.id == id
            })
            .map(|i| &self.dossiers[i as usize])
    }

    /// All dossiers, in arrival order of their first event.
    pub fn dossiers(&self) -> impl Iterator<Item = &Dossier> {
        self.dossiers.iter()
    }

    /// The procedure code of a dossier, if any event gave one.
    pub fn procedure_of(&self, d: &Dossier) -> Option<&str> {
        d.procedure().map(|p| &*self.procedures[p as usize])
    }

    /// Results of every agency for every tracked period, sorted by agency id, then period kind
    /// and start.
    pub fn results(&self) -> Vec<AgencyResult> {
        let per_period: Vec<Vec<AgencyResult>> =
            self.periods.iter().map(|t| self.score(t)).collect();
        let mut out = Vec::with_capacity(per_period.iter().map(Vec::len).sum());
        for &a in self.registry.sorted_by_id() {
            for results in &per_period {
                out.push(results[a.index()].clone());
            }
        }
        out
    }

    /// Results of every agency (indexed by agency) for one tracked period.
    pub fn results_for(&self, period: Period) -> Option<Vec<AgencyResult>> {
        self.periods
            .iter()
            .find(|t| t.period == period)
            .map(|t| self.score(t))
    }

    /// Each agency's own (not pooled) figures for one tracked period, indexed by agency: what this
    /// engine contributes when the agency tree is spread over several engines.
    pub fn own_figures(&self, period: Period) -> Option<Vec<Own>> {
        let t = self.periods.iter().find(|t| t.period == period)?;
        let n_ind = self.model.indicators.len();
        let mut own: Vec<Own> = t
            .counts
            .iter()
            .map(|c| Own {
                counts: *c,
                reported: vec![(0, 0); n_ind],
            })
            .collect();
        if !self.reports.is_empty() {
            for &i in self.reported.values() {
                for (a, o) in own.iter_mut().enumerate() {
                    o.reported[i as usize] = self
                        .reports
                        .own(AgencyIdx(a as u32), i, period, self.now)
                        .unwrap_or((0, 0));
                }
            }
        }
        Some(own)
    }

    fn score(&self, t: &Tracked) -> Vec<AgencyResult> {
        let own = self.own_figures(t.period).expect("tracked period");
        score_pooled(&self.registry, &self.model, t.period, self.now, own)
    }

    /// Open (not ended, not rejected) dossiers of the agencies `include` accepts, at `now`.
    pub fn open_dossiers(
        &self,
        mut include: impl FnMut(AgencyIdx) -> bool,
    ) -> Vec<OpenDossier<'_>> {
        let horizon = self.settings.due_soon_horizon;
        self.dossiers
            .iter()
            .filter(|d| include(d.agency))
            .filter_map(|d| match d.view(self.now, horizon, &self.logs) {
                View::Known(s) if s.is_open() && !s.rejected => Some(OpenDossier {
                    id: d.id(),
                    agency: d.agency,
                    procedure: self.procedure_of(d),
                    received_at: s.received_at,
                    due: s.due,
                    late: s.late,
                    paused: s.paused,
                    due_soon: s.due_soon,
                }),
                _ => None,
            })
            .collect()
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

/// One agency's own figures in one period: its counts and its reported (numerator,
/// denominator) per model indicator ((0, 0) where nothing is reported).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Own {
    pub counts: Counts,
    pub reported: Vec<(u64, u64)>,
}

impl Own {
    pub fn add(&mut self, other: &Own) {
        self.counts.add(&other.counts);
        if self.reported.len() < other.reported.len() {
            self.reported.resize(other.reported.len(), (0, 0));
        }
        for (a, b) in self.reported.iter_mut().zip(&other.reported) {
            a.0 = a.0.saturating_add(b.0);
            a.1 = a.1.saturating_add(b.1);
        }
    }
}

/// Pools own figures (indexed by agency) through the agency tree and scores every agency.
pub fn score_pooled(
    registry: &Registry,
    model: &ScoringModel,
    period: Period,
    now: Timestamp,
    mut own: Vec<Own>,
) -> Vec<AgencyResult> {
    registry.pool(&mut own, Own::add);
    let is_final = period.end() <= now;
    own.into_iter()
        .enumerate()
        .map(|(a, o)| {
            debug_assert!(
                o.counts.is_consistent(),
                "inconsistent counts for agency {a} in {period}"
            );
            let card = model.score(&o.counts, |i| o.reported.get(i).copied().unwrap_or((0, 0)));
            AgencyResult {
                agency: AgencyIdx(a as u32),
                period,
                evaluated_at: now,
                is_final,
                counts: o.counts,
                card,
            }
        })
        .collect()
}

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
    /// Waiting for the applicant's papers.
    pub paused: bool,
    pub due_soon: bool,
}
