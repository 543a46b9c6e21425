//! Reading a file chiso was given, and placing its errors: every message names what the file is
//! to chiso (its [`Role`]), its path and, where there is one, the line and column (or the byte
//! offset of a byte that is not UTF-8).

use std::fmt;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use crate::wire::definitions::Position;

/// What a file is to chiso, as its errors name it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Registry,
    Scoring,
    Holidays,
    RunConfig,
    Events,
    Mapping,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Registry => "agency registry",
            Role::Scoring => "scoring model",
            Role::Holidays => "holidays file",
            Role::RunConfig => "run configuration",
            Role::Events => "events file",
            Role::Mapping => "feed mapping",
        })
    }
}

/// Refuses a directory where a file is expected, naming the role.
pub fn not_a_directory(path: &Path, role: Role) -> Result<()> {
    if path.is_dir() {
        bail!("{role} {} is a directory, not a file", path.display());
    }
    Ok(())
}

/// The file's text, without the UTF-8 byte order mark some editors put first.
pub fn read_text(path: &Path, role: Role) -> Result<String> {
    not_a_directory(path, role)?;
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read {role} {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..at]).expect("valid up to here");
        anyhow!(
            "{role} {} is not UTF-8: {}: the byte at offset {at} is not UTF-8",
            path.display(),
            Position::at(valid, at)
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}
