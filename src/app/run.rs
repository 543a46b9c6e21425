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

use crate::app::config::{self, RunConfig};
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
        print_config(&cfg);
        return Ok(());
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
        let token = Some(cfg.settings.http.token.clone());
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
    live.set_ready(false);
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

fn print_config(cfg: &RunConfig) {
    let s = &cfg.settings;
    println!("instance_id = {:?}", cfg.instance_id);
    println!("{:#?}", s.kafka.topics);
    println!("bootstrap_servers = {:?}", s.kafka.bootstrap_servers);
    println!("group_id = {:?}", s.kafka.group_id);
    for (k, v) in &cfg.librdkafka {
        let secret = k.contains("password") || k.contains("secret") || k.contains("key");
        println!("librdkafka {k} = {}", if secret { "***" } else { v });
    }
    println!("{:#?}", s.pipeline);
    println!("{:#?}", s.engine);
    println!(
        "http.bind = {:?}, token set: {}",
        s.http.bind,
        !s.http.token.is_empty()
    );
    println!("{:#?}", s.shutdown);
    println!("{:#?}", s.log);
}
