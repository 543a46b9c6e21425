//! Results endpoints: current results per period kind, and one agency's page.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use super::{ApiError, AppState};
use crate::core::{AgencyIdx, AgencyResult, PeriodKind};
use crate::read_model::current_results;
use crate::wire::result_json;

pub(super) fn json_response(body: &impl Serialize) -> Response {
    let text = serde_json::to_string(body).expect("API bodies serialise");
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// The query parameters, refusing any that `allowed` does not name (a misspelt `limt=5` would
/// otherwise be silently ignored).
pub(super) fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let q = q
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("bad_query", format!("malformed query string: {e}")))?;
    let mut unknown: Vec<&str> = q
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        let allowed = if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed.join(", ")
        };
        return Err(ApiError::bad_request(
            "unknown_parameter",
            format!(
                "unknown query parameter `{}`; allowed here: {allowed}",
                unknown.join("`, `")
            ),
        ));
    }
    Ok(q)
}

/// The query parameters of a web page: those that `known` does not name are dropped, not
/// refused — a shared link carries tracking tags (`utm_source=…`) that must not break the page.
pub(super) fn page_query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    known: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut q = q
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("bad_query", format!("malformed query string: {e}")))?;
    q.retain(|k, _| known.contains(&k.as_str()));
    Ok(q)
}

/// The `{id}` of the path, or a JSON 400 when it is not valid UTF-8 once percent-decoded.
pub(super) fn path_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    id.map(|Path(id)| id).map_err(|e| {
        ApiError::bad_request(
            "bad_path",
            format!("the agency id in the path is invalid: {e}"),
        )
    })
}

/// `period=month|quarter|year` (default month).
pub(super) fn period_kind(q: &HashMap<String, String>) -> Result<PeriodKind, ApiError> {
    match q.get("period").map(String::as_str) {
        None => Ok(PeriodKind::Month),
        Some(s) => PeriodKind::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "bad_period",
                format!("period must be month, quarter or year, got `{s}`"),
            )
        }),
    }
}

pub(super) fn lookup(state: &AppState, id: &str) -> Result<AgencyIdx, ApiError> {
    state
        .live
        .registry()
        .lookup(id)
        .ok_or_else(|| ApiError::unknown_agency(id))
}

fn encode(state: &AppState, r: &AgencyResult) -> Box<RawValue> {
    // The live API has no results topic behind it: revision is always 0 here.
    let text = result_json::encode(state.live.registry(), state.live.model(), r, 0);
    RawValue::from_string(text).expect("results encode as JSON")
}

#[derive(Serialize)]
struct ResultsBody {
    period: &'static str,
    results: Vec<Box<RawValue>>,
}

/// `GET /api/v1/results?period=month|quarter|year` (default month).
pub(super) async fn results(
    State(state): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q, &["period"])?;
    let kind = period_kind(&q)?;
    let registry = state.live.registry();
    let snapshots = state.live.snapshots();
    let current = current_results(registry.len(), &snapshots);
    let results = registry
        .sorted_by_id()
        .iter()
        .filter_map(|a| current[a.index()][kind as usize])
        .map(|r| encode(&state, r))
        .collect();
    Ok(json_response(&ResultsBody {
        period: kind.as_str(),
        results,
    }))
}

#[derive(Serialize)]
struct AgencyRef<'a> {
    id: &'a str,
    name: &'a str,
    level: &'a str,
}

#[derive(Serialize)]
struct AgencyInfo<'a> {
    id: &'a str,
    name: &'a str,
    level: &'a str,
    parent_id: Option<&'a str>,
    children: Vec<AgencyRef<'a>>,
}

#[derive(Serialize)]
struct AgencyBody<'a> {
    agency: AgencyInfo<'a>,
    results: Vec<Box<RawValue>>,
}

/// `GET /api/v1/agencies/{id}`: registry info, children and every tracked period's result.
pub(super) async fn agency(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    query(q, &[])?;
    let idx = lookup(&state, &id)?;
    let registry = state.live.registry();
    let def = registry.get(idx);
    let mut children: Vec<AgencyRef<'_>> = registry
        .sorted_by_id()
        .iter()
        .filter(|&&c| registry.parent(c) == Some(idx))
        .map(|&c| {
            let d = registry.get(c);
            AgencyRef {
                id: &d.id,
                name: &d.name,
                level: &d.level,
            }
        })
        .collect();
    children.sort_by(|a, b| a.id.cmp(b.id));
    let snapshots = state.live.snapshots();
    // One result per period: the latest evaluation among the sources that export it.
    let mut mine: Vec<&AgencyResult> = Vec::new();
    for (_, snap) in &snapshots {
        for r in snap.results.iter().filter(|r| r.agency == idx) {
            match mine.iter_mut().find(|m| m.period == r.period) {
                Some(m) if m.evaluated_at < r.evaluated_at => *m = r,
                Some(_) => {}
                None => mine.push(r),
            }
        }
    }
    mine.sort_by_key(|r| (r.period.kind(), r.period.start()));
    let body = AgencyBody {
        agency: AgencyInfo {
            id: &def.id,
            name: &def.name,
            level: &def.level,
            parent_id: registry.parent(idx).map(|p| registry.get(p).id.as_str()),
            children,
        },
        results: mine.into_iter().map(|r| encode(&state, r)).collect(),
    };
    Ok(json_response(&body))
}
