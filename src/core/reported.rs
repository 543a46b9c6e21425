//! Values of the indicators that dossier events cannot give, as reported by other systems.
//!
//! A report counts once it occurred before the evaluation time `T` (a month's report is published
//! after the month). An agency's own value for a period is its latest report for that label; a
//! quarter or year with no report of its own sums the agency's monthly values.

use super::agency::AgencyIdx;
use super::period::{Period, PeriodKind};
use super::time::Timestamp;

#[derive(Debug, Clone)]
struct Report {
    at: Timestamp,
    event_id: Box<str>,
    numerator: u64,
    denominator: u64,
}

/// All reports accepted so far, by (agency, indicator index, period).
#[derive(Debug, Clone, Default)]
pub struct Reports {
    /// foldhash, as the engine's procedure codes: cheaper than SipHash, still randomly seeded.
    by_key: foldhash::HashMap<(AgencyIdx, u16, Period), Vec<Report>>,
}

impl Reports {
    pub fn add(
        &mut self,
        agency: AgencyIdx,
        indicator: u16,
        period: Period,
        at: Timestamp,
        event_id: &str,
        (numerator, denominator): (u64, u64),
    ) {
        self.by_key
            .entry((agency, indicator, period))
            .or_default()
            .push(Report {
                at,
                event_id: event_id.into(),
                numerator,
                denominator,
            });
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The latest report for exactly this label that occurred before `t`.
    fn latest(
        &self,
        agency: AgencyIdx,
        indicator: u16,
        period: Period,
        t: Timestamp,
    ) -> Option<(u64, u64)> {
        self.by_key
            .get(&(agency, indicator, period))?
            .iter()
            .filter(|r| r.at < t)
            .max_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)))
            .map(|r| (r.numerator, r.denominator))
    }

    /// The agency's own (numerator, denominator) for a period at evaluation time `t`.
    pub fn own(
        &self,
        agency: AgencyIdx,
        indicator: u16,
        period: Period,
        t: Timestamp,
    ) -> Option<(u64, u64)> {
        if let Some(v) = self.latest(agency, indicator, period, t) {
            return Some(v);
        }
        if period.kind() == PeriodKind::Month {
            return None;
        }
        period
            .months()
            .filter_map(|m| self.latest(agency, indicator, m, t))
            .reduce(|a, b| (a.0.saturating_add(b.0), a.1.saturating_add(b.1)))
    }
}
