//! The scoring model: indicators, their groups and how counts become points and a score.
//!
//! All arithmetic on points is exact: maxima are held in hundredths, `full_at` in millionths,
//! and each rounding (half away from zero) is done once on integers, so the same counts give the
//! same points on every machine.

use serde::Deserialize;

use super::counts::{Count, Counts};

/// What to do with an indicator whose denominator is 0.
mod file;

pub use file::{BandFile, GroupFile, IndicatorFile, ScoringError, ScoringFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum IfEmpty {
    /// The indicator is null and left out of `measured_max`.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// Full points, counted in `measured_max`.
    #[serde(rename = "full")]
    Full,
}

/// Where an indicator's numerator and denominator come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A linear combination of counts over one count.
    Counts {
        numerator: Vec<(i64, Count)>,
        denominator: Count,
    },
    /// `indicator_reported` events.
    Reported,
}

impl Source {
    /// The (numerator, denominator) of the indicator for these pooled counts; `reported` gives
    /// the pooled reported value of a reported indicator.
    fn inputs(&self, counts: &Counts, reported: impl FnOnce() -> (u64, u64)) -> (i64, u64) {
        match self {
            Source::Counts {
                numerator,
                denominator,
            } => (
                numerator
                    .iter()
                    .map(|&(sign, c)| sign * counts[c] as i64)
                    .sum(),
                counts[*denominator],
            ),
            Source::Reported => {
                let (n, d) = reported();
                (n.min(i64::MAX as u64) as i64, d)
            }
        }
    }
}

/// A score band: the lowest rounded score (in tenths) that reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    pub id: String,
    pub name_vi: String,
    pub min_tenths: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDef {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub max_h: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorDef {
    pub id: String,
    pub group: usize,
    pub name_vi: String,
    pub name_en: String,
    pub max_h: i64,
    pub full_at_millionths: i64,
    pub if_empty: IfEmpty,
    pub source: Source,
}

/// A validated scoring model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoringModel {
    pub groups: Vec<GroupDef>,
    pub indicators: Vec<IndicatorDef>,
    /// Sorted by `min_tenths`, highest first.
    pub bands: Vec<Band>,
}

impl ScoringModel {
    /// The total points of one agency's pooled counts before any rounding, in hundredths: what
    /// orders dossiers whose effect on the rounded total is the same (a province's single dossier
    /// moves its indicators by less than a rounding step).
    pub fn unrounded_total_h(
        &self,
        counts: &Counts,
        mut reported: impl FnMut(usize) -> (u64, u64),
    ) -> f64 {
        let mut total = 0.0;
        for (i, def) in self.indicators.iter().enumerate() {
            let (num, den) = def.source.inputs(counts, || reported(i));
            total += match (den, def.if_empty) {
                (0, IfEmpty::Full) => def.max_h as f64,
                (0, IfEmpty::NotApplicable) => 0.0,
                _ if num <= 0 => 0.0,
                _ => {
                    let full = def.full_at_millionths as f64 / 1e6;
                    def.max_h as f64 * (num as f64 / den as f64 / full).min(1.0)
                }
            };
        }
        total
    }

    /// Scores one agency's pooled counts; `reported(i)` gives the pooled (numerator, denominator)
    /// of the reported indicator with index `i`.
    pub fn score(
        &self,
        counts: &Counts,
        mut reported: impl FnMut(usize) -> (u64, u64),
    ) -> ScoreCard {
        let mut indicators = Vec::with_capacity(self.indicators.len());
        let mut groups: Vec<(i64, i64)> = self.groups.iter().map(|g| (0, g.max_h)).collect();
        let (mut total, mut measured_max, mut any_na_measured) = (0i64, 0i64, false);
        for (i, def) in self.indicators.iter().enumerate() {
            let (num, den) = def.source.inputs(counts, || reported(i));
            let value = if den == 0 {
                match def.if_empty {
                    IfEmpty::NotApplicable => None,
                    IfEmpty::Full => Some(IndicatorValue {
                        value: None,
                        numerator: num,
                        denominator: den,
                        points_h: def.max_h,
                        max_h: def.max_h,
                    }),
                }
            } else {
                let points_h = points_hundredths(def.max_h, num, den, def.full_at_millionths);
                Some(IndicatorValue {
                    value: Some(num as f64 / den as f64),
                    numerator: num,
                    denominator: den,
                    points_h,
                    max_h: def.max_h,
                })
            };
            if let Some(v) = &value {
                total += v.points_h;
                measured_max += v.max_h;
                groups[def.group].0 += v.points_h;
                any_na_measured |= def.if_empty == IfEmpty::NotApplicable;
            }
            indicators.push(value);
        }
        let score_tenths = (any_na_measured && measured_max > 0)
            .then(|| div_round(1000 * total as i128, measured_max as i128) as i64);
        let band = score_tenths.map(|s| {
            self.bands
                .iter()
                .position(|b| s >= b.min_tenths)
                .unwrap_or(self.bands.len() - 1)
        });
        ScoreCard {
            indicators,
            groups,
            total_points_h: total,
            measured_max_h: measured_max,
            score_tenths,
            band,
        }
    }
}

/// `a / b` rounded half away from zero, for `b > 0`.
fn div_round(a: i128, b: i128) -> i128 {
    debug_assert!(b > 0);
    if a >= 0 {
        (2 * a + b) / (2 * b)
    } else {
        -((-2 * a + b) / (2 * b))
    }
}

/// `max × min(1, (num / den) / full_at)` in hundredths, rounded half away from zero.
pub fn points_hundredths(max_h: i64, num: i64, den: u64, full_at_millionths: i64) -> i64 {
    if num <= 0 {
        return 0;
    }
    let (num, den) = (num as i128, den as i128);
    // value ≥ full_at  ⇔  num × 10⁶ ≥ full_at_millionths × den
    if num * 1_000_000 >= full_at_millionths as i128 * den {
        return max_h;
    }
    div_round(
        max_h as i128 * num * 1_000_000,
        den * full_at_millionths as i128,
    ) as i64
}

/// One indicator's result.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorValue {
    /// `numerator / denominator`; `None` when the denominator is 0 (scored full).
    pub value: Option<f64>,
    pub numerator: i64,
    pub denominator: u64,
    pub points_h: i64,
    pub max_h: i64,
}

/// Points and score of one agency in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreCard {
    /// In model order; `None` where the indicator is n/a.
    pub indicators: Vec<Option<IndicatorValue>>,
    /// (points, max) in hundredths, in model order.
    pub groups: Vec<(i64, i64)>,
    pub total_points_h: i64,
    pub measured_max_h: i64,
    pub score_tenths: Option<i64>,
    /// Index into [`ScoringModel::bands`].
    pub band: Option<usize>,
}

#[cfg(test)]
mod tests;
