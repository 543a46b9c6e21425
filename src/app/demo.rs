//! `chiso demo`: the sample province, a built-in event generator and the HTTP server; no Kafka.
//!
//! Wiring only: the generator starts a few weeks before the simulated "now" and its backlog is
//! replayed at once; then one task owns the engine and feeds it every event due by the
//! accelerated clock, advances it, and publishes a snapshot to the live state every second,
//! while the HTTP server serves `/metrics` and the API beside it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use crate::accept::{accept_batch, Tally};
use crate::core::time::NANOS_PER_DAY;
use crate::core::{
    Count, DueSoonHorizon, Engine, EngineSettings, PeriodKind, PeriodPolicy, Registry, Timestamp,
};
use crate::metrics::Metrics;
use crate::read_model::{publish_engine, EngineHealth, ReadModel};
use crate::sim::clock::{lively_start, SimClock};
use crate::sim::{Generator, GeneratorConfig};
use crate::wire::event_json::DEFAULT_MAX_BYTES;

/// Arguments of `chiso demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address of the HTTP server (metrics, health, API).
    #[arg(long, default_value = "127.0.0.1:9766")]
    pub listen: SocketAddr,
    /// Simulated seconds per real second, from 0.001 to 100000 (60: one real second is one
    /// simulated minute).
    #[arg(long, default_value_t = 60.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Agency registry (TOML or JSON); the built-in sample province if absent.
    #[arg(long)]
    pub agencies: Option<PathBuf>,
    /// Seed of the event generator: the same seed gives the same stream.
    #[arg(long, default_value_t = 766)]
    pub seed: u64,
    /// Days of history generated before the simulated start and replayed at once (0 to 731).
    #[arg(long, default_value_t = 21, value_parser = clap::value_parser!(u32).range(0..=731))]
    pub backlog_days: u32,
    /// Dossiers received on a working day by the whole registry (default: 21 per agency; more
    /// than 0, at most 1000000).
    #[arg(long, value_parser = parse_per_day)]
    pub dossiers_per_day: Option<f64>,
    /// Bearer token required by the operator lists (overdue, due-soon).
    #[arg(long, env = "CHISO_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Write the checked-in sample event file (third quarter 2025, sample province) and exit.
    #[arg(long, value_name = "FILE")]
    pub write_sample: Option<PathBuf>,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.001..=100_000.0).contains(&x) => Ok(x),
        _ => Err(format!(
            "`{s}` is not a speed: a number from 0.001 to 100000"
        )),
    }
}

fn parse_per_day(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1_000_000.0 => Ok(x),
        _ => Err(format!(
            "`{s}` is not a number of dossiers a day: more than 0, at most 1000000"
        )),
    }
}

pub fn main(args: DemoArgs) -> Result<()> {
    super::process::init_logging("info", false);
    let registry = Arc::new(match &args.agencies {
        Some(p) => crate::app::files::load_registry(p)?,
        None => crate::app::files::parse_registry(crate::app::files::SAMPLE_AGENCIES, false)
            .context("invalid built-in sample registry")?,
    });
    if let Some(path) = &args.write_sample {
        return write_sample(registry, path);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(args, registry))
}

fn write_sample(registry: Arc<Registry>, path: &PathBuf) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let n = crate::sim::sample_file(
        registry,
        Arc::new(crate::app::files::load_holidays(None)?),
        &mut out,
    )
    .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::flush(&mut out)?;
    tracing::info!(events = n, path = %path.display(), "sample events written");
    Ok(())
}

async fn run(args: DemoArgs, registry: Arc<Registry>) -> Result<()> {
    let model = Arc::new(crate::app::files::load_scoring(None)?);
    let calendar = Arc::new(crate::app::files::load_holidays(None)?);
    let live = ReadModel::new(registry.clone(), model.clone());
    let metrics = Arc::new(Metrics::new(live.clone()).context("cannot register metrics")?);
    let health = live.health().clone();
    let shutdown = CancellationToken::new();

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if let Some(t) = &args.token {
        crate::http::check_token(t)
            .map_err(|e| anyhow::anyhow!("--token / CHISO_API_TOKEN: {e}"))?;
    }
    let state = crate::http::AppState::new(live.clone(), metrics.scrape(), args.token.clone());
    let server = tokio::spawn(crate::http::serve(listener, state, shutdown.clone()));

    let wall = Timestamp::from_unix_seconds(chrono::Utc::now().timestamp());
    let sim_start = lively_start(wall, &calendar);
    let backlog = args.backlog_days as i64 * NANOS_PER_DAY;
    let per_day = args
        .dossiers_per_day
        .unwrap_or(21.0 * registry.len() as f64);
    let generator = Generator::new(
        registry.clone(),
        GeneratorConfig {
            seed: args.seed,
            start: sim_start.saturating_sub(backlog),
            dossiers_per_working_day: per_day,
            calendar: calendar.clone(),
            ..GeneratorConfig::new(calendar.clone())
        },
    );
    let settings = EngineSettings {
        due_soon_horizon: DueSoonHorizon::DEFAULT,
        periods: PeriodPolicy::Rolling {
            finals_kept: [1, 1, 0],
        },
    };
    let engine = Engine::new(registry.clone(), model, calendar, settings, sim_start);
    tracing::info!(
        %addr,
        agencies = registry.len(),
        speed = args.speed,
        simulated_start = %sim_start,
        backlog_days = args.backlog_days,
        dossiers_per_working_day = per_day,
        "chiso demo: metrics at http://{addr}/metrics, results at http://{addr}/api/v1/results"
    );

    let feeder = Feeder {
        engine,
        generator,
        registry,
        live,
        health,
        lines: Vec::new(),
    };
    let driver = tokio::spawn(feeder.drive(addr, sim_start, args.speed, shutdown.clone()));

    super::process::wait_for_signal(&shutdown).await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let finished = async {
        let _ = driver.await;
        server.await
    };
    match tokio::time::timeout(Duration::from_secs(10), finished).await {
        Ok(Ok(served)) => served.context("HTTP server failed")?,
        Ok(Err(e)) => return Err(e).context("HTTP server task failed"),
        Err(_) => tracing::warn!("shutdown took over 10 s; exiting anyway"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// The single owner of the demo engine.
struct Feeder {
    engine: Engine,
    generator: Generator,
    registry: Arc<Registry>,
    live: ReadModel,
    health: Arc<EngineHealth>,
    /// Reused line buffers of one batch.
    lines: Vec<String>,
}

/// Generated lines accepted together (see [`accept_batch`]).
const BATCH: usize = 256;

/// At most this many events per tick, so that a huge `--speed` cannot starve the runtime.
const MAX_EVENTS_PER_TICK: usize = 200_000;

impl Feeder {
    /// Feeds every generated event before `until` (at most `max`); returns how many.
    fn feed(&mut self, until: Timestamp, max: usize) -> usize {
        let mut n = 0;
        while n < max && self.generator.next_event_time().is_some_and(|t| t < until) {
            // Up to a batch of lines, then one pass through the accept path.
            let mut lines = 0;
            while lines < BATCH
                && n + lines < max
                && self.generator.next_event_time().is_some_and(|t| t < until)
            {
                if lines == self.lines.len() {
                    self.lines.push(String::with_capacity(512));
                }
                self.lines[lines].clear();
                if !self.generator.next_event_into(&mut self.lines[lines]) {
                    break;
                }
                lines += 1;
            }
            if lines == 0 {
                break;
            }
            n += lines;
            let messages: Vec<&[u8]> = self.lines[..lines].iter().map(|l| l.as_bytes()).collect();
            let mut tally = Tally::default();
            accept_batch(&mut self.engine, DEFAULT_MAX_BYTES, &messages, |_, o| {
                tally.note(&o)
            });
            self.health.add_outcomes(
                tally.messages,
                tally.applied,
                tally.duplicates,
                &tally.rejected,
            );
        }
        n
    }

    fn publish(&mut self) {
        publish_engine(&self.live, 0, &mut self.engine);
        let stats = self.engine.stats();
        let h = &self.health;
        if let Some(t) = stats.last_event_at {
            h.saw_event_at(t);
        }
        h.dossiers_tracked
            .store(self.engine.dossier_count() as i64, Ordering::Relaxed);
        h.dossiers_pending
            .store(self.engine.pending() as i64, Ordering::Relaxed);
        h.dossiers_expired
            .store(self.engine.expired_count() as i64, Ordering::Relaxed);
        h.partitions_owned.store(1, Ordering::Relaxed);
        // Everything due by the simulated clock is fed each tick: the demo never lags.
        h.set_lag(0, 0);
    }

    /// Root figures for the progress log (no dossier ids).
    fn root_figures(&self) -> Option<(u64, u64, u64, Option<f64>)> {
        let month = self
            .engine
            .periods()
            .filter(|p| p.kind() == PeriodKind::Month)
            .max_by_key(|p| p.start())?;
        let results = self.engine.results_for(month)?;
        let root = *self.registry.bottom_up().last()?;
        let r = &results[root.index()];
        Some((
            r.counts[Count::InScope],
            r.counts[Count::OpenOverdue],
            r.counts[Count::DueSoon],
            r.card.score_tenths.map(|t| t as f64 / 10.0),
        ))
    }

    async fn drive(
        mut self,
        addr: std::net::SocketAddr,
        sim_start: Timestamp,
        speed: f64,
        shutdown: CancellationToken,
    ) {
        let t = Instant::now();
        let mut backlog = 0;
        // Restoring until the backlog is replayed.
        self.live.set_ready(false);
        loop {
            let n = self.feed(sim_start, MAX_EVENTS_PER_TICK);
            backlog += n;
            if n < MAX_EVENTS_PER_TICK {
                break;
            }
            tokio::task::yield_now().await;
        }
        self.publish();
        self.live.set_ready(true);
        let took = t.elapsed();
        self.health.restore_seconds.observe(took);
        tracing::info!(
            events = backlog,
            dossiers = self.engine.dossier_count(),
            took_ms = took.as_millis() as u64,
            "backlog replayed; ready"
        );
        let root = self
            .registry
            .bottom_up()
            .last()
            .map_or("", |&a| self.registry.get(a).id.as_str());
        tracing::info!(
            "serving http://{addr}/metrics, http://{addr}/api/v1/results?period=month, \
             http://{addr}/api/v1/agencies/{root}, http://{addr}/api/v1/agencies/{root}/overdue, \
             http://{addr}/healthz, http://{addr}/readyz"
        );

        let clock = SimClock::new(Instant::now(), sim_start, speed);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_publish = Instant::now();
        let mut last_log = Instant::now();
        let mut fed_since_log = 0;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = clock.at(Instant::now());
            fed_since_log += self.feed(now, MAX_EVENTS_PER_TICK);
            self.engine.advance_to(now);
            if last_publish.elapsed() >= Duration::from_secs(1) {
                self.publish();
                last_publish = Instant::now();
            }
            if last_log.elapsed() >= Duration::from_secs(15) {
                let (in_scope, overdue, due_soon, score) = self.root_figures().unwrap_or_default();
                tracing::info!(
                    simulated_now = %now,
                    events = fed_since_log,
                    dossiers = self.engine.dossier_count(),
                    in_scope,
                    open_overdue = overdue,
                    due_soon,
                    score = score.unwrap_or(f64::NAN),
                    "demo progress (root agency, current month)"
                );
                fed_since_log = 0;
                last_log = Instant::now();
            }
        }
        self.live.readiness().set_stopping();
    }
}
