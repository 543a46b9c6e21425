//! Which periods an engine tracks, and keeping their counts as the clock moves: a period that
//! starts being tracked is counted from every dossier once; one no longer wanted is dropped.

use std::collections::HashMap;

use super::Engine;
use crate::core::counts::Counts;
use crate::core::dossier::contribution;
use crate::core::period::{Period, PeriodKind};
use crate::core::time::Timestamp;

/// Which periods the engine keeps counts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodPolicy {
    /// The month, quarter and year containing `now`, plus this many final ones before each
    /// (months, quarters, years), rolling forward with the clock.
    Rolling { finals_kept: [u32; 3] },
    /// Exactly these periods (replay with `--period`).
    Fixed(Vec<Period>),
}

impl PeriodPolicy {
    /// The periods wanted at `now`, sorted by kind then start (the engines and the roll-up stage
    /// of `chiso run` both follow this).
    pub fn periods_at(&self, now: Timestamp) -> Vec<Period> {
        let mut wanted = match self {
            PeriodPolicy::Fixed(list) => list.clone(),
            PeriodPolicy::Rolling { finals_kept } => {
                let mut v = Vec::new();
                for (kind, &keep) in PeriodKind::ALL.iter().zip(finals_kept) {
                    let mut p = Some(Period::containing(*kind, now));
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
}

pub(super) struct Tracked {
    pub(super) period: Period,
    /// `period.start()`, which every event needs.
    pub(super) start: Timestamp,
    /// OwnFigures (not pooled) counts, indexed by agency.
    pub(super) counts: Vec<Counts>,
}

impl Tracked {
    pub(super) fn new(period: Period, agencies: usize) -> Self {
        Tracked {
            period,
            start: period.start(),
            counts: vec![Counts::default(); agencies],
        }
    }
}

impl Engine {
    /// Recomputes the distinct evaluation times after `now` or the tracked periods changed.
    pub(super) fn refresh_eval_times(&mut self) {
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

    pub(super) fn wanted_periods(&self) -> Vec<Period> {
        self.settings.periods.periods_at(self.now)
    }

    /// Brings the tracked periods in line with the policy at `now`: new periods are counted from
    /// every dossier (once per period), periods no longer wanted are dropped.
    pub(super) fn roll_periods(&mut self) {
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
        let horizon = self.settings.due_soon_horizon.nanos();
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
}
