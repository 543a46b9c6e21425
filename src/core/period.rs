//! Calendar periods: month (`2024-06`), quarter (`2024-Q2`) and year (`2024`), in local time.
//!
//! A period is `[start, end)` with both bounds at local midnight (+07:00).

use std::fmt;

use super::time::{days_from_civil, Timestamp};

/// The three kinds of period, in the order results are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    pub const ALL: [PeriodKind; 3] = [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn months(self) -> i64 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }
}

/// One calendar period. `index` is the month (1–12), the quarter (1–4) or 1 for a year.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    kind: PeriodKind,
    year: i32,
    index: u8,
}

impl Period {
    pub fn month(year: i32, month: u8) -> Option<Self> {
        ((1..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Period {
            kind: PeriodKind::Month,
            year,
            index: month,
        })
    }

    pub fn quarter(year: i32, quarter: u8) -> Option<Self> {
        ((1..=9999).contains(&year) && (1..=4).contains(&quarter)).then_some(Period {
            kind: PeriodKind::Quarter,
            year,
            index: quarter,
        })
    }

    pub fn year(year: i32) -> Option<Self> {
        (1..=9999).contains(&year).then_some(Period {
            kind: PeriodKind::Year,
            year,
            index: 1,
        })
    }

    /// The period of this kind that contains the instant `t`.
    pub fn containing(kind: PeriodKind, t: Timestamp) -> Self {
        let (day, _) = t.local_day_and_time();
        let (y, m, _) = super::time::civil_from_days(day);
        let y = y.clamp(1, 9999) as i32;
        let m = m as u8;
        match kind {
            PeriodKind::Month => Period {
                kind,
                year: y,
                index: m,
            },
            PeriodKind::Quarter => Period {
                kind,
                year: y,
                index: (m - 1) / 3 + 1,
            },
            PeriodKind::Year => Period {
                kind,
                year: y,
                index: 1,
            },
        }
    }

    /// Parses a label: `YYYY-MM`, `YYYY-Qn` or `YYYY`.
    pub fn parse_label(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let year = |d: &[u8]| -> Option<i32> {
            (d.len() == 4 && d.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(d).ok()?.parse().ok())?
        };
        match b.len() {
            4 => Period::year(year(b)?),
            7 if b[4] == b'-' && b[5] == b'Q' && (b'1'..=b'4').contains(&b[6]) => {
                Period::quarter(year(&b[..4])?, b[6] - b'0')
            }
            7 if b[4] == b'-' && b[5].is_ascii_digit() && b[6].is_ascii_digit() => {
                Period::month(year(&b[..4])?, (b[5] - b'0') * 10 + (b[6] - b'0'))
            }
            _ => None,
        }
    }

    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    pub fn year_number(&self) -> i32 {
        self.year
    }

    /// First month (1–12) of the period.
    fn first_month(&self) -> i64 {
        match self.kind {
            PeriodKind::Month => self.index as i64,
            PeriodKind::Quarter => (self.index as i64 - 1) * 3 + 1,
            PeriodKind::Year => 1,
        }
    }

    fn month_start(year: i64, month0: i64) -> Timestamp {
        // month0 counts months from January of `year`, and may run past December.
        let y = year + month0.div_euclid(12);
        let m = month0.rem_euclid(12) + 1;
        Timestamp::from_local(days_from_civil(y, m, 1), 0)
    }

    pub fn start(&self) -> Timestamp {
        Self::month_start(self.year as i64, self.first_month() - 1)
    }

    pub fn end(&self) -> Timestamp {
        Self::month_start(
            self.year as i64,
            self.first_month() - 1 + self.kind.months(),
        )
    }

    /// The months a quarter or a year is made of (a month is made of itself).
    pub fn months(&self) -> impl Iterator<Item = Period> + '_ {
        let first = self.first_month() as u8;
        (0..self.kind.months() as u8).map(move |i| Period {
            kind: PeriodKind::Month,
            year: self.year,
            index: first + i,
        })
    }

    /// The period of the same kind just before this one, if any.
    pub fn previous(&self) -> Option<Period> {
        match (self.kind, self.index) {
            (PeriodKind::Month, 1) => Period::month(self.year - 1, 12),
            (PeriodKind::Quarter, 1) => Period::quarter(self.year - 1, 4),
            (PeriodKind::Year, _) => Period::year(self.year - 1),
            (kind, i) => Some(Period {
                kind,
                year: self.year,
                index: i - 1,
            }),
        }
    }

    pub fn label(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Month => write!(f, "{:04}-{:02}", self.year, self.index),
            PeriodKind::Quarter => write!(f, "{:04}-Q{}", self.year, self.index),
            PeriodKind::Year => write!(f, "{:04}", self.year),
        }
    }
}

impl fmt::Debug for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_bounds_are_local_midnight() {
        for label in ["2024-06", "2024-Q2", "2024", "0001-01", "9999-Q4"] {
            assert_eq!(Period::parse_label(label).unwrap().label(), label);
        }
        for bad in [
            "2024-13", "2024-00", "2024-Q5", "24", "2024-6", "20240", "0000", "2024-q1",
        ] {
            assert!(Period::parse_label(bad).is_none(), "{bad}");
        }
        let q = Period::parse_label("2024-Q4").unwrap();
        assert_eq!(q.start().to_local_rfc3339(), "2024-10-01T00:00:00+07:00");
        assert_eq!(q.end().to_local_rfc3339(), "2025-01-01T00:00:00+07:00");
        assert_eq!(
            q.months().map(|m| m.label()).collect::<Vec<_>>(),
            ["2024-10", "2024-11", "2024-12"]
        );
        let t = Timestamp::parse_rfc3339("2024-06-30T17:00:00Z").unwrap(); // 1 July 00:00 local
        assert_eq!(Period::containing(PeriodKind::Month, t).label(), "2024-07");
        assert_eq!(
            Period::containing(PeriodKind::Quarter, t).label(),
            "2024-Q3"
        );
        assert_eq!(
            Period::parse_label("2024-01")
                .unwrap()
                .previous()
                .unwrap()
                .label(),
            "2023-12"
        );
    }
}
