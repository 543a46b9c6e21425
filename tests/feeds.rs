//! Snapshot sources against canonical events: the national portal's sync records
//! (`config/samples/dvcqg-sync.jsonl`) and the Debezium records captured from the real chain
//! (`tests/fixtures/debezium/`), read through the shipped mappings (`config/feeds/`), give the
//! results of the equivalent canonical events written by hand (`tests/fixtures/feeds/`), at
//! several evaluation times and whatever re-sends, duplicates and interleavings of dossiers;
//! random dossier histories rendered both ways agree (property test); bad records are counted
//! by reason and change nothing around them.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

use chiso::app::files::{load_mapping, load_registry, load_scoring};
use chiso::app::replay::{replay, ReplaySetup, Summary};
use chiso::core::{DueSoonHorizon, Period, Timestamp};
use chiso::wire::event_json::DEFAULT_MAX_BYTES;

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn setup(mapping: Option<&str>, when: Timestamp) -> ReplaySetup {
    let registry = load_registry(Path::new("config/agencies/tuyen-quang.toml")).unwrap();
    let source = mapping.map(|m| load_mapping(Path::new(m), &registry).unwrap());
    ReplaySetup {
        registry: Arc::new(registry),
        model: Arc::new(load_scoring(None).unwrap()),
        calendar: Arc::new(chiso::app::files::load_holidays(None).unwrap()),
        at: when,
        periods: vec![Period::month(2025, 9).unwrap()],
        due_soon_horizon: DueSoonHorizon::DEFAULT,
        max_bytes: DEFAULT_MAX_BYTES,
        source,
    }
}

fn run(mapping: Option<&str>, when: Timestamp, input: &str) -> (String, Summary) {
    let mut out = Vec::new();
    let summary = replay(&setup(mapping, when), input.as_bytes(), &mut out).unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The values of a `key TAB value` capture.
fn values(path: &str) -> Vec<String> {
    read(path)
        .lines()
        .map(|l| l.split_once('\t').unwrap().1.to_string())
        .collect()
}

const TIMES: [&str; 4] = [
    "2025-09-09T12:00:00+07:00",
    "2025-09-12T18:00:00+07:00",
    "2025-09-20T12:00:00+07:00",
    "2025-09-30T23:00:00+07:00",
];

/// Every record twice, then an older copy of every third after everything: re-sends and
/// stale records.
fn resent(records: &[String]) -> Vec<String> {
    let mut out: Vec<String> = records
        .iter()
        .flat_map(|r| [r.clone(), r.clone()])
        .collect();
    out.extend(records.iter().step_by(3).cloned());
    out
}

/// The records interleaved otherwise, each dossier's in their order: by dossier, in the order
/// the dossiers first appear, reversed.
fn by_dossier(records: &[String], key: impl Fn(&str) -> String) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in records {
        let k = key(r);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.reverse();
    keys.iter()
        .flat_map(|k| records.iter().filter(|r| key(r) == *k).cloned())
        .collect()
}

fn check_equal(mapping: &str, records: &[String], canonical: &str) {
    let input = records.join("\n");
    for t in TIMES {
        let (want, ws) = run(None, at(t), canonical);
        assert_eq!(ws.tally.rejected_total(), 0, "{:?}", ws.first_reject);
        let (got, gs) = run(Some(mapping), at(t), &input);
        let feed = gs.feed.expect("a feed summary");
        assert_eq!(feed.rejected_total(), 0, "{:?}", gs.first_feed_reject);
        assert_eq!(gs.tally.rejected_total(), 0, "{:?}", gs.first_reject);
        assert_eq!(got, want, "{mapping} at {t}");
    }
}

fn dvcqg_dossier(r: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(r).unwrap();
    v["data"][0]["MaHoSo"].as_str().unwrap().to_string()
}

fn row_dossier(r: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(r).unwrap();
    let row = if v.get("op").is_some() {
        if v["after"].is_null() {
            &v["before"]
        } else {
            &v["after"]
        }
    } else {
        &v
    };
    row["ma_ho_so"].as_str().unwrap_or("tombstone").to_string()
}

#[test]
fn the_portal_sync_sample_equals_its_canonical_events() {
    let records: Vec<String> = read("config/samples/dvcqg-sync.jsonl")
        .lines()
        .map(String::from)
        .collect();
    let canonical = read("tests/fixtures/feeds/dvcqg-sync.canonical.jsonl");
    let m = "config/feeds/dvcqg.toml";
    check_equal(m, &records, &canonical);
    check_equal(m, &resent(&records), &canonical);
    check_equal(m, &by_dossier(&records, dvcqg_dossier), &canonical);
}

#[test]
fn the_captured_debezium_records_equal_their_canonical_events() {
    let canonical = read("tests/fixtures/feeds/onestop.canonical.jsonl");
    let m = "config/feeds/onestop.toml";
    for file in ["onestop-envelope.tsv", "onestop-flat.tsv"] {
        let records = values(&format!("tests/fixtures/debezium/{file}"));
        check_equal(m, &records, &canonical);
        check_equal(m, &resent(&records), &canonical);
        // The tombstone belongs to no dossier: it goes first here, which must not matter.
        check_equal(m, &by_dossier(&records, row_dossier), &canonical);
    }
}

#[test]
fn bad_records_are_counted_by_reason_and_change_nothing_around_them() {
    let good: Vec<String> = read("config/samples/dvcqg-sync.jsonl")
        .lines()
        .map(String::from)
        .collect();
    let bad = [
        ("not_json", "{\"service\": \"DongBoHoSoMC\", "),
        ("not_object", "[1, 2]"),
        (
            "unknown_service",
            r#"{"service":"LayDanhSachHoSo","ThoiDiemDongBo":"20250903081600","data":[]}"#,
        ),
        (
            "missing_field",
            r#"{"service":"DongBoHoSoMC","data":[{"MaHoSo":"000.00.12.H56-250903-0009","TrangThaiHoSo":"2"}]}"#,
        ),
        (
            "missing_field",
            r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[{"TrangThaiHoSo":"2"}]}"#,
        ),
        (
            "unknown_status",
            r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[{"MaHoSo":"000.00.12.H56-250903-0009","TrangThaiHoSo":"11"}]}"#,
        ),
        (
            "invalid_timestamp",
            r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[{"MaHoSo":"000.00.12.H56-250903-0009","TrangThaiHoSo":"2","NgayTiepNhan":"03/09/2025 08:15","NgayHenTra":"20250910170000"}]}"#,
        ),
        (
            "unknown_agency",
            r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[{"MaHoSo":"000.00.99.H99-250903-0009","TrangThaiHoSo":"2"}]}"#,
        ),
        (
            "no_due_time",
            r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[{"MaHoSo":"000.00.12.H56-250903-0009","TrangThaiHoSo":"2","NgayTiepNhan":"20250903081500"}]}"#,
        ),
        (
            "invalid_value",
            r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[{"MaHoSo":"000.00.12.H56-250903-0009","TrangThaiHoSo":"2","NgayTiepNhan":"20250903081500","NgayHenTra":"20250910170000","KenhThucHien":"7"}]}"#,
        ),
        (
            "not_object",
            r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[42]}"#,
        ),
    ];
    let mut mixed = Vec::new();
    for (i, g) in good.iter().enumerate() {
        mixed.push(g.clone());
        if let Some((_, b)) = bad.get(i) {
            mixed.push(b.to_string());
        }
    }
    let canonical = read("tests/fixtures/feeds/dvcqg-sync.canonical.jsonl");
    let t = at("2025-09-30T23:00:00+07:00");
    let (want, _) = run(None, t, &canonical);
    let (got, summary) = run(Some("config/feeds/dvcqg.toml"), t, &mixed.join("\n"));
    assert_eq!(got, want);
    let feed = summary.feed.unwrap();
    let mut expected = std::collections::BTreeMap::new();
    for (code, _) in bad {
        *expected.entry(code).or_insert(0u64) += 1;
    }
    let counted: std::collections::BTreeMap<&str, u64> = feed.rejects().collect();
    assert_eq!(counted, expected, "{:?}", summary.first_feed_reject);
}

#[test]
fn a_mapping_error_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let registry = load_registry(Path::new("config/agencies/tuyen-quang.toml")).unwrap();
    let cases = [
        ("format = \"csv\"\n[order]\nfield = \"x\"\n[agency]\nfield = \"y\"\n", "format"),
        (
            "format = \"dvcqg\"\n[order]\nfield = \"T\"\n[agency]\nfield = \"MaHoSo\"\nlookup = { A = \"TQ.NOPE\" }\n",
            "agency.lookup.A",
        ),
        (
            "format = \"debezium\"\n[order]\nfield = \"lsn\"\n[agency]\nfield = \"u\"\n[columns]\ndossier = \"id\"\n",
            "columns.status",
        ),
        (
            "format = \"debezium\"\n[order]\nfield = \"lsn\"\n[agency]\nfield = \"u\"\n[columns]\ndossier = \"id\"\nstatus = \"s\"\n[values.status]\n1 = \"done\"\n",
            "values.status.1",
        ),
        (
            "format = \"dvcqg\"\n[order]\nfield = \"T\"\n[agency]\nfield = \"MaHoSo\"\n[time]\nzone = \"UTC\"\n",
            "time.zone",
        ),
    ];
    for (text, key) in cases {
        let path = dir.path().join("m.toml");
        std::fs::write(&path, text).unwrap();
        let err = format!("{:#}", load_mapping(&path, &registry).unwrap_err());
        assert!(err.contains("m.toml"), "{err}");
        assert!(err.contains(key), "`{key}` in {err}");
    }
}

/// A random dossier's life in the sample one-stop table's terms.
#[derive(Debug, Clone)]
struct Life {
    unit: bool,
    received: i64,
    due_hours: i64,
    channel: u8,
    fee_paid: Option<bool>,
    rounds: Vec<(i64, Option<(i64, i64)>)>,
    /// 0 open, 1 processed, 2 processed and returned, 3 withdrawn, 4 refused at intake.
    end: u8,
    end_after: i64,
    electronic: bool,
    squash: bool,
}

fn arb_life() -> impl Strategy<Value = Life> {
    (
        (
            any::<bool>(),
            0i64..20 * 24,
            8i64..240,
            1u8..=3,
            proptest::option::of(any::<bool>()),
        ),
        proptest::collection::vec(
            (1i64..48, proptest::option::of((1i64..72, 8i64..120))),
            0..3,
        ),
        (0u8..5, 1i64..300, any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (unit, received, due_hours, channel, fee_paid),
                rounds,
                (end, end_after, electronic, squash),
            )| Life {
                unit,
                received,
                due_hours,
                channel,
                fee_paid,
                rounds,
                end,
                end_after,
                electronic,
                squash,
            },
        )
}

const BASE: i64 = 1_756_688_400; // 2025-09-01T08:00:00+07:00, in seconds

fn iso(hours: i64) -> String {
    Timestamp::from_unix_seconds(BASE + hours * 3600).to_local_rfc3339()
}

/// Epoch microseconds of the local wall clock, as Debezium writes a naive `timestamp`.
fn micros(hours: i64) -> i64 {
    (BASE + 7 * 3600 + hours * 3600) * 1_000_000
}

/// The life as canonical events, and as the flattened rows its one-stop system would write.
fn render(id: usize, l: &Life) -> (Vec<String>, Vec<(i64, String)>) {
    let dossier = format!("P-{id:04}");
    let (unit, agency) = if l.unit {
        ("STP", "TQ.STP")
    } else {
        ("SYT", "TQ.SYT")
    };
    let channel = ["direct", "online", "postal"][usize::from(l.channel - 1)];
    let mut events = Vec::new();
    let ev = |tag: &str, typ: &str, h: i64, extra: &str| {
        format!(
            r#"{{"event_id":"{dossier}-{tag}","type":"{typ}","occurred_at":"{}","agency_id":"{agency}","dossier_id":"{dossier}","procedure_id":"1.0"{extra}}}"#,
            iso(h)
        )
    };
    let mut rows = Vec::new();
    let mut row = serde_json::json!({
        "ma_ho_so": dossier, "ma_don_vi": unit, "ma_tthc": "1.0", "trang_thai": 1,
        "kenh": l.channel, "so_lan_bo_sung": 0, "co_phi": l.fee_paid.is_some(),
        "thanh_toan_truc_tuyen": 0, "da_so_hoa": false, "ket_qua_dien_tu": false,
    });
    let mut clock = l.received;
    let put = |row: &serde_json::Value, h: i64, rows: &mut Vec<(i64, String)>| {
        let mut r = row.clone();
        r["cap_nhat_luc"] = micros(h).into();
        r["__lsn"] = ((rows.len() as i64 + 1) * 1000 + id as i64).into();
        rows.push((h, r.to_string()));
    };
    if l.end == 4 {
        put(&row, clock, &mut rows);
        clock += l.end_after;
        row["trang_thai"] = 3.into();
        row["ngay_tu_choi"] = micros(clock).into();
        put(&row, clock, &mut rows);
        events.push(ev("x", "rejected", clock, r#","reason":"r""#));
        return (events, rows);
    }
    let fee = if l.fee_paid.is_some() {
        r#","fee_required":true"#
    } else {
        ""
    };
    events.push(ev(
        "r",
        "received",
        l.received,
        &format!(
            r#","due_at":"{}","channel":"{channel}"{fee}"#,
            iso(l.received + l.due_hours)
        ),
    ));
    row["trang_thai"] = 2.into();
    row["ngay_tiep_nhan"] = micros(l.received).into();
    row["ngay_hen_tra"] = micros(l.received + l.due_hours).into();
    if l.fee_paid == Some(true) {
        row["thanh_toan_truc_tuyen"] = 2.into();
        events.push(ev(
            "$",
            "payment",
            l.received,
            r#","method":"provincial_gateway""#,
        ));
    }
    put(&row, clock, &mut rows);
    for (n, (ask_after, answer)) in l.rounds.iter().enumerate() {
        clock += ask_after;
        row["trang_thai"] = 5.into();
        row["ngay_yeu_cau_bo_sung"] = micros(clock).into();
        events.push(ev(&format!("q{n}"), "supplement_requested", clock, ""));
        put(&row, clock, &mut rows);
        let Some((after, due)) = answer else { break };
        clock += after;
        row["trang_thai"] = 4.into();
        row["ngay_nhan_bo_sung"] = micros(clock).into();
        row["ngay_hen_tra_moi"] = micros(clock + due).into();
        row["so_lan_bo_sung"] = (n + 1).into();
        let extra = format!(r#","due_at":"{}""#, iso(clock + due));
        events.push(ev(&format!("a{n}"), "supplement_received", clock, &extra));
        put(&row, clock, &mut rows);
    }
    if l.squash {
        // A 9 without its end date: the status before it stands.
        clock += 1;
        let mut s = row.clone();
        s["trang_thai"] = 9.into();
        put(&s, clock, &mut rows);
    }
    clock += l.end_after;
    match l.end {
        1 | 2 => {
            row["trang_thai"] = 9.into();
            row["ngay_ket_thuc_xu_ly"] = micros(clock).into();
            row["ket_qua_dien_tu"] = l.electronic.into();
            let extra = format!(
                r#","outcome":"completed","electronic_result":{}"#,
                l.electronic
            );
            events.push(ev("p", "processed", clock, &extra));
            put(&row, clock, &mut rows);
            if l.end == 2 {
                clock += 2;
                row["trang_thai"] = 10.into();
                row["ngay_tra"] = micros(clock).into();
                events.push(ev("t", "returned", clock, ""));
                put(&row, clock, &mut rows);
            }
        }
        3 => {
            row["trang_thai"] = 7.into();
            row["ngay_rut"] = micros(clock).into();
            events.push(ev("w", "withdrawn", clock, ""));
            put(&row, clock, &mut rows);
        }
        _ => {}
    }
    (events, rows)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random dossier histories rendered as canonical events and as the one-stop table's
    /// change records give the same results, whatever re-sends and interleaving.
    #[test]
    fn random_histories_as_snapshots_equal_their_canonical_events(
        lives in proptest::collection::vec(arb_life(), 1..12),
        resend in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..20),
        hours in 0i64..40 * 24,
    ) {
        let mut canonical = Vec::new();
        let mut rows: Vec<(i64, String)> = Vec::new();
        for (i, l) in lives.iter().enumerate() {
            let (e, r) = render(i, l);
            canonical.extend(e);
            rows.extend(r);
        }
        // The database's commit order: by time (a stable sort keeps each dossier's order).
        rows.sort_by_key(|(h, _)| *h);
        let mut records: Vec<String> = rows.into_iter().map(|(_, r)| r).collect();
        for (what, whither) in resend {
            // A re-send comes after its original, anywhere later.
            let w = what.index(records.len());
            let r = records[w].clone();
            let to = whither.index(records.len() + 1).max(w + 1);
            records.insert(to, r);
        }
        let t = Timestamp::from_unix_seconds(BASE + hours * 3600);
        let (want, ws) = run(None, t, &canonical.join("\n"));
        prop_assert_eq!(ws.tally.rejected_total(), 0, "{:?}", ws.first_reject);
        let (got, gs) = run(Some("config/feeds/onestop.toml"), t, &records.join("\n"));
        prop_assert_eq!(gs.feed.unwrap().rejected_total(), 0, "{:?}", gs.first_feed_reject);
        prop_assert_eq!(got, want);
    }
}
