//! The `chiso` command line: thin wiring over the library.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use chiso::app::args;
use chiso::app::replay::{replay, ReplaySetup};

use chiso::core::{DueSoonHorizon, Period, Timestamp};
use chiso::wire::event_json::DEFAULT_MAX_BYTES;

#[derive(Parser)]
#[command(
    name = "chiso",
    version,
    about = "Real-time 766-index service-quality indicators from dossier events"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a file of events (JSON lines) and print the results at one evaluation time.
    Replay(ReplayArgs),
    /// Consume events from Kafka and publish results, exactly once.
    Run(chiso::app::run::RunArgs),
    /// The sample province with a built-in event generator and the HTTP server; no Kafka needed.
    Demo(chiso::app::demo::DemoArgs),
    /// Write a realistic synthetic event stream (JSON lines) to standard output.
    Generate(chiso::app::generate::GenerateArgs),
    /// The public notice of one period (HTML, XLSX, CSV or Markdown), from results, events or
    /// the results topic.
    Report(chiso::app::report::ReportArgs),
    /// Load a file of events (JSON lines) into the events topic, keyed by agency_id.
    Produce(chiso::app::produce::ProduceArgs),
    /// Create or check the pipeline's five Kafka topics (partitions, cleanup, retention).
    Topics(chiso::app::topics::TopicsArgs),
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// Events, one JSON object per line, in arrival order; `-` for standard input.
    #[arg(long)]
    events: PathBuf,
    /// Agency registry (TOML, or JSON array of {id, name, level, parent}).
    #[arg(long)]
    agencies: PathBuf,
    /// The file holds a feed's records (the national portal's sync records, Debezium change
    /// records), one per line, read through this mapping (TOML; see docs/integration.md).
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Scoring model (TOML); the built-in default model if absent.
    #[arg(long)]
    scoring: Option<PathBuf>,
    /// Public holidays (TOML or JSON array of YYYY-MM-DD); the shipped Vietnamese list if absent.
    #[arg(long)]
    holidays: Option<PathBuf>,
    /// Evaluation time, RFC 3339 with an offset, from 1900 to 2199.
    #[arg(long, value_parser = args::time)]
    at: Timestamp,
    /// A period label (YYYY-MM, YYYY-Qn, YYYY, from 1900 to 2199) to report instead of those
    /// containing --at; it must start before --at. Repeatable.
    #[arg(long = "period", value_parser = args::period)]
    periods: Vec<Period>,
    /// Due-soon horizon in hours, from 0 to 87600.
    #[arg(long = "due-soon-hours", default_value = "24", value_parser = parse_hours)]
    due_soon_horizon: DueSoonHorizon,
    /// Size limit of one event, in bytes (256 to 16777216).
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES, value_parser = parse_max_bytes)]
    max_event_bytes: usize,
}

fn parse_max_bytes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (256..=16 << 20).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a size limit: a number of bytes from 256 to 16777216"
        )),
    }
}

fn parse_hours(s: &str) -> Result<DueSoonHorizon, String> {
    DueSoonHorizon::parse_hours(s).map_err(|e| e.to_string())
}

fn run_replay(args: ReplayArgs) -> Result<()> {
    if let Some(p) = args.periods.iter().find(|p| p.start() >= args.at) {
        // Nothing of it has happened at --at: refuse rather than answer about the future.
        clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!(
                "--period {p} starts at or after --at {}: choose an --at within or after it\n",
                args.at.to_local_rfc3339()
            ),
        )
        .exit();
    }
    let registry = chiso::app::files::load_registry(&args.agencies)?;
    let source = (args.mapping.as_deref())
        .map(|m| chiso::app::files::load_mapping(m, &registry))
        .transpose()?;
    let setup = ReplaySetup {
        registry: Arc::new(registry),
        model: Arc::new(chiso::app::files::load_scoring(args.scoring.as_deref())?),
        calendar: Arc::new(chiso::app::files::load_holidays(args.holidays.as_deref())?),
        at: args.at,
        periods: args.periods,
        due_soon_horizon: args.due_soon_horizon,
        max_bytes: args.max_event_bytes,
        source,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let input = chiso::app::lines::open_events(&args.events)?;
    let summary = replay(&setup, input, &mut out)
        .with_context(|| format!("reading events file {}", args.events.display()))?;
    out.flush()?;
    let t = &summary.tally;
    let events = |n: u64| if n == 1 { "event" } else { "events" };
    eprintln!(
        "chiso replay: {} {} read, {} applied, {} duplicates, {} rejected",
        t.messages,
        events(t.messages),
        t.applied,
        t.duplicates,
        t.rejected_total()
    );
    let rejects: std::collections::BTreeMap<&str, u64> = t.rejects().collect();
    for (code, n) in &rejects {
        let (line, msg) = &summary.first_reject[code];
        eprintln!("  rejected {code}: {n} (first on line {line}: {msg})");
    }
    if let Some(f) = &summary.feed {
        eprintln!(
            "chiso replay: {} source records read: {} snapshots applied, {} stale, {} deletes, \
             {} rejected; {} events derived",
            f.records,
            f.applied,
            f.stale,
            f.deleted,
            f.rejected_total(),
            f.derived
        );
        for (code, n) in f.rejects() {
            let (line, msg) = &summary.first_feed_reject[code];
            eprintln!("  record rejected {code}: {n} (first on line {line}: {msg})");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    chiso::app::process::limit_malloc_arenas();
    let result = match Cli::parse().command {
        Command::Replay(args) => run_replay(args),
        Command::Run(args) => chiso::app::run::main(args),
        Command::Demo(args) => chiso::app::demo::main(args),
        Command::Generate(args) => chiso::app::generate::main(args),
        Command::Report(args) => chiso::app::report::main(args),
        Command::Produce(args) => chiso::app::produce::main(args),
        Command::Topics(args) => chiso::app::topics::main(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`chiso replay … | head`): stop quietly, as Unix tools do.
        Err(e) if chiso::app::process::broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
