//! The operator's worklist of an agency's subtree, as a page and as CSV: the on-time dossiers
//! due in the current month, the ones whose lateness would cost the most points first; the
//! overdue ones, from the national portal first, then late the longest first.

use std::fmt::Write;

use super::{esc, page, url};
use crate::core::{LateRule, Timestamp};
use crate::render::csv_field;
use crate::render::text::Lang;

/// Rows of each list on the page (the CSV has them all).
pub const PAGE_ROWS: usize = 500;

/// An open dossier of the worklist.
pub struct WorkItem<'a> {
    pub dossier_id: &'a str,
    pub agency_id: &'a str,
    /// The procedure's code, empty if unknown.
    pub procedure: &'a str,
    pub received_at: Timestamp,
    pub due: Timestamp,
    pub via_national_portal: bool,
}

/// An on-time dossier due in the month and what its lateness would cost, in hundredths of a
/// point: rounded as the published score would lose it, and unrounded (what orders the list).
pub struct AtStakeRow<'a> {
    pub item: WorkItem<'a>,
    pub points_h: i64,
    pub unrounded_h: f64,
}

/// An overdue dossier: since when, by which rule, for how many seconds.
pub struct OverdueRow<'a> {
    pub item: WorkItem<'a>,
    pub late_since: Timestamp,
    pub late_rule: Option<LateRule>,
    pub age: i64,
}

/// What the worklist shows, both lists in their order.
pub struct Worklist<'a> {
    pub lang: &'static Lang,
    pub agency_id: &'a str,
    pub agency_name: &'a str,
    /// When the lists were evaluated (the latest of the engines'), if known.
    pub evaluated: Option<Timestamp>,
    pub at_stake: Vec<AtStakeRow<'a>>,
    pub overdue: Vec<OverdueRow<'a>>,
}

/// Both lists as one CSV file (UTF-8 with a byte order mark, which spreadsheet programs need
/// to read Vietnamese right), ids in the columns.
pub fn csv(v: &Worklist<'_>) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str("list,dossier_id,agency_id,procedure_id,received_at,due_at,points_at_stake,points_at_stake_unrounded,late_since,late_reason,overdue_seconds,via_national_portal\r\n");
    for AtStakeRow {
        item: i,
        points_h,
        unrounded_h,
    } in &v.at_stake
    {
        out.push_str("at_stake,");
        csv_item(&mut out, i);
        let _ = write!(
            out,
            ",{:.2},{:.6},,,,{}\r\n",
            *points_h as f64 / 100.0,
            unrounded_h / 100.0,
            i.via_national_portal
        );
    }
    for OverdueRow {
        item: i,
        late_since,
        late_rule,
        age,
    } in &v.overdue
    {
        out.push_str("overdue,");
        csv_item(&mut out, i);
        let _ = write!(
            out,
            ",,{},{},{},{}\r\n",
            late_since.to_local_rfc3339(),
            late_rule.map_or("", LateRule::code),
            age,
            i.via_national_portal
        );
    }
    out
}

/// The CSV cells both lists have first: dossier, agency, procedure, received, due.
fn csv_item(out: &mut String, i: &WorkItem<'_>) {
    let _ = write!(
        out,
        "{},{},{},{},{}",
        csv_field(i.dossier_id),
        csv_field(i.agency_id),
        csv_field(i.procedure),
        i.received_at.to_local_rfc3339(),
        i.due.to_local_rfc3339(),
    );
}

/// The page: the first [`PAGE_ROWS`] rows of each list.
pub fn html(v: &Worklist<'_>) -> String {
    let lang = v.lang;
    let mut body = String::with_capacity(64 * 1024);
    let _ = write!(
        body,
        "<header><p class=\"note\"><a href=\"/agency/{uid}?lang={lc}\">{name}</a></p><h1>{title}</h1>\
         <nav><a href=\"/agency/{uid}/worklist?lang={lc}&amp;format=csv\">CSV</a> | \
         <a href=\"/agency/{uid}/worklist?lang={ol}\" hreflang=\"{ol}\">{oname}</a></nav>\
         <p class=\"note\">{asof} {when}</p></header><main><p class=\"note\">{forever}</p>",
        uid = url(v.agency_id),
        lc = lang.code,
        name = esc(v.agency_name),
        title = lang.worklist,
        ol = lang.other_lang.0,
        oname = lang.other_lang.1,
        asof = lang.evaluated,
        when = v.evaluated.map_or(String::new(), |t| esc(&t.to_local_rfc3339())),
        forever = lang.late_forever,
    );
    let portal = lang.worklist_portal_column;
    let columns = lang.worklist_item_columns;
    table_head(
        &mut body,
        lang.worklist_due_heading,
        v.at_stake.len(),
        columns
            .iter()
            .chain([&lang.worklist_points_column, &portal]),
    );
    for row in v.at_stake.iter().take(PAGE_ROWS) {
        item_cells(&mut body, &row.item);
        let _ = write!(
            body,
            "<td data-points>{:.4}</td>{}",
            row.unrounded_h / 100.0,
            portal_cell(&row.item)
        );
    }
    body.push_str("</tbody></table></div>");
    table_head(
        &mut body,
        lang.worklist_overdue_heading,
        v.overdue.len(),
        columns
            .iter()
            .chain(&lang.worklist_overdue_columns)
            .chain([&portal]),
    );
    for row in v.overdue.iter().take(PAGE_ROWS) {
        item_cells(&mut body, &row.item);
        let _ = write!(
            body,
            "<td>{}</td><td>{}</td><td>{:.1}</td>{}",
            esc(&row.late_since.to_local_rfc3339()),
            row.late_rule.map_or("", |r| lang.late_reason(r)),
            row.age as f64 / 86_400.0,
            portal_cell(&row.item)
        );
    }
    body.push_str("</tbody></table></div></main>");
    page(
        lang,
        &format!("{} – {}", v.agency_name, lang.worklist),
        &body,
    )
}

/// A list's heading with its length, and its table's head (the first three columns left).
fn table_head<'a>(
    body: &mut String,
    heading: &str,
    len: usize,
    columns: impl Iterator<Item = &'a &'static str>,
) {
    let _ = write!(
        body,
        "<h2>{heading} ({len})</h2><div class=\"scroll\"><table><thead><tr>"
    );
    for (k, c) in columns.enumerate() {
        let class = if k < 3 { " class=\"l\"" } else { "" };
        let _ = write!(body, "<th scope=\"col\"{class}>{}</th>", esc(c));
    }
    body.push_str("</tr></thead><tbody>");
}

/// A row's opening and the cells both lists have first.
fn item_cells(body: &mut String, i: &WorkItem<'_>) {
    let _ = write!(
        body,
        "<tr data-dossier=\"{id}\"><th scope=\"row\" class=\"l\">{id}</th><td class=\"l\">{ag}</td><td class=\"l\">{pr}</td>\
         <td>{rc}</td><td>{due}</td>",
        id = esc(i.dossier_id),
        ag = esc(i.agency_id),
        pr = esc(i.procedure),
        rc = esc(&i.received_at.to_local_rfc3339()),
        due = esc(&i.due.to_local_rfc3339()),
    );
}

/// The national-portal cell that ends a row, and the row's end.
fn portal_cell(i: &WorkItem<'_>) -> &'static str {
    if i.via_national_portal {
        "<td>✓</td></tr>"
    } else {
        "<td></td></tr>"
    }
}
