//! The web pages for people: the ranking of agencies and one agency's page, server-rendered
//! HTML with the styles inline (nothing to build, nothing to load), working without JavaScript
//! and refreshing itself every 30 s. Vietnamese by default, English with `lang=en`.
//!
//! The numbers are those of the JSON API (the same results, the same scoring); the operator
//! worklist with dossier ids stays in the token-protected API.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{lookup, path_id, period_kind, query};
use super::{ApiError, AppState};
use crate::core::stake::{at_stake, AtRisk};
use crate::core::{AgencyIdx, AgencyResult, Count, PeriodKind, ScoringModel};
use crate::read_model::current_results;

/// The texts of one language.
pub(super) struct Lang {
    pub(super) code: &'static str,
    title: &'static str,
    agency_title: &'static str,
    period: [&'static str; 3],
    all_levels: &'static str,
    rank: &'static str,
    agency: &'static str,
    level: &'static str,
    score: &'static str,
    band: &'static str,
    change: &'static str,
    on_time: &'static str,
    overdue: &'static str,
    national_portal: &'static str,
    due_soon: &'static str,
    no_score: &'static str,
    pub(super) evaluated: &'static str,
    not_ready: &'static str,
    groups: &'static str,
    indicators: &'static str,
    indicator: &'static str,
    numerator: &'static str,
    denominator: &'static str,
    points: &'static str,
    max: &'static str,
    lost: &'static str,
    children: &'static str,
    projection: &'static str,
    best: &'static str,
    worst: &'static str,
    due_in_period: &'static str,
    pub(super) late_forever: &'static str,
    trend: &'static str,
    pub(super) other_lang: (&'static str, &'static str),
    bands: [(&'static str, &'static str); 5],
}

const VI: Lang = Lang {
    code: "vi",
    title: "Bảng xếp hạng chỉ số phục vụ người dân, doanh nghiệp",
    agency_title: "Chỉ số phục vụ",
    period: ["Tháng", "Quý", "Năm"],
    all_levels: "Tất cả",
    rank: "Hạng",
    agency: "Cơ quan, đơn vị",
    level: "Cấp",
    score: "Điểm",
    band: "Xếp loại",
    change: "Thay đổi",
    on_time: "Đúng hạn",
    overdue: "Quá hạn đang xử lý",
    national_portal: "từ Cổng DVC quốc gia",
    due_soon: "Sắp đến hạn",
    no_score: "chưa có điểm",
    evaluated: "Tính đến",
    not_ready: "Dữ liệu đang được khôi phục, vui lòng thử lại sau ít giây.",
    groups: "Nhóm chỉ số",
    indicators: "Chỉ số thành phần",
    indicator: "Chỉ số",
    numerator: "Tử số",
    denominator: "Mẫu số",
    points: "Điểm",
    max: "Tối đa",
    lost: "Điểm bị mất",
    children: "Đơn vị trực thuộc",
    projection: "Dự báo cuối kỳ",
    best: "Tốt nhất (mọi hồ sơ đang xử lý được giải quyết đúng hạn)",
    worst: "Xấu nhất (mọi hồ sơ đến hạn trong kỳ bị quá hạn)",
    due_in_period: "hồ sơ đúng hạn đến hạn trong kỳ",
    late_forever: "Hồ sơ đã quá hạn thì không thể lấy lại điểm: hãy ưu tiên hồ sơ sắp đến hạn.",
    trend: "Diễn biến theo tháng",
    other_lang: ("en", "English"),
    bands: [
        ("excellent", "Xuất sắc"),
        ("good", "Tốt"),
        ("fair", "Khá"),
        ("average", "Trung bình"),
        ("weak", "Yếu"),
    ],
};

const EN: Lang = Lang {
    code: "en",
    title: "Service-quality index ranking",
    agency_title: "Service-quality index",
    period: ["Month", "Quarter", "Year"],
    all_levels: "All",
    rank: "Rank",
    agency: "Agency",
    level: "Level",
    score: "Score",
    band: "Band",
    change: "Change",
    on_time: "On time",
    overdue: "Open overdue",
    national_portal: "from the national portal",
    due_soon: "Due soon",
    no_score: "no score yet",
    evaluated: "As of",
    not_ready: "The data is being restored; please retry in a few seconds.",
    groups: "Groups",
    indicators: "Indicators",
    indicator: "Indicator",
    numerator: "Numerator",
    denominator: "Denominator",
    points: "Points",
    max: "Max",
    lost: "Points lost",
    children: "Agencies under it",
    projection: "Period-end projection",
    best: "Best case (every open dossier processed on time)",
    worst: "Worst case (every dossier due in the period turns late)",
    due_in_period: "on-time dossiers due in the period",
    late_forever: "A late dossier cannot win its points back: process the ones due soon first.",
    trend: "Month by month",
    other_lang: ("vi", "Tiếng Việt"),
    bands: [
        ("excellent", "Excellent"),
        ("good", "Good"),
        ("fair", "Fair"),
        ("average", "Average"),
        ("weak", "Weak"),
    ],
};

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}\
header,main{max-width:1200px;margin:0 auto;padding:0 12px}\
header{padding-top:12px}h1{font-size:1.4rem;margin:.4rem 0}h2{font-size:1.1rem;margin-top:1.4rem}\
nav a{margin-right:.8rem}nav{margin:.3rem 0;font-size:.95rem}a{color:#0b5cad}\
.cur{font-weight:bold;text-decoration:none;color:#1b1b1b}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}\
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:right;white-space:nowrap}\
th{background:#eef2f6;position:sticky;top:0}td.l,th.l{text-align:left;white-space:normal;min-width:11rem}\
.band{display:inline-block;padding:.1rem .45rem;border-radius:.6rem;color:#fff;font-size:.8rem}\
.excellent{background:#1a7f37}.good{background:#2a8c8c}.fair{background:#9a7b00}\
.average{background:#c45d00}.weak{background:#b3261e}.none{background:#888}\
.big{font-size:2rem;font-weight:bold}.note{color:#555;font-size:.85rem}\
.up{color:#1a7f37}.down{color:#b3261e}";

pub(super) fn lang_of(q: &HashMap<String, String>) -> Result<&'static Lang, ApiError> {
    match q.get("lang").map(String::as_str) {
        None | Some("vi") => Ok(&VI),
        Some("en") => Ok(&EN),
        Some(other) => Err(ApiError::bad_request(
            "bad_lang",
            format!("lang must be vi or en, got `{other}`"),
        )),
    }
}

/// Text for HTML (element content and attribute values).
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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
         <meta http-equiv=\"refresh\" content=\"30\"><title>{title}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>",
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
        Some(id) => {
            let text = lang
                .bands
                .iter()
                .find(|(k, _)| *k == id)
                .map_or(id, |(_, t)| t);
            format!("<span class=\"band {}\">{}</span>", esc(id), esc(text))
        }
        None => format!("<span class=\"band none\">{}</span>", lang.no_score),
    }
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

fn not_ready(lang: &Lang) -> Response {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        page(
            lang,
            lang.title,
            &format!("<main><p>{}</p></main>", lang.not_ready),
        ),
    )
}

/// `GET /?period=&level=&lang=&sort=`: every agency's current result, ranked by score.
pub(super) async fn ranking(
    State(state): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q, &["period", "level", "lang", "sort"])?;
    let lang = lang_of(&q)?;
    let kind = period_kind(&q)?;
    if !state.live.is_ready() {
        return Ok(not_ready(lang));
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
    let mut rows: Vec<&AgencyResult> = current
        .iter()
        .filter_map(|kinds| kinds[kind as usize])
        .filter(|r| level.is_none_or(|l| registry.get(r.agency).level == l))
        .collect();
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
    let level_q = level.map_or(String::new(), |l| format!("&amp;level={}", url(l)));
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
                "<a href=\"/?period={}&amp;lang={}{extra}\">{}</a>",
                kind.as_str(),
                lang.code,
                esc(text)
            )
        }
    };
    body.push_str(&link(None, lang.all_levels));
    for l in &levels {
        body.push_str(&link(Some(l), l));
    }
    body.push_str("</nav>");
    if let Some(r) = rows.first() {
        let _ = write!(
            body,
            "<p class=\"note\">{} {} · {}</p>",
            lang.evaluated,
            esc(&r.evaluated_at.to_local_rfc3339()),
            esc(&r.period.label())
        );
    }
    body.push_str("</header><main><div class=\"scroll\"><table><caption class=\"note\">");
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
        let name = if lang.code == "vi" {
            &g.name_vi
        } else {
            &g.name_en
        };
        let _ = write!(body, "<th scope=\"col\">{}</th>", esc(name));
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
            level = esc(&def.level),
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

/// `GET /agency/{id}?period=&lang=`: one agency's score, groups, indicators, the agencies under
/// it, the period-end projection and the months held.
pub(super) async fn agency(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let q = query(q, &["period", "lang"])?;
    let lang = lang_of(&q)?;
    let kind = period_kind(&q)?;
    let root = lookup(&state, &id)?;
    if !state.live.is_ready() {
        return Ok(not_ready(lang));
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
        esc(&def.level)
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
        esc(&r.evaluated_at.to_local_rfc3339()),
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
        let name = if lang.code == "vi" {
            &g.name_vi
        } else {
            &g.name_en
        };
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
        let name = if lang.code == "vi" {
            &def.name_vi
        } else {
            &def.name_en
        };
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
    // The period-end projection, from the open dossiers of the subtree.
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
