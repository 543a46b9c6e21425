//! Who receives what: per-agency weights and habits, procedure catalogues, and the intake rate
//! over the week (peaks in working hours, a trickle of online dossiers at night and weekends).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::core::time::{weekday, NANOS_PER_HOUR};
use crate::core::{Registry, Timestamp, WorkCalendar};

/// A procedure (thủ tục hành chính) as the generator uses it.
#[derive(Debug, Clone)]
pub(crate) struct Procedure {
    pub code: String,
    /// Statutory time limit in working hours, in tenths (so 4.5 h is 45).
    pub limit_tenths: u32,
    pub fee: bool,
}

/// One agency's habits: how busy, how online, how punctual.
#[derive(Debug, Clone)]
pub(crate) struct AgencyProfile {
    pub weight: f64,
    pub online_factor: f64,
    pub late_factor: f64,
    /// Index into the catalogue list.
    pub catalogue: usize,
}

/// Department-level procedures are longer and more often charged than commune ones.
pub(crate) fn catalogues(rng: &mut ChaCha8Rng) -> Vec<Vec<Procedure>> {
    // Tenths of a working hour: 80 is one working day.
    const DEPT_LIMITS: [u32; 9] = [160, 240, 400, 560, 800, 1200, 1600, 2400, 4000];
    const COMMUNE_LIMITS: [u32; 8] = [40, 45, 80, 80, 160, 240, 400, 800];
    let mut make = |n: usize, prefix: u32, limits: &[u32], fee_share: f64| -> Vec<Procedure> {
        (0..n)
            .map(|_| {
                let limit = limits[rng.random_range(0..limits.len())];
                Procedure {
                    code: format!("{prefix}.{:06}", rng.random_range(0..15_000u32)),
                    limit_tenths: limit,
                    fee: rng.random_bool(fee_share),
                }
            })
            .collect()
    };
    vec![
        make(60, 1, &DEPT_LIMITS, 0.55),
        make(40, 2, &COMMUNE_LIMITS, 0.3),
    ]
}

fn is_ward(name: &str) -> bool {
    name.starts_with("Phường") || name.starts_with("UBND phường") || name.contains("phường")
}

/// Profiles for every agency of the registry, in registry order.
pub(crate) fn profiles(registry: &Registry, rng: &mut ChaCha8Rng) -> Vec<AgencyProfile> {
    registry
        .defs()
        .iter()
        .map(|a| {
            let (weight, catalogue) = match a.level.as_str() {
                "province" => (2.0, 0),
                "department" => (6.0, 0),
                "district" => (4.0, 0),
                "commune" if is_ward(&a.name) => (4.0, 1),
                "commune" => (1.5, 1),
                _ => (1.0, 1),
            };
            AgencyProfile {
                // Busy and quiet agencies of the same level differ by a factor of ~4.
                weight: weight * rng.random_range(0.5..2.0),
                online_factor: rng.random_range(0.75..1.25),
                late_factor: {
                    // Most agencies are punctual; a few chronically late ones make the ranking.
                    let x: f64 = rng.random();
                    if x < 0.1 {
                        rng.random_range(3.0..6.0)
                    } else {
                        rng.random_range(0.2..1.4)
                    }
                },
                catalogue,
            }
        })
        .collect()
}

/// Intake intensity of one stretch of time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    /// Dossiers per second, for the whole registry.
    pub rate: f64,
    pub end: Timestamp,
    /// Inside working hours (counters open): any channel; outside: online only.
    pub working: bool,
}

const H: i64 = NANOS_PER_HOUR;
/// Working-day shape: (from, to, relative intensity); the gaps are closed counters.
const DAY_SHAPE: [(i64, i64, f64); 5] = [
    (7 * H, 8 * H, 0.8),
    (8 * H, 10 * H + H / 2, 1.3),
    (10 * H + H / 2, 11 * H + H / 2, 0.9),
    (13 * H + H / 2, 15 * H + H / 2, 1.1),
    (15 * H + H / 2, 17 * H, 0.7),
];
/// Sum of hours × intensity over a working day.
const DAY_WEIGHT: f64 = 8.2;
/// Shares of a working day's intake that arrive in counter hours, and per closed hour.
const COUNTER_SHARE: f64 = 0.92;
const CLOSED_SHARE_PER_HOUR: f64 = 0.08 / 16.0;
/// A weekend or holiday receives this share of a working day's intake per hour.
const OFF_DAY_SHARE_PER_HOUR: f64 = 0.04 / 24.0;

/// The intake segment containing `t`.
pub(crate) fn segment(t: Timestamp, per_day: f64, calendar: &WorkCalendar) -> Segment {
    let (day, tod) = t.local_day_and_time();
    let per_sec = per_day / 3600.0;
    let working_day = weekday(day) < 5 && calendar.holidays().binary_search(&day).is_err();
    if !working_day {
        return Segment {
            rate: per_sec * OFF_DAY_SHARE_PER_HOUR,
            end: Timestamp::from_local(day + 1, 0),
            working: false,
        };
    }
    for (from, to, w) in DAY_SHAPE {
        if tod < from {
            return Segment {
                rate: per_sec * CLOSED_SHARE_PER_HOUR,
                end: Timestamp::from_local(day, from),
                working: false,
            };
        }
        if tod < to {
            return Segment {
                rate: per_sec * COUNTER_SHARE * w / DAY_WEIGHT,
                end: Timestamp::from_local(day, to),
                working: true,
            };
        }
    }
    Segment {
        rate: per_sec * CLOSED_SHARE_PER_HOUR,
        end: Timestamp::from_local(day + 1, 0),
        working: false,
    }
}
