//! `GET /agency/{id}`: one agency's page.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{html, lang_of, unavailable};
use crate::core::stake::{at_stake, AtRisk, Stake};
use crate::core::{AgencyIdx, AgencyResult, PeriodKind};
use crate::http::api::{lookup, page_query, path_id, period_kind};
use crate::http::{ApiError, AppState};
use crate::read_model::{current_results, Needs};
use crate::render::pages::agency::{self, AgencyPage};

/// `GET /agency/{id}?period=&lang=`: one agency's score, groups, indicators, the agencies under
/// it, the period-end projection and the months held.
pub(in crate::http) async fn agency(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let q = page_query(q, &["period", "lang"])?;
    let lang = lang_of(&q)?;
    let kind = period_kind(&q)?;
    let root = lookup(&state, &id)?;
    if let Err(why) = state.live.serves(Needs::Results) {
        return Ok(unavailable(lang, why));
    }
    let registry = state.live.registry();
    let model = state.live.model();
    let snapshots = state.live.snapshots();
    let current = current_results(registry.len(), &snapshots);
    let result = current[root.index()][kind as usize];
    // The period-end projection, from the open dossiers of the subtree: only where this
    // instance holds all of them.
    let projection = match (result, state.live.serves(Needs::OpenDossiers)) {
        (Some(r), Ok(())) => Ok(projection(&state, root, r)),
        (_, Err(why)) => Err(lang.unavailable(why)),
        // Never shown: a page without a result ends before its projection.
        (None, Ok(())) => Err(""),
    };
    let children: Vec<&AgencyResult> = registry
        .sorted_by_id()
        .iter()
        .copied()
        .filter(|&c| registry.parent(c) == Some(root))
        .filter_map(|c| current[c.index()][kind as usize])
        .collect();
    let mut months: Vec<&AgencyResult> = snapshots
        .iter()
        .flat_map(|(_, s)| s.results.iter())
        .filter(|r| r.agency == root && r.period.kind() == PeriodKind::Month)
        .collect();
    months.sort_by_key(|r| (r.period.start(), std::cmp::Reverse(r.evaluated_at)));
    months.dedup_by_key(|r| r.period.start());
    let body = agency::html(AgencyPage {
        lang,
        kind,
        registry,
        model,
        agency: root,
        result,
        projection,
        children,
        months,
    });
    Ok(html(StatusCode::OK, body))
}

/// What the open dossiers of `root`'s subtree put at stake in its result `r`.
fn projection(state: &AppState, root: AgencyIdx, r: &AgencyResult) -> Stake {
    let registry = state.live.registry();
    let mut risks: Vec<AtRisk> = Vec::new();
    for set in state.live.open_sets() {
        let set = set.read().expect("open set lock");
        risks.extend(
            set.items()
                .filter(|i| registry.in_subtree(i.agency, root))
                .filter_map(|i| i.at_risk()),
        );
    }
    let reported = |i: usize| {
        r.card.indicators[i]
            .as_ref()
            .map_or((0, 0), |v| (v.numerator.max(0) as u64, v.denominator))
    };
    at_stake(
        state.live.model(),
        &r.counts,
        reported,
        &risks,
        r.period.end(),
    )
}
