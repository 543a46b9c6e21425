//! The values the commands take on their command lines, parsed one way for all of them:
//! instants (RFC 3339) and periods (YYYY-MM, YYYY-Qn, YYYY), both within the years chiso
//! evaluates.

use crate::core::{Period, Timestamp};

/// Evaluation times and periods chiso answers for: well inside what its instants represent
/// (1677 to 2262), so that every period around them is exact.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2199;

fn in_range(t: Timestamp) -> bool {
    let year = |y: i32| Period::parse_label(&y.to_string()).map(|p| p.start());
    match (year(FIRST_YEAR), year(LAST_YEAR + 1)) {
        (Some(first), Some(end)) => first <= t && t < end,
        _ => false,
    }
}

/// An instant (RFC 3339 with an offset) within [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn time(s: &str) -> Result<Timestamp, String> {
    let t = Timestamp::parse_rfc3339(s).map_err(|e| format!("{e}: `{s}`"))?;
    if !in_range(t) {
        return Err(format!(
            "`{s}` is outside the years chiso evaluates ({FIRST_YEAR} to {LAST_YEAR})"
        ));
    }
    Ok(t)
}

/// A period label within [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn period(s: &str) -> Result<Period, String> {
    let p = Period::parse_label(s)
        .ok_or_else(|| format!("`{s}` is not a period label (YYYY-MM, YYYY-Qn or YYYY)"))?;
    if !in_range(p.start()) || !in_range(p.end().saturating_sub(1)) {
        return Err(format!(
            "`{s}` is outside the years chiso evaluates ({FIRST_YEAR} to {LAST_YEAR})"
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_periods_within_the_years_chiso_evaluates() {
        assert!(time("2025-08-31T17:00:00+07:00").is_ok());
        assert!(time("1800-01-01T00:00:00Z")
            .unwrap_err()
            .contains("outside"));
        assert!(time("2025-08-31").is_err());
        assert_eq!(period("2025-Q3").unwrap().label(), "2025-Q3");
        assert!(period("2200").unwrap_err().contains("outside"));
        assert!(period("1899-12").unwrap_err().contains("outside"));
        assert!(period("2025-13")
            .unwrap_err()
            .contains("not a period label"));
    }
}
