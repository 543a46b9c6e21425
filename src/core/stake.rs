//! Points at stake: what an open, on-time dossier would cost an agency's score if it turned
//! late at its due time, everything else held; and the period-end projections that follow.
//!
//! Late is forever (a dossier late by any rule stays late), so only open, on-time, not paused
//! dossiers due before the period's end are at stake: a paused on-time dossier cannot turn late
//! by time alone, and a late one has lost its points already. Turning late moves the dossier,
//! in every current period, from `on_time`/`open_on_time` (and `due_soon`,
//! `dissatisfied_on_time` where it counted there) to `late`/`open_overdue` (and
//! `open_overdue_national_portal`, `late_with_apology` where it belongs there). Everything here
//! is exact: the same integer scoring as the results.

use super::counts::{Count, Counts};
use super::scoring::{ScoreCard, ScoringModel};
use super::time::Timestamp;

/// What decides how one open, on-time dossier moves the counts when it turns late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtRisk {
    pub due: Timestamp,
    pub due_soon: bool,
    pub via_national_portal: bool,
    /// Its latest rating is "dissatisfied".
    pub dissatisfied: bool,
    /// An apology letter was issued.
    pub apology: bool,
}

/// `counts` with one open, on-time dossier turned late. Exact when the dossier is one of those
/// `counts` counts; counts never go below zero otherwise (the read model may hold open dossiers
/// a moment newer than the pooled results of another stage).
pub fn flip(counts: &Counts, d: &AtRisk) -> Counts {
    let mut c = *counts;
    let mut mv = |from: Count, to: Option<Count>| {
        c.decrement(from);
        if let Some(to) = to {
            c.increment(to);
        }
    };
    mv(Count::OnTime, Some(Count::Late));
    mv(Count::OpenOnTime, Some(Count::OpenOverdue));
    if d.due_soon {
        mv(Count::DueSoon, None);
    }
    if d.dissatisfied {
        mv(Count::DissatisfiedOnTime, None);
    }
    if d.via_national_portal {
        c.increment(Count::OpenOverdueNationalPortal);
    }
    if d.apology {
        c.increment(Count::LateWithApology);
    }
    c
}

/// One agency's figures for one current period, and what its open dossiers put at stake.
#[derive(Debug, Clone, PartialEq)]
pub struct Stake {
    /// The score card now.
    pub now: ScoreCard,
    /// The points each candidate would cost, in hundredths, in the order given: the change of
    /// the rounded total, what the published score would lose.
    pub points_h: Vec<i64>,
    /// The same before rounding, in hundredths: at a province one dossier often moves the
    /// rounded total by nothing, yet some cost more than others.
    pub unrounded_h: Vec<f64>,
    /// Every candidate due before the period's end turned late (the worst case at period end).
    pub worst: ScoreCard,
    /// How many candidates are due before the period's end.
    pub due_in_period: usize,
}

/// Scores `counts` (pooled over the agency's subtree) with every dossier of `at_risk` that is due
/// before `period_end` turned late, one at a time and all together. `reported(i)` gives the
/// pooled (numerator, denominator) of reported indicator `i`, as [`ScoringModel::score`] takes.
pub fn at_stake(
    model: &ScoringModel,
    counts: &Counts,
    reported: impl Fn(usize) -> (u64, u64),
    at_risk: &[AtRisk],
    period_end: Timestamp,
) -> Stake {
    let now = model.score(counts, &reported);
    let now_unrounded = model.unrounded_total_h(counts, &reported);
    let mut worst = *counts;
    let mut due_in_period = 0;
    let (points_h, unrounded_h) = at_risk
        .iter()
        .map(|d| {
            if d.due >= period_end {
                return (0, 0.0);
            }
            due_in_period += 1;
            worst = flip(&worst, d);
            let late = flip(counts, d);
            (
                now.total_points_h - model.score(&late, &reported).total_points_h,
                now_unrounded - model.unrounded_total_h(&late, &reported),
            )
        })
        .unzip();
    let worst = model.score(&worst, &reported);
    Stake {
        now,
        points_h,
        unrounded_h,
        worst,
        due_in_period,
    }
}

impl Stake {
    /// Candidate `a` against `b` by what it would cost: the rounded points first, then the
    /// unrounded ones.
    pub fn costlier(&self, a: usize, b: usize) -> std::cmp::Ordering {
        self.points_h[a]
            .cmp(&self.points_h[b])
            .then(self.unrounded_h[a].total_cmp(&self.unrounded_h[b]))
    }
}

/// The score at period end if the `n` candidates with the most points at stake are processed
/// in time and every other candidate due before the end turns late.
pub fn with_best_n_saved(
    model: &ScoringModel,
    counts: &Counts,
    reported: impl Fn(usize) -> (u64, u64),
    at_risk: &[AtRisk],
    stake: &Stake,
    period_end: Timestamp,
    n: usize,
) -> ScoreCard {
    let mut order: Vec<usize> = (0..at_risk.len())
        .filter(|&i| at_risk[i].due < period_end)
        .collect();
    order.sort_by(|&a, &b| stake.costlier(b, a));
    let mut c = *counts;
    for &i in order.iter().skip(n) {
        c = flip(&c, &at_risk[i]);
    }
    model.score(&c, &reported)
}
