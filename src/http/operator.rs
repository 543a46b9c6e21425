//! Operator lists: the open dossiers of an agency's subtree that are overdue or due soon.
//!
//! These carry dossier ids, so they sit behind the optional bearer token. Items are computed
//! against the evaluation time of the snapshot they come from.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde::Serialize;

use super::api::{json_response, lookup, path_id, query};
use super::{ApiError, AppState, DEFAULT_LIMIT, MAX_LIMIT};
use crate::core::time::NANOS_PER_SEC;
use crate::core::{LateRule, Timestamp};

#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Overdue,
    DueSoon,
}

#[derive(Serialize)]
struct Item<'a> {
    dossier_id: &'a str,
    agency_id: &'a str,
    procedure_id: Option<&'a str>,
    received_at: String,
    due_at: String,
    /// Overdue list: since when the dossier is late, which on-time rule made it late, and that
    /// rule as a stable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    late_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    late_rule: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    late_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    overdue_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_in_seconds: Option<i64>,
    paused: bool,
}

#[derive(Serialize)]
struct Page<'a> {
    agency_id: &'a str,
    list: &'static str,
    evaluated_at: Option<String>,
    total: usize,
    limit: usize,
    offset: usize,
    items: Vec<Item<'a>>,
}

/// Compares in time independent of where the first difference is (the length still shows).
/// Compares in a time that depends on the lengths only, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

pub(super) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = state.token.as_deref() else {
        return Ok(());
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "this list carries dossier ids: send `Authorization: Bearer <token>`",
        ));
    };
    // The scheme is case-insensitive (RFC 9110 §11.1). Basic (any user name, the token as the
    // password) lets a browser open the worklist page without any script.
    let value = value.as_bytes();
    let basic;
    let given = match value.iter().position(|&b| b == b' ') {
        Some(i) if value[..i].eq_ignore_ascii_case(b"bearer") => value[i..].trim_ascii_start(),
        Some(i) if value[..i].eq_ignore_ascii_case(b"basic") => {
            use base64::Engine;
            basic = base64::engine::general_purpose::STANDARD
                .decode(value[i..].trim_ascii())
                .unwrap_or_default();
            match basic.iter().position(|&b| b == b':') {
                Some(colon) => &basic[colon + 1..],
                None => &[][..],
            }
        }
        _ => {
            return Err(ApiError::unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ))
        }
    };
    if constant_time_eq(given, expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("invalid bearer token"))
    }
}

fn number(q: &HashMap<String, String>, name: &str, default: usize) -> Result<usize, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| {
            ApiError::bad_request(
                "bad_parameter",
                format!("`{name}` must be a non-negative integer, got `{s}`"),
            )
        }),
    }
}

/// The on-time rule that made a dossier late, as a stable code (see docs/api.md).
fn seconds(nanos: i64) -> i64 {
    nanos.div_euclid(NANOS_PER_SEC)
}

/// Long because it is the one pipeline of both operator lists (authorize, look up, parse the
/// page, gather from every open set, sort, paginate, encode), each step a few lines.
fn list(
    state: AppState,
    id: String,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    which: List,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let root = lookup(&state, &id)?;
    let q = query(q, &["limit", "offset"])?;
    let limit = number(&q, "limit", DEFAULT_LIMIT)?;
    let offset = number(&q, "offset", 0)?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!("`limit` must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    let registry = state.live.registry();
    let in_subtree: Vec<bool> = (0..registry.len() as u32)
        .map(|a| registry.in_subtree(crate::core::AgencyIdx(a), root))
        .collect();
    let mut evaluated_at: Option<Timestamp> = None;
    // (urgency, item, seconds past due) — a smaller urgency comes first. Items are copied out
    // so that no set stays locked while the page is sorted and written.
    let mut rows = Vec::new();
    for set in state.live.open_sets() {
        let set = set.read().expect("open set lock");
        let Some(now) = set.evaluated_at() else {
            continue;
        };
        evaluated_at = evaluated_at.max(Some(now));
        for item in set.items() {
            if !in_subtree
                .get(item.agency.index())
                .copied()
                .unwrap_or(false)
            {
                continue;
            }
            let wanted = match which {
                List::Overdue => item.late,
                List::DueSoon => item.due_soon,
            };
            if !wanted {
                continue;
            }
            // The overdue list: late the longest first (the age is never negative, whatever
            // the rule); the due-soon list: due the soonest first.
            let delta = match which {
                List::Overdue => seconds(now.nanos_since(item.late_since)).max(0),
                List::DueSoon => seconds(now.nanos_since(item.due)),
            };
            rows.push((-delta, item.clone(), delta));
        }
    }
    rows.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.dossier_id.cmp(&b.1.dossier_id))
            .then_with(|| {
                let (x, y) = (registry.get(a.1.agency), registry.get(b.1.agency));
                x.id.cmp(&y.id)
            })
    });
    let total = rows.len();
    let items = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(_, item, delta)| Item {
            dossier_id: &item.dossier_id,
            agency_id: &registry.get(item.agency).id,
            procedure_id: item.procedure.as_deref(),
            received_at: item.received_at.to_local_rfc3339(),
            due_at: item.due.to_local_rfc3339(),
            late_since: (which == List::Overdue).then(|| item.late_since.to_local_rfc3339()),
            late_rule: (which == List::Overdue)
                .then_some(item.late_rule)
                .flatten()
                .map(LateRule::number),
            late_reason: (which == List::Overdue)
                .then_some(item.late_rule)
                .flatten()
                .map(LateRule::code),
            overdue_seconds: (which == List::Overdue).then_some(*delta),
            due_in_seconds: (which == List::DueSoon).then_some(-*delta),
            paused: item.paused,
        })
        .collect();
    Ok(json_response(&Page {
        agency_id: &registry.get(root).id,
        list: match which {
            List::Overdue => "overdue",
            List::DueSoon => "due_soon",
        },
        evaluated_at: evaluated_at.map(Timestamp::to_local_rfc3339),
        total,
        limit,
        offset,
        items,
    }))
}

/// `GET /api/v1/agencies/{id}/overdue?limit=&offset=`
pub(super) async fn overdue(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    list(state, path_id(id)?, headers, q, List::Overdue)
}

/// `GET /api/v1/agencies/{id}/due-soon?limit=&offset=`
pub(super) async fn due_soon(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    list(state, path_id(id)?, headers, q, List::DueSoon)
}
