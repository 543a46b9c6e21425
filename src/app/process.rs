//! What every long-running command does with its process: logging to standard error, waiting
//! for SIGTERM or SIGINT, and a watchdog that ends a shutdown that hangs.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

/// Caps glibc's malloc arenas at two, unless `MALLOC_ARENA_MAX` says otherwise. Call it first,
/// before any thread starts.
///
/// glibc gives threads that allocate at the same time arenas of their own, up to eight per core;
/// librdkafka's broker threads (one op per fetched message, decompressed fetch buffers) and the
/// engine workers then leave memory free but held in many half-used arenas. Measured on
/// `chiso run` catching up on 1 M events, two runs each: country-sized registry (4,206 agencies)
/// peak RSS 355–397 MB → 245–256 MB (one arena: 239–246 MB); sample province 188–191 → 164–177
/// MB, consumed in 3.3–3.6 s either way.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; it is called before other threads
        // exist. A refusal (0) leaves glibc's default, which is harmless.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Logs to standard error at `level` (an `EnvFilter` directive), overridden by `RUST_LOG`, as
/// text (coloured on a terminal) or as JSON lines. A subscriber installed already is kept.
pub fn init_logging(level: &str, json: bool) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Returns on SIGTERM, SIGINT, or when `stopped` is cancelled (a fatal error elsewhere).
pub async fn wait_for_signal(stopped: &CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
    tokio::select! {
        _ = term.recv() => info!("SIGTERM: shutting down"),
        _ = int.recv() => info!("SIGINT: shutting down"),
        _ = stopped.cancelled() => warn!("stopped: shutting down"),
    }
}

/// Exits the process with status 3 if it is still running `timeout` from now: librdkafka and
/// runtimes can hang while closing, and an orchestrator waits for the process to end.
pub fn start_watchdog(command: &'static str, timeout: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("chiso-watchdog".into())
        .spawn(move || {
            std::thread::sleep(timeout);
            eprintln!(
                "chiso {command}: shutdown did not finish within {} ms; exiting",
                timeout.as_millis()
            );
            std::process::exit(3);
        })
        .map(|_| ())
}

/// Whether an error comes from a reader that went away (`chiso replay … | head`).
pub fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
