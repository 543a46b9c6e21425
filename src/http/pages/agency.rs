//! `GET /agency/{id}`: one agency's page.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::*;
use crate::http::api::{lookup, page_query, path_id, period_kind};
use crate::http::{ApiError, AppState};

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
    let def = registry.get(root);
    let base = format!("/agency/{}", url(&def.id));
    let mut body = String::with_capacity(32 * 1024);
    let _ = write!(
        body,
        "<header><p class=\"note\"><a href=\"/?period={}&amp;lang={}\">{}</a>",
        kind.as_str(),
        lang.code,
        lang.title
    );
    if let Some(p) = registry.parent(root) {
        let pd = registry.get(p);
        let _ = write!(
            body,
            " › <a href=\"/agency/{}?period={}&amp;lang={}\">{}</a>",
            url(&pd.id),
            kind.as_str(),
            lang.code,
            esc(&pd.name)
        );
    }
    let _ = write!(
        body,
        "</p><h1>{}</h1><p class=\"note\">{} · {}</p>",
        esc(&def.name),
        esc(&def.id),
        esc(lang.level_name(&def.level))
    );
    body.push_str(&nav(lang, &base, kind, ""));
    body.push_str("</header><main>");
    let Some(r) = current[root.index()][kind as usize] else {
        body.push_str("<p>–</p></main>");
        let title = format!("{} – {}", def.name, lang.agency_title);
        return Ok(html(StatusCode::OK, page(lang, &title, &body)));
    };
    let _ = write!(
        body,
        "<p><span class=\"big\" data-score>{}</span> {} · {} {} · {}: {} · {}: {} ({} {})</p>\
         <p class=\"note\">{} {} · {}</p>",
        score_text(r, lang),
        band_badge(r, model, lang),
        lang.on_time,
        on_time_ratio(r),
        lang.due_soon,
        r.counts[Count::DueSoon],
        lang.overdue,
        r.counts[Count::OpenOverdue],
        r.counts[Count::OpenOverdueNationalPortal],
        lang.national_portal,
        lang.evaluated,
        esc(&lang.instant(r.evaluated_at)),
        esc(&r.period.label())
    );
    // Groups.
    let _ = write!(
        body,
        "<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th scope=\"col\" class=\"l\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        lang.groups, lang.groups, lang.points, lang.max
    );
    for (g, (p, m)) in model.groups.iter().zip(&r.card.groups) {
        let name = lang.group_name(g);
        let _ = write!(
            body,
            "<tr><th scope=\"row\" class=\"l\">{}</th><td>{}</td><td>{}</td></tr>",
            esc(name),
            hundredths(*p),
            hundredths(*m)
        );
    }
    body.push_str("</tbody></table></div>");
    // Indicators.
    let _ = write!(
        body,
        "<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th scope=\"col\" class=\"l\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        lang.indicators,
        lang.indicator,
        lang.numerator,
        lang.denominator,
        lang.points,
        lang.max,
        lang.lost
    );
    for (def, v) in model.indicators.iter().zip(&r.card.indicators) {
        let name = lang.indicator_name(def);
        match v {
            Some(v) => {
                let _ = write!(
                    body,
                    "<tr data-indicator=\"{id}\"><th scope=\"row\" class=\"l\">{id} {name}</th><td>{}</td><td>{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td></tr>",
                    v.numerator,
                    v.denominator,
                    hundredths(v.points_h),
                    hundredths(v.max_h),
                    hundredths(v.max_h - v.points_h),
                    id = esc(&def.id),
                    name = esc(name),
                );
            }
            None => {
                let _ = write!(
                    body,
                    "<tr data-indicator=\"{id}\"><th scope=\"row\" class=\"l\">{id} {name}</th><td>–</td><td>–</td>\
                     <td>–</td><td>{}</td><td>–</td></tr>",
                    hundredths(def.max_h),
                    id = esc(&def.id),
                    name = esc(name),
                );
            }
        }
    }
    body.push_str("</tbody></table></div>");
    // The period-end projection, from the open dossiers of the subtree: only where this
    // instance holds all of them.
    match state.live.serves(Needs::OpenDossiers) {
        Ok(()) => projection(&mut body, &state, lang, root, r),
        Err(why) => {
            let _ = write!(
                body,
                "<h2>{}</h2><p class=\"note\" data-unavailable>{}</p>",
                lang.projection,
                lang.unavailable(why)
            );
        }
    }
    let _ = write!(
        body,
        "<p><a href=\"{base}/worklist?lang={}\">{}</a></p>",
        lang.code,
        if lang.code == "vi" {
            "Danh sách hồ sơ cần xử lý (dành cho cán bộ, cần mã truy cập)"
        } else {
            "Worklist (for operators, needs the access token)"
        }
    );
    // Children.
    let children: Vec<AgencyIdx> = registry
        .sorted_by_id()
        .iter()
        .copied()
        .filter(|&c| registry.parent(c) == Some(root))
        .collect();
    if !children.is_empty() {
        let _ = write!(
            body,
            "<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th scope=\"col\" class=\"l\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th></tr></thead><tbody>",
            lang.children, lang.agency, lang.score, lang.band, lang.on_time, lang.overdue
        );
        for c in children {
            let cd = registry.get(c);
            let Some(cr) = current[c.index()][kind as usize] else {
                continue;
            };
            let _ = write!(
                body,
                "<tr><th scope=\"row\" class=\"l\"><a href=\"/agency/{}?period={}&amp;lang={}\">{}</a></th>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                url(&cd.id),
                kind.as_str(),
                lang.code,
                esc(&cd.name),
                score_text(cr, lang),
                band_badge(cr, model, lang),
                on_time_ratio(cr),
                cr.counts[Count::OpenOverdue]
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str(&trend(&snapshots, root, lang));
    body.push_str("</main>");
    let title = format!("{} – {}", def.name, lang.agency_title);
    Ok(html(StatusCode::OK, page(lang, &title, &body)))
}

/// An inline SVG bar chart of the agency's score over the months the engines hold.
fn trend(
    snapshots: &[(u32, std::sync::Arc<crate::read_model::Snapshot>)],
    agency: AgencyIdx,
    lang: &Lang,
) -> String {
    let mut months: Vec<&AgencyResult> = snapshots
        .iter()
        .flat_map(|(_, s)| s.results.iter())
        .filter(|r| r.agency == agency && r.period.kind() == PeriodKind::Month)
        .collect();
    months.sort_by_key(|r| (r.period.start(), std::cmp::Reverse(r.evaluated_at)));
    months.dedup_by_key(|r| r.period.start());
    if months.is_empty() {
        return String::new();
    }
    let (w, h, bar) = (60 * months.len() + 20, 160, 40);
    let mut s = format!(
        "<h2>{}</h2><svg role=\"img\" aria-label=\"{}\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\">",
        lang.trend,
        lang.trend,
        h + 30,
        h + 30
    );
    for (i, r) in months.iter().enumerate() {
        let x = 20 + i * 60;
        if let Some(t) = r.card.score_tenths {
            let bh = (t as f64 / 1000.0 * h as f64).round() as i64;
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{bh}\" fill=\"#0b5cad\"><title>{} {:.1}</title></rect>\
                 <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{:.1}</text>",
                h as i64 - bh,
                esc(&r.period.label()),
                t as f64 / 10.0,
                x + bar / 2,
                (h as i64 - bh - 3).max(10),
                t as f64 / 10.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x + bar / 2,
            h + 18,
            esc(&r.period.label())
        );
    }
    s.push_str("</svg>");
    s
}

/// The period-end projection of `root`'s result `r`, from the open dossiers of its subtree.
fn projection(body: &mut String, state: &AppState, lang: &Lang, root: AgencyIdx, r: &AgencyResult) {
    let registry = state.live.registry();
    let model = state.live.model();
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
    let stake = at_stake(model, &r.counts, reported, &risks, r.period.end());
    let proj = |card: &crate::core::scoring::ScoreCard| {
        card.score_tenths.map_or_else(
            || lang.no_score.to_owned(),
            |t| format!("{:.1}", t as f64 / 10.0),
        )
    };
    let _ = write!(
        body,
        "<h2>{}</h2><ul><li>{}: <b data-best>{}</b></li><li>{}: <b data-worst>{}</b> \
         ({} {})</li></ul><p class=\"note\">{}</p>",
        lang.projection,
        lang.best,
        proj(&stake.now),
        lang.worst,
        proj(&stake.worst),
        stake.due_in_period,
        lang.due_in_period,
        lang.late_forever
    );
}
