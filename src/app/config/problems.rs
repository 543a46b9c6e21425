//! Configuration problems as messages a person can act on: `section.key`, what is wrong, and
//! the file or environment variable the value came from.

use std::collections::BTreeMap;

use figment::value::{Dict, Value};
use figment::Figment;

use super::SECTIONS;

/// Where settings can come from, for messages: the environment variables' names as they are set.
pub(super) struct Origins {
    prefix: String,
    /// Dotted key (lower case) → the variable setting it, for `PREFIX<SECTION>__<KEY>`.
    settings: BTreeMap<String, String>,
    /// The other `PREFIX…` variables, without the prefix.
    others: Vec<String>,
}

impl Origins {
    /// `keys`: the names of the variables that start with `prefix`, without it.
    pub(super) fn new(prefix: &str, keys: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let (mut settings, mut others) = (BTreeMap::new(), Vec::new());
        for key in keys {
            let key = key.as_ref();
            if key.contains("__") {
                let dotted = key.to_ascii_lowercase().replace("__", ".");
                settings.insert(dotted, format!("{prefix}{key}"));
            } else {
                others.push(key.to_owned());
            }
        }
        Origins {
            prefix: prefix.to_owned(),
            settings,
            others,
        }
    }

    /// The variable that set a dotted key, as it is written in the environment.
    fn variable(&self, path: &[String]) -> String {
        let dotted = path.join(".").to_ascii_lowercase();
        self.settings.get(&dotted).cloned().unwrap_or_else(|| {
            let upper: Vec<String> = path.iter().map(|p| p.to_ascii_uppercase()).collect();
            format!("{}{}", self.prefix, upper.join("__"))
        })
    }
}

/// Variables that look meant for chiso but set nothing: a section chiso does not have
/// (`CHISO_KAFAK__…`), or a setting spelt with single underscores (`CHISO_LOG_LEVEL`).
pub(super) fn misnamed_variables(origins: &Origins, known: &Dict, problems: &mut Vec<String>) {
    for (dotted, var) in &origins.settings {
        let section = dotted.split('.').next().unwrap_or("");
        if !SECTIONS.contains(&section) {
            problems.push(format!(
                "unknown setting `{dotted}` (from the environment variable {var}): there is no \
                 section `{section}`"
            ));
        }
    }
    let mut leaves = Vec::new();
    leaf_keys(known, "", &mut leaves);
    for other in &origins.others {
        let spelt = other.to_ascii_lowercase();
        if let Some(leaf) = leaves.iter().find(|l| l.replace('.', "_") == spelt) {
            let upper = leaf.to_ascii_uppercase().replace('.', "__");
            problems.push(format!(
                "the environment variable {p}{other} sets nothing: `{leaf}` is set by \
                 {p}{upper} (two underscores between section and key)",
                p = origins.prefix
            ));
        }
    }
}

/// Every setting's dotted key (the pass-through table's keys are free).
fn leaf_keys(dict: &Dict, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in dict {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Dict(_, inner) if path != "kafka.librdkafka" => leaf_keys(inner, &path, out),
            _ => out.push(path),
        }
    }
}

impl Origins {
    /// A figment error as `` `section.key`: what is wrong, in FILE `` (figment would print the path
    /// of a focused extraction backwards and a file as "TOML source string").
    pub(super) fn describe(&self, e: &figment::Error, section: &str) -> String {
        let mut path = e.path.clone();
        if !section.is_empty() && path.last().map(String::as_str) == Some(section) {
            path.pop();
            path.insert(0, section.to_owned());
        }
        let key = path.join(".");
        let whence = e
            .metadata
            .as_ref()
            .map_or(String::new(), |m| self.origin(m, &path));
        if key.is_empty() {
            format!("{}{whence}", e.kind)
        } else {
            format!("`{key}`: {}{whence}", e.kind)
        }
    }

    /// Where a value came from, for messages: the file, the environment variable, or the defaults.
    fn origin(&self, m: &figment::Metadata, path: &[String]) -> String {
        match &m.source {
            Some(figment::Source::File(f)) => format!(" (in {})", f.display()),
            _ if m.name.to_ascii_lowercase().contains("environment") => {
                format!(" (from the environment variable {})", self.variable(path))
            }
            _ if m.name.contains("TOML") => " (in the built-in defaults)".to_owned(),
            _ => format!(" ({})", m.name),
        }
    }

    /// Values whose type differs from the default's: a number where a number is expected (integer
    /// or decimal), a string, a boolean, a table.
    pub(super) fn wrong_types(
        &self,
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
                    self.wrong_types(figment, w, g, &path, problems)
                }
                (Value::Dict(..), Value::Dict(..)) => {}
                (w, g) if kind(w) == kind(g) => {}
                (w, g) => {
                    let whence = figment.find_metadata(&path).map_or(String::new(), |m| {
                        self.origin(m, &path.split('.').map(str::to_owned).collect::<Vec<_>>())
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

    /// Keys the defaults do not have, each with where it came from.
    pub(super) fn unknown_keys(
        &self,
        figment: &Figment,
        known: &Dict,
        given: &Dict,
        prefix: &str,
        problems: &mut Vec<String>,
    ) {
        for (k, v) in given {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match known.get(k) {
                None => {
                    let whence = figment.find_metadata(&path).map_or(String::new(), |m| {
                        self.origin(m, &path.split('.').map(str::to_owned).collect::<Vec<_>>())
                    });
                    problems.push(format!("unknown setting `{path}`{whence}"))
                }
                Some(Value::Dict(_, inner)) if path != "kafka.librdkafka" => {
                    if let Value::Dict(_, given_inner) = v {
                        self.unknown_keys(figment, inner, given_inner, &path, problems);
                    }
                }
                Some(_) => {}
            }
        }
    }
}
