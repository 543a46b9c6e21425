//! The text formats of the definitions chiso computes with: the agency registry (TOML or JSON),
//! the scoring model (TOML) and the holidays (TOML or JSON), parsed into core types with errors
//! that say where and what; and the built-in ones (the files under `config/`, compiled in).
//! Reading files is the app's (`app::files`); this is text in, types out.

use anyhow::{anyhow, bail, Result};
use serde::Deserialize;

use text::find_json_string;
pub use text::Position;
pub use text::{from_json, from_toml};

use crate::core::scoring::ScoringFile;
use crate::core::time::{days_from_civil, days_in_month};
use crate::core::{AgencyDef, Registry, ScoringModel, WorkCalendar};

mod text;

/// The default scoring model, built into the binary (same as `config/scoring.toml`).
pub const DEFAULT_SCORING: &str = include_str!("../../config/scoring.toml");
/// The sample registry, built into the binary (same as `config/agencies/tuyen-quang.toml`).
pub const SAMPLE_AGENCIES: &str = include_str!("../../config/agencies/tuyen-quang.toml");
/// The official holidays shipped with chiso (same as `config/holidays/vn.toml`).
pub const DEFAULT_HOLIDAYS: &str = include_str!("../../config/holidays/vn.toml");

/// The built-in scoring model.
pub fn builtin_scoring() -> ScoringModel {
    parse_scoring(DEFAULT_SCORING)
        .expect("the built-in scoring model (config/scoring.toml) is valid")
}

/// The shipped holidays.
pub fn builtin_holidays() -> WorkCalendar {
    parse_holidays(DEFAULT_HOLIDAYS, false)
        .expect("the shipped holidays (config/holidays/vn.toml) are valid")
}

/// The sample province's registry.
pub fn sample_registry() -> Registry {
    parse_registry(SAMPLE_AGENCIES, false)
        .expect("the sample registry (config/agencies/tuyen-quang.toml) is valid")
}

/// Parses a registry: TOML with `[[agency]]` tables, or a JSON array of `{id, name, level, parent}`.
pub fn parse_registry(text: &str, json: bool) -> Result<Registry> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TomlRegistry {
        #[serde(default)]
        agency: Vec<AgencyDef>,
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let defs = if json {
        from_json::<Vec<AgencyDef>>(text)?
    } else {
        from_toml::<TomlRegistry>(text)?.agency
    };
    if defs.is_empty() {
        bail!(
            "the registry lists no agency (TOML: `[[agency]]` tables; JSON: an array of objects)"
        );
    }
    Ok(Registry::new(defs)?)
}

pub fn parse_scoring(text: &str) -> Result<ScoringModel> {
    let file: ScoringFile = from_toml(text)?;
    Ok(ScoringModel::from_file(file)?)
}

/// Parses a `YYYY-MM-DD` date into a local day number.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| s[r].parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    (y >= 1 && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
        .then(|| days_from_civil(y, m, d))
}

/// Parses holidays: TOML `holidays = ["YYYY-MM-DD", …]` (strings or TOML dates) or a JSON array
/// of such strings.
pub fn parse_holidays(text: &str, json: bool) -> Result<WorkCalendar> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TomlHolidays {
        holidays: Vec<toml::Spanned<toml::Value>>,
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Each date with where it is written.
    let dates: Vec<(String, Option<Position>)> = if json {
        from_json::<Vec<String>>(text)?
            .into_iter()
            .map(|d| {
                let at = find_json_string(text, &d);
                (d, at)
            })
            .collect()
    } else {
        let mut dates = Vec::new();
        for d in from_toml::<TomlHolidays>(text)?.holidays {
            let at = Position::at(text, d.span().start);
            // A string, or a TOML local date (`2024-09-02` without quotes).
            match d.into_inner() {
                toml::Value::String(s) => dates.push((s, Some(at))),
                toml::Value::Datetime(d) => dates.push((d.to_string(), Some(at))),
                other => bail!(
                    "{at}: a holiday is a date YYYY-MM-DD, not the {} `{other}`",
                    other.type_str()
                ),
            }
        }
        dates
    };
    let mut days = Vec::with_capacity(dates.len());
    for (d, at) in dates {
        let at = at.map_or(String::new(), |at| format!("{at}: "));
        match parse_date(&d) {
            Some(day) => days.push(day),
            None if looks_like_a_date(&d) => {
                return Err(anyhow!("{at}`{d}` is not a valid date (no such day)"))
            }
            None => return Err(anyhow!("{at}`{d}` is not a date of the form YYYY-MM-DD")),
        }
    }
    Ok(WorkCalendar::new(days))
}

/// `YYYY-MM-DD` in shape, whatever the numbers.
fn looks_like_a_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_marks_dates_and_empty_registries() {
        let bom = "\u{feff}";
        let json = format!(r#"{bom}[{{"id":"P","name":"Tỉnh","level":"province","parent":null}}]"#);
        assert_eq!(parse_registry(&json, true).unwrap().len(), 1);
        let toml = format!("{bom}[[agency]]\nid = \"P\"\nname = \"Tỉnh\"\nlevel = \"province\"\n");
        assert_eq!(parse_registry(&toml, false).unwrap().len(), 1);
        let err = parse_registry("", false).unwrap_err().to_string();
        assert!(err.contains("lists no agency"), "{err}");
        let err = parse_registry("[]", true).unwrap_err().to_string();
        assert!(err.contains("lists no agency"), "{err}");
        // TOML dates as well as strings.
        assert!(parse_holidays("holidays = [2024-09-02, \"2024-09-03\"]", false).is_ok());
        let err = parse_holidays(r#"holidays = ["2024-02-30"]"#, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid date"), "{err}");
        let err = parse_holidays(r#"holidays = ["2 Sept"]"#, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("YYYY-MM-DD"), "{err}");
        assert!(parse_holidays(&format!(r#"{bom}["2024-09-02"]"#), true).is_ok());
    }

    #[test]
    fn shipped_files_load() {
        let toml = parse_registry(SAMPLE_AGENCIES, false).unwrap();
        let json =
            parse_registry(include_str!("../../config/agencies/tuyen-quang.json"), true).unwrap();
        assert_eq!(toml.defs(), json.defs());
        parse_registry(
            include_str!("../../config/agencies/example-3-level.toml"),
            false,
        )
        .unwrap();
        parse_scoring(DEFAULT_SCORING).unwrap();
        let toml = parse_holidays(DEFAULT_HOLIDAYS, false).unwrap();
        let json = parse_holidays(include_str!("../../config/holidays/vn.json"), true).unwrap();
        assert_eq!(toml.holidays(), json.holidays());
        assert!(parse_holidays("holidays = [\"2024-02-30\"]", false).is_err());
    }
}
