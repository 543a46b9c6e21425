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
//! - Dossiers that can no longer count in a tracked period, now or later, are dropped in bulk
//!   ([`expiry`]).
//!
//! Invariant: for every tracked period `p` and agency `a`, `counts[p][a]` equals the sum of the
//! contributions of `a`'s dossiers evaluated at `min(now, p.end)`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

pub mod batch;
mod expiry;
pub mod ingest;
pub mod open;
pub mod periods;
pub mod restore;
pub mod results;
pub mod timers;

use expiry::Expiry;
use open::OpenTracking;
pub use open::{OpenChange, OpenDossier};
pub use periods::PeriodPolicy;
pub use restore::{Restore, RestoreError};
pub use results::{score_pooled, AgencyResult, OwnFigures};

use crate::core::agency::{AgencyIdx, Registry};
use crate::core::calendar::WorkCalendar;
use crate::core::counts::{Counts, Mask};
use crate::core::dossier::{contribution, Contribution, Dossier, Logs, View};
use crate::core::event::Event;
use crate::core::period::{Period, PeriodKind};
use crate::core::reported::Reports;
use crate::core::scoring::{ScoringModel, Source};
use crate::core::store::idset::IdSet;
use crate::core::store::index::Index;
use crate::core::store::slab::Slab;
use crate::core::time::{Timestamp, NANOS_PER_HOUR};
use periods::Tracked;

/// How far ahead of its due time an open dossier counts as due soon: a duration from zero to
/// ten years, checked once where it is read (command line, configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DueSoonHorizon(i64);

/// A due-soon horizon out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a due-soon horizon: a number of hours from 0 to {max}", max = DueSoonHorizon::MAX_HOURS)]
pub struct HorizonError(pub String);

impl DueSoonHorizon {
    /// 24 hours.
    pub const DEFAULT: DueSoonHorizon = DueSoonHorizon(24 * NANOS_PER_HOUR);
    /// Ten years: longer means every open dossier is always due soon.
    pub const MAX_HOURS: u32 = 87_600;

    pub fn from_hours(hours: f64) -> Result<Self, HorizonError> {
        if !(hours.is_finite() && (0.0..=Self::MAX_HOURS as f64).contains(&hours)) {
            return Err(HorizonError(hours.to_string()));
        }
        Ok(DueSoonHorizon(
            (hours * NANOS_PER_HOUR as f64).round() as i64
        ))
    }

    /// Parses a number of hours (`24`, `0.5`).
    pub fn parse_hours(s: &str) -> Result<Self, HorizonError> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| HorizonError(s.to_owned()))
            .and_then(Self::from_hours)
    }

    pub fn from_nanos(nanos: i64) -> Result<Self, HorizonError> {
        if !(0..=Self::MAX_HOURS as i64 * NANOS_PER_HOUR).contains(&nanos) {
            return Err(HorizonError(format!(
                "{} h",
                nanos as f64 / NANOS_PER_HOUR as f64
            )));
        }
        Ok(DueSoonHorizon(nanos))
    }

    pub fn nanos(self) -> i64 {
        self.0
    }
}

impl Default for DueSoonHorizon {
    fn default() -> Self {
        DueSoonHorizon::DEFAULT
    }
}

/// Engine settings that are not the registry, the model or the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    pub due_soon_horizon: DueSoonHorizon,
    pub periods: PeriodPolicy,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            due_soon_horizon: DueSoonHorizon::DEFAULT,
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

/// Engine-wide figures for health metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub applied: u64,
    pub duplicates: u64,
    /// The latest `occurred_at` among applied events.
    pub last_event_at: Option<Timestamp>,
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
    /// The dossiers whose open state may have changed, when the owner follows them.
    open_tracking: Option<OpenTracking>,
    /// Dropping the dossiers that can no longer count.
    expiry: Expiry,
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

/// Duplicates are per agency: the same `event_id` under another agency is another event.
fn event_hash(agency: AgencyIdx, id: &str) -> u64 {
    scoped_hash(agency, id)
}

/// A dossier is (agency, dossier id). Its hash is the key of the index and, once the dossier
/// is dropped, all that is kept of it ([`expiry`]), so distinct dossiers must not share one.
fn dossier_hash(agency: AgencyIdx, id: &str) -> u64 {
    scoped_hash(agency, id)
}

/// A string's hash within an agency: its hash mixed with a mask drawn from the agency. Not
/// xxh3's seed: for inputs of up to 8 bytes the seed enters almost linearly, so
/// `("e16", agency 0)` and `("e10", agency 2)` would share a hash (found by the property
/// tests, once for event ids and once for dropped dossiers).
fn scoped_hash(agency: AgencyIdx, s: &str) -> u64 {
    xxh3_64(s.as_bytes()) ^ agency_mask(agency)
}

/// The splitmix64 finaliser of the agency's index: unrelated 64-bit masks for distinct agencies.
fn agency_mask(agency: AgencyIdx) -> u64 {
    let mut z = (agency.0 as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
            open_tracking: None,
            expiry: Expiry::default(),
        };
        engine.roll_periods();
        engine.refresh_eval_times();
        engine.refresh_expiry_bound();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_soon_horizon_is_checked_once() {
        assert_eq!(
            DueSoonHorizon::parse_hours("24"),
            Ok(DueSoonHorizon::DEFAULT)
        );
        assert_eq!(
            DueSoonHorizon::parse_hours(" 0.5 ").unwrap().nanos(),
            NANOS_PER_HOUR / 2
        );
        assert_eq!(DueSoonHorizon::parse_hours("0").unwrap().nanos(), 0);
        assert!(DueSoonHorizon::parse_hours("87600").is_ok());
        for bad in ["-5", "-0.1", "NaN", "inf", "87600.5", "1e12", "abc", ""] {
            let err = DueSoonHorizon::parse_hours(bad).unwrap_err();
            assert!(err.to_string().contains("from 0 to 87600"), "{bad}: {err}");
        }
        assert!(DueSoonHorizon::from_nanos(-1).is_err());
    }
}
