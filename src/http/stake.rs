//! `GET /api/v1/agencies/{id}/at-stake?period=month|quarter|year&limit=`: what the open,
//! on-time dossiers of the agency's subtree put at stake in its score for the current period
//! (see [`crate::core::stake`]). Carries dossier ids: behind the token like the operator lists.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::api::{json_response, lookup, path_id, period_kind, query};
use super::operator::authorize;
use super::{ApiError, AppState, DEFAULT_LIMIT, MAX_LIMIT};
use crate::core::scoring::ScoreCard;
use crate::core::stake::{at_stake as compute, with_best_n_saved, AtRisk, Stake};
use crate::core::{AgencyIdx, AgencyResult};
use crate::read_model::{current_results, OpenItem};

#[derive(Serialize)]
struct Item<'a> {
    dossier_id: &'a str,
    agency_id: &'a str,
    procedure_id: Option<&'a str>,
    received_at: String,
    due_at: String,
    via_national_portal: bool,
    /// Points of the agency's total this dossier would cost if it turned late.
    points_at_stake: f64,
    /// The same before the contract's rounding (orders dossiers whose rounded cost is equal).
    points_at_stake_unrounded: f64,
}

/// Six decimals: the JSON keeps what tells dossiers apart, not float noise.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[derive(Serialize)]
struct Projection {
    total_points: f64,
    score: Option<f64>,
}

#[derive(Serialize)]
struct Saved {
    /// The `n` dossiers with the most points at stake processed in time, every other one due
    /// in the period late.
    n: usize,
    total_points: f64,
    score: Option<f64>,
}

#[derive(Serialize)]
struct Page<'a> {
    agency_id: &'a str,
    period: Option<String>,
    evaluated_at: Option<String>,
    /// Now; also the best case at period end (nothing more turns late).
    now: Option<Projection>,
    /// Every open on-time dossier due before the period's end turns late.
    worst: Option<Projection>,
    due_in_period: usize,
    saved: Vec<Saved>,
    total: usize,
    items: Vec<Item<'a>>,
}

/// The subtree's dossiers at stake in one agency's current result, priced.
pub(super) struct Priced {
    /// The open, on-time, not paused dossiers of the subtree.
    pub candidates: Vec<OpenItem>,
    pub risks: Vec<AtRisk>,
    pub stake: Stake,
    /// The candidates due in the period: most points first, then the soonest due.
    pub order: Vec<usize>,
}

/// The pooled reported values of a result, as the scoring model takes them.
pub(super) fn reported_of(result: &AgencyResult) -> impl Fn(usize) -> (u64, u64) + '_ {
    |i: usize| {
        result.card.indicators[i]
            .as_ref()
            .map_or((0, 0), |v| (v.numerator.max(0) as u64, v.denominator))
    }
}

pub(super) fn price(state: &AppState, root: AgencyIdx, result: &AgencyResult) -> Priced {
    let registry = state.live.registry();
    let mut candidates: Vec<OpenItem> = Vec::new();
    for set in state.live.open_sets() {
        let set = set.read().expect("open set lock");
        candidates.extend(
            set.items()
                .filter(|i| i.at_risk().is_some() && registry.in_subtree(i.agency, root))
                .cloned(),
        );
    }
    let risks: Vec<AtRisk> = candidates.iter().filter_map(OpenItem::at_risk).collect();
    let end = result.period.end();
    let stake = compute(
        state.live.model(),
        &result.counts,
        reported_of(result),
        &risks,
        end,
    );
    let mut order: Vec<usize> = (0..candidates.len())
        .filter(|&i| risks[i].due < end)
        .collect();
    order.sort_by(|&a, &b| {
        stake
            .costlier(b, a)
            .then(risks[a].due.cmp(&risks[b].due))
            .then_with(|| candidates[a].dossier_id.cmp(&candidates[b].dossier_id))
    });
    Priced {
        candidates,
        risks,
        stake,
        order,
    }
}

fn projection(card: &ScoreCard) -> Projection {
    Projection {
        total_points: card.total_points_h as f64 / 100.0,
        score: card.score_tenths.map(|t| t as f64 / 10.0),
    }
}

/// Long because it is one pipeline (authorize, look up, parse, price every candidate, sort,
/// encode), each step a few lines.
pub(super) async fn at_stake(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let id = path_id(id)?;
    let q = query(q, &["period", "limit"])?;
    let kind = period_kind(&q)?;
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("`limit` must be between 1 and {MAX_LIMIT}, got `{s}`"),
                )
            })?,
    };
    let root = lookup(&state, &id)?;
    let registry = state.live.registry();
    let model = state.live.model();
    let snapshots = state.live.snapshots();
    let current = current_results(registry.len(), &snapshots);
    let mut page = Page {
        agency_id: &registry.get(root).id,
        period: None,
        evaluated_at: None,
        now: None,
        worst: None,
        due_in_period: 0,
        saved: Vec::new(),
        total: 0,
        items: Vec::new(),
    };
    let Some(result) = current[root.index()][kind as usize] else {
        // Not exported by this instance (its partition is elsewhere).
        return Ok(json_response(&page));
    };
    let Priced {
        candidates,
        risks,
        stake,
        order,
    } = price(&state, root, result);
    let end = result.period.end();
    let reported = reported_of(result);
    page.period = Some(result.period.label());
    page.evaluated_at = Some(result.evaluated_at.to_local_rfc3339());
    page.now = Some(projection(&stake.now));
    page.worst = Some(projection(&stake.worst));
    page.due_in_period = stake.due_in_period;
    page.saved = [1, 5, 10, 50]
        .into_iter()
        .filter(|&n| n <= stake.due_in_period)
        .map(|n| {
            let card = with_best_n_saved(model, &result.counts, &reported, &risks, &stake, end, n);
            Saved {
                n,
                total_points: card.total_points_h as f64 / 100.0,
                score: card.score_tenths.map(|t| t as f64 / 10.0),
            }
        })
        .collect();
    page.total = order.len();
    page.items = order
        .iter()
        .take(limit)
        .map(|&i| {
            let item = &candidates[i];
            Item {
                dossier_id: &item.dossier_id,
                agency_id: &registry.get(item.agency).id,
                procedure_id: item.procedure.as_deref(),
                received_at: item.received_at.to_local_rfc3339(),
                due_at: item.due.to_local_rfc3339(),
                via_national_portal: item.via_national_portal,
                points_at_stake: stake.points_h[i] as f64 / 100.0,
                points_at_stake_unrounded: round6(stake.unrounded_h[i] / 100.0),
            }
        })
        .collect();
    Ok(json_response(&page))
}
