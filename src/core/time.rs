//! Instants, RFC 3339 parsing and the local (+07:00) calendar arithmetic the contract needs.
//!
//! An instant is held as nanoseconds since the Unix epoch in an `i64`: 8 bytes keeps the dossier
//! state small. That covers 1677-09-21 to 2262-04-11 exactly; the contract accepts years
//! 0001–9999, so instants outside that span are held at its bounds (saturated). Only two such
//! far-off instants compared with each other could come out equal where they differ, and no
//! dossier that far away touches a period anyone reports.

use std::fmt;

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds in one hour.
pub const NANOS_PER_HOUR: i64 = 3_600 * NANOS_PER_SEC;
/// Nanoseconds in one day.
pub const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;
/// The fixed offset of every calendar period: Asia/Ho_Chi_Minh is UTC+07:00 with no daylight saving.
pub const LOCAL_OFFSET: i64 = 7 * NANOS_PER_HOUR;

/// A point in time, nanoseconds since 1970-01-01T00:00:00Z, saturated at the `i64` bounds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The earliest representable instant (also used as "minus infinity").
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable instant (also used as "never").
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    pub fn from_unix_seconds(secs: i64) -> Self {
        Self::saturating(secs as i128 * NANOS_PER_SEC as i128)
    }

    /// Clamps a wide value into the representable range.
    pub fn saturating(nanos: i128) -> Self {
        Timestamp(nanos.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    pub fn saturating_add(self, nanos: i64) -> Self {
        Timestamp(self.0.saturating_add(nanos))
    }

    pub fn saturating_sub(self, nanos: i64) -> Self {
        Timestamp(self.0.saturating_sub(nanos))
    }

    /// `self − earlier` in nanoseconds, saturated.
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Builds the instant of a local (+07:00) civil date and time of day.
    pub fn from_local(days: i64, nanos_of_day: i64) -> Self {
        Self::saturating(
            days as i128 * NANOS_PER_DAY as i128 + nanos_of_day as i128 - LOCAL_OFFSET as i128,
        )
    }

    /// Local (+07:00) day number since 1970-01-01 and nanoseconds into that day.
    pub fn local_day_and_time(self) -> (i64, i64) {
        let local = self.0 as i128 + LOCAL_OFFSET as i128;
        let day = local.div_euclid(NANOS_PER_DAY as i128);
        (day as i64, (local - day * NANOS_PER_DAY as i128) as i64)
    }

    /// Parses a strict RFC 3339 timestamp, as the event contract requires.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        parse_rfc3339(s.as_bytes())
    }

    /// Writes the instant in RFC 3339 at +07:00, with a fraction only when it is not whole.
    pub fn to_local_rfc3339(self) -> String {
        let (day, nanos) = self.local_day_and_time();
        let (y, m, d) = civil_from_days(day);
        let secs = nanos / NANOS_PER_SEC;
        let frac = nanos % NANOS_PER_SEC;
        let mut out = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if frac != 0 {
            let digits = format!("{frac:09}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        out.push_str("+07:00");
        out
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Timestamp::MIN => f.write_str("-inf"),
            Timestamp::MAX => f.write_str("+inf"),
            t => f.write_str(&t.to_local_rfc3339()),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_local_rfc3339())
    }
}

/// Why a timestamp string is not a valid RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("not of the form YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)")]
    Syntax,
    #[error("date or time out of range")]
    Range,
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

fn parse_rfc3339(b: &[u8]) -> Result<Timestamp, TimestampError> {
    use TimestampError::{Range, Syntax};
    if b.len() < 20 {
        return Err(Syntax);
    }
    let sep_ok = b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && b[16] == b':';
    if !sep_ok {
        return Err(Syntax);
    }
    let year = digits(&b[0..4]).ok_or(Syntax)?;
    let month = digits(&b[5..7]).ok_or(Syntax)?;
    let day = digits(&b[8..10]).ok_or(Syntax)?;
    let hour = digits(&b[11..13]).ok_or(Syntax)?;
    let minute = digits(&b[14..16]).ok_or(Syntax)?;
    let second = digits(&b[17..19]).ok_or(Syntax)?;
    let mut i = 19;
    let mut frac: i64 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            // Digits past the ninth are below one nanosecond: truncated.
            if i - start < 9 {
                frac = frac * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err(Syntax);
        }
        for _ in n..9 {
            frac *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(&b[i + 1..i + 3]).ok_or(Syntax)?;
            let om = digits(&b[i + 4..i + 6]).ok_or(Syntax)?;
            if oh > 23 || om > 59 {
                return Err(Range);
            }
            let o = oh * 3600 + om * 60;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return Err(Syntax),
    };
    if !(1..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(Range);
    }
    let days = days_from_civil(year, month, day) as i128;
    let secs = days * 86_400 + hour as i128 * 3600 + minute as i128 * 60 + second as i128
        - offset_secs as i128;
    Ok(Timestamp::saturating(
        secs * NANOS_PER_SEC as i128 + frac as i128,
    ))
}

pub fn is_leap_year(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era-based formula).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Day of the week of a day number, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(ts("1970-01-01T00:00:00Z").as_nanos(), 0);
        assert_eq!(ts("1970-01-01T07:00:00+07:00").as_nanos(), 0);
        assert_eq!(ts("1970-01-01t00:00:01.5z").as_nanos(), 1_500_000_000);
        assert_eq!(ts("1969-12-31T23:59:59.999999999Z").as_nanos(), -1);
        assert_eq!(
            ts("1970-01-01T00:00:00.1234567891Z").as_nanos(),
            123_456_789
        );
        assert_eq!(ts("2024-02-29T00:00:00-00:30"), ts("2024-02-29T00:30:00Z"));
    }

    #[test]
    fn rejects_what_the_contract_rejects() {
        for bad in [
            "2024-08-01 08:00:00Z",
            "2024-08-01T08:00:00",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-06-30T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "2024-08-01T24:00:00Z",
            "2024-08-01T08:00:00.Z",
            "2024-08-01T08:00:00+0700",
            "2024-08-01T08:00:00+24:00",
            "2024-8-01T08:00:00Z",
            "2024-08-01T08:00:00Zjunk",
            "+2024-08-01T08:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extreme_years_are_valid_and_saturate() {
        assert_eq!(ts("0001-01-01T00:00:00Z"), Timestamp::MIN);
        assert_eq!(ts("9999-12-31T23:59:59Z"), Timestamp::MAX);
    }

    #[test]
    fn formats_local_time() {
        assert_eq!(
            ts("2024-08-08T10:00:00Z").to_local_rfc3339(),
            "2024-08-08T17:00:00+07:00"
        );
        assert_eq!(
            ts("2024-12-31T17:00:00.25Z").to_local_rfc3339(),
            "2025-01-01T00:00:00.25+07:00"
        );
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(weekday(days_from_civil(2024, 8, 8)), 3); // a Thursday
    }
}
