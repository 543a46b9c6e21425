//! Loading the registry, the scoring model and the holidays from files (TOML or JSON).
//!
//! Parsing and validation errors name the file and say what is wrong; the core validates the
//! content itself (tree shape, group maxima, …).

use std::path::Path;

use anyhow::{Context, Result};

pub use text::{not_a_directory, read_text, Role};

use crate::core::{Registry, ScoringModel, WorkCalendar};
pub use crate::wire::definitions::{
    from_toml, parse_date, parse_holidays, parse_registry, parse_scoring, DEFAULT_HOLIDAYS,
    DEFAULT_SCORING, SAMPLE_AGENCIES,
};
use crate::wire::feed::Mapping;

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

/// Reads and parses a file, every error naming its role and path.
fn load<T>(path: &Path, role: Role, parse: impl FnOnce(&str, Format) -> Result<T>) -> Result<T> {
    let text = read_text(path, role)?;
    parse(&text, format_of(path, &text))
        .with_context(|| format!("invalid {role} {}", path.display()))
}

pub fn load_registry(path: &Path) -> Result<Registry> {
    load(path, Role::Registry, |text, format| {
        parse_registry(text, format == Format::Json)
    })
}

/// A feed's mapping file (TOML), checked against the registry.
pub fn load_mapping(path: &Path, registry: &Registry) -> Result<Mapping> {
    load(path, Role::Mapping, |text, _| {
        Ok(Mapping::parse(text, registry)?)
    })
}

pub fn load_scoring(path: Option<&Path>) -> Result<ScoringModel> {
    match path {
        None => parse_scoring(DEFAULT_SCORING).context("invalid built-in scoring model"),
        Some(p) => load(p, Role::Scoring, |text, _| parse_scoring(text)),
    }
}

pub fn load_holidays(path: Option<&Path>) -> Result<WorkCalendar> {
    match path {
        None => parse_holidays(DEFAULT_HOLIDAYS, false).context("invalid built-in holidays"),
        Some(p) => load(p, Role::Holidays, |text, format| {
            parse_holidays(text, format == Format::Json)
        }),
    }
}

mod text;

#[cfg(test)]
mod tests {
    use super::*;

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
