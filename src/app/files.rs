//! Loading the registry, the scoring model and the holidays from files (TOML or JSON).
//!
//! Parsing and validation errors name the file and say what is wrong; the core validates the
//! content itself (tree shape, group maxima, …).

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::core::scoring::ScoringFile;
use crate::core::time::{days_from_civil, days_in_month};
use crate::core::{AgencyDef, Registry, ScoringModel, WorkCalendar};

/// The default scoring model, built into the binary (same as `config/scoring.toml`).
pub const DEFAULT_SCORING: &str = include_str!("../../config/scoring.toml");
/// The sample registry, built into the binary (same as `config/agencies/tuyen-quang.toml`).
pub const SAMPLE_AGENCIES: &str = include_str!("../../config/agencies/tuyen-quang.toml");
/// The official holidays shipped with chiso (same as `config/holidays/vn.toml`).
pub const DEFAULT_HOLIDAYS: &str = include_str!("../../config/holidays/vn.toml");

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Toml,
    Json,
}

fn format_of(path: &Path, text: &str) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("toml") => Format::Toml,
        // No telling extension: a JSON array opens with `[` then a value, never `[[` or `[name]`.
        _ => {
            let t = text.trim_start();
            let after = t.strip_prefix('[').map(str::trim_start);
            match after.and_then(|a| a.chars().next()) {
                Some(c) if c != '[' && !c.is_ascii_alphabetic() => Format::Json,
                _ => Format::Toml,
            }
        }
    }
}

/// The file's text, without the UTF-8 byte order mark some editors put first.
fn read(path: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
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
        serde_json::from_str::<Vec<AgencyDef>>(text)?
    } else {
        toml::from_str::<TomlRegistry>(text)?.agency
    };
    if defs.is_empty() {
        bail!(
            "the registry lists no agency (TOML: `[[agency]]` tables; JSON: an array of objects)"
        );
    }
    Ok(Registry::new(defs)?)
}

pub fn load_registry(path: &Path) -> Result<Registry> {
    let text = read(path)?;
    parse_registry(&text, format_of(path, &text) == Format::Json)
        .with_context(|| format!("invalid agency registry {}", path.display()))
}

pub fn parse_scoring(text: &str) -> Result<ScoringModel> {
    let file: ScoringFile = toml::from_str(text)?;
    Ok(ScoringModel::from_file(file)?)
}

pub fn load_scoring(path: Option<&Path>) -> Result<ScoringModel> {
    match path {
        None => parse_scoring(DEFAULT_SCORING).context("invalid built-in scoring model"),
        Some(p) => parse_scoring(&read(p)?)
            .with_context(|| format!("invalid scoring model {}", p.display())),
    }
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
    /// A string, or a TOML local date (`2024-09-02` without quotes).
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Day {
        Text(String),
        Date(toml::value::Datetime),
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TomlHolidays {
        holidays: Vec<Day>,
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let dates: Vec<String> = if json {
        serde_json::from_str::<Vec<String>>(text)?
    } else {
        toml::from_str::<TomlHolidays>(text)?
            .holidays
            .into_iter()
            .map(|d| match d {
                Day::Text(s) => s,
                Day::Date(d) => d.to_string(),
            })
            .collect()
    };
    let mut days = Vec::with_capacity(dates.len());
    for d in dates {
        match parse_date(&d) {
            Some(day) => days.push(day),
            None if looks_like_a_date(&d) => bail!("`{d}` is not a valid date (no such day)"),
            None => bail!("`{d}` is not a date of the form YYYY-MM-DD"),
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

pub fn load_holidays(path: Option<&Path>) -> Result<WorkCalendar> {
    match path {
        None => parse_holidays(DEFAULT_HOLIDAYS, false).context("invalid built-in holidays"),
        Some(p) => {
            let text = read(p)?;
            parse_holidays(&text, format_of(p, &text) == Format::Json)
                .with_context(|| format!("invalid holidays file {}", p.display()))
        }
    }
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

    #[test]
    fn sniffs_json_without_an_extension() {
        assert_eq!(format_of(Path::new("x"), " [ {\"id\": 1} ]"), Format::Json);
        assert_eq!(format_of(Path::new("x"), "[\"2024-01-01\"]"), Format::Json);
        assert_eq!(
            format_of(Path::new("x"), "[[agency]]\nid='A'"),
            Format::Toml
        );
    }
}
