//! `chiso run`: the Kafka pipeline (see `crate::kafka` and `docs/kafka.md`).
//!
//! Wiring only: load and check the configuration, start logging, the two pipeline stages and
//! the HTTP server, wait for SIGTERM/SIGINT, then shut down deliberately: cancel, let each stage
//! commit its last transaction and close, and exit anyway after `shutdown.timeout_ms` (a
//! watchdog thread) because librdkafka can hang while closing.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::app::config::{self, RunConfig, Scalar};
use crate::kafka::Pipeline;
use crate::metrics::Metrics;
use crate::read_model::{EngineHealth, ReadModel};

/// Arguments of `chiso run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Configuration file (TOML), layered over the built-in defaults and under CHISO_* variables.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the effective configuration (secrets masked) and exit.
    #[arg(long)]
    pub check: bool,
}

pub fn main(args: RunArgs) -> Result<()> {
    let cfg = config::load(args.config.as_deref())?;
    if args.check {
        return Ok(print_config(&cfg)?);
    }
    super::process::init_logging(&cfg.settings.log.level, cfg.settings.log.format == "json");
    let cfg = Arc::new(cfg);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("chiso-rt")
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(cfg))
}

async fn serve(cfg: Arc<RunConfig>) -> Result<()> {
    let live = ReadModel::new(cfg.registry.clone(), cfg.model.clone());
    let metrics = Arc::new(Metrics::new(live.clone()).context("registering metrics")?);
    let health = live.health().clone();
    let cancel = CancellationToken::new();
    info!(
        instance = %cfg.instance_id,
        bootstrap = %cfg.settings.kafka.bootstrap_servers,
        events = %cfg.topics().events,
        clock = ?cfg.clock,
        "chiso run starting"
    );
    // HTTP (API, /metrics, health) stays up until the pipeline has drained, then stops.
    let http_stop = CancellationToken::new();
    let http = if cfg.settings.http.bind.trim().is_empty() {
        None
    } else {
        let bind = cfg.settings.http.bind.trim();
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on http.bind {bind}"))?;
        // Empty in the configuration means no token (checked at load: never blank).
        let token = Some(cfg.settings.http.token.clone()).filter(|t| !t.is_empty());
        let state = crate::http::AppState::new(live.clone(), metrics.scrape(), token);
        Some(tokio::spawn(crate::http::serve(
            listener,
            state,
            http_stop.clone(),
        )))
    };
    let pipeline = Pipeline::start(Arc::new(cfg.kafka()), live.clone(), cancel.clone())
        .context("starting the pipeline threads")?;
    let reporter = tokio::spawn(report_progress(health, cancel.clone()));

    super::process::wait_for_signal(&cancel).await;
    live.readiness().set_stopping();
    cancel.cancel();
    let timeout = cfg.shutdown_timeout();
    super::process::start_watchdog("run", timeout).context("starting the shutdown watchdog")?;
    let joined = tokio::task::spawn_blocking(move || pipeline.join()).await;
    reporter.abort();
    http_stop.cancel();
    if let Some(h) = http {
        match h.await {
            Ok(Err(e)) => warn!(error = %e, "HTTP server"),
            Err(e) => warn!(error = %e, "HTTP server task"),
            Ok(Ok(())) => {}
        }
    }
    match joined {
        Ok(Ok(())) => {
            info!("chiso run stopped cleanly");
            Ok(())
        }
        Ok(Err(e)) => {
            error!(error = %e, "chiso run stopped on an error");
            Err(anyhow::Error::new(e).context("the Kafka pipeline failed"))
        }
        Err(e) => Err(anyhow::anyhow!("pipeline join failed: {e}")),
    }
}

/// One log line every 10 s with the running totals (no dossier or event ids).
async fn report_progress(health: Arc<EngineHealth>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        info!(
            consumed = health.consumed(),
            applied = health.applied.load(Ordering::Relaxed),
            duplicates = health.events_duplicate.load(Ordering::Relaxed),
            rejected = health.rejected(),
            results = health.results_published.load(Ordering::Relaxed),
            restarts = health.session_restarts.load(Ordering::Relaxed),
            "progress"
        );
    }
}

/// The effective configuration as TOML that `--config` takes back (secrets masked; the
/// instance id as resolved).
fn print_config(cfg: &RunConfig) -> std::io::Result<()> {
    use std::io::Write;
    let mut s = cfg.settings.clone();
    s.kafka.instance_id = cfg.instance_id.clone();
    if !s.http.token.is_empty() {
        s.http.token = MASK.into();
    }
    for (k, v) in s.kafka.librdkafka.iter_mut() {
        if is_secret(k) {
            *v = Scalar::Str(MASK.into());
        }
    }
    let text = s.to_toml();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# chiso run: effective configuration (defaults, file, environment); secrets masked\n"
    )?;
    out.write_all(text.as_bytes())?;
    out.flush()
}

const MASK: &str = "***";

/// librdkafka properties that hold secrets (`sasl.password`, `ssl.key.password`, …).
fn is_secret(key: &str) -> bool {
    ["password", "secret", "key"]
        .iter()
        .any(|w| key.contains(w))
}
