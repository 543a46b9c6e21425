//! Encoding of results (schema 1): one JSON object per (agency, period); and reading them back
//! ([`ResultRecord`]) for the notice.

use serde::ser::{SerializeMap, Serializer};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::{AgencyResult, Registry, ScoringModel};

/// Results schema version.
pub const SCHEMA: u32 = 1;

struct Map<'a, T>(&'a [(&'a str, T)]);

impl<T: Serialize> Serialize for Map<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct PeriodOut<'a> {
    kind: &'a str,
    label: String,
    start: String,
    end: String,
}

#[derive(Serialize)]
struct IndicatorOut {
    value: Option<f64>,
    numerator: i64,
    denominator: u64,
    points: f64,
    max: f64,
}

#[derive(Serialize)]
struct GroupOut {
    points: f64,
    max: f64,
}

#[derive(Serialize)]
struct ResultOut<'a> {
    schema: u32,
    agency_id: &'a str,
    agency_name: &'a str,
    level: &'a str,
    parent_id: Option<&'a str>,
    period: PeriodOut<'a>,
    evaluated_at: String,
    #[serde(rename = "final")]
    is_final: bool,
    revision: u64,
    counts: Map<'a, u64>,
    indicators: Map<'a, Option<IndicatorOut>>,
    groups: Map<'a, GroupOut>,
    total_points: f64,
    measured_max: f64,
    score: Option<f64>,
    band: Option<&'a str>,
}

fn hundredths(h: i64) -> f64 {
    h as f64 / 100.0
}

/// The results topic key of a result: `"{agency_id}|{period_label}"`.
pub fn key(registry: &Registry, r: &AgencyResult) -> String {
    format!("{}|{}", registry.get(r.agency).id, r.period)
}

/// Writes one result as a single line of JSON (no trailing newline).
pub fn encode(
    registry: &Registry,
    model: &ScoringModel,
    r: &AgencyResult,
    revision: u64,
) -> String {
    let agency = registry.get(r.agency);
    let counts: Vec<(&str, u64)> = r.counts.iter().map(|(c, v)| (c.name(), v)).collect();
    let indicators: Vec<(&str, Option<IndicatorOut>)> = model
        .indicators
        .iter()
        .zip(&r.card.indicators)
        .map(|(def, v)| {
            (
                def.id.as_str(),
                v.as_ref().map(|v| IndicatorOut {
                    value: v.value,
                    numerator: v.numerator,
                    denominator: v.denominator,
                    points: hundredths(v.points_h),
                    max: hundredths(v.max_h),
                }),
            )
        })
        .collect();
    let groups: Vec<(&str, GroupOut)> = model
        .groups
        .iter()
        .zip(&r.card.groups)
        .map(|(g, &(points, max))| {
            (
                g.id.as_str(),
                GroupOut {
                    points: hundredths(points),
                    max: hundredths(max),
                },
            )
        })
        .collect();
    let out = ResultOut {
        schema: SCHEMA,
        agency_id: &agency.id,
        agency_name: &agency.name,
        level: &agency.level,
        parent_id: registry
            .parent(r.agency)
            .map(|p| registry.get(p).id.as_str()),
        period: PeriodOut {
            kind: r.period.kind().as_str(),
            label: r.period.label(),
            start: r.period.start().to_local_rfc3339(),
            end: r.period.end().to_local_rfc3339(),
        },
        evaluated_at: r.evaluated_at.to_local_rfc3339(),
        is_final: r.is_final,
        revision,
        counts: Map(&counts),
        indicators: Map(&indicators),
        groups: Map(&groups),
        total_points: hundredths(r.card.total_points_h),
        measured_max: hundredths(r.card.measured_max_h),
        score: r.card.score_tenths.map(|t| t as f64 / 10.0),
        band: r.card.band.map(|b| model.bands[b].id.as_str()),
    };
    serde_json::to_string(&out).expect("results always serialise")
}
/// A results object read back (by `chiso report`, from a file or the results topic): the fields
/// the notice shows. Fields it does not show are ignored, so a newer schema still reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultRecord {
    pub agency_id: String,
    pub agency_name: Option<String>,
    pub level: Option<String>,
    pub period: Option<PeriodRecord>,
    pub score: Option<f64>,
    pub band: Option<String>,
    #[serde(default)]
    pub groups: BTreeMap<String, GroupRecord>,
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    pub evaluated_at: Option<String>,
    #[serde(rename = "final", default)]
    pub is_final: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeriodRecord {
    pub label: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct GroupRecord {
    pub points: f64,
    pub max: f64,
}

impl ResultRecord {
    /// One results object (a JSON line).
    pub fn decode(line: &str) -> Result<ResultRecord, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// A count by its results name (`on_time`, …), 0 if absent.
    pub fn count(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// The period's label, if the object has one.
    pub fn label(&self) -> Option<&str> {
        self.period.as_ref().map(|p| p.label.as_str())
    }
}
