//! The web pages' handlers: each parses its query, fetches what it shows from the read model
//! and hands it to [`crate::render::pages`]. Vietnamese by default, English with `lang=en`.
//!
//! The numbers are those of the JSON API (the same results, the same scoring); the operator
//! worklist with dossier ids stays behind the API token.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{page_query, period_kind};
use super::{ApiError, AppState};
use crate::core::{AgencyIdx, AgencyResult};
use crate::read_model::{current_results, Needs, Unavailable};
use crate::render::pages::page;
use crate::render::pages::ranking::{self, Ranking, Sort};

mod agency;
mod text;

pub(super) use agency::agency;
pub(super) use text::{lang_of, Lang};

pub(super) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The results of the periods before the shown ones, by agency (one pass over the snapshots).
fn previous_results<'a>(
    all: &'a [std::sync::Arc<crate::read_model::Snapshot>],
    shown: &[&AgencyResult],
) -> HashMap<(AgencyIdx, crate::core::Period), &'a AgencyResult> {
    let wanted: std::collections::HashSet<crate::core::Period> =
        shown.iter().filter_map(|r| r.period.previous()).collect();
    let mut out: HashMap<(AgencyIdx, crate::core::Period), &AgencyResult> = HashMap::new();
    for r in all.iter().flat_map(|s| s.results.iter()) {
        if wanted.contains(&r.period) {
            let slot = out.entry((r.agency, r.period)).or_insert(r);
            if r.evaluated_at > slot.evaluated_at {
                *slot = r;
            }
        }
    }
    out
}

fn unavailable(lang: &Lang, why: Unavailable) -> Response {
    let mut r = html(
        StatusCode::SERVICE_UNAVAILABLE,
        page(
            lang,
            lang.title,
            &format!("<main><p>{}</p></main>", lang.unavailable(why)),
        ),
    );
    if why.transient() {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    r
}

/// `GET /?period=&level=&lang=&sort=&view=`: every agency's result of the current period (or,
/// with `view=previous`, of the period before it, final), ranked by score, under a summary.
pub(super) async fn ranking(
    State(state): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = page_query(q, &["period", "level", "lang", "sort", "view"])?;
    let lang = lang_of(&q)?;
    let kind = period_kind(&q)?;
    if let Err(why) = state.live.serves(Needs::Results) {
        return Ok(unavailable(lang, why));
    }
    let registry = state.live.registry();
    let model = state.live.model();
    let snapshots = state.live.snapshots();
    let current = current_results(registry.len(), &snapshots);
    let all: Vec<_> = snapshots.iter().map(|(_, s)| s.clone()).collect();
    let mut levels: Vec<&str> = registry.defs().iter().map(|d| d.level.as_str()).collect();
    levels.sort_unstable();
    levels.dedup();
    let level = q.get("level").map(String::as_str);
    if let Some(l) = level {
        if !levels.contains(&l) {
            return Err(ApiError::bad_request(
                "bad_level",
                format!("level must be one of {}, got `{l}`", levels.join(", ")),
            ));
        }
    }
    let previous_view = match q.get("view").map(String::as_str) {
        None | Some("current") => false,
        Some("previous") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_view",
                format!("view must be current or previous, got `{other}`"),
            ))
        }
    };
    let current_rows: Vec<&AgencyResult> = current
        .iter()
        .filter_map(|kinds| kinds[kind as usize])
        .filter(|r| level.is_none_or(|l| registry.get(r.agency).level == l))
        .collect();
    let rows: Vec<&AgencyResult> = if previous_view {
        let before = previous_results(&all, &current_rows);
        current_rows
            .iter()
            .filter_map(|r| Some(*before.get(&(r.agency, r.period.previous()?))?))
            .collect()
    } else {
        current_rows
    };
    let sort = match q.get("sort").map(String::as_str) {
        None => Sort::Score,
        Some(s) => Sort::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "bad_sort",
                format!("sort must be score, name, on_time or overdue, got `{s}`"),
            )
        })?,
    };
    let before = previous_results(&all, &rows);
    let body = ranking::html(Ranking {
        lang,
        kind,
        registry,
        model,
        levels,
        level,
        previous_view,
        rows,
        sort,
        before,
    });
    Ok(html(StatusCode::OK, body))
}
