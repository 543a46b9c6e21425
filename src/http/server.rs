//! The accept loop: hyper connections with limits that keep a slow or greedy client from
//! starving the rest (the health probes above all).
//!
//! - A client must send a request's headers within [`HEADER_TIMEOUT`]; a half-open connection
//!   is closed then, never held until the process runs out of descriptors.
//! - At most [`MAX_CONNECTIONS`] connections are served at once; past that, new ones are closed
//!   at once. The process's descriptor limit is raised to its hard limit at start, so the cap,
//!   not the operating system, is what a flood meets.
//! - Headers are limited to [`MAX_HEADER_BYTES`]; the API takes no request bodies.
//! - An accept error (descriptors exhausted after all) is logged at most every 10 s and the
//!   loop backs off briefly instead of spinning.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Longest a client may take to send a request's headers (also the idle limit between
/// requests of a kept-alive connection).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// Largest request head accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest the in-flight requests may take to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets in-flight requests finish
/// (at most [`DRAIN_TIMEOUT`]).
pub async fn serve_with_limits(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    raise_descriptor_limit();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let refused = AtomicU64::new(0);
    let mut last_error_log = None::<Instant>;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .keep_alive_interval(Some(HEADER_TIMEOUT))
        .keep_alive_timeout(HEADER_TIMEOUT);
    let builder = Arc::new(builder);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                if last_error_log.is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(error = %e, "HTTP accept failed; backing off");
                    last_error_log = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: close at once rather than queue (the client retries, a probe fails fast).
            let n = refused.fetch_add(1, Ordering::Relaxed);
            if n % 1000 == 0 {
                tracing::warn!(
                    limit = MAX_CONNECTIONS,
                    refused = n + 1,
                    "HTTP connection limit reached; closing new connections"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that hangs up or breaks the protocol ends only its own connection.
            let _ = conn.await;
            drop(slot);
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("HTTP requests still in flight after the drain timeout; closing");
        }
    }
    Ok(())
}

/// Raises the soft limit on open descriptors to the hard limit (at most 65,536).
fn raise_descriptor_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let want = lim.rlim_max.min(65_536);
        if lim.rlim_cur < want {
            lim.rlim_cur = want;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                tracing::debug!(limit = want, "open-descriptor limit raised");
            }
        }
    }
}
