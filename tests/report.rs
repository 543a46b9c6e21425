//! `chiso report`: the notice's numbers are `chiso replay`'s for the same period, whether it is
//! computed from events or read from a results file, in every format.

use std::collections::BTreeMap;
use std::process::Command;

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

#[test]
fn every_format_carries_the_replay_numbers() {
    let events = format!("{ROOT}/config/samples/tuyen-quang-events.jsonl");
    let agencies = format!("{ROOT}/config/agencies/tuyen-quang.toml");
    // The final August figures, as replay prints them (with July for the change column).
    let replayed = chiso(&[
        "replay",
        "--events",
        &events,
        "--agencies",
        &agencies,
        "--at",
        "2025-09-01T00:00:00+07:00",
        "--period",
        "2025-08",
        "--period",
        "2025-07",
    ]);
    let mut want: BTreeMap<String, (Option<f64>, Option<f64>)> = BTreeMap::new();
    let mut july: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for line in String::from_utf8(replayed.stdout.clone()).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["agency_id"].as_str().unwrap().to_owned();
        match v["period"]["label"].as_str().unwrap() {
            "2025-08" => {
                want.insert(id, (v["score"].as_f64(), None));
            }
            _ => {
                july.insert(id, v["score"].as_f64());
            }
        }
    }
    for (id, (score, change)) in want.iter_mut() {
        if let (Some(s), Some(Some(j))) = (*score, july.get(id)) {
            *change = Some(((s - j) * 10.0).round() / 10.0);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    std::fs::write(&results, &replayed.stdout).unwrap();
    let out = dir.path().to_str().unwrap();
    for (source, file_args) in [
        ("events", vec!["--events", &events, "--agencies", &agencies]),
        ("results", vec!["--results", results.to_str().unwrap()]),
    ] {
        let sub = format!("{out}/{source}");
        for format in ["csv", "md", "html"] {
            let mut args = vec![
                "report", "--period", "2025-08", "--format", format, "--out", &sub,
            ];
            args.extend(file_args.iter().copied());
            chiso(&args);
        }
        let csv = std::fs::read_to_string(format!("{sub}/report-2025-08.csv")).unwrap();
        assert!(csv.starts_with('\u{feff}'), "CSV with a byte order mark");
        let mut rows = 0;
        for line in csv.lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            // Names may hold commas (quoted): the id is the third cell, the score and the change
            // are counted from the name's end.
            let id = cells[2];
            let (score, change) = &want[id];
            let name_end = if line.contains('"') {
                cells.iter().rposition(|c| c.ends_with('"')).unwrap()
            } else {
                3
            };
            let shown = cells[name_end + 1];
            assert_eq!(
                shown,
                score.map_or(String::new(), |s| format!("{s:.1}")),
                "{source}: {id}"
            );
            let shown_change = cells[name_end + 3];
            assert_eq!(
                shown_change,
                change.map_or(String::new(), |c| format!("{c:+.1}")),
                "{source}: change of {id}"
            );
            rows += 1;
        }
        assert_eq!(rows, want.len(), "{source}: every agency");
        let html = std::fs::read_to_string(format!("{sub}/report-2025-08.html")).unwrap();
        assert!(html.contains("@page{size:A4") && html.contains("<footer>"));
        for (id, (score, _)) in &want {
            let row = html.split(&format!("data-agency=\"{id}\"")).nth(1).unwrap();
            if let Some(s) = score {
                assert!(
                    row.contains(&format!("<td>{s:.1}</td>")),
                    "{source}: {id} in the HTML"
                );
            }
        }
        let md = std::fs::read_to_string(format!("{sub}/report-2025-08.md")).unwrap();
        assert!(md.starts_with("# Chỉ số phục vụ"));
        assert_eq!(
            md.lines()
                .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
                .count(),
            want.len()
        );
    }
    // Both sources give the same file.
    assert_eq!(
        std::fs::read(format!("{out}/events/report-2025-08.csv")).unwrap(),
        std::fs::read(format!("{out}/results/report-2025-08.csv")).unwrap()
    );
}

/// The XLSX notice, read back: one sheet per level, numbers as numbers, equal to the replay's.
#[test]
fn the_xlsx_notice_reads_back_equal() {
    use calamine::{open_workbook_auto, Data, Reader};
    let events = format!("{ROOT}/config/samples/tuyen-quang-events.jsonl");
    let agencies = format!("{ROOT}/config/agencies/tuyen-quang.toml");
    let replayed = chiso(&[
        "replay",
        "--events",
        &events,
        "--agencies",
        &agencies,
        "--at",
        "2025-09-01T00:00:00+07:00",
        "--period",
        "2025-08",
    ]);
    let mut want: BTreeMap<String, (String, Option<f64>)> = BTreeMap::new();
    for line in String::from_utf8(replayed.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        want.insert(
            v["agency_id"].as_str().unwrap().to_owned(),
            (v["level"].as_str().unwrap().to_owned(), v["score"].as_f64()),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    chiso(&[
        "report",
        "--period",
        "2025-08",
        "--format",
        "xlsx",
        "--out",
        out,
        "--events",
        &events,
        "--agencies",
        &agencies,
    ]);
    let mut book = open_workbook_auto(dir.path().join("report-2025-08.xlsx")).unwrap();
    let sheets = book.sheet_names().to_vec();
    let mut levels: Vec<&str> = want.values().map(|(l, _)| l.as_str()).collect();
    levels.sort_unstable();
    levels.dedup();
    assert_eq!(
        sheets.len(),
        levels.len(),
        "one sheet per level: {sheets:?}"
    );
    let mut seen = 0;
    for sheet in sheets {
        let range = book.worksheet_range(&sheet).unwrap();
        for row in range.rows().skip(1) {
            let Data::String(id) = &row[1] else {
                panic!("an id in {sheet}: {row:?}")
            };
            let (level, score) = &want[id];
            assert_eq!(level, &sheet, "{id} on its level's sheet");
            match (score, &row[3]) {
                (Some(s), Data::Float(x)) => assert!((s - x).abs() < 1e-9, "{id}: {s} vs {x}"),
                (None, Data::Empty) => {}
                (s, x) => panic!("{id}: score {s:?}, cell {x:?}"),
            }
            seen += 1;
        }
    }
    assert_eq!(seen, want.len(), "every agency");
}
