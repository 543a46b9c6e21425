//! `chiso report`: the monthly public notice of one period — every agency's score, band and
//! group points, ranked per level, with the change against the period before — in the formats
//! of [`crate::render::notice`].
//!
//! The figures are results objects (schema 1), from a results file (JSON lines as `chiso replay`
//! prints them) or computed here from events exactly as `chiso replay` would: one path, so every
//! format carries the replay's numbers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::app::clock::Clock;
use crate::app::replay::{feed_input, write_results, ReplaySetup, Summary};
use crate::core::time::NANOS_PER_SEC;
use crate::core::{DueSoonHorizon, Period, Timestamp};
use crate::render::notice::{self, Notice, Row};
use crate::render::text::Lang;
use crate::wire::event_json::DEFAULT_MAX_BYTES;
use crate::wire::result_json::ResultRecord;

/// Arguments of `chiso report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The period of the notice: a month (2025-08), a quarter (2025-Q3) or a year (2025).
    #[arg(long, value_parser = super::args::period)]
    pub period: Period,
    /// Results (JSON lines, as `chiso replay` prints them) holding the period, and the one
    /// before it for the change column.
    #[arg(long, conflicts_with_all = ["events", "kafka"])]
    pub results: Option<PathBuf>,
    /// Read the results from the results topic of `chiso run` (its latest value per agency and
    /// period), with the run configuration (`--config`, CHISO_* variables).
    #[arg(long, conflicts_with = "events")]
    pub kafka: bool,
    /// The run configuration (TOML), with --kafka.
    #[arg(long, requires = "kafka")]
    pub config: Option<PathBuf>,
    /// Events (JSON lines) to compute the results from, as `chiso replay` does.
    #[arg(long, requires = "agencies")]
    pub events: Option<PathBuf>,
    /// With --events: the file holds a feed's records (the national portal's sync records,
    /// Debezium change records), read through this mapping (TOML).
    #[arg(long, requires = "events")]
    pub mapping: Option<PathBuf>,
    /// Agency registry, with --events.
    #[arg(long)]
    pub agencies: Option<PathBuf>,
    /// Scoring model (TOML): the model of --events, and the names of the groups in every case;
    /// the built-in model if absent.
    #[arg(long)]
    pub scoring: Option<PathBuf>,
    /// Public holidays, with --events; the shipped list if absent.
    #[arg(long)]
    pub holidays: Option<PathBuf>,
    /// Evaluation time, with --events (RFC 3339): the figures as known at that instant. Default:
    /// the later of the period's end and the latest `occurred_at` in the input (rounded up to
    /// the next second), but never later than now — everything the input holds about the period.
    #[arg(long, value_parser = super::args::time)]
    pub at: Option<Timestamp>,
    /// html, xlsx, csv or md.
    #[arg(long, default_value = "html", value_parser = ["html", "xlsx", "csv", "md"])]
    pub format: String,
    /// vi or en.
    #[arg(long, default_value = "vi", value_parser = ["vi", "en"])]
    pub lang: String,
    /// Directory to write `report-<period>.<format>` into (created if needed).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn main(args: ReportArgs) -> Result<()> {
    let lines = match (&args.results, &args.events, args.kafka) {
        (Some(path), None, false) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, Some(events), false) => from_events(&args, events)?,
        (None, None, true) => from_kafka(&args)?,
        _ => bail!("give --results FILE, --events FILE with --agencies FILE, or --kafka"),
    };
    let rows = rows_of(&lines, args.period)?;
    if rows.is_empty() {
        bail!(
            "no results for {} in the input (is it the right period?)",
            args.period.label()
        );
    }
    let model = crate::app::files::load_scoring(args.scoring.as_deref())?;
    let notice = Notice {
        period: args.period,
        rows: &rows,
        lang: Lang::of(&args.lang),
        groups: &model.groups,
        generated: Clock::Wall.now(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let file = args
        .out
        .join(format!("report-{}.{}", args.period.label(), args.format));
    let bytes = match args.format.as_str() {
        "xlsx" => notice::xlsx(&notice)?,
        "csv" => notice::csv(&notice).into_bytes(),
        "md" => notice::markdown(&notice).into_bytes(),
        _ => notice::html(&notice).into_bytes(),
    };
    std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!(
        "chiso report: {} agencies, {} written",
        rows.len(),
        file.display()
    );
    Ok(())
}

/// The results of the period and the one before, as the results topic holds them now.
fn from_kafka(args: &ReportArgs) -> Result<String> {
    let cfg = crate::app::config::load(args.config.as_deref())?;
    let wanted: Vec<String> = std::iter::once(args.period)
        .chain(args.period.previous())
        .map(|p| format!("|{}", p.label()))
        .collect();
    let values = crate::kafka::published::latest_results(
        &cfg.kafka(),
        |key| wanted.iter().any(|w| key.ends_with(w.as_str())),
        Duration::from_secs(60),
    )
    .with_context(|| {
        format!(
            "cannot read the results topic `{}` from {}",
            cfg.topics().results,
            cfg.settings.kafka.bootstrap_servers
        )
    })?;
    let mut out = String::new();
    for v in values {
        out.push_str(std::str::from_utf8(&v).context("a results record is not UTF-8")?);
        out.push('\n');
    }
    Ok(out)
}

/// The results of the period and the one before, computed from events as `chiso replay` does.
///
/// At `--at` if given; otherwise at the later of the period's end and just after the latest
/// `occurred_at` the input holds (what arrived after the period — reported indicators, late
/// ratings and payments, corrections — counts as it does in a replay at that instant), but
/// never later than now (an ongoing period is evaluated now and is not final).
fn from_events(args: &ReportArgs, events: &PathBuf) -> Result<String> {
    let agencies = args.agencies.as_ref().expect("clap requires it");
    let mut periods = vec![args.period];
    periods.extend(args.period.previous());
    let wall = Clock::Wall.now();
    let registry = crate::app::files::load_registry(agencies)?;
    let source = (args.mapping.as_deref())
        .map(|m| crate::app::files::load_mapping(m, &registry))
        .transpose()?;
    let setup = ReplaySetup {
        registry: Arc::new(registry),
        model: Arc::new(crate::app::files::load_scoring(args.scoring.as_deref())?),
        calendar: Arc::new(crate::app::files::load_holidays(args.holidays.as_deref())?),
        at: args.at.unwrap_or(args.period.end().min(wall)),
        periods,
        due_soon_horizon: DueSoonHorizon::DEFAULT,
        max_bytes: DEFAULT_MAX_BYTES,
        source,
    };
    let file =
        std::fs::File::open(events).with_context(|| format!("cannot open {}", events.display()))?;
    let mut engine = setup.engine();
    let mut summary = Summary::default();
    feed_input(
        &setup,
        &mut engine,
        std::io::BufReader::new(file),
        &mut summary,
    )?;
    if args.at.is_none() {
        let latest = engine.stats().last_event_at;
        engine.advance_to(default_evaluation(args.period, latest, wall));
    }
    let mut out = Vec::new();
    write_results(&engine, &mut out)?;
    Ok(String::from_utf8(out).expect("results are UTF-8"))
}

/// The default evaluation time of a notice from events: the later of the period's end and the
/// whole second after the latest `occurred_at` (an event counts when it occurred before the
/// evaluation time), capped at `wall`.
fn default_evaluation(period: Period, latest: Option<Timestamp>, wall: Timestamp) -> Timestamp {
    let after_latest = latest.map_or(Timestamp::MIN, |t| {
        let n = t.as_nanos();
        Timestamp::from_nanos(n - n.rem_euclid(NANOS_PER_SEC)).saturating_add(NANOS_PER_SEC)
    });
    period.end().max(after_latest).min(wall)
}

/// The rows of `period`, with the change against the period before when the input has it.
fn rows_of(lines: &str, period: Period) -> Result<Vec<Row>> {
    let label = period.label();
    let before = period.previous().map(|p| p.label());
    let mut now: BTreeMap<String, ResultRecord> = BTreeMap::new();
    let mut prev: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for (n, line) in lines.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let r = ResultRecord::decode(line)
            .with_context(|| format!("line {}: not a results object", n + 1))?;
        let this = r.label();
        if this == Some(label.as_str()) {
            now.insert(r.agency_id.clone(), r);
        } else if this.is_some() && this == before.as_deref() {
            prev.insert(r.agency_id.clone(), r.score);
        }
    }
    Ok(now
        .into_iter()
        .map(|(id, r)| {
            let change = match (r.score, prev.get(&id).copied().flatten()) {
                (Some(s), Some(p)) => Some(((s - p) * 10.0).round() / 10.0),
                _ => None,
            };
            Row {
                name: r.agency_name.clone().unwrap_or_else(|| id.clone()),
                level: r.level.clone().unwrap_or_default(),
                score: r.score,
                band: r.band.clone(),
                change,
                groups: r
                    .groups
                    .iter()
                    .map(|(k, g)| (k.clone(), g.points, g.max))
                    .collect(),
                on_time: r.count("on_time"),
                in_scope: r.count("in_scope"),
                open_overdue: r.count("open_overdue"),
                open_overdue_portal: r.count("open_overdue_national_portal"),
                evaluated_at: r
                    .evaluated_at
                    .as_deref()
                    .and_then(|t| Timestamp::parse_rfc3339(t).ok()),
                is_final: r.is_final,
                id,
            }
        })
        .collect())
}
