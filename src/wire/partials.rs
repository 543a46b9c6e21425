//! Own figures: what a stage-1 partition tells the roll-up stage about its own agencies.
//!
//! Key `"{agency_id}|{period_label}"` on the compacted, single-partition `partials` topic. The
//! value is one agency's *own* figures for one period (its own counts and its own reported
//! (numerator, denominator) pairs, not pooled over its subtree): all events of an agency share
//! one event partition, so exactly one partition writes each key and the latest value is the
//! whole truth for it. A key nobody wrote counts as zero.
//!
//! ```json
//! {"schema":1,"agency_id":"TQ.X.AN-TUONG","period":"2025-07","evaluated_at":"2025-07-09T10:00:00+07:00",
//!  "final":false,"partition":3,"counts":{"in_scope":12,…},"reported":{"1.1":[40,42]}}
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::counts::Count;
use crate::core::{AgencyIdx, OwnFigures, Period, Registry, ScoringModel, Timestamp};

/// Schema version of own figures.
pub const SCHEMA: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    schema: u32,
    #[serde(borrow)]
    agency_id: Cow<'a, str>,
    #[serde(borrow)]
    period: Cow<'a, str>,
    #[serde(borrow)]
    evaluated_at: Cow<'a, str>,
    #[serde(rename = "final")]
    is_final: bool,
    partition: i32,
    counts: BTreeMap<&'a str, u64>,
    #[serde(default)]
    reported: BTreeMap<&'a str, (u64, u64)>,
}

/// The key of an (agency, period).
pub fn key(registry: &Registry, agency: AgencyIdx, period: Period) -> String {
    format!("{}|{}", registry.get(agency).id, period)
}

/// Encodes one agency's own figures.
#[allow(clippy::too_many_arguments)]
pub fn encode(
    registry: &Registry,
    model: &ScoringModel,
    agency: AgencyIdx,
    period: Period,
    now: Timestamp,
    partition: i32,
    own: &OwnFigures,
) -> Vec<u8> {
    let evaluated_at = now.to_local_rfc3339();
    let label = period.label();
    let w = Wire {
        schema: SCHEMA,
        agency_id: Cow::Borrowed(&registry.get(agency).id),
        period: Cow::Owned(label),
        evaluated_at: Cow::Owned(evaluated_at),
        is_final: period.end() <= now,
        partition,
        counts: own.counts.iter().map(|(c, v)| (c.name(), v)).collect(),
        reported: model
            .indicators
            .iter()
            .zip(&own.reported)
            .filter(|(_, r)| **r != (0, 0))
            .map(|(def, r)| (def.id.as_str(), *r))
            .collect(),
    };
    serde_json::to_vec(&w).expect("partials always serialise")
}

/// Why a partials record is skipped.
#[derive(Debug, thiserror::Error)]
pub enum PartialError {
    #[error("not own figures of schema {SCHEMA}: {0}")]
    Format(String),
    #[error("agency `{0}` is not in the agency registry")]
    UnknownAgency(String),
    #[error("`{0}` is not a period label")]
    BadPeriod(String),
    #[error("unknown count `{0}`")]
    UnknownCount(String),
}

/// One decoded partials record.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    pub agency: AgencyIdx,
    pub period: Period,
    pub own: OwnFigures,
}

/// Decodes a partials value. Reported indicators the model does not have are ignored.
pub fn decode(
    bytes: &[u8],
    registry: &Registry,
    model: &ScoringModel,
) -> Result<Partial, PartialError> {
    let w: Wire<'_> =
        serde_json::from_slice(bytes).map_err(|e| PartialError::Format(e.to_string()))?;
    if w.schema != SCHEMA {
        return Err(PartialError::Format(format!("schema {}", w.schema)));
    }
    let agency = registry
        .lookup(&w.agency_id)
        .ok_or_else(|| PartialError::UnknownAgency(w.agency_id.to_string()))?;
    let period = Period::parse_label(&w.period)
        .ok_or_else(|| PartialError::BadPeriod(w.period.to_string()))?;
    let mut own = OwnFigures {
        counts: Default::default(),
        reported: vec![(0, 0); model.indicators.len()],
    };
    for (name, v) in w.counts {
        let c = Count::parse(name).ok_or_else(|| PartialError::UnknownCount(name.into()))?;
        own.counts[c] = v;
    }
    for (id, r) in w.reported {
        if let Some(i) = model.indicators.iter().position(|d| d.id == id) {
            own.reported[i] = r;
        }
    }
    Ok(Partial {
        agency,
        period,
        own,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let registry = crate::wire::definitions::sample_registry();
        let model = crate::wire::definitions::builtin_scoring();
        let mut own = OwnFigures {
            counts: Default::default(),
            reported: vec![(0, 0); model.indicators.len()],
        };
        own.counts[Count::InScope] = 7;
        own.counts[Count::OnTime] = 7;
        own.reported[0] = (3, 4);
        let period = Period::parse_label("2024-Q3").unwrap();
        let now = Timestamp::parse_rfc3339("2024-08-08T17:00:00+07:00").unwrap();
        let bytes = encode(&registry, &model, AgencyIdx(5), period, now, 2, &own);
        let p = decode(&bytes, &registry, &model).unwrap();
        assert_eq!(
            p,
            Partial {
                agency: AgencyIdx(5),
                period,
                own
            }
        );
        assert_eq!(
            key(&registry, AgencyIdx(5), period),
            format!("{}|2024-Q3", registry.get(AgencyIdx(5)).id)
        );
        assert!(decode(b"{}", &registry, &model).is_err());
    }
}
