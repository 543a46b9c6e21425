//! The HTTP adapter (axum): `/metrics`, `/healthz`, `/readyz` and the read-only JSON API, all
//! served from [`ReadModel`] snapshots and the owned metrics. Used by `chiso run` and
//! `chiso demo`.
//!
//! | path | auth | what |
//! |---|---|---|
//! | `GET /metrics` | open | Prometheus text format |
//! | `GET /healthz` | open | the process is alive |
//! | `GET /readyz` | open | 200 when this instance's share is assigned and restored, else 503 with the reason |
//! | `GET /api/v1/results?period=month\|quarter\|year` | open | current results of every exported agency |
//! | `GET /api/v1/agencies/{id}` | open | one agency: registry info, children, results of every tracked period |
//! | `GET /api/v1/agencies/{id}/overdue` | token | open overdue dossiers of the subtree, most overdue first |
//! | `GET /api/v1/agencies/{id}/due-soon` | token | open dossiers due within the horizon, soonest first |
//! | `GET /api/v1/agencies/{id}/at-stake` | token | points at stake of the subtree's open on-time dossiers |
//! | `GET /` | open | the ranking page |
//! | `GET /agency/{id}` | open | one agency's page |
//! | `GET /agency/{id}/worklist` | token | the operator worklist (HTML or CSV) |
//!
//! Operator lists carry dossier ids, so they require `Authorization: Bearer <token>` when a
//! token is configured. Errors are JSON `{"error", "code"}`. See `docs/api.md`.

mod api;
mod error;
mod operator;
mod pages;
mod scrape;
pub mod server;
mod stake;
mod worklist;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;

use crate::read_model::{Needs, Partitions, ReadModel, Rollup};

/// Default page size of the operator lists.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size of the operator lists.
pub const MAX_LIMIT: usize = 1000;

/// Content type of the Prometheus text exposition format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Gives the whole `/metrics` scrape (the metrics adapter, handed in by the app: the HTTP
/// adapter serves it without knowing how it is made). Concurrent scrapes may share one
/// encoding, hence `Bytes`: every response points at the same buffer.
pub type Scrape = Arc<dyn Fn() -> bytes::Bytes + Send + Sync>;

/// What the handlers read. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub live: ReadModel,
    pub scrape: Scrape,
    /// Turns to send a scrape (see `scrape`): a bounded number at once.
    scrape_turns: Arc<scrape::Turns>,
    /// Bearer token required by the operator lists; `None` leaves them open.
    pub token: Option<Arc<str>>,
}

impl AppState {
    /// `token`: see [`check_token`], which the app calls where it reads the token. Without
    /// one, says so once in the log: the operator lists carry dossier ids.
    pub fn new(live: ReadModel, scrape: Scrape, token: Option<String>) -> Self {
        debug_assert!(token.as_deref().is_none_or(|t| check_token(t).is_ok()));
        if token.is_none() {
            tracing::warn!(
                "the operator lists (overdue, due-soon) are served without a token: anyone who \
                 reaches this port can read dossier ids; set an API token to protect them"
            );
        }
        AppState {
            live,
            scrape,
            scrape_turns: scrape::turns(),
            token: token.map(Into::into),
        }
    }
}

/// An API token must have something in it: an empty or blank one would either turn
/// authentication off or lock everyone out.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.trim().is_empty() {
        return Err("the API token is empty or blank: set a real token, or none at all".into());
    }
    if token.trim() != token || token.chars().any(char::is_control) {
        return Err("the API token has leading or trailing spaces or control characters".into());
    }
    Ok(())
}

/// The whole API as a router (tests drive it with `tower::ServiceExt::oneshot`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape::metrics))
        .route("/", get(pages::ranking))
        .route("/agency/{id}", get(pages::agency))
        .route("/agency/{id}/worklist", get(worklist::worklist))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(
            Router::new()
                .route("/api/v1/results", get(api::results))
                .route("/api/v1/agencies/{id}", get(api::agency))
                .route_layer(axum::middleware::from_fn_with_state(
                    (state.clone(), Needs::Results),
                    only_when_served,
                )),
        )
        .merge(
            Router::new()
                .route("/api/v1/agencies/{id}/overdue", get(operator::overdue))
                .route("/api/v1/agencies/{id}/due-soon", get(operator::due_soon))
                .route_layer(axum::middleware::from_fn_with_state(
                    (state.clone(), Needs::OpenDossiers),
                    only_when_served,
                )),
        )
        .merge(
            Router::new()
                .route("/api/v1/agencies/{id}/at-stake", get(stake::at_stake))
                .route_layer(axum::middleware::from_fn_with_state(
                    (state.clone(), Needs::Both),
                    only_when_served,
                )),
        )
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(|| async { ApiError::not_found() })
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` is cancelled, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP server listening");
    }
    server::serve_with_limits(listener, router(state), shutdown).await
}

/// The API answers 503 until this instance can answer what the route needs completely (see
/// [`crate::read_model::readiness`]), with the reason.
async fn only_when_served(
    State((state, needs)): State<(AppState, Needs)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match state.live.serves(needs) {
        Ok(()) => next.run(request).await,
        Err(why) => ApiError::unavailable(why).into_response(),
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let r = state.live.readiness();
    let ready = r.check_ready();
    let status = if ready.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::json!({
        "ready": ready.is_ok(),
        "status": if ready.is_ok() { "ready" } else { "not_ready" },
    });
    match ready {
        Err(why) => {
            body["reason"] = why.reason().unwrap_or(why.code()).into();
            body["message"] = why.to_string().into();
        }
        Ok(()) => {
            if let Partitions::Assigned { owned, total, .. } = r.partitions() {
                body["partitions"] = serde_json::json!({ "owned": owned, "total": total });
            }
            body["results"] = if r.rollup() == Rollup::Serving {
                "served"
            } else {
                "elsewhere"
            }
            .into();
        }
    }
    (status, Json(body)).into_response()
}
