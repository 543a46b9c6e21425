//! Time bounds on one connection's socket, and the per-request bookkeeping they read.
//!
//! - An idle connection (no request in flight) whose peer sends nothing for
//!   [`IDLE_TIMEOUT`](super::IDLE_TIMEOUT) is closed: a socket that never sends a byte, a
//!   half-sent head, a kept-alive connection left open.
//! - A write that the peer does not let progress for [`WRITE_TIMEOUT`](super::WRITE_TIMEOUT)
//!   closes the connection, and a response must be written within
//!   [`RESPONSE_TIMEOUT`](super::RESPONSE_TIMEOUT) of its request however slowly it is read.
//!   The response body is dropped then, which gives back what it held (a scrape turn).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::conn::{Conn, InFlight};
use super::{IDLE_TIMEOUT, RESPONSE_TIMEOUT, WRITE_TIMEOUT};

/// A socket whose reads and writes are bounded in time (see the module doc).
pub(super) struct Watched<T> {
    io: T,
    conn: Arc<Conn>,
    /// When the current write started to wait for the peer, in ms (see [`Conn`]).
    write_stalled: Option<u64>,
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl<T> Watched<T> {
    pub(super) fn new(io: T, conn: Arc<Conn>) -> Self {
        Watched {
            io,
            conn,
            write_stalled: None,
            read_timer: None,
            write_timer: None,
        }
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

/// Whether `at` (ms, see [`Conn`]) has passed; if not, wakes the task then.
fn expired(timer: &mut Option<Pin<Box<Sleep>>>, conn: &Conn, at: u64, cx: &mut Context) -> bool {
    if conn.now_ms() >= at {
        return true;
    }
    let at = conn.at(at);
    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
    if timer.deadline() != at {
        timer.as_mut().reset(at);
    }
    timer.as_mut().poll(cx).is_ready()
}

impl<T: AsyncWrite + Unpin> Watched<T> {
    /// Runs one write operation under the write bounds.
    fn write_op<R>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut T>, &mut Context<'_>) -> Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        let deadline = self.conn.deadline();
        if deadline.is_some_and(|d| self.conn.now_ms() >= d) {
            return Poll::Ready(Err(timed_out("response not written within its deadline")));
        }
        match op(Pin::new(&mut self.io), cx) {
            Poll::Ready(r) => {
                if self.write_stalled.take().is_some() {
                    self.conn.set_stalled_since(None);
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let since = match self.write_stalled {
                    Some(t) => t,
                    None => {
                        let t = self.conn.now_ms();
                        self.write_stalled = Some(t);
                        self.conn.set_stalled_since(Some(t));
                        t
                    }
                };
                let stall_end = since + WRITE_TIMEOUT.as_millis() as u64;
                let at = deadline.map_or(stall_end, |d| d.min(stall_end));
                if expired(&mut self.write_timer, &self.conn, at, cx) {
                    return Poll::Ready(Err(timed_out("the client stopped reading")));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if r.is_pending() {
            // Waiting for a request: bounded. Waiting while a request is served: hyper only
            // watches for the peer hanging up.
            if let Some(idle) = this.conn.idle_since() {
                let at = idle + IDLE_TIMEOUT.as_millis() as u64;
                if expired(&mut this.read_timer, &this.conn, at, cx) {
                    return Poll::Ready(Err(timed_out("no request within the idle timeout")));
                }
            }
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write_op(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_op(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write_op(cx, |io, cx| io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write_op(cx, |io, cx| io.poll_shutdown(cx))
    }
}

/// The router, counting each request in flight on its connection until its response body
/// is finished or dropped (what [`Watched`] and the eviction read).
pub(super) struct Tracked {
    app: TowerToHyperService<Router>,
    conn: Arc<Conn>,
}

impl Tracked {
    pub(super) fn new(app: Router, conn: Arc<Conn>) -> Self {
        Tracked {
            app: TowerToHyperService::new(app),
            conn,
        }
    }
}

type Answer = axum::http::Response<Body>;

impl hyper::service::Service<axum::http::Request<Incoming>> for Tracked {
    type Response = Answer;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, Infallible>> + Send>>;

    fn call(&self, req: axum::http::Request<Incoming>) -> Self::Future {
        let request = self.conn.begin(RESPONSE_TIMEOUT);
        let answer = self.app.call(req);
        Box::pin(async move {
            let answer = answer.await?;
            Ok(answer.map(|body| {
                Body::new(Counted {
                    body,
                    _request: request,
                })
            }))
        })
    }
}

/// A response body that keeps its request counted in flight.
struct Counted {
    body: Body,
    _request: InFlight,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
