//! `GET /metrics`: the scrape, handed out in bounded slices to a bounded number of scrapers.
//!
//! A province's scrape is tens of MB. Sent as one piece to many scrapers at once, it keeps the
//! async workers busy copying and the probes wait behind them. So:
//! - at most [`MAX_CONCURRENT_SCRAPES`] responses are sent at once; the others wait their turn
//!   in order (a Prometheus pair needs two), and one that waits longer than
//!   [`SCRAPE_QUEUE_TIMEOUT`] gets 503, since Prometheus would have given up by then;
//! - a response is written in [`CHUNK_BYTES`] frames, so that a worker returns to other tasks
//!   (a probe) between two frames.

use std::convert::Infallible;
use std::pin::Pin;
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
/// Size of one written frame.
const CHUNK_BYTES: usize = 256 * 1024;

/// The turns: one permit per response being sent.
pub fn turns() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(MAX_CONCURRENT_SCRAPES))
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let turn = match tokio::time::timeout(
        SCRAPE_QUEUE_TIMEOUT,
        state.scrape_turns.clone().acquire_owned(),
    )
    .await
    {
        Ok(Ok(turn)) => turn,
        Ok(Err(_)) | Err(_) => {
            tracing::warn!(
                limit = MAX_CONCURRENT_SCRAPES,
                "a scrape waited too long for its turn; answering 503"
            );
            return ApiError::busy().into_response();
        }
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
            _turn: turns.clone().acquire_owned().await.unwrap(),
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
        assert_eq!(turns.available_permits(), MAX_CONCURRENT_SCRAPES - 1);
        drop(body);
        assert_eq!(turns.available_permits(), MAX_CONCURRENT_SCRAPES);
    }
}
