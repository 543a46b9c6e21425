//! Bad input: one line of every reject class, interleaved with good lines.
//!
//! Each bad line is followed by a good line that reuses its `event_id` (rejects never claim an
//! id), and every good line is a `received` for a dossier of its own, so the results show that
//! every good line was counted. Checked twice: line by line through `event_json::decode`, and as
//! one stream through `replay` (its `Summary`: the tally's rejects and applied, `first_reject`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chiso::app::files::{load_scoring, parse_registry};
use chiso::app::replay::{replay, ReplaySetup};
use chiso::core::{Registry, Reject, Timestamp, WorkCalendar};
use chiso::wire::event_json::{decode, DEFAULT_MAX_BYTES};

const REGISTRY: &str = r#"
[[agency]]
id = "P"
name = "Tỉnh P"
level = "province"

[[agency]]
id = "A"
name = "Sở A"
level = "department"
parent = "P"
"#;

fn registry() -> Registry {
    parse_registry(REGISTRY, false).unwrap()
}

/// A valid `received` for agency A with this event id and dossier id.
fn good(id: &str, dossier: &str) -> Vec<u8> {
    format!(
        r#"{{"event_id":"{id}","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"A","dossier_id":"{dossier}","due_at":"2024-08-30T17:00:00+07:00"}}"#
    )
    .into_bytes()
}

/// A `received` line for agency A with event id `id` and some fields replaced or added: each
/// `(name, raw JSON)` pair overrides the field of that name (raw `None` removes it).
fn received_with(id: &str, fields: &[(&str, Option<&str>)]) -> Vec<u8> {
    let id_json = serde_json::to_string(id).unwrap();
    let mut pairs: Vec<(String, Option<String>)> = vec![
        ("event_id".into(), Some(id_json)),
        ("type".into(), Some(r#""received""#.into())),
        (
            "occurred_at".into(),
            Some(r#""2024-08-01T08:00:00+07:00""#.into()),
        ),
        ("agency_id".into(), Some(r#""A""#.into())),
        (
            "dossier_id".into(),
            Some(format!(
                r#""d-{}""#,
                id.chars().take(40).collect::<String>()
            )),
        ),
        (
            "due_at".into(),
            Some(r#""2024-08-30T17:00:00+07:00""#.into()),
        ),
    ];
    for (name, raw) in fields {
        match pairs.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 = raw.map(str::to_owned),
            None => pairs.push(((*name).into(), raw.map(str::to_owned))),
        }
    }
    let body: Vec<String> = pairs
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| format!(r#""{n}":{v}"#)))
        .collect();
    format!("{{{}}}", body.join(",")).into_bytes()
}

/// An `indicator_reported` line with raw numerator and denominator.
fn report(id: &str, numerator: &str, denominator: &str) -> Vec<u8> {
    format!(
        r#"{{"event_id":"{id}","type":"indicator_reported","occurred_at":"2024-09-02T08:00:00+07:00","agency_id":"A","indicator":"1.1","period":"2024-08","numerator":{numerator},"denominator":{denominator}}}"#
    )
    .into_bytes()
}

/// A received line padded with an unknown field to exactly `len` bytes.
fn padded(id: &str, len: usize) -> Vec<u8> {
    let base = received_with(id, &[("pad", Some(r#""""#))]);
    let pad = "x".repeat(len - base.len());
    let line = received_with(id, &[("pad", Some(&format!(r#""{pad}""#)))]);
    assert_eq!(line.len(), len);
    line
}

fn push(input: &mut Vec<u8>, line: &[u8]) {
    input.extend_from_slice(line);
    input.push(b'\n');
}

/// Every bad line: (what it shows, the line, the reason expected as `code` or `code:field`, the
/// field its message must name).
fn bad_lines() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let e = |s: &str| s.as_bytes().to_vec();
    let ts = |id: &str, value: &str| received_with(id, &[("occurred_at", Some(value))]);
    let long_id = "ệ".repeat(129);
    let long_dossier = "ệ".repeat(65);
    let long_agency = "A".repeat(65);
    let mut invalid_utf8 = received_with("b-utf8", &[("procedure_id", Some(r#""1.00X""#))]);
    let x = invalid_utf8.iter().rposition(|&b| b == b'X').unwrap();
    invalid_utf8[x] = 0xff;
    vec![
        ("truncated object", e(r#"{"event_id":"b-json1","type":"received","#), "not_json"),
        ("not JSON at all", e("hello, world"), "not_json"),
        ("trailing garbage", [received_with("b-json2", &[]), e(" }")].concat(), "not_json"),
        ("invalid UTF-8 in a string", invalid_utf8, "invalid_utf8"),
        ("an array", e(r#"[{"event_id":"b-arr"}]"#), "not_object"),
        ("a string", e(r#""b-str""#), "not_object"),
        ("a number", e("42"), "not_object"),
        ("null", e("null"), "not_object"),
        (
            "event_id twice",
            [
                e(r#"{"event_id":"b-dup","#),
                received_with("b-dup", &[])[1..].to_vec(),
            ]
            .concat(),
            "duplicate_field",
        ),
        (
            "no occurred_at",
            received_with("b-miss1", &[("occurred_at", None)]),
            "missing_field:occurred_at",
        ),
        (
            "occurred_at null (counts as absent)",
            received_with("b-miss2", &[("occurred_at", Some("null"))]),
            "missing_field:occurred_at",
        ),
        (
            "received with neither due_at nor time_limit_hours",
            received_with("b-miss3", &[("due_at", None)]),
            "missing_field:due_at",
        ),
        (
            "no dossier_id",
            received_with("b-miss4", &[("dossier_id", None)]),
            "missing_field:dossier_id",
        ),
        ("no event_id", received_with("", &[("event_id", None)]), "missing_field:event_id"),
        (
            "payment without method",
            received_with("b-miss5", &[("type", Some(r#""payment""#))]),
            "missing_field:method",
        ),
        (
            "boolean as a string",
            received_with("b-type1", &[("fee_required", Some(r#""true""#))]),
            "invalid_type:fee_required",
        ),
        (
            "event_id as a number",
            received_with("", &[("event_id", Some("5"))]),
            "invalid_type:event_id",
        ),
        (
            "time_limit_hours as a string",
            received_with("b-type2", &[("due_at", None), ("time_limit_hours", Some(r#""8""#))]),
            "invalid_type:time_limit_hours",
        ),
        ("numerator with a fraction", report("b-int1", "1.0", "2"), "invalid_type:numerator"),
        ("numerator with an exponent", report("b-int2", "1e1", "20"), "invalid_type:numerator"),
        ("denominator as a string", report("b-int3", "1", r#""2""#), "invalid_type:denominator"),
        (
            "channel fax",
            received_with("b-enum1", &[("channel", Some(r#""fax""#))]),
            "invalid_value:channel",
        ),
        (
            "outcome done",
            received_with(
                "b-enum2",
                &[("type", Some(r#""processed""#)), ("outcome", Some(r#""done""#))],
            ),
            "invalid_value:outcome",
        ),
        (
            "rating ok",
            received_with(
                "b-enum3",
                &[("type", Some(r#""rated""#)), ("rating", Some(r#""ok""#))],
            ),
            "invalid_value:rating",
        ),
        (
            "method cash",
            received_with(
                "b-enum4",
                &[("type", Some(r#""payment""#)), ("method", Some(r#""cash""#))],
            ),
            "invalid_value:method",
        ),
        ("negative numerator", report("b-neg1", "-1", "2"), "invalid_value:numerator"),
        (
            "negative time_limit_hours",
            received_with("b-neg2", &[("due_at", None), ("time_limit_hours", Some("-1"))]),
            "invalid_value:time_limit_hours",
        ),
        ("denominator 10^11 + 1", report("b-big", "1", "100000000001"), "invalid_value:denominator"),
        ("denominator 2^53 + 1", report("b-huge", "1", "9007199254740993"), "invalid_value:denominator"),
        (
            "bad period label",
            [
                e(r#"{"event_id":"b-label","type":"indicator_reported","occurred_at":"2024-09-02T08:00:00+07:00","#),
                e(r#""agency_id":"A","indicator":"1.1","period":"2024-13","numerator":1,"denominator":2}"#),
            ]
            .concat(),
            "invalid_value:period",
        ),
        ("no offset", ts("b-ts1", r#""2024-08-01T08:00:00""#), "invalid_timestamp:occurred_at"),
        ("space separator", ts("b-ts2", r#""2024-08-01 08:00:00+07:00""#), "invalid_timestamp:occurred_at"),
        ("30 February", ts("b-ts3", r#""2024-02-30T08:00:00+07:00""#), "invalid_timestamp:occurred_at"),
        ("29 February 2023", ts("b-ts4", r#""2023-02-29T08:00:00Z""#), "invalid_timestamp:occurred_at"),
        ("leap second", ts("b-ts5", r#""2016-12-31T23:59:60Z""#), "invalid_timestamp:occurred_at"),
        ("hour 24", ts("b-ts6", r#""2024-08-01T24:00:00Z""#), "invalid_timestamp:occurred_at"),
        ("year 0000", ts("b-ts7", r#""0000-08-01T08:00:00Z""#), "invalid_timestamp:occurred_at"),
        ("epoch number", ts("b-ts8", "1722474000"), "invalid_timestamp:occurred_at"),
        (
            "bad due_at",
            received_with("b-ts9", &[("due_at", Some(r#""2024-08-30""#))]),
            "invalid_timestamp:due_at",
        ),
        ("empty event_id", received_with("", &[]), "bad_length:event_id"),
        ("event_id of 129 code points", received_with(&long_id, &[]), "bad_length:event_id"),
        (
            "dossier_id of 65 code points",
            received_with(
                "b-len1",
                &[("dossier_id", Some(&format!(r#""{long_dossier}""#)))],
            ),
            "bad_length:dossier_id",
        ),
        (
            "agency_id of 65 chars",
            received_with("b-len2", &[("agency_id", Some(&format!(r#""{long_agency}""#)))]),
            "bad_length:agency_id",
        ),
        (
            "unknown type",
            received_with("b-type", &[("type", Some(r#""approved""#))]),
            "unknown_type",
        ),
        (
            "unknown agency",
            received_with("b-agency", &[("agency_id", Some(r#""Z""#))]),
            "unknown_agency",
        ),
        ("65537 bytes", padded("b-size", DEFAULT_MAX_BYTES + 1), "too_large"),
    ]
}

/// Good lines that exercise the edges of the contract: each must be accepted.
fn edge_good_lines() -> Vec<(&'static str, Vec<u8>)> {
    let ok_id = "ệ".repeat(128);
    let ok_dossier = "ệ".repeat(64);
    vec![
        ("event_id of 128 code points", received_with(&ok_id, &[])),
        (
            "dossier_id of 64 code points",
            received_with(
                "g-len",
                &[("dossier_id", Some(&format!(r#""{ok_dossier}""#)))],
            ),
        ),
        ("exactly 65536 bytes", padded("g-size", DEFAULT_MAX_BYTES)),
        (
            "null fields count as absent",
            received_with(
                "g-null",
                &[
                    ("channel", Some("null")),
                    ("due_at", Some("null")),
                    ("time_limit_hours", Some("8")),
                    ("procedure_id", Some("null")),
                ],
            ),
        ),
        (
            "unknown fields are ignored",
            received_with("g-unknown", &[("extra", Some(r#"{"a":[1,2,{"b":null}]}"#))]),
        ),
        (
            "lowercase t and z, other offsets",
            received_with(
                "g-ts",
                &[
                    ("occurred_at", Some(r#""2024-08-01t01:00:00.5z""#)),
                    ("due_at", Some(r#""2024-08-30T05:00:00-05:30""#)),
                ],
            ),
        ),
        (
            "escaped strings",
            received_with("g-esc", &[("dossier_id", Some(r#""d\u1ec7\"\\""#))]),
        ),
        ("denominator 10^11", report("g-big", "0", "100000000000")),
        (
            "fractional and exponent time_limit_hours",
            received_with(
                "g-hours",
                &[("due_at", None), ("time_limit_hours", Some("2.5e0"))],
            ),
        ),
    ]
}

/// The reason code of an expectation `code` or `code:field`.
fn code_of(expected: &str) -> &str {
    expected.split(':').next().unwrap()
}

fn setup() -> ReplaySetup {
    ReplaySetup {
        registry: Arc::new(registry()),
        model: Arc::new(load_scoring(None).unwrap()),
        calendar: Arc::new(WorkCalendar::new(Vec::new())),
        at: Timestamp::parse_rfc3339("2024-09-15T00:00:00+07:00").unwrap(),
        periods: vec![chiso::core::Period::month(2024, 8).unwrap()],
        due_soon_horizon: chiso::core::DueSoonHorizon::from_nanos(0).unwrap(),
        max_bytes: DEFAULT_MAX_BYTES,
        source: None,
    }
}

#[test]
fn every_reject_code_is_exercised() {
    let covered: std::collections::BTreeSet<&str> =
        bad_lines().iter().map(|(_, _, e)| code_of(e)).collect();
    let all: std::collections::BTreeSet<&str> = Reject::CODES.into_iter().collect();
    assert_eq!(covered, all, "a reason code without a bad line here");
}

#[test]
fn each_bad_line_gets_its_reason_and_each_edge_line_passes() {
    let registry = registry();
    let mut failures = Vec::new();
    for (what, line, expected) in bad_lines() {
        let (code, field) = (code_of(expected), expected.split(':').nth(1));
        match decode(&line, &registry, DEFAULT_MAX_BYTES) {
            Ok(ev) => failures.push(format!("{what}: accepted as {ev:?}")),
            Err(r) if r.code() != code => {
                failures.push(format!("{what}: expected {code}, got {} ({r})", r.code()))
            }
            Err(r) if field.is_some_and(|f| !r.to_string().contains(&format!("`{f}`"))) => failures
                .push(format!(
                    "{what}: expected a reason about `{}`, got: {r}",
                    field.unwrap()
                )),
            Err(_) => {}
        }
    }
    for (what, line) in edge_good_lines() {
        if let Err(r) = decode(&line, &registry, DEFAULT_MAX_BYTES) {
            failures.push(format!("{what}: rejected as {} ({r})", r.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rejects_are_counted_never_claim_ids_and_good_lines_all_count() {
    // Bad line, then a good line reusing its event id (or a fresh one), for every bad line; the
    // edge cases in between; a blank line and a CRLF line; one true duplicate at the end.
    let mut input: Vec<u8> = Vec::new();
    let mut line_no = 0u64;
    let mut expected_rejects: BTreeMap<&str, u64> = BTreeMap::new();
    let mut expected_first: BTreeMap<&str, u64> = BTreeMap::new();
    let mut good_lines = 0u64;
    for (n, (_, line, expected)) in bad_lines().into_iter().enumerate() {
        let code = code_of(expected);
        push(&mut input, &line);
        line_no += 1;
        *expected_rejects.entry(code).or_default() += 1;
        expected_first.entry(code).or_insert(line_no);
        let id = serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["event_id"].as_str().map(str::to_owned))
            .filter(|id| !id.is_empty() && id.chars().count() <= 128)
            .unwrap_or_else(|| format!("fresh-{n}"));
        push(&mut input, &good(&id, &format!("g{n}")));
        line_no += 1;
        good_lines += 1;
    }
    for (_, line) in edge_good_lines() {
        push(&mut input, &line);
        line_no += 1;
        good_lines += 1;
    }
    input.extend_from_slice(b"   \n\n");
    input.extend_from_slice(&good("crlf", "g-crlf"));
    input.extend_from_slice(b"\r\n");
    line_no += 1;
    good_lines += 1;
    push(&mut input, &good("b-type1", "dup"));
    line_no += 1;

    let mut out = Vec::new();
    let summary =
        replay(&setup(), input.as_slice(), &mut out).expect("replay never fails on bad input");
    let t = &summary.tally;
    assert_eq!(t.messages, line_no);
    assert_eq!(t.applied, good_lines, "every good line is applied");
    assert_eq!(t.duplicates, 1, "only the true duplicate is one");
    assert_eq!(t.rejects().collect::<BTreeMap<_, _>>(), expected_rejects);
    let first: BTreeMap<&str, u64> = summary
        .first_reject
        .iter()
        .map(|(code, (line, _))| (*code, *line))
        .collect();
    assert_eq!(first, expected_first);
    for (code, (_, msg)) in &summary.first_reject {
        assert!(!msg.is_empty(), "{code} has an empty message");
    }

    // Every good line but the report is a `received` of its own dossier in August.
    let results: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let a = results
        .iter()
        .find(|r| r["agency_id"] == "A")
        .expect("a result for A");
    assert_eq!(a["counts"]["received"].as_u64(), Some(good_lines - 1));
    assert_eq!(a["counts"]["in_scope"].as_u64(), Some(good_lines - 1));
    // The accepted report: 0 / 10^11 for 1.1.
    assert_eq!(
        a["indicators"]["1.1"]["denominator"].as_u64(),
        Some(100_000_000_000)
    );
}

#[test]
fn size_limit_is_configurable() {
    let registry = registry();
    let line = good("g1", "d1");
    assert!(decode(&line, &registry, line.len()).is_ok());
    let r = decode(&line, &registry, line.len() - 1).unwrap_err();
    assert_eq!(r.code(), "too_large");
}

/// One valid line of every event type, the seeds of the mutation test below.
fn templates() -> Vec<Vec<u8>> {
    let line = |kind: &str, extra: &str| {
        format!(
            r#"{{"event_id":"m-{kind}","type":"{kind}","occurred_at":"2024-08-02T08:00:00+07:00","agency_id":"A","dossier_id":"d1"{extra}}}"#
        )
        .into_bytes()
    };
    vec![
        line(
            "received",
            r#","due_at":"2024-08-09T17:00:00Z","channel":"online","fee_required":true,"time_limit_hours":4.5"#,
        ),
        line(
            "received",
            r#","time_limit_hours":1e-3,"via_national_portal":false"#,
        ),
        line("supplement_requested", ""),
        line(
            "supplement_received",
            r#","due_at":"2024-08-20T17:00:00+07:00""#,
        ),
        line(
            "processed",
            r#","outcome":"stopped","electronic_result":true"#,
        ),
        line("returned", ""),
        line("withdrawn", ""),
        line("overdue", ""),
        line("rejected", r#","reason":"thiếu giấy tờ""#),
        line("payment", r#","method":"provincial_gateway""#),
        line("rated", r#","rating":"dissatisfied""#),
        line("synced", ""),
        line("apology", r#","new_due_at":"2024-08-12T17:00:00+07:00""#),
        report("m-report", "3", "4"),
    ]
}

const SPLICES: [&str; 14] = [
    "null",
    "-",
    "1e999",
    "\"",
    "\\u",
    "\\ud800",
    "{",
    "]",
    ",",
    ":",
    "0.5",
    "ệ",
    "\u{0}",
    "9007199254740993",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(prop::sample::Index),
    Flip(prop::sample::Index, u8),
    Splice(prop::sample::Index, prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    use proptest::prelude::*;
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(i, s)| Mutation::Splice(i, s)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

use proptest::prelude::prop;

proptest::proptest! {
    /// Damaged lines never panic the decoder, the engine or the replay: each is either accepted
    /// or refused with one of the stable reason codes, and every line is accounted for.
    #[test]
    fn damaged_lines_never_panic(
        picks in proptest::collection::vec(
            (proptest::prelude::any::<prop::sample::Index>(), proptest::collection::vec(mutation(), 0..4)),
            1..20,
        ),
    ) {
        let registry = registry();
        let templates = templates();
        let mut input = Vec::new();
        let mut lines = 0;
        for (t, muts) in &picks {
            let mut line = t.get(&templates).clone();
            for m in muts {
                match m {
                    Mutation::Delete(i) if !line.is_empty() => {
                        line.remove(i.index(line.len()));
                    }
                    Mutation::Flip(i, b) if !line.is_empty() => {
                        let i = i.index(line.len());
                        line[i] = *b;
                    }
                    Mutation::Splice(i, s) => {
                        let at = i.index(line.len() + 1);
                        let text = s.get(&SPLICES).as_bytes();
                        line.splice(at..at, text.iter().copied());
                    }
                    Mutation::Truncate(i) => line.truncate(i.index(line.len() + 1)),
                    _ => {}
                }
            }
            // A line is one message: no line breaks inside.
            line.retain(|&b| b != b'\n' && b != b'\r');
            if let Err(r) = decode(&line, &registry, DEFAULT_MAX_BYTES) {
                proptest::prop_assert!(Reject::CODES.contains(&r.code()), "{:?}", r);
                proptest::prop_assert!(!r.to_string().is_empty());
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                lines += 1;
            }
            input.extend_from_slice(&line);
            input.push(b'\n');
        }
        let mut out = Vec::new();
        let summary = replay(&setup(), input.as_slice(), &mut out).unwrap();
        let t = &summary.tally;
        proptest::prop_assert_eq!(t.messages, lines);
        proptest::prop_assert_eq!(t.applied + t.duplicates + t.rejected_total(), lines);
        proptest::prop_assert!(!out.is_empty());
    }
}
