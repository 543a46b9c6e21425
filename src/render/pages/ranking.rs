//! The ranking page: every agency's result of a period kind (the current period, or the one
//! before it, final), ranked by score, under a summary.

use std::collections::HashMap;
use std::fmt::Write;

use super::{band_badge, band_span, esc, hundredths, nav, on_time_ratio, page, score_text, url};
use crate::core::{AgencyIdx, AgencyResult, Count, Period, PeriodKind, Registry, ScoringModel};
use crate::render::text::Lang;

/// The order of the rows (the rank stays the score's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Score,
    Name,
    OnTime,
    Overdue,
}

impl Sort {
    /// The `sort` parameter's value; `None` if it names no order.
    pub fn parse(s: &str) -> Option<Sort> {
        match s {
            "score" => Some(Sort::Score),
            "name" => Some(Sort::Name),
            "on_time" => Some(Sort::OnTime),
            "overdue" => Some(Sort::Overdue),
            _ => None,
        }
    }
}

/// What the ranking page shows.
pub struct Ranking<'a> {
    pub lang: &'static Lang,
    pub kind: PeriodKind,
    pub registry: &'a Registry,
    pub model: &'a ScoringModel,
    /// Every level of the registry, sorted (the level filter's links).
    pub levels: Vec<&'a str>,
    /// The level shown, all if `None`.
    pub level: Option<&'a str>,
    /// The period before the current one is shown.
    pub previous_view: bool,
    /// The rows, any order.
    pub rows: Vec<&'a AgencyResult>,
    pub sort: Sort,
    /// The result of the period before each row's, by agency and period (the change column).
    pub before: HashMap<(AgencyIdx, Period), &'a AgencyResult>,
}

/// The page.
pub fn html(mut v: Ranking<'_>) -> String {
    let (lang, kind, registry, model, level) = (v.lang, v.kind, v.registry, v.model, v.level);
    let mut rows = std::mem::take(&mut v.rows);
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
    let order = order(&rows, registry, v.sort);
    let view_q = view_query(v.previous_view);
    let level_q = level.map_or(String::new(), |l| format!("&amp;level={}", url(l))) + view_q;
    let mut body = String::with_capacity(64 * 1024 + rows.len() * 600);
    let _ = write!(body, "<header><h1>{}</h1>", lang.title);
    body.push_str(&nav(lang, "/", kind, &level_q));
    body.push_str(&filters(&v.levels, level, v.previous_view, lang, kind));
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
    if rows.is_empty() && v.previous_view {
        let _ = write!(body, "<p>{}</p>", lang.no_previous);
    }
    body.push_str(&summary(&rows, registry, model, lang, kind));
    body.push_str("<div class=\"scroll\"><table><caption class=\"note\">");
    body.push_str(lang.title);
    body.push_str("</caption><thead><tr>");
    table_head(&mut body, lang, kind, model, &level_q);
    for &i in &order {
        let r = rows[i];
        let before = r
            .period
            .previous()
            .and_then(|p| v.before.get(&(r.agency, p)))
            .and_then(|p| p.card.score_tenths);
        row(&mut body, r, ranks[i], before, &v);
    }
    body.push_str("</tbody></table></div></main>");
    page(lang, lang.title, &body)
}

/// The table's head: the sortable columns link to the same view in that order.
fn table_head(
    body: &mut String,
    lang: &Lang,
    kind: PeriodKind,
    model: &ScoringModel,
    level_q: &str,
) {
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
}

/// The display order of `rows` (which are in rank order).
fn order(rows: &[&AgencyResult], registry: &Registry, sort: Sort) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    match sort {
        Sort::Score => {}
        Sort::Name => order.sort_by(|&a, &b| {
            registry
                .get(rows[a].agency)
                .name
                .cmp(&registry.get(rows[b].agency).name)
        }),
        Sort::Overdue => {
            order.sort_by_key(|&i| std::cmp::Reverse(rows[i].counts[Count::OpenOverdue]))
        }
        Sort::OnTime => order.sort_by(|&a, &b| {
            let ratio = |r: &AgencyResult| {
                let d = r.counts[Count::InScope];
                (d > 0).then(|| r.counts[Count::OnTime] as f64 / d as f64)
            };
            ratio(rows[b])
                .partial_cmp(&ratio(rows[a]))
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
    }
    order
}

/// The query part that keeps the previous-period view in a link.
fn view_query(previous_view: bool) -> &'static str {
    if previous_view {
        "&amp;view=previous"
    } else {
        ""
    }
}

/// The level filter and the current/previous switch.
fn filters(
    levels: &[&str],
    level: Option<&str>,
    previous_view: bool,
    lang: &Lang,
    kind: PeriodKind,
) -> String {
    let view_q = view_query(previous_view);
    let mut body = String::from("<nav>");
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
    for l in levels {
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
                view_query(previous)
            );
        }
    }
    body.push_str("</nav>");
    body
}

/// One agency's row; `before` is its score of the period before.
fn row(
    body: &mut String,
    r: &AgencyResult,
    rank: Option<usize>,
    before: Option<i64>,
    v: &Ranking<'_>,
) {
    let (lang, kind) = (v.lang, v.kind);
    let def = v.registry.get(r.agency);
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
        rank = rank.map_or(String::from("–"), |r| r.to_string()),
        uid = url(&def.id),
        k = kind.as_str(),
        lc = lang.code,
        name = esc(&def.name),
        level = esc(lang.level_name(&def.level)),
        score = score_text(r, lang),
        band = band_badge(r, v.model, lang),
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

/// The summary above a ranking: how many agencies have a score, how many in each band, the
/// best and the weakest five. `ranked` is in rank order.
fn summary(
    ranked: &[&AgencyResult],
    registry: &Registry,
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
