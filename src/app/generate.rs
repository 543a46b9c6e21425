//! `chiso generate`: writes a realistic synthetic event stream (JSON lines) for load tests,
//! benchmarks and trying `replay` on more than the bundled sample.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use crate::core::Timestamp;
use crate::sim::{write_events, Generator, GeneratorConfig};

/// Arguments of `chiso generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Agency registry (TOML or JSON); the built-in sample province if absent.
    #[arg(long)]
    pub agencies: Option<PathBuf>,
    /// Number of dossiers to generate.
    #[arg(long, default_value_t = 100_000)]
    pub dossiers: u64,
    /// Intake of the whole registry per working day.
    #[arg(long, default_value_t = 2_000.0)]
    pub per_day: f64,
    /// First instant of intake (RFC 3339).
    #[arg(long, default_value = "2025-01-01T00:00:00+07:00", value_parser = super::args::time)]
    pub start: Timestamp,
    /// No event at or after this instant (RFC 3339); default: one year after --start.
    #[arg(long, value_parser = super::args::time)]
    pub until: Option<Timestamp>,
    /// Seed of the generator: the same seed (and options) gives the same stream, byte for byte.
    #[arg(long, default_value_t = 766)]
    pub seed: u64,
}

pub fn main(args: GenerateArgs) -> Result<()> {
    let registry = Arc::new(match &args.agencies {
        Some(p) => crate::app::files::load_registry(p)?,
        None => crate::app::files::parse_registry(crate::app::files::SAMPLE_AGENCIES, false)?,
    });
    let year = 366 * 24 * crate::core::time::NANOS_PER_HOUR;
    let config = GeneratorConfig {
        seed: args.seed,
        start: args.start,
        until: Some(args.until.unwrap_or(args.start.saturating_add(year))),
        max_dossiers: Some(args.dossiers),
        dossiers_per_working_day: args.per_day,
        ..GeneratorConfig::new(Arc::new(crate::app::files::load_holidays(None)?))
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let n = write_events(&mut Generator::new(registry, config), &mut out)?;
    out.flush()?;
    eprintln!("chiso generate: {n} events");
    Ok(())
}
