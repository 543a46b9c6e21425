//! The accept loop: hyper connections with limits that keep a slow, stalled or greedy client
//! from starving the rest (the health probes above all).
//!
//! - A client must send a request's headers within [`HEADER_TIMEOUT`], and an idle connection
//!   (no request in flight: one that never sends a byte, a half-sent head, a kept-alive one)
//!   is closed after [`IDLE_TIMEOUT`]; a half-open connection is never held until the process
//!   runs out of descriptors.
//! - A response must be written within [`RESPONSE_TIMEOUT`] of its request, and a write the
//!   client does not let progress for [`WRITE_TIMEOUT`] closes the connection: a client that
//!   stops reading cannot hold a scrape turn or a connection slot.
//! - At most [`MAX_CONNECTIONS`] connections are served at once (fewer when the descriptor
//!   limit is low). At the cap, the connection that has waited on its client the longest
//!   (idle, or blocked because its client stopped reading) is closed to admit the new one, so
//!   idle sockets cannot lock the probes out; only when every connection is being worked for
//!   is a new one closed at once. The process's descriptor limit is raised to its hard limit
//!   at start.
//! - Headers are limited to [`MAX_HEADER_BYTES`]; the API takes no request bodies.
//! - An accept error (descriptors exhausted after all) closes the longest-waiting connection;
//!   it is logged at most every 10 s, and the loop backs off briefly when nothing can give way.

mod conn;
mod io;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use conn::{Admission, Conns};

/// Longest a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a connection may stay without a request in flight (until its next request's
/// headers are in).
pub const IDLE_TIMEOUT: Duration = HEADER_TIMEOUT;
/// Longest a write may wait for the client to read (no progress at all).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a response may take to be written, from its request (a 48 MB scrape read at
/// 10 Mbit/s takes 40 s).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// Descriptors kept for everything else (files, Kafka, the listener) when the limit is low.
const RESERVED_DESCRIPTORS: usize = 128;
/// Largest request head accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest the in-flight requests may take to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets in-flight requests finish
/// (at most [`DRAIN_TIMEOUT`]).
///
/// Long because the accept loop, its limits and the drain share the connection counters and
/// read best together.
pub async fn serve_with_limits(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let descriptors = raise_descriptor_limit();
    let cap = descriptors.map_or(MAX_CONNECTIONS, |d| {
        MAX_CONNECTIONS.min(d.saturating_sub(RESERVED_DESCRIPTORS).max(16))
    });
    if cap < MAX_CONNECTIONS {
        tracing::warn!(
            limit = cap,
            descriptors,
            "the descriptor limit is low: serving fewer HTTP connections at once"
        );
    }
    let conns = Arc::new(Conns::new(cap));
    let graceful = GracefulShutdown::new();
    let (refused, evicted) = (AtomicU64::new(0), AtomicU64::new(0));
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
                    tracing::warn!(error = %e, "HTTP accept failed; closing an idle connection");
                    last_error_log = Some(Instant::now());
                }
                if !conns.evict_one() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                } else {
                    // Let the evicted connection close its descriptor.
                    tokio::task::yield_now().await;
                }
                continue;
            }
        };
        let (id, conn) = match conns.admit() {
            Admission::In {
                id,
                conn,
                evicted: e,
            } => {
                if e {
                    log_every_1000(&evicted, cap, "closing the connection idle the longest");
                }
                (id, conn)
            }
            Admission::Full => {
                // Every connection is being worked for: close at once rather than queue (the
                // client retries, a probe fails fast).
                log_every_1000(&refused, cap, "closing new connections");
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(io::Watched::new(stream, conn.clone()));
        let service = io::Tracked::new(app.clone(), conn.clone());
        let served = builder.clone().serve_connection(io, service).into_owned();
        let served = graceful.watch(served);
        let conns = conns.clone();
        tokio::spawn(async move {
            // A client that hangs up, breaks the protocol, stalls or is evicted ends only its
            // own connection.
            tokio::select! {
                _ = served => {}
                _ = conn.evict.cancelled() => {}
            }
            conns.remove(id);
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

fn log_every_1000(count: &AtomicU64, limit: usize, what: &str) {
    let n = count.fetch_add(1, Ordering::Relaxed);
    if n % 1000 == 0 {
        tracing::warn!(
            limit,
            times = n + 1,
            "HTTP connection limit reached; {what}"
        );
    }
}

/// Raises the soft limit on open descriptors to the hard limit (at most 65,536); gives the
/// soft limit in force.
fn raise_descriptor_limit() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        let want = lim.rlim_max.min(65_536);
        if lim.rlim_cur < want {
            let was = lim.rlim_cur;
            lim.rlim_cur = want;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                tracing::debug!(limit = want, "open-descriptor limit raised");
            } else {
                lim.rlim_cur = was;
            }
        }
    }
    usize::try_from(lim.rlim_cur).ok()
}
