//! `GET /agency/{id}/worklist?lang=&format=csv`: the operator's worklist of the agency's
//! subtree, behind the API token (the page carries dossier ids). A browser gets a Basic
//! challenge (any user name, the token as the password), so no script is needed.
//!
//! Two lists: the on-time dossiers due in the current month, the ones whose lateness would
//! cost the most points first (then the soonest due); the overdue ones, from the national
//! portal first, then late the longest first. `format=csv` gives both as one CSV file (UTF-8
//! with a byte order mark, which spreadsheet programs need to read Vietnamese right).

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{lookup, page_query, path_id};
use super::operator::authorize;
use super::pages::{esc, html, lang_of, page};
use super::stake::price;
use super::{ApiError, AppState};
use crate::core::time::NANOS_PER_SEC;
use crate::core::{LateRule, PeriodKind};
use crate::read_model::{current_results, Needs, OpenItem};
use crate::render::csv_field;

/// Rows of each list on the page (the CSV has them all).
const PAGE_ROWS: usize = 500;

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
        Some(result) => {
            let p = price(&state, root, result);
            // Ordered by exactly what the page shows: the unrounded cost (at a province one
            // dossier rarely moves the rounded total, so the rounded figure would order nothing).
            let mut rows: Vec<(OpenItem, i64, f64)> = p
                .order
                .iter()
                .map(|&i| {
                    let s = &p.stake;
                    (p.candidates[i].clone(), s.points_h[i], s.unrounded_h[i])
                })
                .collect();
            rows.sort_by(|a, b| b.2.total_cmp(&a.2));
            (rows, Some(result.evaluated_at))
        }
        None => (Vec::new(), None),
    };
    let mut overdue: Vec<(OpenItem, i64)> = Vec::new();
    let mut evaluated = now;
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
    let agency_id = |i: &OpenItem| registry.get(i.agency).id.clone();

    if csv {
        let mut out = String::from("\u{feff}");
        out.push_str("list,dossier_id,agency_id,procedure_id,received_at,due_at,points_at_stake,points_at_stake_unrounded,late_since,late_reason,overdue_seconds,via_national_portal\r\n");
        for (i, points_h, unrounded_h) in &at_stake {
            let _ = write!(
                out,
                "at_stake,{},{},{},{},{},{:.2},{:.6},,,,{}\r\n",
                csv_field(&i.dossier_id),
                csv_field(&agency_id(i)),
                csv_field(i.procedure.as_deref().unwrap_or("")),
                i.received_at.to_local_rfc3339(),
                i.due.to_local_rfc3339(),
                *points_h as f64 / 100.0,
                unrounded_h / 100.0,
                i.via_national_portal
            );
        }
        for (i, age) in &overdue {
            let _ = write!(
                out,
                "overdue,{},{},{},{},{},,{},{},{},{}\r\n",
                csv_field(&i.dossier_id),
                csv_field(&agency_id(i)),
                csv_field(i.procedure.as_deref().unwrap_or("")),
                i.received_at.to_local_rfc3339(),
                i.due.to_local_rfc3339(),
                i.late_since.to_local_rfc3339(),
                i.late_rule.map_or("", LateRule::code),
                age,
                i.via_national_portal
            );
        }
        let file = format!(
            "attachment; filename=\"worklist-{}.csv\"",
            def.id.replace(['"', '\\'], "_")
        );
        return Ok((
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
            .into_response());
    }

    let vi = lang.code == "vi";
    let mut body = String::with_capacity(64 * 1024);
    let _ = write!(
        body,
        "<header><p class=\"note\"><a href=\"/agency/{uid}?lang={lc}\">{name}</a></p><h1>{title}</h1>\
         <nav><a href=\"/agency/{uid}/worklist?lang={lc}&amp;format=csv\">CSV</a> | \
         <a href=\"/agency/{uid}/worklist?lang={ol}\" hreflang=\"{ol}\">{oname}</a></nav>\
         <p class=\"note\">{asof} {when}</p></header><main><p class=\"note\">{forever}</p>",
        uid = super::pages::url(&def.id),
        lc = lang.code,
        name = esc(&def.name),
        title = if vi { "Danh sách hồ sơ cần xử lý" } else { "Worklist" },
        ol = lang.other_lang.0,
        oname = lang.other_lang.1,
        asof = lang.evaluated,
        when = evaluated.map_or(String::new(), |t| esc(&t.to_local_rfc3339())),
        forever = lang.late_forever,
    );
    let head = |cols: &[&str]| {
        let mut s = String::from("<div class=\"scroll\"><table><thead><tr>");
        for (k, c) in cols.iter().enumerate() {
            let class = if k < 3 { " class=\"l\"" } else { "" };
            let _ = write!(s, "<th scope=\"col\"{class}>{}</th>", esc(c));
        }
        s.push_str("</tr></thead><tbody>");
        s
    };
    let _ = write!(
        body,
        "<h2>{} ({})</h2>",
        if vi {
            "Đúng hạn, đến hạn trong tháng: ưu tiên theo điểm có thể mất, rồi hạn trả sớm nhất"
        } else {
            "On time, due this month: most points at stake first, then the soonest due"
        },
        at_stake.len()
    );
    body.push_str(&head(if vi {
        &[
            "Mã hồ sơ",
            "Cơ quan",
            "Thủ tục",
            "Tiếp nhận",
            "Hẹn trả",
            "Điểm có thể mất (chưa làm tròn)",
            "Cổng DVC QG",
        ]
    } else {
        &[
            "Dossier",
            "Agency",
            "Procedure",
            "Received",
            "Due",
            "Points at stake (unrounded)",
            "National portal",
        ]
    }));
    for (i, _, unrounded_h) in at_stake.iter().take(PAGE_ROWS) {
        let _ = write!(
            body,
            "<tr data-dossier=\"{id}\"><th scope=\"row\" class=\"l\">{id}</th><td class=\"l\">{ag}</td><td class=\"l\">{pr}</td>\
             <td>{rc}</td><td>{due}</td><td data-points>{pts:.4}</td><td>{np}</td></tr>",
            id = esc(&i.dossier_id),
            ag = esc(&agency_id(i)),
            pr = esc(i.procedure.as_deref().unwrap_or("")),
            rc = esc(&i.received_at.to_local_rfc3339()),
            due = esc(&i.due.to_local_rfc3339()),
            pts = unrounded_h / 100.0,
            np = if i.via_national_portal { "✓" } else { "" },
        );
    }
    body.push_str("</tbody></table></div>");
    let _ = write!(
        body,
        "<h2>{} ({})</h2>",
        if vi {
            "Quá hạn đang xử lý: hồ sơ từ Cổng DVC quốc gia trước"
        } else {
            "Overdue, still open: national-portal dossiers first"
        },
        overdue.len()
    );
    body.push_str(&head(if vi {
        &[
            "Mã hồ sơ",
            "Cơ quan",
            "Thủ tục",
            "Tiếp nhận",
            "Hẹn trả",
            "Quá hạn từ",
            "Lý do",
            "Số ngày",
            "Cổng DVC QG",
        ]
    } else {
        &[
            "Dossier",
            "Agency",
            "Procedure",
            "Received",
            "Due",
            "Late since",
            "Reason",
            "Days",
            "National portal",
        ]
    }));
    for (i, age) in overdue.iter().take(PAGE_ROWS) {
        let _ = write!(
            body,
            "<tr data-dossier=\"{id}\"><th scope=\"row\" class=\"l\">{id}</th><td class=\"l\">{ag}</td><td class=\"l\">{pr}</td>\
             <td>{rc}</td><td>{due}</td><td>{since}</td><td>{why}</td><td>{days:.1}</td><td>{np}</td></tr>",
            id = esc(&i.dossier_id),
            ag = esc(&agency_id(i)),
            pr = esc(i.procedure.as_deref().unwrap_or("")),
            rc = esc(&i.received_at.to_local_rfc3339()),
            due = esc(&i.due.to_local_rfc3339()),
            since = esc(&i.late_since.to_local_rfc3339()),
            why = i.late_rule.map_or("", |r| lang.late_reason(r)),
            days = *age as f64 / 86_400.0,
            np = if i.via_national_portal { "✓" } else { "" },
        );
    }
    body.push_str("</tbody></table></div></main>");
    let title = if vi {
        "Danh sách hồ sơ cần xử lý"
    } else {
        "Worklist"
    };
    Ok(html(
        StatusCode::OK,
        page(lang, &format!("{} – {title}", def.name), &body),
    ))
}
