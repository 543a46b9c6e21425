//! Results: own figures per agency and period, pooled through the agency tree and scored.

use super::periods::Tracked;
use super::Engine;
use crate::core::agency::{AgencyIdx, Registry};
use crate::core::counts::Counts;
use crate::core::period::Period;
use crate::core::scoring::{ScoreCard, ScoringModel};
use crate::core::time::Timestamp;

/// One agency's result for one period (the results contract, before serialisation).
#[derive(Debug, Clone, PartialEq)]
pub struct AgencyResult {
    pub agency: AgencyIdx,
    pub period: Period,
    pub evaluated_at: Timestamp,
    pub is_final: bool,
    pub counts: Counts,
    pub card: ScoreCard,
}

impl Engine {
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
    pub fn own_figures(&self, period: Period) -> Option<Vec<OwnFigures>> {
        let t = self.periods.iter().find(|t| t.period == period)?;
        let n_ind = self.model.indicators.len();
        let mut own: Vec<OwnFigures> = t
            .counts
            .iter()
            .map(|c| OwnFigures {
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
}

/// One agency's own figures in one period: its counts and its reported (numerator,
/// denominator) per model indicator ((0, 0) where nothing is reported).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnFigures {
    pub counts: Counts,
    pub reported: Vec<(u64, u64)>,
}

impl OwnFigures {
    pub fn add(&mut self, other: &OwnFigures) {
        self.counts.add(&other.counts);
        if self.reported.len() < other.reported.len() {
            self.reported.resize(other.reported.len(), (0, 0));
        }
        // Exact: input values are at most MAX_REPORTED and registries at most MAX_AGENCIES.
        for (a, b) in self.reported.iter_mut().zip(&other.reported) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

/// Pools own figures (indexed by agency) through the agency tree and scores every agency.
pub fn score_pooled(
    registry: &Registry,
    model: &ScoringModel,
    period: Period,
    now: Timestamp,
    mut own: Vec<OwnFigures>,
) -> Vec<AgencyResult> {
    registry.pool(&mut own, OwnFigures::add);
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
