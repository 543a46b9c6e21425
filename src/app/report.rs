//! `chiso report`: the monthly public notice of one period — every agency's score, band and
//! group points, ranked per level, with the change against the period before — as print-ready
//! HTML, CSV (UTF-8 with a byte order mark, for spreadsheet programs) or Markdown.
//!
//! The figures are results objects (schema 1), from a results file (JSON lines as `chiso replay`
//! prints them) or computed here from events exactly as `chiso replay` would: one path, so every
//! format carries the replay's numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::app::replay::{replay, ReplaySetup};
use crate::core::{DueSoonHorizon, Period, Timestamp};
use crate::wire::event_json::DEFAULT_MAX_BYTES;

/// Arguments of `chiso report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The period of the notice: a month (2025-08), a quarter (2025-Q3) or a year (2025).
    #[arg(long, value_parser = parse_period)]
    pub period: Period,
    /// Results (JSON lines, as `chiso replay` prints them) holding the period, and the one
    /// before it for the change column.
    #[arg(long, conflicts_with_all = ["events", "kafka"])]
    pub results: Option<PathBuf>,
    /// Read the results from the results topic of `chiso run` (its latest value per agency and
    /// period), with the run configuration (`--config`, CHISO_* variables).
    #[arg(long, conflicts_with = "events")]
    pub kafka: bool,
    /// The run configuration (TOML), with --kafka.
    #[arg(long, requires = "kafka")]
    pub config: Option<PathBuf>,
    /// Events (JSON lines) to compute the results from, as `chiso replay` does.
    #[arg(long, requires = "agencies")]
    pub events: Option<PathBuf>,
    /// Agency registry, with --events.
    #[arg(long)]
    pub agencies: Option<PathBuf>,
    /// Scoring model (TOML), with --events; the built-in model if absent.
    #[arg(long)]
    pub scoring: Option<PathBuf>,
    /// Public holidays, with --events; the shipped list if absent.
    #[arg(long)]
    pub holidays: Option<PathBuf>,
    /// Evaluation time, with --events (RFC 3339); default: the end of the period (its final
    /// figures).
    #[arg(long, value_parser = |s: &str| Timestamp::parse_rfc3339(s).map_err(|e| e.to_string()))]
    pub at: Option<Timestamp>,
    /// html, xlsx, csv or md.
    #[arg(long, default_value = "html", value_parser = ["html", "xlsx", "csv", "md"])]
    pub format: String,
    /// vi or en.
    #[arg(long, default_value = "vi", value_parser = ["vi", "en"])]
    pub lang: String,
    /// Directory to write `report-<period>.<format>` into (created if needed).
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_period(s: &str) -> Result<Period, String> {
    Period::parse_label(s)
        .ok_or_else(|| format!("`{s}` is not a period label (YYYY-MM, YYYY-Qn or YYYY)"))
}

/// One agency's line of the notice.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    name: String,
    level: String,
    score: Option<f64>,
    band: Option<String>,
    change: Option<f64>,
    groups: Vec<(String, f64, f64)>,
    on_time: u64,
    in_scope: u64,
    open_overdue: u64,
    open_overdue_portal: u64,
    evaluated_at: String,
    is_final: bool,
}

pub fn main(args: ReportArgs) -> Result<()> {
    let lines = match (&args.results, &args.events, args.kafka) {
        (Some(path), None, false) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, Some(events), false) => from_events(&args, events)?,
        (None, None, true) => from_kafka(&args)?,
        _ => bail!("give --results FILE, --events FILE with --agencies FILE, or --kafka"),
    };
    let rows = rows_of(&lines, args.period)?;
    if rows.is_empty() {
        bail!(
            "no results for {} in the input (is it the right period?)",
            args.period.label()
        );
    }
    let generated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let en = args.lang == "en";
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let file = args
        .out
        .join(format!("report-{}.{}", args.period.label(), args.format));
    let bytes = match args.format.as_str() {
        "xlsx" => xlsx(&rows, args.period, en)?,
        "csv" => csv(&rows).into_bytes(),
        "md" => markdown(&rows, args.period, en).into_bytes(),
        _ => html(&rows, args.period, en, &generated).into_bytes(),
    };
    std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!(
        "chiso report: {} agencies, {} written",
        rows.len(),
        file.display()
    );
    Ok(())
}

/// The results of the period and the one before, as the results topic holds them now.
fn from_kafka(args: &ReportArgs) -> Result<String> {
    let cfg = crate::app::config::load(args.config.as_deref())?;
    let wanted: Vec<String> = std::iter::once(args.period)
        .chain(args.period.previous())
        .map(|p| format!("|{}", p.label()))
        .collect();
    let values = crate::kafka::published::latest_results(
        &cfg.kafka(),
        |key| wanted.iter().any(|w| key.ends_with(w.as_str())),
        Duration::from_secs(60),
    )
    .with_context(|| {
        format!(
            "cannot read the results topic `{}` from {}",
            cfg.topics().results,
            cfg.settings.kafka.bootstrap_servers
        )
    })?;
    let mut out = String::new();
    for v in values {
        out.push_str(std::str::from_utf8(&v).context("a results record is not UTF-8")?);
        out.push('\n');
    }
    Ok(out)
}

/// The results of the period and the one before, computed from events as `chiso replay` does.
fn from_events(args: &ReportArgs, events: &PathBuf) -> Result<String> {
    let agencies = args.agencies.as_ref().expect("clap requires it");
    let mut periods = vec![args.period];
    periods.extend(args.period.previous());
    let setup = ReplaySetup {
        registry: Arc::new(crate::app::files::load_registry(agencies)?),
        model: Arc::new(crate::app::files::load_scoring(args.scoring.as_deref())?),
        calendar: Arc::new(crate::app::files::load_holidays(args.holidays.as_deref())?),
        at: args.at.unwrap_or(args.period.end()),
        periods,
        due_soon_horizon: DueSoonHorizon::DEFAULT,
        max_bytes: DEFAULT_MAX_BYTES,
    };
    let file =
        std::fs::File::open(events).with_context(|| format!("cannot open {}", events.display()))?;
    let mut out = Vec::new();
    replay(&setup, std::io::BufReader::new(file), &mut out)?;
    Ok(String::from_utf8(out).expect("results are UTF-8"))
}

/// The rows of `period`, with the change against the period before when the input has it.
fn rows_of(lines: &str, period: Period) -> Result<Vec<Row>> {
    let label = period.label();
    let before = period.previous().map(|p| p.label());
    let mut now: BTreeMap<String, Value> = BTreeMap::new();
    let mut prev: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for (n, line) in lines.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("line {}: not a results object", n + 1))?;
        let Some(id) = v["agency_id"].as_str() else {
            bail!("line {}: no agency_id", n + 1);
        };
        let this = v["period"]["label"].as_str();
        if this == Some(label.as_str()) {
            now.insert(id.to_owned(), v);
        } else if this.is_some() && this == before.as_deref() {
            prev.insert(id.to_owned(), v["score"].as_f64());
        }
    }
    let count = |v: &Value, k: &str| v["counts"][k].as_u64().unwrap_or(0);
    Ok(now
        .into_iter()
        .map(|(id, v)| {
            let score = v["score"].as_f64();
            let change = match (score, prev.get(&id).copied().flatten()) {
                (Some(s), Some(p)) => Some(((s - p) * 10.0).round() / 10.0),
                _ => None,
            };
            let groups = v["groups"]
                .as_object()
                .map(|g| {
                    g.iter()
                        .map(|(k, x)| {
                            (
                                k.clone(),
                                x["points"].as_f64().unwrap_or(0.0),
                                x["max"].as_f64().unwrap_or(0.0),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Row {
                name: v["agency_name"].as_str().unwrap_or(&id).to_owned(),
                level: v["level"].as_str().unwrap_or("").to_owned(),
                score,
                band: v["band"].as_str().map(str::to_owned),
                change,
                groups,
                on_time: count(&v, "on_time"),
                in_scope: count(&v, "in_scope"),
                open_overdue: count(&v, "open_overdue"),
                open_overdue_portal: count(&v, "open_overdue_national_portal"),
                evaluated_at: v["evaluated_at"].as_str().unwrap_or("").to_owned(),
                is_final: v["final"].as_bool().unwrap_or(false),
                id,
            }
        })
        .collect())
}

/// One level of the notice: its name and its rows, ranked (no rank without a score).
type Level<'a> = (String, Vec<(Option<usize>, &'a Row)>);

/// Levels in the order of the notice (the province first), each with its rows ranked.
fn by_level(rows: &[Row]) -> Vec<Level<'_>> {
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

fn ratio(r: &Row) -> String {
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

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv(rows: &[Row]) -> String {
    let mut out = String::from("\u{feff}level,rank,agency_id,agency_name,score,band,change");
    if let Some(r) = rows.first() {
        for (g, _, _) in &r.groups {
            let _ = write!(out, ",{g}");
        }
    }
    out.push_str(
        ",on_time_percent,open_overdue,open_overdue_national_portal,evaluated_at,final\r\n",
    );
    for (level, ranked) in by_level(rows) {
        for (rank, r) in ranked {
            let _ = write!(
                out,
                "{},{},{},{},{},{},{}",
                csv_field(&level),
                rank.map_or(String::new(), |n| n.to_string()),
                csv_field(&r.id),
                csv_field(&r.name),
                opt(r.score),
                r.band.as_deref().unwrap_or(""),
                signed(r.change)
            );
            for (_, p, _) in &r.groups {
                let _ = write!(out, ",{p:.2}");
            }
            let _ = write!(
                out,
                ",{},{},{},{},{}\r\n",
                ratio(r),
                r.open_overdue,
                r.open_overdue_portal,
                r.evaluated_at,
                r.is_final
            );
        }
    }
    out
}

fn markdown(rows: &[Row], period: Period, en: bool) -> String {
    let mut out = format!(
        "# {} {}\n",
        if en {
            "Service-quality index,"
        } else {
            "Chỉ số phục vụ người dân, doanh nghiệp,"
        },
        period.label()
    );
    for (level, ranked) in by_level(rows) {
        let _ = write!(
            out,
            "\n## {level}\n\n| # | {} | {} | {} | {} | {} | {} |\n|---:|---|---:|---|---:|---:|---:|\n",
            if en { "agency" } else { "cơ quan, đơn vị" },
            if en { "score" } else { "điểm" },
            if en { "band" } else { "xếp loại" },
            if en { "change" } else { "thay đổi" },
            if en { "on time %" } else { "đúng hạn %" },
            if en { "open overdue" } else { "quá hạn đang xử lý" },
        );
        for (rank, r) in ranked {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                rank.map_or(String::from("–"), |n| n.to_string()),
                r.name.replace('|', "\\|"),
                opt(r.score),
                r.band.as_deref().unwrap_or("–"),
                signed(r.change),
                ratio(r),
                r.open_overdue
            );
        }
    }
    out
}

/// One sheet per level, as provincial offices exchange them: numbers as numbers (score with one
/// decimal, points with two, the on-time share as a percentage).
fn xlsx(rows: &[Row], period: Period, en: bool) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let one = Format::new().set_num_format("0.0");
    let two = Format::new().set_num_format("0.00");
    let signed_one = Format::new().set_num_format("+0.0;-0.0;0.0");
    let percent = Format::new().set_num_format("0.0%");
    for (level, ranked) in by_level(rows) {
        // Sheet names: at most 31 characters, none of []:*?/\.
        let name: String = level
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        let sheet = book.add_worksheet();
        sheet.set_name(if name.is_empty() { "level" } else { &name })?;
        let mut head: Vec<String> = [
            if en { "Rank" } else { "Hạng" },
            if en { "Agency id" } else { "Mã đơn vị" },
            if en { "Agency" } else { "Cơ quan, đơn vị" },
            if en { "Score" } else { "Điểm" },
            if en { "Band" } else { "Xếp loại" },
            if en { "Change" } else { "Thay đổi" },
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some((_, r)) = ranked.first() {
            head.extend(r.groups.iter().map(|(g, _, _)| g.clone()));
        }
        head.push((if en { "On time" } else { "Đúng hạn" }).into());
        head.push(
            (if en {
                "Open overdue"
            } else {
                "Quá hạn đang xử lý"
            })
            .into(),
        );
        head.push(
            (if en {
                "Of them, national portal"
            } else {
                "Trong đó từ Cổng DVC QG"
            })
            .into(),
        );
        for (c, h) in head.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (i, (rank, r)) in ranked.iter().enumerate() {
            let row = i as u32 + 1;
            if let Some(n) = rank {
                sheet.write_number(row, 0, *n as f64)?;
            }
            sheet.write_string(row, 1, &r.id)?;
            sheet.write_string(row, 2, &r.name)?;
            if let Some(s) = r.score {
                sheet.write_number_with_format(row, 3, s, &one)?;
            }
            sheet.write_string(row, 4, r.band.as_deref().unwrap_or(""))?;
            if let Some(c) = r.change {
                sheet.write_number_with_format(row, 5, c, &signed_one)?;
            }
            let mut col = 6u16;
            for (_, p, _) in &r.groups {
                sheet.write_number_with_format(row, col, *p, &two)?;
                col += 1;
            }
            if r.in_scope > 0 {
                sheet.write_number_with_format(
                    row,
                    col,
                    r.on_time as f64 / r.in_scope as f64,
                    &percent,
                )?;
            }
            sheet.write_number(row, col + 1, r.open_overdue as f64)?;
            sheet.write_number(row, col + 2, r.open_overdue_portal as f64)?;
        }
        sheet.set_column_width(2, 40)?;
        sheet.set_freeze_panes(1, 0)?;
    }
    let _ = period;
    Ok(book.save_to_buffer()?)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(rows: &[Row], period: Period, en: bool, generated: &str) -> String {
    let title = if en {
        format!("Service-quality index — {}", period.label())
    } else {
        format!(
            "Kết quả chỉ số phục vụ người dân, doanh nghiệp — {}",
            period.label()
        )
    };
    let mut out = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         @page{{size:A4;margin:15mm 12mm 18mm}}body{{font-family:system-ui,sans-serif;font-size:10pt}}\
         h1{{font-size:15pt}}h2{{font-size:12pt;break-before:page}}h2.first{{break-before:auto}}\
         table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #999;padding:2px 4px;text-align:right}}\
         td.l,th.l{{text-align:left}}thead{{display:table-header-group}}tr{{break-inside:avoid}}\
         .meta{{color:#444}}footer{{position:fixed;bottom:0;font-size:8pt;color:#444}}</style></head><body>\
         <header><h1>{t}</h1><p class=\"meta\">{gen} {generated}</p></header>\
         <footer>{t} · {gen} {generated}</footer>",
        lang = if en { "en" } else { "vi" },
        t = esc(&title),
        gen = if en { "Generated" } else { "Lập lúc" },
    );
    // Summary: bands, best and worst five, agencies with open overdue national-portal dossiers.
    let mut bands: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *bands.entry(r.band.as_deref().unwrap_or("–")).or_default() += 1;
    }
    let _ = write!(
        out,
        "<h2 class=\"first\">{}</h2><p>",
        if en { "Summary" } else { "Tổng quan" }
    );
    for (b, n) in &bands {
        let _ = write!(out, "{}: {n} · ", esc(b));
    }
    out.push_str("</p>");
    let mut scored: Vec<&Row> = rows.iter().filter(|r| r.score.is_some()).collect();
    scored.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for (head, list) in [
        (
            if en {
                "Best five"
            } else {
                "Năm đơn vị cao nhất"
            },
            scored.iter().take(5).collect::<Vec<_>>(),
        ),
        (
            if en {
                "Weakest five"
            } else {
                "Năm đơn vị thấp nhất"
            },
            scored.iter().rev().take(5).collect(),
        ),
    ] {
        let _ = write!(out, "<h3>{head}</h3><ol>");
        for r in list {
            let _ = write!(out, "<li>{} — {}</li>", esc(&r.name), opt(r.score));
        }
        out.push_str("</ol>");
    }
    let portal: Vec<&Row> = rows.iter().filter(|r| r.open_overdue_portal > 0).collect();
    let _ = write!(
        out,
        "<h3>{} ({})</h3><ul>",
        if en {
            "Agencies with open overdue national-portal dossiers"
        } else {
            "Đơn vị còn hồ sơ từ Cổng DVC quốc gia quá hạn đang xử lý"
        },
        portal.len()
    );
    for r in portal {
        let _ = write!(out, "<li>{}: {}</li>", esc(&r.name), r.open_overdue_portal);
    }
    out.push_str("</ul>");
    for (level, ranked) in by_level(rows) {
        let _ = write!(
            out,
            "<h2>{}</h2><table><thead><tr><th>#</th><th class=\"l\">{}</th><th>{}</th><th class=\"l\">{}</th><th>{}</th>",
            esc(&level),
            if en { "Agency" } else { "Cơ quan, đơn vị" },
            if en { "Score" } else { "Điểm" },
            if en { "Band" } else { "Xếp loại" },
            if en { "Change" } else { "Thay đổi" },
        );
        if let Some((_, r)) = ranked.first() {
            for (g, _, _) in &r.groups {
                let _ = write!(out, "<th>{}</th>", esc(g));
            }
        }
        let _ = write!(
            out,
            "<th>{}</th><th>{}</th></tr></thead><tbody>",
            if en { "On time %" } else { "Đúng hạn %" },
            if en { "Open overdue" } else { "Quá hạn" }
        );
        for (rank, r) in ranked {
            let _ = write!(
                out,
                "<tr data-agency=\"{}\"><td>{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td>",
                esc(&r.id),
                rank.map_or(String::from("–"), |n| n.to_string()),
                esc(&r.name),
                opt(r.score),
                esc(r.band.as_deref().unwrap_or("–")),
                signed(r.change)
            );
            for (_, p, _) in &r.groups {
                let _ = write!(out, "<td>{p:.2}</td>");
            }
            let _ = write!(out, "<td>{}</td><td>{}</td></tr>", ratio(r), r.open_overdue);
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</body></html>");
    out
}
