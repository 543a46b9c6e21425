//! The pipeline's source of `now`: the wall clock in production, a fixed or shifted one in tests.
//!
//! The core never reads a clock; this is the one place `chiso run` does.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::core::Timestamp;

/// Where the evaluation time of the engines comes from.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system clock.
    Wall,
    /// Always this instant: results are comparable with `chiso replay --at`.
    Fixed(Timestamp),
    /// Starts at `start` when the process starts and runs at wall-clock speed.
    From { start: Timestamp, since: Instant },
}

impl Clock {
    /// Parses `wall`, an RFC 3339 instant (fixed) or `from <RFC 3339>`.
    pub fn parse(s: &str) -> Result<Clock, String> {
        let s = s.trim();
        if s == "wall" {
            return Ok(Clock::Wall);
        }
        let parse = |t: &str| {
            Timestamp::parse_rfc3339(t.trim()).map_err(|e| {
                format!("`{s}` is not \"wall\", an RFC 3339 instant or \"from <instant>\": {e}")
            })
        };
        match s.strip_prefix("from ") {
            Some(t) => Ok(Clock::From {
                start: parse(t)?,
                since: Instant::now(),
            }),
            None => Ok(Clock::Fixed(parse(s)?)),
        }
    }

    pub fn now(&self) -> Timestamp {
        match *self {
            Clock::Wall => wall(),
            Clock::Fixed(t) => t,
            Clock::From { start, since } => {
                start.saturating_add(since.elapsed().as_nanos().min(i64::MAX as u128) as i64)
            }
        }
    }
}

fn wall() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::saturating(d.as_nanos() as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert!(matches!(Clock::parse("wall"), Ok(Clock::Wall)));
        let t = Timestamp::parse_rfc3339("2024-08-08T17:00:00+07:00").unwrap();
        assert_eq!(Clock::parse("2024-08-08T17:00:00+07:00").unwrap().now(), t);
        let c = Clock::parse("from 2024-08-08T17:00:00+07:00").unwrap();
        assert!(c.now() >= t && c.now() < t.saturating_add(60_000_000_000));
        assert!(Clock::parse("yesterday").is_err());
        assert!(Clock::wall_is_sane());
    }

    impl Clock {
        fn wall_is_sane() -> bool {
            Clock::Wall.now() > Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap()
        }
    }
}
