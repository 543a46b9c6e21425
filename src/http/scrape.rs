//! `GET /metrics`: the scrape, handed out in bounded slices to a bounded number of scrapers.
//!
//! A province's scrape is tens of MB. Sent as one piece to many scrapers at once, it keeps the
//! async workers busy copying and the probes wait behind them. So:
//! - at most [`MAX_CONCURRENT_SCRAPES`] responses are sent at once; the others wait their turn
//!   in order (a Prometheus pair needs two), and one that waits longer than
//!   [`SCRAPE_QUEUE_TIMEOUT`] gets 503, since Prometheus would have given up by then, and so
//!   does one that finds [`MAX_WAITING_SCRAPES`] waiting already (waiting scrapes hold
//!   connections that cannot give way to a probe);
//! - a client that stops reading cannot keep its turn: the server closes a connection whose
//!   writes make no progress or whose response outlives its deadline (`server`), which drops
//!   the body and with it the turn;
//! - a response is written in [`CHUNK_BYTES`] frames, so that a worker returns to other tasks
//!   (a probe) between two frames.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{ApiError, AppState, TEXT_CONTENT_TYPE};

/// Scrape responses sent at once.
pub const MAX_CONCURRENT_SCRAPES: usize = 4;
/// Longest a scrape waits for its turn (below Prometheus's default 10 s scrape timeout).
pub const SCRAPE_QUEUE_TIMEOUT: Duration = Duration::from_secs(8);
/// Scrapes waiting for a turn at most; more are answered 503 at once.
pub const MAX_WAITING_SCRAPES: usize = 64;
/// Size of one written frame.
const CHUNK_BYTES: usize = 256 * 1024;

/// The turns: one permit per response being sent, and the scrapes waiting for one.
pub struct Turns {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
}

pub fn turns() -> Arc<Turns> {
    Arc::new(Turns {
        permits: Arc::new(Semaphore::new(MAX_CONCURRENT_SCRAPES)),
        waiting: AtomicUsize::new(0),
    })
}

impl Turns {
    /// A turn, waiting at most [`SCRAPE_QUEUE_TIMEOUT`] behind at most
    /// [`MAX_WAITING_SCRAPES`] others.
    async fn take(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(turn) = self.permits.clone().try_acquire_owned() {
            return Some(turn);
        }
        // Counted out again however the wait ends (the client may hang up meanwhile).
        let _waiting = Waiting::enter(&self.waiting)?;
        tokio::time::timeout(SCRAPE_QUEUE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// One scrape counted among the waiting ones.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(waiting: &'a AtomicUsize) -> Option<Self> {
        if waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING_SCRAPES {
            waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Waiting(waiting))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(turn) = state.scrape_turns.take().await else {
        tracing::warn!(
            limit = MAX_CONCURRENT_SCRAPES,
            waiting = MAX_WAITING_SCRAPES,
            "a scrape waited too long for its turn, or too many wait; answering 503"
        );
        return ApiError::busy().into_response();
    };
    // Encoding a large registry takes tens of milliseconds: keep it off the async workers.
    let scrape = state.scrape.clone();
    match tokio::task::spawn_blocking(move || scrape()).await {
        Ok(text) => (
            [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
            Body::new(Slices {
                rest: text,
                _turn: turn,
            }),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics encoding failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A body that yields its bytes in [`CHUNK_BYTES`] frames (zero-copy slices of one buffer) and
/// holds its scrape turn until the last frame is taken or the client goes away.
struct Slices {
    rest: Bytes,
    _turn: OwnedSemaphorePermit,
}

impl http_body::Body for Slices {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.rest.len().min(CHUNK_BYTES);
        Poll::Ready(Some(Ok(Frame::data(self.rest.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn slices_give_back_the_whole_buffer_in_bounded_frames_and_release_the_turn() {
        let turns = turns();
        let text = Bytes::from(
            (0..CHUNK_BYTES * 3 + 17)
                .map(|i| i as u8)
                .collect::<Vec<_>>(),
        );
        let mut body = Slices {
            rest: text.clone(),
            _turn: turns.take().await.unwrap(),
        };
        assert_eq!(
            http_body::Body::size_hint(&body).exact(),
            Some(text.len() as u64)
        );
        let mut got = Vec::new();
        let mut frames = 0;
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            assert!(data.len() <= CHUNK_BYTES);
            got.extend_from_slice(&data);
            frames += 1;
        }
        assert_eq!((frames, got.as_slice()), (4, &text[..]));
        assert_eq!(
            turns.permits.available_permits(),
            MAX_CONCURRENT_SCRAPES - 1
        );
        drop(body);
        assert_eq!(turns.permits.available_permits(), MAX_CONCURRENT_SCRAPES);
    }

    #[tokio::test]
    async fn a_full_queue_answers_at_once_and_a_released_turn_goes_to_the_first_waiter() {
        let turns = turns();
        let mut held = Vec::new();
        for _ in 0..MAX_CONCURRENT_SCRAPES {
            held.push(turns.take().await.unwrap());
        }
        let mut waiters: Vec<_> = (0..MAX_WAITING_SCRAPES)
            .map(|_| {
                let turns = turns.clone();
                tokio::spawn(async move { turns.take().await })
            })
            .collect();
        while turns.waiting.load(Ordering::Relaxed) < MAX_WAITING_SCRAPES {
            tokio::task::yield_now().await;
        }
        let t = std::time::Instant::now();
        assert!(turns.take().await.is_none());
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "refused without waiting"
        );
        drop(held.pop());
        let first = waiters.remove(0).await.unwrap();
        assert!(first.is_some(), "the first in line got the released turn");
        // Waiters whose clients hang up leave the queue.
        for w in &waiters {
            w.abort();
        }
        for w in waiters {
            let _ = w.await;
        }
        assert_eq!(turns.waiting.load(Ordering::Relaxed), 0);
    }
}
