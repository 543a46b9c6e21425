//! `chiso report`: by default the notice reflects everything its input holds about the period —
//! it carries `chiso replay --at T`'s numbers, T being the instant it states — in every format,
//! whether computed from events or read from a results file; and in Vietnamese (the default)
//! no id or UTC time reaches a reader.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use calamine::{open_workbook_auto, Data, Reader};

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn chiso(args: &[&str]) -> std::process::Output {
    let out = Command::new(CHISO).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "chiso {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What the notice shows of one agency, as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Shown {
    score: String,
    band: String,
    /// Group id → points.
    groups: BTreeMap<String, String>,
    on_time: String,
    open_overdue: String,
}

fn band_vi(id: &str) -> &str {
    match id {
        "excellent" => "Xuất sắc",
        "good" => "Tốt",
        "fair" => "Khá",
        "average" => "Trung bình",
        "weak" => "Yếu",
        other => other,
    }
}

/// The sample, with more that arrives after August about August: a rating, an online payment,
/// a corrected `received` (re-sent with the same `occurred_at`, a shorter time limit) and a
/// reported value on 2 October, at a fraction of a second.
fn late_input(dir: &Path) -> String {
    let sample =
        std::fs::read_to_string(format!("{ROOT}/config/samples/tuyen-quang-events.jsonl")).unwrap();
    let august = |extra: &str| {
        sample
            .lines()
            .find(|l| {
                l.contains("\"type\":\"received\",\"occurred_at\":\"2025-08-1") && l.contains(extra)
            })
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .unwrap()
    };
    let (rated, paid) = (august("\"channel\""), august("\"fee_required\":true"));
    let mut fix = august("\"time_limit_hours\":240");
    fix["event_id"] = format!("{}-v02", fix["event_id"].as_str().unwrap()).into();
    fix["time_limit_hours"] = 1.into();
    let line = |id: &str, kind: &str, at: &str, of: &serde_json::Value, tail: &str| {
        format!(
            "{{\"event_id\":\"{id}\",\"type\":\"{kind}\",\"occurred_at\":\"{at}\",\"agency_id\":{},\"dossier_id\":{}{tail}}}\n",
            of["agency_id"], of["dossier_id"]
        )
    };
    let mut text = sample.clone();
    text.push_str(&line(
        "late-rating",
        "rated",
        "2025-09-20T10:00:00+07:00",
        &rated,
        ",\"rating\":\"dissatisfied\"",
    ));
    text.push_str(&line(
        "late-payment",
        "payment",
        "2025-09-21T10:00:00+07:00",
        &paid,
        ",\"method\":\"national_portal\"",
    ));
    text.push_str(&format!("{fix}\n"));
    text.push_str("{\"event_id\":\"late-report\",\"type\":\"indicator_reported\",\"occurred_at\":\"2025-10-02T09:00:00.250+07:00\",\"agency_id\":\"TQ\",\"indicator\":\"1.1\",\"period\":\"2025-08\",\"numerator\":1,\"denominator\":4}\n");
    let path = dir.join("late.jsonl");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The latest `occurred_at` of the input, rounded up to the next whole second.
const T: &str = "2025-10-02T09:00:01+07:00";
const T_VI: &str = "Đánh giá tại 02/10/2025 09:00:01 (giờ Việt Nam) · số liệu chính thức";

/// `chiso replay --at T` of August, as the notice should show it, by agency id; and the names.
fn replayed(events: &str, agencies: &str) -> (BTreeMap<String, Shown>, BTreeMap<String, String>) {
    let out = chiso(&[
        "replay",
        "--events",
        events,
        "--agencies",
        agencies,
        "--at",
        T,
        "--period",
        "2025-08",
    ]);
    let (mut want, mut names) = (BTreeMap::new(), BTreeMap::new());
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["agency_id"].as_str().unwrap().to_owned();
        let c = |k: &str| v["counts"][k].as_u64().unwrap();
        let shown = Shown {
            score: v["score"]
                .as_f64()
                .map_or(String::new(), |s| format!("{s:.1}")),
            band: band_vi(v["band"].as_str().unwrap_or("–")).to_owned(),
            groups: v["groups"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(g, x)| (g.clone(), format!("{:.2}", x["points"].as_f64().unwrap())))
                .collect(),
            on_time: match c("in_scope") {
                0 => String::new(),
                n => format!("{:.1}", 100.0 * c("on_time") as f64 / n as f64),
            },
            open_overdue: c("open_overdue").to_string(),
        };
        names.insert(v["agency_name"].as_str().unwrap().to_owned(), id.clone());
        want.insert(id, shown);
    }
    (want, names)
}

/// Group id by its Vietnamese name (the built-in model's).
fn group_ids() -> BTreeMap<String, String> {
    let model = chiso::app::files::load_scoring(None).unwrap();
    model
        .groups
        .iter()
        .map(|g| (g.name_vi.clone(), g.id.clone()))
        .collect()
}

/// One CSV line's cells (quoted cells may hold commas).
fn csv_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

fn from_csv(text: &str) -> BTreeMap<String, Shown> {
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let head = csv_cells(lines.next().unwrap());
    let col = |k: &str| head.iter().position(|h| h == k).unwrap();
    let groups: Vec<(usize, String)> = (col("change") + 1..col("on_time_percent"))
        .map(|i| (i, head[i].clone()))
        .collect();
    let mut got = BTreeMap::new();
    for line in lines {
        let c = csv_cells(line);
        assert_eq!(c[col("evaluated_at")], T, "the CSV's evaluation instant");
        assert_eq!(c[col("final")], "true");
        let shown = Shown {
            score: c[col("score")].clone(),
            band: band_vi(&c[col("band")]).to_owned(),
            groups: groups
                .iter()
                .map(|(i, g)| (g.clone(), c[*i].clone()))
                .collect(),
            on_time: c[col("on_time_percent")].clone(),
            open_overdue: c[col("open_overdue")].clone(),
        };
        got.insert(c[col("agency_id")].clone(), shown);
    }
    got
}

fn from_markdown(text: &str, names: &BTreeMap<String, String>) -> BTreeMap<String, Shown> {
    assert!(text.contains(T_VI), "the Markdown states T: {text:.400}");
    let ids = group_ids();
    let mut got = BTreeMap::new();
    let mut head: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().replace("\\|", "|"))
            .collect();
        if cells[0] == "#" {
            head = cells;
            continue;
        }
        let at = |k: &str| cells[head.iter().position(|h| h == k).unwrap()].clone();
        let shown = Shown {
            score: at("Điểm"),
            band: at("Xếp loại"),
            groups: head
                .iter()
                .zip(&cells)
                .filter_map(|(h, c)| Some((ids.get(h)?.clone(), c.clone())))
                .collect(),
            on_time: at("Đúng hạn %"),
            open_overdue: at("Quá hạn đang xử lý"),
        };
        got.insert(names[&at("Cơ quan, đơn vị")].clone(), shown);
    }
    got
}

/// The text of each `<td>` of an HTML fragment, in order.
fn cells(html: &str, tag: &str) -> Vec<String> {
    html.split(&format!("<{tag}"))
        .skip(1)
        .map(|c| c[c.find('>').unwrap() + 1..c.find(&format!("</{tag}>")).unwrap()].to_owned())
        .collect()
}

fn from_html(text: &str) -> BTreeMap<String, Shown> {
    assert!(text.contains(T_VI), "the HTML states T");
    let mut got = BTreeMap::new();
    for table in text.split("<table>").skip(1) {
        let groups: Vec<String> = table
            .split("data-group=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .collect();
        for row in table.split("<tr data-agency=\"").skip(1) {
            let id = row.split('"').next().unwrap().to_owned();
            let td = cells(&row[..row.find("</tr>").unwrap()], "td");
            let n = groups.len();
            let shown = Shown {
                score: td[2].clone(),
                band: td[3].clone(),
                groups: groups.iter().cloned().zip(td[5..5 + n].to_vec()).collect(),
                on_time: td[5 + n].clone(),
                open_overdue: td[6 + n].clone(),
            };
            got.insert(id, shown);
        }
    }
    got
}

fn from_xlsx(path: &Path) -> BTreeMap<String, Shown> {
    let ids = group_ids();
    let mut book = open_workbook_auto(path).unwrap();
    let mut got = BTreeMap::new();
    for sheet in book.sheet_names().to_vec() {
        let range = book.worksheet_range(&sheet).unwrap();
        let rows: Vec<&[Data]> = range.rows().collect();
        assert!(
            rows[1][0].to_string().starts_with(T_VI),
            "{sheet} states T: {:?}",
            rows[1]
        );
        let head: Vec<String> = rows[4].iter().map(|c| c.to_string()).collect();
        let col = |k: &str| head.iter().position(|h| h == k).unwrap();
        let num = |c: &Data, f: &dyn Fn(f64) -> String| match c {
            Data::Float(x) => f(*x),
            Data::Int(x) => f(*x as f64),
            _ => String::new(),
        };
        for r in &rows[5..] {
            let shown = Shown {
                score: num(&r[col("Điểm")], &|x| format!("{x:.1}")),
                band: r[col("Xếp loại")].to_string(),
                groups: head
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| {
                        Some((ids.get(h)?.clone(), num(&r[i], &|x| format!("{x:.2}"))))
                    })
                    .collect(),
                on_time: num(&r[col("Đúng hạn")], &|x| format!("{:.1}", 100.0 * x)),
                open_overdue: num(&r[col("Quá hạn đang xử lý")], &|x| format!("{x}")),
            };
            got.insert(r[col("Mã đơn vị")].to_string(), shown);
        }
    }
    got
}

/// The four formats, from the events and from replay's results file: each agency's score,
/// band, group points, on-time share and open overdue dossiers are replay's at the instant the
/// notice states, which is just after the latest `occurred_at` of the input.
#[test]
fn every_format_carries_the_replay_at_the_instant_it_states() {
    let dir = tempfile::tempdir().unwrap();
    let events = late_input(dir.path());
    let agencies = format!("{ROOT}/config/agencies/tuyen-quang.toml");
    let (want, names) = replayed(&events, &agencies);
    assert_eq!(want.len(), 140);
    let results = dir.path().join("results.jsonl");
    let at_t = chiso(&[
        "replay",
        "--events",
        &events,
        "--agencies",
        &agencies,
        "--at",
        T,
        "--period",
        "2025-08",
        "--period",
        "2025-07",
    ]);
    std::fs::write(&results, &at_t.stdout).unwrap();
    for (source, input) in [
        ("events", vec!["--events", &events, "--agencies", &agencies]),
        ("results", vec!["--results", results.to_str().unwrap()]),
    ] {
        let out = dir.path().join(source);
        for format in ["csv", "md", "html", "xlsx"] {
            let mut args = vec!["report", "--period", "2025-08", "--format", format];
            args.extend(["--out", out.to_str().unwrap()]);
            args.extend(input.iter().copied());
            chiso(&args);
        }
        let read = |ext: &str| std::fs::read_to_string(out.join(format!("report-2025-08.{ext}")));
        let csv = read("csv").unwrap();
        assert!(csv.starts_with('\u{feff}'), "CSV with a byte order mark");
        assert_eq!(from_csv(&csv), want, "{source}: CSV");
        assert_eq!(
            from_markdown(&read("md").unwrap(), &names),
            want,
            "{source}: md"
        );
        let html = read("html").unwrap();
        assert!(html.contains("@page{size:A4") && html.contains("<footer>"));
        assert_eq!(from_html(&html), want, "{source}: HTML");
        assert_eq!(
            from_xlsx(&out.join("report-2025-08.xlsx")),
            want,
            "{source}: XLSX"
        );
    }
    // Both sources give the same file.
    assert_eq!(
        std::fs::read(dir.path().join("events/report-2025-08.csv")).unwrap(),
        std::fs::read(dir.path().join("results/report-2025-08.csv")).unwrap()
    );
}

/// `--at` keeps "as known at an instant": before the month's end the figures are provisional
/// and say so; the change column is against the month before.
#[test]
fn at_gives_the_figures_known_then_with_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let events = format!("{ROOT}/config/samples/tuyen-quang-events.jsonl");
    let agencies = format!("{ROOT}/config/agencies/tuyen-quang.toml");
    let at = "2025-08-20T17:00:00+07:00";
    let replay = chiso(&[
        "replay",
        "--events",
        &events,
        "--agencies",
        &agencies,
        "--at",
        at,
        "--period",
        "2025-08",
        "--period",
        "2025-07",
    ]);
    let mut score: BTreeMap<(String, String), f64> = BTreeMap::new();
    for line in String::from_utf8(replay.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(s) = v["score"].as_f64() {
            let key = (
                v["agency_id"].as_str().unwrap().to_owned(),
                v["period"]["label"].to_string(),
            );
            score.insert(key, s);
        }
    }
    let out = dir.path().to_str().unwrap();
    chiso(&[
        "report",
        "--period",
        "2025-08",
        "--format",
        "csv",
        "--out",
        out,
        "--events",
        &events,
        "--agencies",
        &agencies,
        "--at",
        at,
    ]);
    let csv = std::fs::read_to_string(dir.path().join("report-2025-08.csv")).unwrap();
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    let head = csv_cells(lines.next().unwrap());
    let col = |k: &str| head.iter().position(|h| h == k).unwrap();
    for line in lines {
        let c = csv_cells(line);
        let id = c[col("agency_id")].clone();
        assert_eq!(c[col("evaluated_at")], "2025-08-20T17:00:00+07:00");
        assert_eq!(c[col("final")], "false", "{id}: August is not over at --at");
        let now = score.get(&(id.clone(), "\"2025-08\"".into()));
        let before = score.get(&(id.clone(), "\"2025-07\"".into()));
        let change = match (now, before) {
            (Some(s), Some(p)) => format!("{:+.1}", ((s - p) * 10.0).round() / 10.0),
            _ => String::new(),
        };
        assert_eq!(c[col("change")], change, "change of {id}");
    }
    let md = {
        chiso(&[
            "report",
            "--period",
            "2025-08",
            "--format",
            "md",
            "--out",
            out,
            "--events",
            &events,
            "--agencies",
            &agencies,
            "--at",
            at,
        ]);
        std::fs::read_to_string(dir.path().join("report-2025-08.md")).unwrap()
    };
    assert!(
        md.contains("Đánh giá tại 20/08/2025 17:00:00 (giờ Việt Nam) · số liệu tạm tính"),
        "{md:.400}"
    );
}

/// Words a Vietnamese reader must not meet: the ids of bands, groups and levels, and instants
/// in UTC.
fn english_ids(text: &str) -> Vec<String> {
    const IDS: &[&str] = &[
        "excellent",
        "good",
        "fair",
        "average",
        "weak",
        "transparency",
        "progress",
        "online",
        "payment",
        "digitization",
        "satisfaction",
        "province",
        "department",
        "district",
        "commune",
    ];
    let mut found: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| IDS.contains(w))
        .map(str::to_owned)
        .collect();
    let utc = regex_free_utc(text);
    found.extend(utc);
    found.sort();
    found.dedup();
    found
}

/// `…:ssZ` instants (a digit then `Z`), without a regex dependency.
fn regex_free_utc(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    (1..b.len())
        .filter(|&i| b[i] == b'Z' && b[i - 1].is_ascii_digit())
        .map(|i| text[i.saturating_sub(20)..=i].to_owned())
        .collect()
}

/// The text of an HTML document a person reads: element content, not tags or attributes.
fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let body = html.split("</style>").last().unwrap();
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The Vietnamese notice (the default) in each format shows names, never ids, and Vietnam time.
#[test]
fn the_vietnamese_notice_shows_no_english_id_nor_utc_time() {
    let dir = tempfile::tempdir().unwrap();
    let events = format!("{ROOT}/config/samples/tuyen-quang-events.jsonl");
    let agencies = format!("{ROOT}/config/agencies/tuyen-quang.toml");
    let out = dir.path().to_str().unwrap();
    for format in ["html", "md", "xlsx", "csv"] {
        chiso(&[
            "report",
            "--period",
            "2025-08",
            "--format",
            format,
            "--out",
            out,
            "--events",
            &events,
            "--agencies",
            &agencies,
        ]);
    }
    let read =
        |ext: &str| std::fs::read_to_string(dir.path().join(format!("report-2025-08.{ext}")));
    let html = read("html").unwrap();
    assert_eq!(english_ids(&html_text(&html)), Vec::<String>::new(), "HTML");
    assert!(html.contains("Lập lúc ") && html.contains("(giờ Việt Nam)"));
    assert_eq!(
        english_ids(&read("md").unwrap()),
        Vec::<String>::new(),
        "Markdown"
    );
    let mut book = open_workbook_auto(dir.path().join("report-2025-08.xlsx")).unwrap();
    let mut text = book.sheet_names().join(" ");
    for sheet in book.sheet_names().to_vec() {
        for row in book.worksheet_range(&sheet).unwrap().rows() {
            for cell in row {
                if let Data::String(s) = cell {
                    text.push(' ');
                    text.push_str(s);
                }
            }
        }
    }
    assert_eq!(english_ids(&text), Vec::<String>::new(), "XLSX");
    // The CSV is the exchange format: ids in its columns by design, but no UTC time.
    assert_eq!(
        regex_free_utc(&read("csv").unwrap()),
        Vec::<String>::new(),
        "CSV"
    );
}
