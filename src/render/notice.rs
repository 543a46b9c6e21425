//! The monthly public notice of one period: every agency's score, band and group points, ranked
//! per level, with the change against the period before, as print-ready HTML, XLSX, CSV (UTF-8
//! with a byte order mark, for spreadsheet programs) or Markdown.
//!
//! Every format states the instant the figures were evaluated at and whether they are final.
//! HTML, XLSX and Markdown are for people: names, never ids (levels, bands and groups by their
//! names in the notice's language). The CSV is the exchange format: machine-readable ids in its
//! columns (level, band, group ids as column names), instants in RFC 3339 at +07:00.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::text::Lang;
use super::{csv_field, esc};
use crate::core::scoring::GroupDef;
use crate::core::{Period, Timestamp};

/// One agency's line of the notice.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub level: String,
    pub score: Option<f64>,
    /// The band's id.
    pub band: Option<String>,
    pub change: Option<f64>,
    /// (group id, points, max).
    pub groups: Vec<(String, f64, f64)>,
    pub on_time: u64,
    pub in_scope: u64,
    pub open_overdue: u64,
    pub open_overdue_portal: u64,
    pub evaluated_at: Option<Timestamp>,
    pub is_final: bool,
}

/// A notice to render.
pub struct Notice<'a> {
    pub period: Period,
    pub rows: &'a [Row],
    pub lang: &'static Lang,
    /// Where group names come from (the scoring model's groups).
    pub groups: &'a [GroupDef],
    /// When the notice was made.
    pub generated: Timestamp,
}

/// One level of the notice: its id and its rows, ranked (no rank without a score).
pub(super) type Level<'a> = (String, Vec<(Option<usize>, &'a Row)>);

impl Notice<'_> {
    /// The group columns: the model's groups in its order, then any other id the rows carry.
    pub(super) fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let held = |id: &str| self.rows.iter().any(|r| r.groups.iter().any(|g| g.0 == id));
        for g in self.groups {
            if held(&g.id) {
                out.push(&g.id);
            }
        }
        for r in self.rows {
            for (id, _, _) in &r.groups {
                if !out.contains(&id.as_str()) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// A group column's heading in the notice's language.
    pub(super) fn group_name<'s>(&'s self, id: &'s str) -> &'s str {
        self.groups
            .iter()
            .find(|g| g.id == id)
            .map_or(id, |g| self.lang.group_name(g))
    }

    pub(super) fn title(&self) -> String {
        format!("{} — {}", self.lang.notice_title, self.period.label())
    }

    /// "Evaluated at … · final figures": the instant (the range if the agencies differ) and
    /// whether every agency's figures are final.
    pub(super) fn evaluated(&self) -> String {
        let lang = self.lang;
        let times: Vec<Timestamp> = self.rows.iter().filter_map(|r| r.evaluated_at).collect();
        let when = match (times.iter().min(), times.iter().max()) {
            (Some(a), Some(b)) if a == b => lang.instant(*a),
            (Some(a), Some(b)) => format!("{} – {}", lang.instant(*a), lang.instant(*b)),
            _ => "–".to_owned(),
        };
        let finals = self.rows.iter().filter(|r| r.is_final).count();
        let status = if finals == self.rows.len() {
            lang.final_figures
        } else if finals == 0 {
            lang.provisional
        } else {
            lang.mixed_final
        };
        format!("{} {when} · {status}", lang.evaluated_at)
    }

    pub(super) fn generated_line(&self) -> String {
        format!(
            "{} {}",
            self.lang.generated,
            self.lang.instant(self.generated)
        )
    }

    pub(super) fn band_name<'s>(&self, r: &'s Row) -> &'s str {
        r.band.as_deref().map_or("–", |b| self.lang.band_name(b))
    }
}

/// Levels in the order of the notice (the province first), each with its rows ranked.
pub(super) fn by_level(rows: &[Row]) -> Vec<Level<'_>> {
    let mut levels: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        levels.entry(&r.level).or_default().push(r);
    }
    let order = |l: &str| match l {
        "province" => 0,
        "department" => 1,
        "district" => 2,
        "commune" => 3,
        _ => 4,
    };
    let mut out: Vec<Level<'_>> = levels
        .into_iter()
        .map(|(level, mut rs)| {
            rs.sort_by(|a, b| {
                b.score
                    .partial_cmp(&a.score)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.id.cmp(&b.id))
            });
            let ranked = rs
                .iter()
                .map(|r| {
                    let rank = r
                        .score
                        .map(|s| 1 + rs.iter().filter(|x| x.score.is_some_and(|y| y > s)).count());
                    (rank, *r)
                })
                .collect();
            (level.to_owned(), ranked)
        })
        .collect();
    out.sort_by_key(|(l, _)| (order(l), l.clone()));
    out
}

impl Row {
    /// The points of group `id`, if the row has it.
    pub(super) fn points(&self, id: &str) -> Option<f64> {
        self.groups.iter().find(|g| g.0 == id).map(|g| g.1)
    }
}

pub(super) fn ratio(r: &Row) -> String {
    if r.in_scope == 0 {
        String::new()
    } else {
        format!("{:.1}", 100.0 * r.on_time as f64 / r.in_scope as f64)
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x:.1}"))
}

fn signed(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x:+.1}"))
}

fn points(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x:.2}"))
}

/// The CSV: ids in the columns (see the module docs), one line per agency.
pub fn csv(n: &Notice<'_>) -> String {
    let columns = n.columns();
    let mut out = String::from("\u{feff}level,rank,agency_id,agency_name,score,band,change");
    for g in &columns {
        let _ = write!(out, ",{}", csv_field(g));
    }
    out.push_str(
        ",on_time_percent,open_overdue,open_overdue_national_portal,evaluated_at,final\r\n",
    );
    for (level, ranked) in by_level(n.rows) {
        for (rank, r) in ranked {
            let _ = write!(
                out,
                "{},{},{},{},{},{},{}",
                csv_field(&level),
                rank.map_or(String::new(), |n| n.to_string()),
                csv_field(&r.id),
                csv_field(&r.name),
                opt(r.score),
                csv_field(r.band.as_deref().unwrap_or("")),
                signed(r.change)
            );
            for g in &columns {
                let _ = write!(out, ",{}", points(r.points(g)));
            }
            let _ = write!(
                out,
                ",{},{},{},{},{}\r\n",
                ratio(r),
                r.open_overdue,
                r.open_overdue_portal,
                r.evaluated_at
                    .map_or(String::new(), |t| t.to_local_rfc3339()),
                r.is_final
            );
        }
    }
    out
}

pub fn markdown(n: &Notice<'_>) -> String {
    let lang = n.lang;
    let columns = n.columns();
    let md = |s: &str| s.replace('|', "\\|");
    let mut out = format!(
        "# {}\n\n{}\n\n{}\n",
        n.title(),
        n.evaluated(),
        n.generated_line()
    );
    for (level, ranked) in by_level(n.rows) {
        let _ = write!(
            out,
            "\n## {}\n\n| # | {} | {} | {} | {} |",
            md(lang.level_name(&level)),
            lang.agency,
            lang.score,
            lang.band,
            lang.change
        );
        for g in &columns {
            let _ = write!(out, " {} |", md(n.group_name(g)));
        }
        let _ = writeln!(out, " {} % | {} |", lang.on_time, lang.overdue);
        out.push_str("|---:|---|---:|---|---:|");
        out.push_str(&"---:|".repeat(columns.len()));
        out.push_str("---:|---:|\n");
        for (rank, r) in ranked {
            let _ = write!(
                out,
                "| {} | {} | {} | {} | {} |",
                rank.map_or(String::from("–"), |n| n.to_string()),
                md(&r.name),
                opt(r.score),
                md(n.band_name(r)),
                signed(r.change),
            );
            for g in &columns {
                let _ = write!(out, " {} |", points(r.points(g)));
            }
            let _ = writeln!(out, " {} | {} |", ratio(r), r.open_overdue);
        }
    }
    out
}

pub use super::notice_xlsx::xlsx;

/// Long because it writes one printed document top to bottom.
pub fn html(n: &Notice<'_>) -> String {
    let lang = n.lang;
    let title = esc(&n.title());
    let columns = n.columns();
    let mut out = format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><title>{title}</title><style>\
         @page{{size:A4;margin:15mm 12mm 18mm}}body{{font-family:system-ui,sans-serif;font-size:10pt}}\
         h1{{font-size:15pt}}h2{{font-size:12pt;break-before:page}}h2.first{{break-before:auto}}\
         table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #999;padding:2px 4px;text-align:right}}\
         td.l,th.l{{text-align:left}}thead{{display:table-header-group}}tr{{break-inside:avoid}}\
         .meta{{color:#444}}footer{{position:fixed;bottom:0;font-size:8pt;color:#444}}</style></head><body>\
         <header><h1>{title}</h1><p class=\"meta\" data-evaluated>{evaluated}</p><p class=\"meta\">{generated}</p></header>\
         <footer>{title} · {evaluated} · {generated}</footer>",
        code = lang.code,
        evaluated = esc(&n.evaluated()),
        generated = esc(&n.generated_line()),
    );
    // Summary: bands, best and worst five, agencies with open overdue national-portal dossiers.
    let mut bands: BTreeMap<&str, usize> = BTreeMap::new();
    for r in n.rows {
        *bands.entry(n.band_name(r)).or_default() += 1;
    }
    let _ = write!(out, "<h2 class=\"first\">{}</h2><p>", lang.summary);
    for (b, count) in &bands {
        let _ = write!(out, "{}: {count} · ", esc(b));
    }
    out.push_str("</p>");
    let mut scored: Vec<&Row> = n.rows.iter().filter(|r| r.score.is_some()).collect();
    scored.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for (head, list) in [
        (lang.best_five, scored.iter().take(5).collect::<Vec<_>>()),
        (lang.worst_five, scored.iter().rev().take(5).collect()),
    ] {
        let _ = write!(out, "<h3>{head}</h3><ol>");
        for r in list {
            let _ = write!(out, "<li>{} — {}</li>", esc(&r.name), opt(r.score));
        }
        out.push_str("</ol>");
    }
    let portal: Vec<&Row> = n
        .rows
        .iter()
        .filter(|r| r.open_overdue_portal > 0)
        .collect();
    let _ = write!(
        out,
        "<h3>{} ({})</h3><ul>",
        lang.portal_overdue_agencies,
        portal.len()
    );
    for r in portal {
        let _ = write!(out, "<li>{}: {}</li>", esc(&r.name), r.open_overdue_portal);
    }
    out.push_str("</ul>");
    for (level, ranked) in by_level(n.rows) {
        let _ = write!(
            out,
            "<h2 data-level=\"{}\">{}</h2><table><thead><tr><th>#</th><th class=\"l\">{}</th><th>{}</th><th class=\"l\">{}</th><th>{}</th>",
            esc(&level),
            esc(lang.level_name(&level)),
            lang.agency,
            lang.score,
            lang.band,
            lang.change,
        );
        for g in &columns {
            let _ = write!(
                out,
                "<th data-group=\"{}\">{}</th>",
                esc(g),
                esc(n.group_name(g))
            );
        }
        let _ = write!(
            out,
            "<th>{} %</th><th>{}</th></tr></thead><tbody>",
            lang.on_time, lang.overdue
        );
        for (rank, r) in ranked {
            let _ = write!(
                out,
                "<tr data-agency=\"{}\"><td>{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td>",
                esc(&r.id),
                rank.map_or(String::from("–"), |n| n.to_string()),
                esc(&r.name),
                opt(r.score),
                esc(n.band_name(r)),
                signed(r.change)
            );
            for g in &columns {
                let _ = write!(out, "<td>{}</td>", points(r.points(g)));
            }
            let _ = write!(out, "<td>{}</td><td>{}</td></tr>", ratio(r), r.open_overdue);
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</body></html>");
    out
}
