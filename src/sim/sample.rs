//! The checked-in sample event file and writing a generator's stream to a file.

use std::io::{self, Write};
use std::sync::Arc;

use super::generator::{Generator, GeneratorConfig};
use crate::core::{Registry, Timestamp, WorkCalendar};

/// The configuration of the checked-in sample `config/samples/tuyen-quang-events.jsonl`:
/// the third quarter of 2025 in the sample province, about 20,000 events.
pub fn sample_config(calendar: Arc<WorkCalendar>) -> GeneratorConfig {
    GeneratorConfig {
        seed: 20250701,
        start: Timestamp::parse_rfc3339("2025-07-01T00:00:00+07:00").expect("valid literal"),
        until: Some(Timestamp::parse_rfc3339("2025-10-01T00:00:00+07:00").expect("valid literal")),
        dossiers_per_working_day: 45.0,
        ..GeneratorConfig::new(calendar)
    }
}

/// Writes every event of a generator, one JSON line each; returns how many.
pub fn write_events(generator: &mut Generator, out: &mut impl Write) -> io::Result<u64> {
    let mut line = String::with_capacity(512);
    let mut n = 0;
    loop {
        line.clear();
        if !generator.next_event_into(&mut line) {
            return Ok(n);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        n += 1;
    }
}

/// Writes the sample file for a registry (see [`sample_config`]).
pub fn sample_file(
    registry: Arc<Registry>,
    calendar: Arc<WorkCalendar>,
    out: &mut impl Write,
) -> io::Result<u64> {
    write_events(&mut Generator::new(registry, sample_config(calendar)), out)
}
