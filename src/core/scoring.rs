//! The scoring model: indicators, their groups and how counts become points and a score.
//!
//! All arithmetic on points is exact: maxima are held in hundredths, `full_at` in millionths,
//! and each rounding (half away from zero) is done once on integers, so the same counts give the
//! same points on every machine.

use serde::Deserialize;

use super::counts::{Count, Counts};

/// What to do with an indicator whose denominator is 0.
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

/// The scoring model as written in configuration (`config/scoring.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringFile {
    #[serde(rename = "group")]
    pub groups: Vec<GroupFile>,
    #[serde(rename = "indicator")]
    pub indicators: Vec<IndicatorFile>,
    #[serde(rename = "band")]
    pub bands: Vec<BandFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub max: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorFile {
    pub id: String,
    pub group: String,
    pub name_vi: String,
    pub name_en: String,
    pub max: f64,
    pub full_at: f64,
    pub if_empty: IfEmpty,
    /// `"reported"`, or a count expression such as `"on_time - dissatisfied_on_time"`.
    pub numerator: String,
    /// A count name; absent for reported indicators.
    #[serde(default)]
    pub denominator: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandFile {
    pub id: String,
    pub name_vi: String,
    pub min_score: f64,
}

/// Why a scoring model is refused at start-up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    #[error("indicator `{0}` appears twice")]
    DuplicateIndicator(String),
    #[error("group `{0}` appears twice")]
    DuplicateGroup(String),
    #[error("indicator `{indicator}` names group `{group}`, which is not defined")]
    UnknownGroup { indicator: String, group: String },
    #[error("indicator `{indicator}` uses `{count}`, which is not a count (known: {known})")]
    UnknownCount {
        indicator: String,
        count: String,
        known: String,
    },
    #[error("indicator `{0}`: a counted indicator needs a denominator, a reported one must not have one")]
    Denominator(String),
    /// A number of the file refused, with what is wrong with it.
    #[error("`{what}` is {}: {problem}", number(*value))]
    Number {
        what: String,
        value: f64,
        problem: String,
    },
    #[error("group `{group}` has max {max} but its indicators add up to {sum}")]
    GroupMax { group: String, max: f64, sum: f64 },
    #[error("no bands are defined")]
    NoBands,
    #[error("band `{0}` appears twice")]
    DuplicateBand(String),
    /// A numerator that could fall below 0 or exceed its denominator.
    #[error(
        "indicator `{indicator}`: `{numerator} / {denominator}` is not always within [0, 1]: {why}"
    )]
    Unbounded {
        indicator: String,
        numerator: String,
        denominator: String,
        why: String,
    },
}

/// A number as a message shows it: as written, or in exponent form when long (`1e300`).
fn number(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// The largest value held, in the file's unit times `10^decimals`.
const LARGEST_SCALED: f64 = 1e15;

/// A number of the file in units of `10^-decimals`, or what is wrong with it: `positive`
/// refuses 0, `at_most` is the largest value allowed.
fn scaled(
    what: impl Into<String>,
    value: f64,
    decimals: i32,
    positive: bool,
    at_most: Option<f64>,
) -> Result<i64, ScoringError> {
    let scale = 10f64.powi(decimals);
    let v = value * scale;
    let largest = at_most.map_or(LARGEST_SCALED / scale, |m| m.min(LARGEST_SCALED / scale));
    let problem = if !value.is_finite() {
        Some("not a finite number".to_owned())
    } else if value < 0.0 || (positive && value == 0.0) {
        Some(
            if positive {
                "it must be above 0"
            } else {
                "it must not be below 0"
            }
            .to_owned(),
        )
    } else if value > largest {
        Some(match at_most {
            Some(m) if m <= largest => format!("it must be at most {}", number(m)),
            _ => format!("over the largest value chiso holds, {}", number(largest)),
        })
    } else if (v - v.round()).abs() > 1e-6 {
        let s = if decimals == 1 { "" } else { "s" };
        Some(format!("it has more than {decimals} decimal{s}"))
    } else if positive && v.round() == 0.0 {
        Some("it must be above 0".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ScoringError::Number {
            what: what.into(),
            value,
            problem,
        }),
        None => Ok(v.round() as i64),
    }
}

impl ScoringModel {
    pub fn from_file(file: ScoringFile) -> Result<Self, ScoringError> {
        let mut groups: Vec<GroupDef> = Vec::new();
        for g in file.groups {
            if groups.iter().any(|x| x.id == g.id) {
                return Err(ScoringError::DuplicateGroup(g.id));
            }
            let max_h = scaled(format!("group {} max", g.id), g.max, 2, false, None)?;
            groups.push(GroupDef {
                id: g.id,
                name_vi: g.name_vi,
                name_en: g.name_en,
                max_h,
            });
        }
        let known = || {
            Count::ALL
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut indicators: Vec<IndicatorDef> = Vec::new();
        for i in file.indicators {
            if indicators.iter().any(|x| x.id == i.id) {
                return Err(ScoringError::DuplicateIndicator(i.id));
            }
            let group = groups.iter().position(|g| g.id == i.group).ok_or_else(|| {
                ScoringError::UnknownGroup {
                    indicator: i.id.clone(),
                    group: i.group.clone(),
                }
            })?;
            let max_h = scaled(format!("indicator {} max", i.id), i.max, 2, true, None)?;
            let full = scaled(
                format!("indicator {} full_at", i.id),
                i.full_at,
                6,
                true,
                Some(1.0),
            )?;
            let count = |name: &str| {
                Count::parse(name).ok_or_else(|| ScoringError::UnknownCount {
                    indicator: i.id.clone(),
                    count: name.to_owned(),
                    known: known(),
                })
            };
            let source = match (i.numerator.trim(), i.denominator.as_deref()) {
                ("reported", None) => Source::Reported,
                ("reported", Some(_)) | (_, None) => return Err(ScoringError::Denominator(i.id)),
                (expr, Some(den)) => {
                    let numerator = parse_expr(expr, &count)?;
                    let denominator = count(den.trim())?;
                    if let Err(why) = bounded(&numerator, denominator) {
                        return Err(ScoringError::Unbounded {
                            indicator: i.id.clone(),
                            numerator: expr.to_owned(),
                            denominator: den.trim().to_owned(),
                            why,
                        });
                    }
                    Source::Counts {
                        numerator,
                        denominator,
                    }
                }
            };
            indicators.push(IndicatorDef {
                id: i.id,
                group,
                name_vi: i.name_vi,
                name_en: i.name_en,
                max_h,
                full_at_millionths: full,
                if_empty: i.if_empty,
                source,
            });
        }
        for (gi, g) in groups.iter().enumerate() {
            let sum: i64 = indicators
                .iter()
                .filter(|i| i.group == gi)
                .map(|i| i.max_h)
                .sum();
            if sum != g.max_h {
                return Err(ScoringError::GroupMax {
                    group: g.id.clone(),
                    max: g.max_h as f64 / 100.0,
                    sum: sum as f64 / 100.0,
                });
            }
        }
        let mut bands: Vec<Band> = Vec::new();
        for b in file.bands {
            if bands.iter().any(|x| x.id == b.id) {
                return Err(ScoringError::DuplicateBand(b.id));
            }
            let min_tenths = scaled(
                format!("band {} min_score", b.id),
                b.min_score,
                1,
                false,
                Some(100.0),
            )?;
            bands.push(Band {
                id: b.id,
                name_vi: b.name_vi,
                min_tenths,
            });
        }
        if bands.is_empty() {
            return Err(ScoringError::NoBands);
        }
        bands.sort_by_key(|b| std::cmp::Reverse(b.min_tenths));
        Ok(ScoringModel {
            groups,
            indicators,
            bands,
        })
    }

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

/// Whether `numerator / denominator` stays within [0, 1] for any dossiers: the numerator is one
/// count within the denominator, minus at most one count within that first one.
fn bounded(numerator: &[(i64, Count)], denominator: Count) -> Result<(), String> {
    match numerator {
        [(1, a)] | [(1, a), (-1, _)] if !a.within(denominator) => Err(format!(
            "`{}` is not always within `{}`",
            a.name(),
            denominator.name()
        )),
        [(1, _)] => Ok(()),
        [(1, a), (-1, b)] if b.within(*a) => Ok(()),
        [(1, a), (-1, b)] => Err(format!(
            "`{}` is not always within `{}`, so the difference can be negative",
            b.name(),
            a.name()
        )),
        _ => Err("write one count, or one count minus a count within it".into()),
    }
}

fn parse_expr(
    expr: &str,
    count: &dyn Fn(&str) -> Result<Count, ScoringError>,
) -> Result<Vec<(i64, Count)>, ScoringError> {
    let mut terms = Vec::new();
    let mut sign = 1;
    for token in expr.split_whitespace() {
        match token {
            "+" => sign = 1,
            "-" => sign = -1,
            name => {
                terms.push((sign, count(name)?));
                sign = 1;
            }
        }
    }
    if terms.is_empty() {
        count(expr)?;
    }
    Ok(terms)
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
mod tests {
    use super::*;

    #[test]
    fn numerators_stay_within_their_denominators() {
        let c = |n: &str| Count::parse(n).unwrap();
        let expr = |e: &str| parse_expr(e, &|n| Ok(c(n))).unwrap();
        let ok = [
            ("on_time", "in_scope"),
            ("on_time - dissatisfied_on_time", "in_scope"),
            ("paid_online", "fee_required"),
            ("electronic_result", "completed"),
            ("synced", "received"),
            ("due_soon", "on_time"),
        ];
        for (n, d) in ok {
            assert_eq!(bounded(&expr(n), c(d)), Ok(()), "{n} / {d}");
        }
        let bad = [
            ("online - received - received", "received"),
            ("received - online", "online"),
            ("in_scope", "received"),
            ("online - on_time", "received"),
            ("online + digitized", "received"),
            ("late", "on_time"),
        ];
        for (n, d) in bad {
            assert!(bounded(&expr(n), c(d)).is_err(), "{n} / {d}");
        }
    }

    #[test]
    fn points_round_half_away_and_cap() {
        // 5.4 for commune B of the worked example: 1/2 with full_at 0.9 and max 6 → 3.33.
        assert_eq!(points_hundredths(600, 1, 2, 900_000), 333);
        assert_eq!(points_hundredths(2000, 3, 4, 1_000_000), 1500);
        assert_eq!(points_hundredths(600, 1, 2, 500_000), 600);
        assert_eq!(points_hundredths(600, 3, 4, 800_000), 563); // 5.625 → 5.63
        assert_eq!(points_hundredths(100, 1, 8, 1_000_000), 13); // 0.125 → 0.13
        assert_eq!(points_hundredths(600, 0, 2, 1_000_000), 0);
        assert_eq!(points_hundredths(600, 5, 2, 1_000_000), 600);
        assert_eq!(div_round(25, 10), 3);
        assert_eq!(div_round(-25, 10), -3);
    }
}
