//! The scoring model as written in configuration, and its checks: every problem of a model file
//! is a [`ScoringError`] naming the group or indicator, found when the model is loaded.

use serde::Deserialize;

use super::{Band, GroupDef, IfEmpty, IndicatorDef, ScoringModel, Source};
use crate::core::counts::Count;

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
    /// Long because every check of a model file is here, in the file's order, each error naming
    /// its group or indicator.
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
}

/// Whether `numerator / denominator` stays within [0, 1] for any dossiers: the numerator is one
/// count within the denominator, minus at most one count within that first one.
pub(super) fn bounded(numerator: &[(i64, Count)], denominator: Count) -> Result<(), String> {
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

pub(super) fn parse_expr(
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
