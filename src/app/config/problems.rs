//! Configuration problems as messages a person can act on: `section.key`, what is wrong, and
//! the file or environment variable the value came from.

use figment::value::{Dict, Value};
use figment::Figment;

/// A figment error as `` `section.key`: what is wrong, in FILE `` (figment would print the path
/// of a focused extraction backwards and a file as "TOML source string").
pub(super) fn describe(e: &figment::Error, section: &str) -> String {
    let mut path = e.path.clone();
    if !section.is_empty() && path.last().map(String::as_str) == Some(section) {
        path.pop();
        path.insert(0, section.to_owned());
    }
    let key = path.join(".");
    let whence = e
        .metadata
        .as_ref()
        .map_or(String::new(), |m| origin(m, &path));
    if key.is_empty() {
        format!("{}{whence}", e.kind)
    } else {
        format!("`{key}`: {}{whence}", e.kind)
    }
}

/// Where a value came from, for messages: the file, the environment variable, or the defaults.
pub(super) fn origin(m: &figment::Metadata, path: &[String]) -> String {
    match &m.source {
        Some(figment::Source::File(f)) => format!(" (in {})", f.display()),
        _ if m.name.to_ascii_lowercase().contains("environment") => format!(
            " (from the environment variable CHISO_{})",
            path.iter()
                .map(|p| p.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join("__")
        ),
        _ if m.name.contains("TOML") => " (in the built-in defaults)".to_owned(),
        _ => format!(" ({})", m.name),
    }
}

/// Values whose type differs from the default's: a number where a number is expected (integer
/// or decimal), a string, a boolean, a table.
pub(super) fn wrong_types(
    figment: &Figment,
    known: &Dict,
    given: &Dict,
    prefix: &str,
    problems: &mut Vec<String>,
) {
    fn kind(v: &Value) -> &'static str {
        match v {
            Value::String(..) => "a string",
            Value::Char(..) => "a character",
            Value::Bool(..) => "true or false",
            Value::Num(..) => "a number",
            Value::Empty(..) => "nothing",
            Value::Dict(..) => "a table",
            Value::Array(..) => "a list",
        }
    }
    for (k, v) in given {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(want) = known.get(k) else { continue };
        match (want, v) {
            (Value::Dict(_, w), Value::Dict(_, g)) if path != "kafka.librdkafka" => {
                wrong_types(figment, w, g, &path, problems)
            }
            (Value::Dict(..), Value::Dict(..)) => {}
            (w, g) if kind(w) == kind(g) => {}
            (w, g) => {
                let whence = figment.find_metadata(&path).map_or(String::new(), |m| {
                    origin(m, &path.split('.').map(str::to_owned).collect::<Vec<_>>())
                });
                problems.push(format!(
                    "`{path}` must be {}, not {}{whence}",
                    kind(w),
                    kind(g)
                ));
            }
        }
    }
}

pub(super) fn unknown_keys(known: &Dict, given: &Dict, prefix: &str, problems: &mut Vec<String>) {
    for (k, v) in given {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match known.get(k) {
            None => problems.push(format!("unknown setting `{path}`")),
            Some(Value::Dict(_, inner)) if path != "kafka.librdkafka" => {
                if let Value::Dict(_, given_inner) = v {
                    unknown_keys(inner, given_inner, &path, problems);
                }
            }
            Some(_) => {}
        }
    }
}
