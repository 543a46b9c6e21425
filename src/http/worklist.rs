//! `GET /agency/{id}/worklist?lang=&format=csv`: the operator's worklist of the agency's
//! subtree, behind the API token (the page carries dossier ids). A browser gets a Basic
//! challenge (any user name, the token as the password), so no script is needed.
//!
//! Two lists: the on-time dossiers due in the current month, the ones whose lateness would
//! cost the most points first (then the soonest due); the overdue ones, from the national
//! portal first, then late the longest first. `format=csv` gives both as one CSV file (UTF-8
//! with a byte order mark, which spreadsheet programs need to read Vietnamese right).

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{lookup, page_query, path_id};
use super::operator::authorize;
use super::pages::{html, lang_of};
use super::stake::price;
use super::{ApiError, AppState};
use crate::core::time::NANOS_PER_SEC;
use crate::core::{AgencyIdx, AgencyResult, PeriodKind, Registry, Timestamp};
use crate::read_model::{current_results, Needs, OpenItem};
use crate::render::pages::worklist::{self, AtStakeRow, OverdueRow, WorkItem, Worklist};

pub(super) async fn worklist(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let q = page_query(q, &["lang", "format"])?;
    let lang = lang_of(&q)?;
    let csv = match q.get("format").map(String::as_str) {
        None | Some("html") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_format",
                format!("format must be html or csv, got `{other}`"),
            ))
        }
    };
    if let Err(e) = authorize(&state, &headers) {
        let mut r = e.into_response();
        r.headers_mut().append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"chiso\", charset=\"UTF-8\""),
        );
        return Ok(r);
    }
    let root = lookup(&state, &id)?;
    state
        .live
        .serves(Needs::Both)
        .map_err(ApiError::unavailable)?;
    let registry = state.live.registry();
    let snapshots = state.live.snapshots();
    let current = current_results(registry.len(), &snapshots);
    let def = registry.get(root);

    // Due in the month, priced; overdue, from every open set of the subtree.
    let (at_stake, now) = match current[root.index()][PeriodKind::Month as usize] {
        Some(result) => (
            at_stake_rows(&state, root, result),
            Some(result.evaluated_at),
        ),
        None => (Vec::new(), None),
    };
    let (overdue, at) = overdue_rows(&state, root);
    let evaluated = now.max(at);
    let item = |i| work_item(registry, i);
    let list = Worklist {
        lang,
        agency_id: &def.id,
        agency_name: &def.name,
        evaluated,
        at_stake: at_stake
            .iter()
            .map(|(i, points_h, unrounded_h)| AtStakeRow {
                item: item(i),
                points_h: *points_h,
                unrounded_h: *unrounded_h,
            })
            .collect(),
        overdue: overdue
            .iter()
            .map(|(i, age)| OverdueRow {
                item: item(i),
                late_since: i.late_since,
                late_rule: i.late_rule,
                age: *age,
            })
            .collect(),
    };
    if csv {
        return Ok(csv_file(&def.id, worklist::csv(&list)));
    }
    Ok(html(StatusCode::OK, worklist::html(&list)))
}

fn work_item<'a>(registry: &'a Registry, i: &'a OpenItem) -> WorkItem<'a> {
    WorkItem {
        dossier_id: &i.dossier_id,
        agency_id: &registry.get(i.agency).id,
        procedure: i.procedure.as_deref().unwrap_or(""),
        received_at: i.received_at,
        due: i.due,
        via_national_portal: i.via_national_portal,
    }
}

/// The on-time dossiers due in the month with what their lateness would cost, ordered by
/// exactly what the page shows: the unrounded cost (at a province one dossier rarely moves the
/// rounded total, so the rounded figure would order nothing).
fn at_stake_rows(
    state: &AppState,
    root: AgencyIdx,
    result: &AgencyResult,
) -> Vec<(OpenItem, i64, f64)> {
    let p = price(state, root, result);
    let mut rows: Vec<(OpenItem, i64, f64)> = p
        .order
        .iter()
        .map(|&i| {
            let s = &p.stake;
            (p.candidates[i].clone(), s.points_h[i], s.unrounded_h[i])
        })
        .collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    rows
}

/// The overdue dossiers of the subtree with how long they have been late (seconds), national
/// portal first, then late the longest first; and the latest instant the open sets were
/// evaluated at.
fn overdue_rows(state: &AppState, root: AgencyIdx) -> (Vec<(OpenItem, i64)>, Option<Timestamp>) {
    let registry = state.live.registry();
    let mut overdue: Vec<(OpenItem, i64)> = Vec::new();
    let mut evaluated = None;
    for set in state.live.open_sets() {
        let set = set.read().expect("open set lock");
        let Some(at) = set.evaluated_at() else {
            continue;
        };
        evaluated = evaluated.max(Some(at));
        overdue.extend(
            set.items()
                .filter(|i| i.late && registry.in_subtree(i.agency, root))
                .map(|i| {
                    (
                        i.clone(),
                        at.nanos_since(i.late_since).max(0) / NANOS_PER_SEC,
                    )
                }),
        );
    }
    overdue.sort_by(|(a, age_a), (b, age_b)| {
        b.via_national_portal
            .cmp(&a.via_national_portal)
            .then(age_b.cmp(age_a))
            .then_with(|| a.dossier_id.cmp(&b.dossier_id))
    });
    (overdue, evaluated)
}

/// The CSV as a download named after the agency.
fn csv_file(agency_id: &str, out: String) -> Response {
    let file = format!(
        "attachment; filename=\"worklist-{}.csv\"",
        agency_id.replace(['"', '\\'], "_")
    );
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&file).unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        out,
    )
        .into_response()
}
