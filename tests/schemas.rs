//! The wire contracts published as JSON Schema (draft 2020-12) in `deploy/schema/` agree with what
//! chiso really accepts and writes.
//!
//! - Each schema is a valid 2020-12 schema, compiles, has its `$id`, a title and a description on
//!   every property, and its enums are the code's (reject codes, counts, the default model's ids).
//! - `event.schema.json`: every event of every golden scenario (`tests/scenarios/`) and of the
//!   sample `config/samples/tuyen-quang-events.jsonl` that `event_json::decode` accepts is valid;
//!   a table of hand-made messages gets the same verdict from the schema as from the decoder, except
//!   for the few refusals JSON Schema cannot express (listed in `deploy/schema/README.md`), which
//!   are checked to be exactly those.
//! - `results.schema.json` (and its `default_model` part): every line of every scenario's
//!   `results.jsonl`, and every line printed by the built binary's `chiso replay` of the sample.
//! - `partials.schema.json`: the records `wire::partials::encode` writes for the sample's engine.
//! - `dead-letter-headers.schema.json`: headers built from `wire::dead_letter`'s names and real
//!   rejects of `event_json::decode`.
//!
//! Formats (`date-time`) are asserted, not only annotated.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use jsonschema::{Validator, ValidatorMap};
use serde_json::{json, Value};

use chiso::app::files::{load_holidays, load_registry, load_scoring, parse_registry};
use chiso::core::{AgencyIdx, Count, Engine, EngineSettings, Registry, Reject, Timestamp};
use chiso::wire::dead_letter::{
    H_FILE, H_LINE, H_OFFSET, H_PARTITION, H_REASON, H_REASON_TEXT, H_TOPIC,
};
use chiso::wire::event_json::{decode, DEFAULT_MAX_BYTES};
use chiso::wire::partials;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SAMPLE_EVENTS: &str = "config/samples/tuyen-quang-events.jsonl";
const SAMPLE_AGENCIES: &str = "config/agencies/tuyen-quang.toml";
const SAMPLE_AT: &str = "2025-09-30T17:00:00+07:00";

fn schema(name: &str) -> Value {
    let path = Path::new(ROOT).join(format!("deploy/schema/{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks a schema against the 2020-12 meta-schema, then compiles it with format assertion on.
fn compile(name: &str) -> Validator {
    let s = schema(name);
    if let Err(e) = jsonschema::draft202012::meta::validate(&s) {
        panic!("{name}: not a valid 2020-12 schema: {e}");
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&s)
        .unwrap_or_else(|e| panic!("{name}: does not compile: {e}"))
}

/// The results schema with a validator for each of its subschemas (`#/$defs/default_model`).
fn results_map() -> ValidatorMap {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build_map(&schema("results"))
        .expect("results schema compiles")
}

const DEFAULT_MODEL: &str = "#/$defs/default_model";

/// The schema's complaints about `instance`, one line each.
fn complaints(v: &Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{e} (at `{}`)", e.instance_path()))
        .collect()
}

fn expect_valid(v: &Validator, instance: &Value, what: &str, failures: &mut Vec<String>) {
    let c = complaints(v, instance);
    if !c.is_empty() {
        failures.push(format!("{what}: {}\n    {instance}", c.join("; ")));
    }
}

/// Non-blank lines of a JSON Lines file, with their line numbers (from 1).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The schemas themselves

/// Every `properties` entry of a schema, anywhere in it, has a `description` (except in the
/// conditions of `if`, which only select a branch).
fn undescribed(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                for (name, sub) in props {
                    if sub.get("description").and_then(Value::as_str).is_none() {
                        out.push(format!("{path}/properties/{name}"));
                    }
                }
            }
            for (k, sub) in m.iter().filter(|(k, _)| *k != "if") {
                undescribed(sub, &format!("{path}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, sub) in items.iter().enumerate() {
                undescribed(sub, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn schemas_are_valid_documented_and_match_the_code() {
    for name in ["event", "results", "partials", "dead-letter-headers"] {
        let s = schema(name);
        assert_eq!(
            s["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        assert_eq!(
            s["$id"],
            format!("https://chiso.dev/schema/{name}.schema.json"),
            "{name}"
        );
        assert!(
            s["title"].is_string() && s["description"].is_string(),
            "{name}"
        );
        let mut missing = Vec::new();
        undescribed(&s, "#", &mut missing);
        assert!(missing.is_empty(), "{name}: no description: {missing:?}");
        compile(name);
    }
    results_map()
        .get(DEFAULT_MODEL)
        .expect("results schema has #/$defs/default_model");

    // Enums are the code's lists.
    let counts: Vec<&str> = Count::ALL.iter().map(|c| c.name()).collect();
    let results = schema("results");
    assert_eq!(strings(&results["$defs"]["counts"]["required"]), counts);
    let partial = schema("partials");
    let partial_counts: Vec<&String> = partial["properties"]["counts"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(partial_counts.len(), counts.len());
    assert!(counts.iter().all(|c| partial_counts.iter().any(|p| p == c)));
    assert_eq!(
        strings(&schema("dead-letter-headers")["properties"][H_REASON]["enum"]),
        Reject::CODES
    );
    let model = load_scoring(None).unwrap();
    let default = &results["$defs"]["default_model"]["properties"];
    let model_indicators: Vec<&str> = model.indicators.iter().map(|i| i.id.as_str()).collect();
    let model_groups: Vec<&str> = model.groups.iter().map(|g| g.id.as_str()).collect();
    let model_bands: Vec<&str> = model.bands.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        strings(&default["indicators"]["required"]),
        model_indicators
    );
    assert_eq!(
        strings(&default["indicators"]["propertyNames"]["enum"]),
        model_indicators
    );
    assert_eq!(strings(&default["groups"]["required"]), model_groups);
    assert_eq!(
        strings(&default["groups"]["propertyNames"]["enum"]),
        model_groups
    );
    assert_eq!(strings(&default["band"]["enum"]), model_bands);

    // Every event type of the schema is one the decoder knows (a minimal event of each is
    // accepted), and there are the 13 of docs/events.md.
    let types = strings(&schema("event")["properties"]["type"]["enum"]);
    assert_eq!(types.len(), 13);
    let registry = test_registry();
    let event = compile("event");
    for t in &types {
        let text = minimal(t);
        if let Err(r) = decode(text.as_bytes(), &registry, DEFAULT_MAX_BYTES) {
            panic!("minimal `{t}` refused by the decoder: {r}\n{text}");
        }
        let c = complaints(&event, &serde_json::from_str(&text).unwrap());
        assert!(c.is_empty(), "minimal `{t}` refused by the schema: {c:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Events

const TEST_REGISTRY: &str = r#"
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

fn test_registry() -> Registry {
    parse_registry(TEST_REGISTRY, false).unwrap()
}

/// An event of type `ty` for agency A: the common fields, then `fields` (raw JSON values) added
/// or replacing them; a `None` value removes the field.
fn event(ty: &str, fields: &[(&str, Option<&str>)]) -> String {
    let ty = format!("\"{ty}\"");
    let mut pairs: Vec<(&str, Option<&str>)> = vec![
        ("event_id", Some(r#""e1""#)),
        ("type", Some(&ty)),
        ("occurred_at", Some(r#""2024-08-01T08:00:00+07:00""#)),
        ("agency_id", Some(r#""A""#)),
        ("dossier_id", Some(r#""d1""#)),
    ];
    for &(name, raw) in fields {
        match pairs.iter_mut().find(|(n, _)| *n == name) {
            Some(p) => p.1 = raw,
            None => pairs.push((name, raw)),
        }
    }
    let body: Vec<String> = pairs
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!("\"{n}\":{v}")))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// The smallest accepted event of each type.
fn minimal(ty: &str) -> String {
    let own: &[(&str, Option<&str>)] = match ty {
        "received" => &[("due_at", Some(r#""2024-08-30T17:00:00+07:00""#))],
        "rejected" => &[("reason", Some(r#""thiếu giấy tờ""#))],
        "payment" => &[("method", Some(r#""offline""#))],
        "rated" => &[("rating", Some(r#""satisfied""#))],
        "apology" => &[("new_due_at", Some(r#""2024-08-30T17:00:00+07:00""#))],
        "indicator_reported" => &[
            ("dossier_id", None),
            ("indicator", Some(r#""1.1""#)),
            ("period", Some(r#""2024-08""#)),
            ("numerator", Some("37")),
            ("denominator", Some("40")),
        ],
        _ => &[],
    };
    event(ty, own)
}

/// Hand-made messages, good and bad. The schema must give the decoder's verdict on each.
fn verdict_table() -> Vec<(&'static str, String)> {
    let due = Some(r#""2024-08-30T17:00:00+07:00""#);
    let rec = |fields: &[(&str, Option<&str>)]| {
        let mut f = vec![("due_at", due)];
        f.extend_from_slice(fields);
        event("received", &f)
    };
    let at = |raw: &'static str| rec(&[("occurred_at", Some(raw))]);
    let rep = |fields: &[(&str, Option<&str>)]| {
        let mut f = vec![
            ("dossier_id", None),
            ("indicator", Some(r#""1.1""#)),
            ("period", Some(r#""2024-08""#)),
            ("numerator", Some("37")),
            ("denominator", Some("40")),
        ];
        f.extend_from_slice(fields);
        event("indicator_reported", &f)
    };
    let long = |c: &str, n: usize| format!("\"{}\"", c.repeat(n));
    let (id128, id129) = (long("Sở", 64), long("a", 129));
    let (d64, d65) = (long("ở", 64), long("d", 65));
    vec![
        // Accepted.
        ("received with due_at", rec(&[])),
        (
            "received with time_limit_hours only",
            event("received", &[("time_limit_hours", Some("8"))]),
        ),
        (
            "time_limit_hours with a fraction",
            event("received", &[("time_limit_hours", Some("1.5"))]),
        ),
        (
            "time_limit_hours with an exponent",
            event("received", &[("time_limit_hours", Some("4e1"))]),
        ),
        (
            "time_limit_hours 0",
            event("received", &[("time_limit_hours", Some("0"))]),
        ),
        (
            "time_limit_hours -0",
            event("received", &[("time_limit_hours", Some("-0"))]),
        ),
        (
            "due_at null next to time_limit_hours",
            event(
                "received",
                &[("due_at", Some("null")), ("time_limit_hours", Some("8"))],
            ),
        ),
        (
            "received with every field",
            rec(&[
                ("time_limit_hours", Some("40")),
                ("channel", Some(r#""postal""#)),
                ("via_national_portal", Some("true")),
                ("fee_required", Some("false")),
                ("digitized", Some("true")),
                ("reused_data", Some("true")),
                ("citizen_storage", Some("true")),
                ("procedure_id", Some(r#""1.001757""#)),
            ]),
        ),
        (
            "null flags and channel",
            rec(&[("channel", Some("null")), ("fee_required", Some("null"))]),
        ),
        (
            "unknown fields",
            rec(&[("note", Some(r#"{"x":[1,2]}"#)), ("officer", Some("7"))]),
        ),
        (
            "empty procedure_id",
            rec(&[("procedure_id", Some(r#""""#))]),
        ),
        ("procedure_id null", rec(&[("procedure_id", Some("null"))])),
        (
            "event_id of 128 code points (192 bytes)",
            rec(&[("event_id", Some(&id128))]),
        ),
        (
            "dossier_id of 64 code points",
            rec(&[("dossier_id", Some(&d64))]),
        ),
        (
            "lowercase t and z, a fraction",
            at(r#""2024-08-01t01:00:00.5z""#),
        ),
        (
            "nanoseconds",
            at(r#""2024-08-01T08:00:00.123456789+07:00""#),
        ),
        (
            "below a nanosecond",
            at(r#""2024-08-01T08:00:00.123456789123-03:30""#),
        ),
        ("Z", at(r#""2024-08-01T01:00:00Z""#)),
        (
            "year 0001 and offset 23:59",
            at(r#""0001-01-01T00:00:00+23:59""#),
        ),
        (
            "29 February of a leap year",
            at(r#""2024-02-29T00:00:00Z""#),
        ),
        (
            "a field of another type is not checked",
            event(
                "processed",
                &[
                    ("channel", Some(r#""Online""#)),
                    ("due_at", Some("42")),
                    ("rating", Some("true")),
                ],
            ),
        ),
        (
            "processed stopped",
            event("processed", &[("outcome", Some(r#""stopped""#))]),
        ),
        (
            "processed outcome null",
            event("processed", &[("outcome", Some("null"))]),
        ),
        (
            "supplement_received with due_at",
            event("supplement_received", &[("due_at", due)]),
        ),
        (
            "supplement_received due_at null",
            event("supplement_received", &[("due_at", Some("null"))]),
        ),
        (
            "payment online",
            event("payment", &[("method", Some(r#""national_portal""#))]),
        ),
        (
            "rated",
            event("rated", &[("rating", Some(r#""dissatisfied""#))]),
        ),
        (
            "empty rejection reason",
            event("rejected", &[("reason", Some(r#""""#))]),
        ),
        (
            "report with a dossier_id of any type",
            rep(&[("dossier_id", Some("42"))]),
        ),
        (
            "report of an unknown indicator",
            rep(&[("indicator", Some(r#""9.9""#))]),
        ),
        (
            "report numerator > denominator",
            rep(&[("numerator", Some("50"))]),
        ),
        (
            "report of 10^11",
            rep(&[("denominator", Some("100000000000"))]),
        ),
        (
            "report of a quarter",
            rep(&[("period", Some(r#""2024-Q3""#))]),
        ),
        ("report of year 0001", rep(&[("period", Some(r#""0001""#))])),
        (
            "report of 9999-12",
            rep(&[("period", Some(r#""9999-12""#))]),
        ),
        // Refused.
        ("not an object (array)", r#"["e1","synced"]"#.into()),
        ("not an object (string)", r#""e1""#.into()),
        ("not an object (null)", "null".into()),
        ("empty object", "{}".into()),
        ("missing event_id", rec(&[("event_id", None)])),
        ("event_id null", rec(&[("event_id", Some("null"))])),
        ("event_id a number", rec(&[("event_id", Some("42"))])),
        ("empty event_id", rec(&[("event_id", Some(r#""""#))])),
        (
            "event_id of 129 code points",
            rec(&[("event_id", Some(&id129))]),
        ),
        ("missing type", rec(&[("type", None)])),
        ("type null", rec(&[("type", Some("null"))])),
        ("unknown type", event("archived", &[])),
        ("type in capitals", event("Received", &[("due_at", due)])),
        ("missing occurred_at", rec(&[("occurred_at", None)])),
        ("space instead of T", at(r#""2024-08-01 08:00:00+07:00""#)),
        ("no offset", at(r#""2024-08-01T08:00:00""#)),
        ("offset without colon", at(r#""2024-08-01T08:00:00+0700""#)),
        ("offset without minutes", at(r#""2024-08-01T08:00:00+07""#)),
        ("offset hour 24", at(r#""2024-08-01T08:00:00+24:00""#)),
        ("single-digit month and day", at(r#""2024-8-1T08:00:00Z""#)),
        ("30 February", at(r#""2024-02-30T00:00:00Z""#)),
        (
            "29 February of a common year",
            at(r#""2023-02-29T00:00:00Z""#),
        ),
        ("hour 24", at(r#""2024-08-01T24:00:00Z""#)),
        ("leap second", at(r#""2016-12-31T23:59:60Z""#)),
        ("year 0000", at(r#""0000-01-01T00:00:00Z""#)),
        ("signed year", at(r#""+2024-08-01T08:00:00Z""#)),
        ("dot without digits", at(r#""2024-08-01T08:00:00.Z""#)),
        ("trailing text", at(r#""2024-08-01T08:00:00Zjunk""#)),
        ("Unix time", at("1722474000")),
        ("agency_id a number", rec(&[("agency_id", Some("42"))])),
        ("empty agency_id", rec(&[("agency_id", Some(r#""""#))])),
        ("procedure_id a number", rec(&[("procedure_id", Some("5"))])),
        (
            "missing dossier_id",
            event("synced", &[("dossier_id", None)]),
        ),
        (
            "dossier_id null",
            event("synced", &[("dossier_id", Some("null"))]),
        ),
        (
            "dossier_id a number",
            event("synced", &[("dossier_id", Some("7"))]),
        ),
        (
            "dossier_id of 65 code points",
            rec(&[("dossier_id", Some(&d65))]),
        ),
        ("received without a due time", event("received", &[])),
        (
            "received with both due fields null",
            event(
                "received",
                &[("due_at", Some("null")), ("time_limit_hours", Some("null"))],
            ),
        ),
        (
            "time_limit_hours a string",
            event("received", &[("time_limit_hours", Some(r#""40""#))]),
        ),
        (
            "time_limit_hours negative",
            event("received", &[("time_limit_hours", Some("-1"))]),
        ),
        (
            "invalid time_limit_hours next to a valid due_at",
            rec(&[("time_limit_hours", Some("-0.5"))]),
        ),
        (
            "invalid due_at next to a valid time_limit_hours",
            event(
                "received",
                &[
                    ("due_at", Some(r#""tomorrow""#)),
                    ("time_limit_hours", Some("8")),
                ],
            ),
        ),
        (
            "channel in capitals",
            rec(&[("channel", Some(r#""Online""#))]),
        ),
        (
            "flag as a string",
            rec(&[("fee_required", Some(r#""yes""#))]),
        ),
        ("flag as \"true\"", rec(&[("digitized", Some(r#""true""#))])),
        ("flag as 1", rec(&[("citizen_storage", Some("1"))])),
        (
            "supplement_received with a bad due_at",
            event(
                "supplement_received",
                &[("due_at", Some(r#""2024-08-30""#))],
            ),
        ),
        (
            "unknown outcome",
            event("processed", &[("outcome", Some(r#""done""#))]),
        ),
        (
            "electronic_result as a string",
            event("processed", &[("electronic_result", Some(r#""true""#))]),
        ),
        ("rejected without reason", event("rejected", &[])),
        (
            "reason a number",
            event("rejected", &[("reason", Some("5"))]),
        ),
        ("payment without method", event("payment", &[])),
        (
            "unknown method",
            event("payment", &[("method", Some(r#""cash""#))]),
        ),
        ("rated without rating", event("rated", &[])),
        (
            "unknown rating",
            event("rated", &[("rating", Some(r#""ok""#))]),
        ),
        ("apology without new_due_at", event("apology", &[])),
        (
            "apology bad new_due_at",
            event("apology", &[("new_due_at", Some(r#""soon""#))]),
        ),
        ("report without indicator", rep(&[("indicator", None)])),
        (
            "report indicator a number",
            rep(&[("indicator", Some("1.1"))]),
        ),
        ("report without period", rep(&[("period", None)])),
        (
            "lowercase quarter",
            rep(&[("period", Some(r#""2024-q3""#))]),
        ),
        ("month 13", rep(&[("period", Some(r#""2024-13""#))])),
        ("year 0000 label", rep(&[("period", Some(r#""0000""#))])),
        (
            "single-digit month label",
            rep(&[("period", Some(r#""2024-6""#))]),
        ),
        ("negative numerator", rep(&[("numerator", Some("-1"))])),
        ("numerator a string", rep(&[("numerator", Some(r#""1""#))])),
        (
            "numerator above 10^11",
            rep(&[("numerator", Some("100000000001"))]),
        ),
        (
            "numerator with a fraction",
            rep(&[("numerator", Some("1.5"))]),
        ),
        ("report without denominator", rep(&[("denominator", None)])),
    ]
}

/// Refusals that JSON Schema cannot express (see `deploy/schema/README.md`): the schema accepts
/// these messages, the decoder refuses them with this reason.
fn beyond_the_schema() -> Vec<(String, &'static str)> {
    let due = Some(r#""2024-08-30T17:00:00+07:00""#);
    let rep = |raw: &'static str| {
        event(
            "indicator_reported",
            &[
                ("dossier_id", None),
                ("indicator", Some(r#""1.1""#)),
                ("period", Some(r#""2024-08""#)),
                ("numerator", Some(raw)),
                ("denominator", Some("40")),
            ],
        )
    };
    vec![
        (rep("1.0"), "invalid_type"),
        (rep("1e2"), "invalid_type"),
        (
            // serde_json, like most JSON parsers, keeps the last of two equal names.
            event("received", &[("due_at", due)]).replacen('{', r#"{"event_id":"e0","#, 1),
            "duplicate_field",
        ),
        (
            event(
                "received",
                &[("due_at", due), ("agency_id", Some(r#""Z""#))],
            ),
            "unknown_agency",
        ),
        (
            event(
                "received",
                &[
                    ("due_at", due),
                    ("note", Some(&format!("\"{}\"", "x".repeat(70_000)))),
                ],
            ),
            "too_large",
        ),
    ]
}

#[test]
fn event_schema_agrees_with_the_decoder() {
    let v = compile("event");
    let registry = test_registry();
    let mut failures = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for (what, text) in verdict_table() {
        let instance: Value = serde_json::from_str(&text).unwrap();
        let c = complaints(&v, &instance);
        match decode(text.as_bytes(), &registry, DEFAULT_MAX_BYTES) {
            Ok(_) => {
                accepted += 1;
                if !c.is_empty() {
                    failures.push(format!(
                        "{what}: accepted by chiso, refused by the schema: {c:?}\n    {text}"
                    ));
                }
            }
            Err(reject) => {
                refused += 1;
                if c.is_empty() {
                    failures.push(format!(
                        "{what}: refused by chiso ({}: {reject}), accepted by the schema\n    {text}",
                        reject.code()
                    ));
                }
            }
        }
    }
    for (text, code) in beyond_the_schema() {
        let instance: Value = serde_json::from_str(&text).unwrap();
        let c = complaints(&v, &instance);
        if !c.is_empty() {
            failures.push(format!("{code}: the schema refuses it after all: {c:?}"));
        }
        match decode(text.as_bytes(), &registry, DEFAULT_MAX_BYTES) {
            Err(r) if r.code() == code => {}
            other => failures.push(format!("expected {code} from the decoder, got {other:?}")),
        }
    }
    assert!(
        accepted >= 30 && refused >= 60,
        "{accepted} accepted, {refused} refused"
    );
    println!(
        "{accepted} accepted and {refused} refused messages: same verdict from schema and decoder"
    );
    assert_no_failures(&failures);
}

#[test]
fn bad_events_are_refused_by_the_schema() {
    let v = compile("event");
    let good = json!({
        "event_id": "hs-240830-0007-r",
        "type": "received",
        "occurred_at": "2024-08-30T16:00:00+07:00",
        "agency_id": "TQ.STP",
        "dossier_id": "000.00.12.H56-240830-0007",
        "time_limit_hours": 8,
        "channel": "online"
    });
    assert!(complaints(&v, &good).is_empty());
    let with = |k: &str, v: Value| {
        let mut e = good.clone();
        e[k] = v;
        e
    };
    let without = |k: &str| {
        let mut e = good.clone();
        e.as_object_mut().unwrap().remove(k);
        e
    };
    let cases = [
        ("missing event_id", without("event_id")),
        ("event_id a number", with("event_id", json!(42))),
        ("fee_required a string", with("fee_required", json!("yes"))),
        (
            "time_limit_hours a string",
            with("time_limit_hours", json!("8")),
        ),
        (
            "occurred_at Unix time",
            with("occurred_at", json!(1722474000)),
        ),
        (
            "occurred_at without offset",
            with("occurred_at", json!("2024-08-30T16:00:00")),
        ),
        ("unknown type", with("type", json!("archived"))),
        ("channel in capitals", with("channel", json!("Online"))),
        ("no due time", without("time_limit_hours")),
    ];
    for (what, e) in cases {
        assert!(
            !complaints(&v, &e).is_empty(),
            "{what}: accepted by the schema: {e}"
        );
    }
}

/// One golden scenario: its events file, its registry, its expected results and summary.
struct Scenario {
    name: String,
    events: PathBuf,
    agencies: PathBuf,
    results: Option<PathBuf>,
    rejected: Option<u64>,
}

fn scenarios() -> Vec<Scenario> {
    let root = Path::new(ROOT).join("tests/scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.toml").exists())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let case: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).unwrap()).unwrap();
            let path = |key: &str| case.get(key).and_then(|v| v.as_str()).map(|p| dir.join(p));
            let agencies = path("agencies").unwrap_or_else(|| {
                if dir.join("agencies.json").exists() {
                    dir.join("agencies.json")
                } else {
                    dir.join("agencies.toml")
                }
            });
            Scenario {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                events: path("events").unwrap_or_else(|| dir.join("events.jsonl")),
                agencies,
                results: Some(dir.join("results.jsonl")).filter(|p| p.exists()),
                rejected: case
                    .get("summary")
                    .and_then(|s| s.get("rejected"))
                    .and_then(|r| r.as_integer())
                    .map(|r| r as u64),
            }
        })
        .collect()
}

/// Validates every line of an events file that the decoder accepts; returns (accepted, refused).
fn check_events(
    v: &Validator,
    path: &Path,
    registry: &Registry,
    failures: &mut Vec<String>,
) -> (u64, u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let (mut accepted, mut refused) = (0, 0);
    for (n, line) in lines(&text) {
        match decode(line.as_bytes(), registry, DEFAULT_MAX_BYTES) {
            Ok(_) => {
                accepted += 1;
                match serde_json::from_str::<Value>(line) {
                    Ok(e) => expect_valid(v, &e, &format!("{}:{n}", path.display()), failures),
                    Err(e) => failures.push(format!("{}:{n}: {e}", path.display())),
                }
            }
            Err(_) => refused += 1,
        }
    }
    (accepted, refused)
}

#[test]
fn golden_scenarios_match_the_event_and_results_schemas() {
    let events = compile("event");
    let results = compile("results");
    let map = results_map();
    let default_model = map.get(DEFAULT_MODEL).unwrap();
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    let (mut n_events, mut n_results, mut n_cases) = (0, 0, 0);
    for case in scenarios() {
        n_cases += 1;
        let registry = load_registry(&case.agencies).unwrap();
        let file = case.events.canonicalize().unwrap();
        let (accepted, refused) = check_events(&events, &file, &registry, &mut failures);
        if case.rejected.is_some_and(|r| r != refused) {
            failures.push(format!(
                "[{}] case.toml expects {:?} rejects, the decoder refuses {refused}",
                case.name, case.rejected
            ));
        }
        if seen.insert(file) {
            n_events += accepted;
        }
        if let Some(path) = &case.results {
            let text = std::fs::read_to_string(path).unwrap();
            for (n, line) in lines(&text) {
                let r: Value = serde_json::from_str(line).unwrap();
                let what = format!("[{}] results.jsonl:{n}", case.name);
                expect_valid(&results, &r, &what, &mut failures);
                expect_valid(
                    default_model,
                    &r,
                    &format!("{what} (default model)"),
                    &mut failures,
                );
                n_results += 1;
            }
        }
    }
    assert!(n_cases >= 20 && n_events >= 250 && n_results >= 100);
    println!(
        "{n_cases} scenarios: {n_events} accepted events (distinct files), {n_results} expected results"
    );
    assert_no_failures(&failures);
}

#[test]
fn results_schema_refuses_what_chiso_never_writes() {
    let results = compile("results");
    let map = results_map();
    let default_model = map.get(DEFAULT_MODEL).unwrap();
    let path = Path::new(ROOT).join("tests/scenarios/worked-example/results.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let good: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(complaints(&results, &good).is_empty());
    assert!(complaints(default_model, &good).is_empty());
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut r = good.clone();
        f(&mut r);
        r
    };
    for (what, bad) in [
        (
            "a count missing",
            edit(&|r| drop(r["counts"].as_object_mut().unwrap().remove("late"))),
        ),
        (
            "a negative count",
            edit(&|r| r["counts"]["late"] = json!(-1)),
        ),
        (
            "an unknown count",
            edit(&|r| r["counts"]["pending"] = json!(0)),
        ),
        ("an unknown field", edit(&|r| r["note"] = json!("x"))),
        ("schema 2", edit(&|r| r["schema"] = json!(2))),
        (
            "a band without a score",
            edit(&|r| r["score"] = Value::Null),
        ),
        ("a score without a band", edit(&|r| r["band"] = Value::Null)),
        ("a score above 100", edit(&|r| r["score"] = json!(100.5))),
        (
            "a quarter label on a month",
            edit(&|r| r["period"]["label"] = json!("2024-Q3")),
        ),
        (
            "an unknown period kind",
            edit(&|r| r["period"]["kind"] = json!("week")),
        ),
        ("a period start not at midnight", {
            edit(&|r| r["period"]["start"] = json!("2024-08-01T07:00:00+07:00"))
        }),
        (
            "evaluated_at in UTC",
            edit(&|r| r["evaluated_at"] = json!("2024-08-08T10:00:00Z")),
        ),
        ("an empty indicator with a value", {
            edit(&|r| r["indicators"]["5.2"]["value"] = json!(1.0))
        }),
        (
            "an indicator without a value",
            edit(&|r| r["indicators"]["2.1"]["value"] = Value::Null),
        ),
        ("a group without max", {
            edit(&|r| {
                drop(
                    r["groups"]["progress"]
                        .as_object_mut()
                        .unwrap()
                        .remove("max"),
                )
            })
        }),
    ] {
        assert!(!complaints(&results, &bad).is_empty(), "{what}: accepted");
    }
    // The root accepts another model's ids; the default model does not.
    let other = edit(&|r| {
        r["band"] = json!("superb");
        r["indicators"]["9.9"] = Value::Null;
    });
    assert!(complaints(&results, &other).is_empty());
    assert!(!complaints(default_model, &other).is_empty());
    let missing = edit(&|r| drop(r["indicators"].as_object_mut().unwrap().remove("1.1")));
    assert!(!complaints(default_model, &missing).is_empty());
}

// ---------------------------------------------------------------------------------------------
// The sample: replay by the built binary, and the own figures of its engine

fn sample_registry() -> Registry {
    load_registry(&Path::new(ROOT).join(SAMPLE_AGENCIES)).unwrap()
}

#[test]
fn sample_events_and_replay_output_match_the_schemas() {
    let out = Command::new(env!("CARGO_BIN_EXE_chiso"))
        .current_dir(ROOT)
        .args([
            "replay",
            "--events",
            SAMPLE_EVENTS,
            "--agencies",
            SAMPLE_AGENCIES,
            "--at",
            SAMPLE_AT,
        ])
        .output()
        .expect("run chiso replay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chiso replay failed: {stderr}");
    let mut failures = Vec::new();

    // The sample has no deliberately bad line, but only what replay accepts is checked anyway:
    // the decoder's refusals must be replay's.
    let registry = sample_registry();
    let v = compile("event");
    let (accepted, refused) = check_events(
        &v,
        &Path::new(ROOT).join(SAMPLE_EVENTS),
        &registry,
        &mut failures,
    );
    // "chiso replay: N events read, N applied, N duplicates, N rejected"
    let replay_rejected: u64 = stderr
        .lines()
        .find(|l| l.starts_with("chiso replay:"))
        .and_then(|l| l.rsplit(", ").next())
        .and_then(|part| part.strip_suffix(" rejected"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no reject count in: {stderr}"));
    assert_eq!(refused, replay_rejected, "{stderr}");

    let results = compile("results");
    let map = results_map();
    let default_model = map.get(DEFAULT_MODEL).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut printed = 0;
    for (n, line) in lines(&stdout) {
        let r: Value = serde_json::from_str(line).unwrap();
        expect_valid(&results, &r, &format!("replay line {n}"), &mut failures);
        expect_valid(
            default_model,
            &r,
            &format!("replay line {n} (default model)"),
            &mut failures,
        );
        printed += 1;
    }
    // The month, the quarter and the year of --at, for every agency.
    assert_eq!(printed, registry.len() * 3);
    println!("sample: {accepted} accepted events ({refused} refused), {printed} replay results");
    assert_no_failures(&failures);
}

#[test]
fn partials_written_by_the_encoder_match_the_schema() {
    let registry = Arc::new(sample_registry());
    let model = Arc::new(load_scoring(None).unwrap());
    let now = Timestamp::parse_rfc3339(SAMPLE_AT).unwrap();
    let mut engine = Engine::new(
        registry.clone(),
        model.clone(),
        Arc::new(load_holidays(None).unwrap()),
        EngineSettings::default(),
        now,
    );
    let text = std::fs::read_to_string(Path::new(ROOT).join(SAMPLE_EVENTS)).unwrap();
    for (_, line) in lines(&text) {
        if let Ok(e) = decode(line.as_bytes(), &registry, DEFAULT_MAX_BYTES) {
            engine.ingest(&e);
        }
    }
    engine.advance_to(now);
    let v = compile("partials");
    let mut failures = Vec::new();
    let (mut records, mut with_reported) = (0, 0);
    let mut first = None;
    let periods: Vec<_> = engine.periods().collect();
    for period in periods {
        let own = engine.own_figures(period).expect("a tracked period");
        for (i, figures) in own.iter().enumerate() {
            let agency = AgencyIdx(i as u32);
            let bytes = partials::encode(&registry, &model, agency, period, now, 3, figures);
            let record: Value = serde_json::from_slice(&bytes).unwrap();
            let what = partials::key(&registry, agency, period);
            expect_valid(&v, &record, &what, &mut failures);
            // The writer sends all 23 counts, though the reader would take a missing one as 0.
            assert_eq!(
                record["counts"].as_object().unwrap().len(),
                Count::ALL.len()
            );
            if record["reported"]
                .as_object()
                .is_some_and(|r| !r.is_empty())
            {
                with_reported += 1;
            }
            records += 1;
            first.get_or_insert(record);
        }
    }
    assert!(records >= registry.len() * 3 && with_reported > 0);

    // What the schema refuses.
    let good = first.unwrap();
    let mut unknown_count = good.clone();
    unknown_count["counts"]["pending"] = json!(1);
    let mut triple = good.clone();
    triple["reported"]["1.1"] = json!([1, 2, 3]);
    let mut no_partition = good.clone();
    no_partition.as_object_mut().unwrap().remove("partition");
    let mut utc = good.clone();
    utc["evaluated_at"] = json!("2025-09-30T10:00:00Z");
    let mut extra = good.clone();
    extra["note"] = json!("ignored by the reader");
    assert!(complaints(&v, &extra).is_empty());
    for (what, bad) in [
        ("unknown count", unknown_count),
        ("reported triple", triple),
        ("no partition", no_partition),
        ("evaluated_at not at +07:00", utc),
    ] {
        assert!(!complaints(&v, &bad).is_empty(), "{what}: accepted");
    }
    println!("{records} partials records ({with_reported} with reported values)");
    assert_no_failures(&failures);
}

// ---------------------------------------------------------------------------------------------
// Dead letters

#[test]
fn dead_letter_headers_match_the_schema() {
    // The header lists are assembled inside `src/kafka/ingest/worker.rs` (chiso run) and
    // `src/app/produce.rs` (chiso produce), which the public API does not expose; they are rebuilt
    // here the same way from what it does expose: the header names of `wire::dead_letter` and the
    // code and text of real rejects from `event_json::decode`.
    let v = compile("dead-letter-headers");
    let registry = test_registry();
    let messages: Vec<Vec<u8>> = vec![
        minimal("received").into_bytes(), // too large for a limit of 64 bytes
        b"\xff\xfe".to_vec(),
        br#"{"event_id":"e1","type":"synced""#.to_vec(),
        br#"["e1","synced"]"#.to_vec(),
        br#"{"event_id":"e1","event_id":"e2"}"#.to_vec(),
        b"{}".to_vec(),
        event("rated", &[("rating", Some("5"))]).into_bytes(),
        event("payment", &[("method", Some(r#""cash""#))]).into_bytes(),
        event("synced", &[("occurred_at", Some("1722474000"))]).into_bytes(),
        event("synced", &[("event_id", Some(r#""""#))]).into_bytes(),
        event("archived", &[]).into_bytes(),
        event("synced", &[("agency_id", Some(r#""Z""#))]).into_bytes(),
    ];
    let mut codes = BTreeSet::new();
    for (i, m) in messages.iter().enumerate() {
        let limit = if i == 0 { 64 } else { DEFAULT_MAX_BYTES };
        let reject = decode(m, &registry, limit).expect_err("a bad message");
        codes.insert(reject.code());
        let run = json!({
            H_REASON: reject.code(),
            H_REASON_TEXT: reject.to_string(),
            H_TOPIC: "chiso.events",
            H_PARTITION: 3.to_string(),
            H_OFFSET: (1_000_000 + i as i64).to_string(),
        });
        let produce = json!({
            H_REASON: reject.code(),
            H_REASON_TEXT: reject.to_string(),
            H_FILE: SAMPLE_EVENTS,
            H_LINE: (i + 1).to_string(),
        });
        for h in [run, produce] {
            let c = complaints(&v, &h);
            assert!(c.is_empty(), "{h}: {c:?}");
        }
    }
    assert_eq!(
        codes.len(),
        Reject::CODES.len(),
        "every reject code: {codes:?}"
    );

    let good = json!({
        H_REASON: "invalid_value",
        H_REASON_TEXT: "field `channel`: must be direct, online or postal",
        H_TOPIC: "chiso.events", H_PARTITION: "0", H_OFFSET: "42",
    });
    let with = |k: &str, v: Value| {
        let mut h = good.clone();
        h[k] = v;
        h
    };
    let without = |k: &str| {
        let mut h = good.clone();
        h.as_object_mut().unwrap().remove(k);
        h
    };
    for (what, bad) in [
        ("no reason", without(H_REASON)),
        ("no reason text", without(H_REASON_TEXT)),
        ("unknown reason", with(H_REASON, json!("bogus"))),
        ("no offset", without(H_OFFSET)),
        ("partition not decimal", with(H_PARTITION, json!("3a"))),
        ("negative offset", with(H_OFFSET, json!("-1"))),
        ("both sources", with(H_FILE, json!("events.jsonl"))),
        ("a line number without topic headers", {
            let mut h = without(H_TOPIC);
            h[H_LINE] = json!("1");
            h
        }),
        (
            "line 0",
            json!({H_REASON: "not_json", H_REASON_TEXT: "x", H_FILE: "-", H_LINE: "0"}),
        ),
        ("an unknown header", with("chiso.other", json!("x"))),
        ("a non-string value", with(H_PARTITION, json!(0))),
    ] {
        assert!(!complaints(&v, &bad).is_empty(), "{what}: accepted: {bad}");
    }
}

/// The AsyncAPI document (`deploy/asyncapi.yaml`) is valid for the official AsyncAPI parser
/// (installed by `scripts/test` through `scripts/asyncapi-validate install`), refers to every
/// published schema, and the validator does refuse a broken copy.
#[test]
fn the_asyncapi_document_is_valid_and_uses_the_published_schemas() {
    let validate = |file: &Path| {
        let out = std::process::Command::new(Path::new(ROOT).join("scripts/asyncapi-validate"))
            .arg(file)
            .output()
            .expect("scripts/asyncapi-validate runs (needs Node.js)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let doc = Path::new(ROOT).join("deploy/asyncapi.yaml");
    let (ok, text) = validate(&doc);
    assert!(ok && text.trim_end().ends_with("valid"), "{text}");
    let yaml = std::fs::read_to_string(&doc).unwrap();
    for name in ["event", "results", "partials"] {
        assert!(
            yaml.contains(&format!("$ref: './schema/{name}.schema.json'")),
            "the document does not use {name}.schema.json"
        );
    }
    for header in [
        "chiso.reason",
        "chiso.reason_text",
        "chiso.source_topic",
        "chiso.source_line",
    ] {
        assert!(
            yaml.contains(&format!("{header}:")),
            "header {header} not described"
        );
    }
    // A copy next to the schemas with an operation on a channel that does not exist.
    let broken = Path::new(ROOT).join("deploy/.asyncapi-broken-test.yaml");
    std::fs::write(
        &broken,
        yaml.replace("$ref: '#/channels/results'", "$ref: '#/channels/nope'"),
    )
    .unwrap();
    let (ok, text) = validate(&broken);
    let _ = std::fs::remove_file(&broken);
    assert!(
        !ok && text.contains("invalid"),
        "a broken document passed: {text}"
    );
}
