//! One agency's page: its score, groups and indicators, the period-end projection, the
//! agencies under it and its months.

use std::fmt::Write;

use super::{band_badge, esc, hundredths, nav, on_time_ratio, page, score_text, url};
use crate::core::stake::Stake;
use crate::core::{AgencyIdx, AgencyResult, Count, PeriodKind, Registry, ScoringModel};
use crate::render::text::Lang;

/// What an agency's page shows.
pub struct AgencyPage<'a> {
    pub lang: &'static Lang,
    pub kind: PeriodKind,
    pub registry: &'a Registry,
    pub model: &'a ScoringModel,
    pub agency: AgencyIdx,
    /// Its result of the current period of `kind`, if any.
    pub result: Option<&'a AgencyResult>,
    /// The period-end projection from the open dossiers of its subtree, or why this instance
    /// cannot give it (for people).
    pub projection: Result<Stake, &'static str>,
    /// The results of the agencies right under it, in id order.
    pub children: Vec<&'a AgencyResult>,
    /// Its monthly results, oldest first, one per month.
    pub months: Vec<&'a AgencyResult>,
}

/// The page.
pub fn html(v: AgencyPage<'_>) -> String {
    let (lang, kind, registry, model, root) = (v.lang, v.kind, v.registry, v.model, v.agency);
    let def = registry.get(root);
    let base = format!("/agency/{}", url(&def.id));
    let mut body = String::with_capacity(32 * 1024);
    heading(&mut body, &v);
    body.push_str(&nav(lang, &base, kind, ""));
    body.push_str("</header><main>");
    let title = format!("{} – {}", def.name, lang.agency_title);
    let Some(r) = v.result else {
        body.push_str("<p>–</p></main>");
        return page(lang, &title, &body);
    };
    headline(&mut body, lang, model, r);
    groups(&mut body, lang, model, r);
    indicators(&mut body, lang, model, r);
    // The period-end projection, from the open dossiers of the subtree: only where this
    // instance holds all of them.
    match &v.projection {
        Ok(stake) => projection(&mut body, lang, stake),
        Err(why) => {
            let _ = write!(
                body,
                "<h2>{}</h2><p class=\"note\" data-unavailable>{}</p>",
                lang.projection, why
            );
        }
    }
    let _ = write!(
        body,
        "<p><a href=\"{base}/worklist?lang={}\">{}</a></p>",
        lang.code, lang.worklist_link
    );
    children_table(&mut body, &v);
    body.push_str(&trend(&v.months, lang));
    body.push_str("</main>");
    page(lang, &title, &body)
}

/// The breadcrumb (ranking › parent), the agency's name, id and level.
fn heading(body: &mut String, v: &AgencyPage<'_>) {
    let (lang, kind, registry, root) = (v.lang, v.kind, v.registry, v.agency);
    let def = registry.get(root);
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
}

/// The score, band and live counts, and when they were evaluated.
fn headline(body: &mut String, lang: &Lang, model: &ScoringModel, r: &AgencyResult) {
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
}

/// The points of each group.
fn groups(body: &mut String, lang: &Lang, model: &ScoringModel, r: &AgencyResult) {
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
}

/// Each indicator's figures and points.
fn indicators(body: &mut String, lang: &Lang, model: &ScoringModel, r: &AgencyResult) {
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
}

/// The agencies right under this one.
fn children_table(body: &mut String, v: &AgencyPage<'_>) {
    let (lang, kind, registry, model) = (v.lang, v.kind, v.registry, v.model);
    let children = &v.children;
    if !children.is_empty() {
        let _ = write!(
            body,
            "<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th scope=\"col\" class=\"l\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th></tr></thead><tbody>",
            lang.children, lang.agency, lang.score, lang.band, lang.on_time, lang.overdue
        );
        for cr in children {
            let cd = registry.get(cr.agency);
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
}

/// An inline SVG bar chart of the agency's score over the months the engines hold.
fn trend(months: &[&AgencyResult], lang: &Lang) -> String {
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

/// The period-end projection (best and worst score) of the agency's result.
fn projection(body: &mut String, lang: &Lang, stake: &Stake) {
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
