//! The demo's accelerated clock: simulated time runs `speed` times faster than real time.

use std::time::Instant;

use crate::core::time::{weekday, NANOS_PER_HOUR};
use crate::core::{Timestamp, WorkCalendar};

/// Maps real instants to simulated ones.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    real_origin: Instant,
    sim_origin: Timestamp,
    speed: f64,
}

impl SimClock {
    pub fn new(real_origin: Instant, sim_origin: Timestamp, speed: f64) -> Self {
        SimClock {
            real_origin,
            sim_origin,
            speed: speed.max(0.0),
        }
    }

    /// The simulated instant at real instant `real`, in whole milliseconds.
    pub fn at(&self, real: Instant) -> Timestamp {
        let elapsed = real.saturating_duration_since(self.real_origin).as_nanos() as f64;
        let t = self
            .sim_origin
            .saturating_add((elapsed * self.speed) as i64);
        Timestamp::from_nanos(t.as_nanos() - t.as_nanos().rem_euclid(1_000_000))
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }
}

/// Where the simulation starts: `now` itself during counter hours, otherwise 08:30 of the most
/// recent working day, so that a demo started at night or on a weekend shows intake at once.
pub fn lively_start(now: Timestamp, calendar: &WorkCalendar) -> Timestamp {
    let (mut day, tod) = now.local_day_and_time();
    let working = |d: i64| weekday(d) < 5 && calendar.holidays().binary_search(&d).is_err();
    let in_hours = (7 * NANOS_PER_HOUR..11 * NANOS_PER_HOUR + NANOS_PER_HOUR / 2).contains(&tod)
        || (13 * NANOS_PER_HOUR + NANOS_PER_HOUR / 2..17 * NANOS_PER_HOUR).contains(&tod);
    if working(day) && in_hours {
        return now;
    }
    if !(working(day) && tod >= 17 * NANOS_PER_HOUR) {
        day -= 1;
    }
    while !working(day) {
        day -= 1;
    }
    Timestamp::from_local(day, 8 * NANOS_PER_HOUR + NANOS_PER_HOUR / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn starts_in_counter_hours() {
        let cal = WorkCalendar::default();
        let monday_10 = ts("2025-08-04T10:00:00+07:00");
        assert_eq!(lively_start(monday_10, &cal), monday_10);
        let monday_20 = ts("2025-08-04T20:00:00+07:00");
        assert_eq!(
            lively_start(monday_20, &cal),
            ts("2025-08-04T08:30:00+07:00")
        );
        let sunday = ts("2025-08-10T12:00:00+07:00");
        assert_eq!(lively_start(sunday, &cal), ts("2025-08-08T08:30:00+07:00"));
        let monday_6 = ts("2025-08-04T06:00:00+07:00");
        assert_eq!(
            lively_start(monday_6, &cal),
            ts("2025-08-01T08:30:00+07:00")
        );
        let c = SimClock::new(Instant::now(), monday_10, 60.0);
        let later = c.at(Instant::now() + std::time::Duration::from_secs(2));
        assert!(later.nanos_since(monday_10) >= 120 * 1_000_000_000);
    }
}
