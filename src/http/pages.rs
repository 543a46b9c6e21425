//! The web pages for people: the ranking of agencies and one agency's page, server-rendered
//! HTML with the styles inline (nothing to build, nothing to load), working without JavaScript
//! and refreshing itself live: every 15 s a little script fetches the page again and swaps the
//! body in place (keeping the scroll position; paused while the tab is hidden), and without
//! JavaScript the page reloads itself every 30 s. Vietnamese by default, English with `lang=en`.
//!
//! The numbers are those of the JSON API (the same results, the same scoring); the operator
//! worklist with dossier ids stays in the token-protected API.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{page_query, period_kind};
use super::{ApiError, AppState};
use crate::core::stake::{at_stake, AtRisk};
use crate::core::{AgencyIdx, AgencyResult, Count, PeriodKind, ScoringModel};
use crate::read_model::{current_results, Needs, Unavailable};

mod agency;
mod text;

pub(super) use agency::agency;
pub(super) use text::{lang_of, Lang};
use text::{LIVE_SCRIPT, STYLE};

pub(super) use crate::render::esc;

/// A query value for a link (agency ids are plain, but say so once).
pub(super) fn url(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

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

pub(super) fn page(lang: &Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <noscript><meta http-equiv=\"refresh\" content=\"30\"></noscript><title>{title}</title>\
         <style>{STYLE}</style></head><body>{body}<script>{LIVE_SCRIPT}</script></body></html>",
        code = lang.code,
        title = esc(title),
    )
}

fn hundredths(h: i64) -> String {
    format!("{:.2}", h as f64 / 100.0)
}

fn score_text(r: &AgencyResult, lang: &Lang) -> String {
    r.card.score_tenths.map_or_else(
        || lang.no_score.to_owned(),
        |t| format!("{:.1}", t as f64 / 10.0),
    )
}

fn band_badge(r: &AgencyResult, model: &ScoringModel, lang: &Lang) -> String {
    match r.card.band.map(|b| model.bands[b].id.as_str()) {
        Some(id) => band_span(id, lang),
        None => format!("<span class=\"band none\">{}</span>", lang.no_score),
    }
}

/// A band's badge: its colour by id, its name in the page's language (the id if unnamed).
fn band_span(id: &str, lang: &Lang) -> String {
    let text = lang.band_name(id);
    format!("<span class=\"band {}\">{}</span>", esc(id), esc(text))
}

fn on_time_ratio(r: &AgencyResult) -> String {
    let (n, d) = (r.counts[Count::OnTime], r.counts[Count::InScope]);
    if d == 0 {
        "–".to_owned()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
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

fn nav(lang: &Lang, base: &str, kind: PeriodKind, extra: &str) -> String {
    let mut s = String::from("<nav>");
    for (k, name) in PeriodKind::ALL.iter().zip(lang.period) {
        if *k == kind {
            let _ = write!(s, "<a class=\"cur\" aria-current=\"page\">{name}</a>");
        } else {
            let _ = write!(
                s,
                "<a href=\"{base}?period={}&amp;lang={}{extra}\">{name}</a>",
                k.as_str(),
                lang.code
            );
        }
    }
    let _ = write!(
        s,
        " | <a href=\"{base}?period={}&amp;lang={lang}{extra}\" hreflang=\"{lang}\">{}</a></nav>",
        kind.as_str(),
        lang.other_lang.1,
        lang = lang.other_lang.0,
    );
    s
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
    let mut rows: Vec<&AgencyResult> = if previous_view {
        let before = previous_results(&all, &current_rows);
        current_rows
            .iter()
            .filter_map(|r| Some(*before.get(&(r.agency, r.period.previous()?))?))
            .collect()
    } else {
        current_rows
    };
    // Ranked by score (no score last), then by id; the rank is shared by equal scores.
    rows.sort_by(|a, b| {
        b.card
            .score_tenths
            .cmp(&a.card.score_tenths)
            .then_with(|| registry.get(a.agency).id.cmp(&registry.get(b.agency).id))
    });
    let ranks: Vec<Option<usize>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.card.score_tenths.map(|s| {
                1 + rows[..i]
                    .iter()
                    .filter(|x| x.card.score_tenths > Some(s))
                    .count()
            })
        })
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    match q.get("sort").map(String::as_str) {
        None | Some("score") => {}
        Some("name") => order.sort_by(|&a, &b| {
            registry
                .get(rows[a].agency)
                .name
                .cmp(&registry.get(rows[b].agency).name)
        }),
        Some("overdue") => {
            order.sort_by_key(|&i| std::cmp::Reverse(rows[i].counts[Count::OpenOverdue]))
        }
        Some("on_time") => order.sort_by(|&a, &b| {
            let ratio = |r: &AgencyResult| {
                let d = r.counts[Count::InScope];
                (d > 0).then(|| r.counts[Count::OnTime] as f64 / d as f64)
            };
            ratio(rows[b])
                .partial_cmp(&ratio(rows[a]))
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_sort",
                format!("sort must be score, name, on_time or overdue, got `{other}`"),
            ))
        }
    }
    let prev = previous_results(&all, &rows);
    let view_q = if previous_view {
        "&amp;view=previous"
    } else {
        ""
    };
    let level_q = level.map_or(String::new(), |l| format!("&amp;level={}", url(l))) + view_q;
    let mut body = String::with_capacity(64 * 1024 + rows.len() * 600);
    let _ = write!(body, "<header><h1>{}</h1>", lang.title);
    body.push_str(&nav(lang, "/", kind, &level_q));
    body.push_str("<nav>");
    let link = |l: Option<&str>, text: &str| {
        let extra = l.map_or(String::new(), |l| format!("&amp;level={}", url(l)));
        if level == l {
            format!("<a class=\"cur\" aria-current=\"page\">{}</a>", esc(text))
        } else {
            format!(
                "<a href=\"/?period={}&amp;lang={}{extra}{view_q}\">{}</a>",
                kind.as_str(),
                lang.code,
                esc(text)
            )
        }
    };
    body.push_str(&link(None, lang.all_levels));
    for l in &levels {
        body.push_str(&link(Some(l), lang.level_name(l)));
    }
    body.push_str("</nav><nav>");
    let level_only = level.map_or(String::new(), |l| format!("&amp;level={}", url(l)));
    for (previous, text) in [(false, lang.current), (true, lang.previous)] {
        if previous == previous_view {
            let _ = write!(body, "<a class=\"cur\" aria-current=\"page\">{text}</a>");
        } else {
            let _ = write!(
                body,
                "<a href=\"/?period={}&amp;lang={}{level_only}{}\">{text}</a>",
                kind.as_str(),
                lang.code,
                if previous { "&amp;view=previous" } else { "" }
            );
        }
    }
    body.push_str("</nav>");
    if let Some(r) = rows.first() {
        let _ = write!(
            body,
            "<p class=\"note\">{} {} · {}</p>",
            lang.evaluated,
            esc(&lang.instant(r.evaluated_at)),
            esc(&r.period.label())
        );
    }
    body.push_str("</header><main>");
    if rows.is_empty() && previous_view {
        let _ = write!(body, "<p>{}</p>", lang.no_previous);
    }
    body.push_str(&summary(&rows, registry, model, lang, kind));
    body.push_str("<div class=\"scroll\"><table><caption class=\"note\">");
    body.push_str(lang.title);
    body.push_str("</caption><thead><tr>");
    let sort_link = |key: &str, text: &str| {
        format!(
            "<a href=\"/?period={}&amp;lang={}{level_q}&amp;sort={key}\">{}</a>",
            kind.as_str(),
            lang.code,
            esc(text)
        )
    };
    let _ = write!(
        body,
        "<th scope=\"col\">{}</th><th scope=\"col\" class=\"l\">{}</th><th scope=\"col\" class=\"l\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>",
        sort_link("score", lang.rank),
        sort_link("name", lang.agency),
        lang.level,
        sort_link("score", lang.score),
        lang.band,
        lang.change
    );
    for g in &model.groups {
        let _ = write!(body, "<th scope=\"col\">{}</th>", esc(lang.group_name(g)));
    }
    let _ = write!(
        body,
        "<th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        sort_link("on_time", lang.on_time),
        sort_link("overdue", lang.overdue),
        lang.due_soon
    );
    for &i in &order {
        let r = rows[i];
        let def = registry.get(r.agency);
        let before = r
            .period
            .previous()
            .and_then(|p| prev.get(&(r.agency, p)))
            .and_then(|p| p.card.score_tenths);
        let change = match (before, r.card.score_tenths) {
            (Some(p), Some(s)) if s > p => {
                format!("<span class=\"up\">+{:.1}</span>", (s - p) as f64 / 10.0)
            }
            (Some(p), Some(s)) if s < p => {
                format!("<span class=\"down\">−{:.1}</span>", (p - s) as f64 / 10.0)
            }
            (Some(_), Some(_)) => "0.0".to_owned(),
            _ => "–".to_owned(),
        };
        let _ = write!(
            body,
            "<tr data-agency=\"{id}\"><td>{rank}</td><th scope=\"row\" class=\"l\"><a href=\"/agency/{uid}?period={k}&amp;lang={lc}\">{name}</a></th>\
             <td class=\"l\">{level}</td><td data-score>{score}</td><td>{band}</td><td>{change}</td>",
            id = esc(&def.id),
            rank = ranks[i].map_or(String::from("–"), |r| r.to_string()),
            uid = url(&def.id),
            k = kind.as_str(),
            lc = lang.code,
            name = esc(&def.name),
            level = esc(lang.level_name(&def.level)),
            score = score_text(r, lang),
            band = band_badge(r, model, lang),
        );
        for (p, _) in &r.card.groups {
            let _ = write!(body, "<td>{}</td>", hundredths(*p));
        }
        let _ = write!(
            body,
            "<td>{}</td><td>{} ({} {})</td><td>{}</td></tr>",
            on_time_ratio(r),
            r.counts[Count::OpenOverdue],
            r.counts[Count::OpenOverdueNationalPortal],
            lang.national_portal,
            r.counts[Count::DueSoon]
        );
    }
    body.push_str("</tbody></table></div></main>");
    Ok(html(StatusCode::OK, page(lang, lang.title, &body)))
}

/// The summary above a ranking: how many agencies have a score, how many in each band, the
/// best and the weakest five. `ranked` is in rank order.
fn summary(
    ranked: &[&AgencyResult],
    registry: &crate::core::Registry,
    model: &ScoringModel,
    lang: &Lang,
    kind: PeriodKind,
) -> String {
    let scored: Vec<&AgencyResult> = ranked
        .iter()
        .copied()
        .filter(|r| r.card.score_tenths.is_some())
        .collect();
    if scored.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "<section class=\"summary\" aria-labelledby=\"summary\"><div><h2 id=\"summary\">{}</h2>\
         <p>{} {}</p><p class=\"bands\">",
        lang.summary,
        scored.len(),
        lang.scored
    );
    for (i, band) in model.bands.iter().enumerate() {
        let n = scored.iter().filter(|r| r.card.band == Some(i)).count();
        let _ = write!(s, "<span>{} {n}</span>", band_span(&band.id, lang));
    }
    s.push_str("</p></div>");
    let five = scored.len().min(5);
    let list = |title: &str, rows: &mut dyn Iterator<Item = &&AgencyResult>| {
        let mut out = format!("<div><h2>{title}</h2><ol>");
        for r in rows {
            let def = registry.get(r.agency);
            let _ = write!(
                out,
                "<li><a href=\"/agency/{}?period={}&amp;lang={}\">{}</a> {}</li>",
                url(&def.id),
                kind.as_str(),
                lang.code,
                esc(&def.name),
                score_text(r, lang)
            );
        }
        out.push_str("</ol></div>");
        out
    };
    s.push_str(&list(lang.best_five, &mut scored.iter().take(five)));
    s.push_str(&list(lang.worst_five, &mut scored.iter().rev().take(five)));
    s.push_str("</section>");
    s
}
