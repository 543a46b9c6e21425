//! The working calendar: due times from a number of working hours.
//!
//! Monday–Friday, 07:00–11:30 and 13:30–17:00 local time (8 working hours a day), minus whole
//! local public holidays. Counting starts at the next working instant; the due time is the
//! earliest instant by which exactly that many working hours have passed, so a limit that fills
//! a morning ends at 11:30 and one that fills a day at 17:00.

use super::time::{weekday, Timestamp, NANOS_PER_HOUR};

const WINDOWS: [(i64, i64); 2] = [
    (7 * NANOS_PER_HOUR, 11 * NANOS_PER_HOUR + NANOS_PER_HOUR / 2),
    (
        13 * NANOS_PER_HOUR + NANOS_PER_HOUR / 2,
        17 * NANOS_PER_HOUR,
    ),
];
const DAY_WORK: u128 = 8 * NANOS_PER_HOUR as u128;
const WEEK_WORK: u128 = 5 * DAY_WORK;

/// Working days and hours, with the configured public holidays.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    /// Local day numbers (days since 1970-01-01), sorted and unique.
    holidays: Vec<i64>,
}

impl WorkCalendar {
    /// A calendar with these holidays, as local day numbers (see [`super::time::days_from_civil`]).
    pub fn new(mut holidays: Vec<i64>) -> Self {
        holidays.sort_unstable();
        holidays.dedup();
        WorkCalendar { holidays }
    }

    pub fn holidays(&self) -> &[i64] {
        &self.holidays
    }

    /// The due instant `work` nanoseconds of working time after `start` (saturating at "never").
    pub fn add_working_time(&self, start: Timestamp, work: u128) -> Timestamp {
        if work == 0 {
            return start;
        }
        if start == Timestamp::MAX {
            return start;
        }
        let (mut day, mut tod) = start.local_day_and_time();
        let mut remaining = work;
        // Past the last representable day the answer is "never" anyway.
        let (last_day, _) = Timestamp::MAX.local_day_and_time();
        // The first holiday on or after `day`, moved along with it.
        let mut holiday = self.holidays.partition_point(|&h| h < day);
        while day <= last_day {
            while self.holidays.get(holiday).is_some_and(|&h| h < day) {
                holiday += 1;
            }
            let next_holiday = self.holidays.get(holiday).copied();
            if tod == 0 && weekday(day) == 0 && remaining > WEEK_WORK {
                // Whole weeks without a holiday are skipped in one step, so that a huge limit
                // costs weeks, not days, of iterations.
                let free_weeks = match next_holiday {
                    Some(h) => ((h - day) / 7) as u128,
                    None => u128::MAX,
                };
                let weeks = free_weeks.min((remaining - 1) / WEEK_WORK);
                if weeks > 0 {
                    let weeks = weeks.min(((last_day - day) / 7 + 1) as u128);
                    day += weeks as i64 * 7;
                    remaining -= weeks * WEEK_WORK;
                    continue;
                }
            }
            if weekday(day) < 5 && next_holiday != Some(day) {
                if tod == 0 && remaining > DAY_WORK {
                    remaining -= DAY_WORK;
                } else {
                    for (from, to) in WINDOWS {
                        let begin = from.max(tod);
                        if begin < to {
                            let available = (to - begin) as u128;
                            if remaining <= available {
                                return Timestamp::from_local(day, begin + remaining as i64);
                            }
                            remaining -= available;
                        }
                    }
                }
            }
            day += 1;
            tod = 0;
        }
        Timestamp::MAX
    }
}

/// Working nanoseconds of a `time_limit_hours` value given as an exact decimal
/// `mantissa × 10^exponent` hours, rounded up to the nanosecond; `None` if beyond any calendar.
pub fn working_nanos_from_decimal_hours(mantissa: u128, exponent: i32) -> Option<u128> {
    // nanos = mantissa × 10^exponent × 3.6 × 10^12 = mantissa × 36 × 10^(exponent + 11)
    let base = mantissa.checked_mul(36)?;
    let e = exponent + 11;
    if e >= 0 {
        let scale = 10u128.checked_pow(e as u32)?;
        base.checked_mul(scale)
    } else if -e > 38 {
        Some(u128::from(base > 0))
    } else {
        let scale = 10u128.pow((-e) as u32);
        Some(base.div_ceil(scale))
    }
}

#[cfg(test)]
mod tests {
    use super::super::time::days_from_civil;
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }
    fn hours(h: f64) -> u128 {
        (h * NANOS_PER_HOUR as f64) as u128
    }

    #[test]
    fn fills_mornings_and_days() {
        let cal = WorkCalendar::default();
        // Thursday 2024-08-08.
        let at = ts("2024-08-08T07:00:00+07:00");
        assert_eq!(
            cal.add_working_time(at, hours(4.5)),
            ts("2024-08-08T11:30:00+07:00")
        );
        assert_eq!(
            cal.add_working_time(at, hours(5.0)),
            ts("2024-08-08T14:00:00+07:00")
        );
        assert_eq!(
            cal.add_working_time(at, hours(8.0)),
            ts("2024-08-08T17:00:00+07:00")
        );
        assert_eq!(
            cal.add_working_time(at, hours(8.5)),
            ts("2024-08-09T07:30:00+07:00")
        );
        // Friday afternoon rolls over the weekend.
        let fri = ts("2024-08-09T16:00:00+07:00");
        assert_eq!(
            cal.add_working_time(fri, hours(2.0)),
            ts("2024-08-12T08:00:00+07:00")
        );
        // Received in the lunch break or the evening: counting starts at the next working instant.
        let lunch = ts("2024-08-08T12:00:00+07:00");
        assert_eq!(
            cal.add_working_time(lunch, hours(1.0)),
            ts("2024-08-08T14:30:00+07:00")
        );
        let night = ts("2024-08-08T22:00:00+07:00");
        assert_eq!(
            cal.add_working_time(night, hours(8.0)),
            ts("2024-08-09T17:00:00+07:00")
        );
        // Zero hours: the receipt instant itself, even outside working hours.
        assert_eq!(cal.add_working_time(night, 0), night);
    }

    #[test]
    fn skips_holidays_and_long_limits_match_day_by_day() {
        let cal = WorkCalendar::new(vec![
            days_from_civil(2024, 9, 2),
            days_from_civil(2024, 9, 3),
        ]);
        let fri = ts("2024-08-30T17:00:00+07:00");
        assert_eq!(
            cal.add_working_time(fri, hours(8.0)),
            ts("2024-09-04T17:00:00+07:00")
        );
        // 15 working days from a Monday morning, across the 2 September holidays.
        let mon = ts("2024-08-19T07:00:00+07:00");
        assert_eq!(
            cal.add_working_time(mon, hours(120.0)),
            ts("2024-09-10T17:00:00+07:00")
        );
        let plain = WorkCalendar::default();
        assert_eq!(
            plain.add_working_time(mon, hours(400.0)),
            ts("2024-10-25T17:00:00+07:00")
        );
        assert_eq!(plain.add_working_time(mon, u128::MAX), Timestamp::MAX);
    }

    #[test]
    fn decimal_hours_round_up_to_the_nanosecond() {
        assert_eq!(
            working_nanos_from_decimal_hours(1, -1),
            Some(360_000_000_000)
        ); // 0.1 h
        assert_eq!(
            working_nanos_from_decimal_hours(333_333_333_333, -12),
            Some(1_199_999_999_999)
        ); // ceil
        assert_eq!(
            working_nanos_from_decimal_hours(15, -1),
            Some(5_400_000_000_000)
        );
        assert_eq!(working_nanos_from_decimal_hours(1, -60), Some(1));
        assert_eq!(working_nanos_from_decimal_hours(0, 5), Some(0));
        assert_eq!(working_nanos_from_decimal_hours(1, 60), None);
    }
}
