//! Placing the errors of a definition file: the line and column of a TOML or JSON error, the
//! position of a JSON string.

use std::fmt;

use anyhow::{anyhow, Result};

/// A place in a text: line and column, both from 1 (the column counts characters).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text` (clamped to the text, moved back to a character).
    pub fn at(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A TOML error on one line: `line L, column C: what is wrong` (the parser's own message
/// spreads over several lines with a drawing of the place).
pub fn toml_error(e: &toml::de::Error, text: &str) -> anyhow::Error {
    let message: Vec<&str> = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let message = message.join("; ");
    match e.span() {
        Some(span) => anyhow!("{}: {message}", Position::at(text, span.start)),
        None => anyhow!("{message}"),
    }
}

/// A JSON error as `line L, column C: what is wrong`, like [`toml_error`].
pub fn json_error(e: &serde_json::Error) -> anyhow::Error {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    if e.line() == 0 {
        return anyhow!("{message}");
    }
    anyhow!("line {}, column {}: {message}", e.line(), e.column())
}

/// Parses TOML, placing an error in the text.
pub fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| toml_error(&e, text))
}

/// Parses JSON, placing an error in the text.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| json_error(&e))
}

/// Where the string `value` is first written in a JSON text (which has no comments): for a
/// value the parser accepted and a check after it refused.
pub fn find_json_string(text: &str, value: &str) -> Option<Position> {
    let quoted = serde_json::to_string(value).ok()?;
    text.find(&quoted).map(|i| Position::at(text, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "ab\nđc\u{feff}x";
        assert_eq!(Position::at(text, 0).to_string(), "line 1, column 1");
        assert_eq!(Position::at(text, 3).to_string(), "line 2, column 1");
        // `đ` is two bytes, one character; an offset inside it is the character's place.
        assert_eq!(Position::at(text, 5).to_string(), "line 2, column 2");
        assert_eq!(Position::at(text, 4).to_string(), "line 2, column 1");
        assert_eq!(Position::at(text, 99).to_string(), "line 2, column 5");
    }

    #[test]
    fn parse_errors_fit_on_one_line_with_their_place() {
        let e = from_toml::<toml::Table>("a = 1\nb = \n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 2, column 5: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = from_json::<Vec<String>>("[\n 1]").unwrap_err().to_string();
        assert_eq!(
            e,
            "line 2, column 2: invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            find_json_string("[\"2024-09-02\",\n \"2024-9-2\"]", "2024-9-2"),
            Some(Position { line: 2, column: 2 })
        );
    }
}
