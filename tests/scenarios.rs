//! Golden scenarios: every directory under `tests/scenarios/` is one case, replayed through the
//! library exactly as `chiso replay` does, then checked against hand-written expectations.
//!
//! A case directory holds:
//! - `agencies.toml` (or `agencies.json`) and `events.jsonl` (the file order is the arrival order);
//! - `case.toml`: `at = "RFC 3339"`, optional `periods = ["2024-08", …]`, `holidays = ["YYYY-MM-DD",
//!   …]` (absent: the shipped Vietnamese list, as the command does), `due_soon_hours`, `events` /
//!   `agencies` (paths relative to the case, to reuse another case's files), `same_output_as`
//!   (another case whose output must be identical), `output_lines`, `summary = { lines, applied, duplicates,
//!   rejected }` and a `description`;
//! - `expect.toml`: `[[expect]]` tables selecting one output line by `agency` and `period` label;
//!   every other key is a partial expectation on that line's JSON (tables match object fields by
//!   name, numbers compare numerically, the string `"null"` stands for JSON null);
//! - optionally `results.jsonl`: the whole output, byte for byte. `CHISO_BLESS=1` (re)writes it;
//!   bless only once the hand-written expectations pass.
//!
//! Every output line is also checked for the count identities of the contract
//! (`on_time + late = in_scope`, …) and for points within their maxima. All failures of all cases
//! are reported together, each with its case name.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value as Json;
use toml::Value as Toml;

use chiso::app::files::{load_registry, load_scoring, parse_holidays};
use chiso::app::replay::{replay, ReplaySetup, Summary};
use chiso::core::{Period, Timestamp};
use chiso::wire::event_json::DEFAULT_MAX_BYTES;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    at: String,
    #[serde(default)]
    periods: Vec<String>,
    holidays: Option<Vec<String>>,
    due_soon_hours: Option<f64>,
    events: Option<PathBuf>,
    agencies: Option<PathBuf>,
    same_output_as: Option<String>,
    output_lines: Option<usize>,
    summary: Option<SummaryExpect>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryExpect {
    lines: Option<u64>,
    applied: Option<u64>,
    duplicates: Option<u64>,
    rejected: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    #[serde(default)]
    expect: Vec<toml::Table>,
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Replays one case; returns the output bytes and the summary.
fn run_case(dir: &Path, case: &CaseFile) -> Result<(String, Summary), String> {
    let agencies = match &case.agencies {
        Some(p) => dir.join(p),
        None if dir.join("agencies.json").exists() => dir.join("agencies.json"),
        None => dir.join("agencies.toml"),
    };
    let registry = load_registry(&agencies).map_err(|e| format!("{e:#}"))?;
    let model = load_scoring(None).map_err(|e| format!("{e:#}"))?;
    let calendar = match &case.holidays {
        Some(days) => {
            let text = serde_json::to_string(days).unwrap();
            parse_holidays(&text, true).map_err(|e| format!("holidays: {e:#}"))?
        }
        None => chiso::app::files::load_holidays(None).map_err(|e| format!("{e:#}"))?,
    };
    let at = Timestamp::parse_rfc3339(&case.at).map_err(|e| format!("at `{}`: {e}", case.at))?;
    let periods = case
        .periods
        .iter()
        .map(|l| Period::parse_label(l).ok_or_else(|| format!("bad period label `{l}`")))
        .collect::<Result<Vec<_>, _>>()?;
    let setup = ReplaySetup {
        registry: Arc::new(registry),
        model: Arc::new(model),
        calendar: Arc::new(calendar),
        at,
        periods,
        due_soon_horizon: chiso::core::DueSoonHorizon::from_hours(
            case.due_soon_hours.unwrap_or(24.0),
        )
        .expect("a valid horizon"),
        max_bytes: DEFAULT_MAX_BYTES,
        source: None,
    };
    let events = dir.join(case.events.as_deref().unwrap_or(Path::new("events.jsonl")));
    let input = std::fs::read(&events).map_err(|e| format!("{}: {e}", events.display()))?;
    let mut out = Vec::new();
    let summary = replay(&setup, input.as_slice(), &mut out).map_err(|e| format!("{e:#}"))?;
    String::from_utf8(out)
        .map(|s| (s, summary))
        .map_err(|e| e.to_string())
}

fn key_of(line: &Json) -> String {
    format!(
        "{}|{}",
        line["agency_id"].as_str().unwrap_or("?"),
        line["period"]["label"].as_str().unwrap_or("?")
    )
}

/// The contract's count identities and point bounds, for one output line.
fn check_invariants(line: &Json, errors: &mut Vec<String>) {
    let key = key_of(line);
    let count = |name: &str| line["counts"][name].as_u64();
    let names = [
        "in_scope",
        "on_time",
        "late",
        "ended_on_time",
        "open_on_time",
        "ended_late",
        "open_overdue",
    ];
    let c: Vec<u64> = match names.iter().map(|n| count(n)).collect::<Option<Vec<_>>>() {
        Some(c) => c,
        None => {
            errors.push(format!("{key}: a count is missing or not an integer"));
            return;
        }
    };
    let (in_scope, on_time, late, eot, oot, el, oo) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
    if on_time + late != in_scope {
        errors.push(format!(
            "{key}: on_time {on_time} + late {late} != in_scope {in_scope}"
        ));
    }
    if on_time != eot + oot {
        errors.push(format!(
            "{key}: on_time {on_time} != ended_on_time {eot} + open_on_time {oot}"
        ));
    }
    if late != el + oo {
        errors.push(format!(
            "{key}: late {late} != ended_late {el} + open_overdue {oo}"
        ));
    }
    let within = |what: String, points: &Json, max: &Json, errors: &mut Vec<String>| match (
        points.as_f64(),
        max.as_f64(),
    ) {
        (Some(p), Some(m)) if (0.0..=m + 1e-9).contains(&p) => {}
        (p, m) => errors.push(format!("{key}: {what}: points {p:?} not within [0, {m:?}]")),
    };
    if let Some(inds) = line["indicators"].as_object() {
        for (id, v) in inds {
            if !v.is_null() {
                within(format!("indicator {id}"), &v["points"], &v["max"], errors);
            }
        }
    } else {
        errors.push(format!("{key}: no indicators object"));
    }
    if let Some(groups) = line["groups"].as_object() {
        for (id, v) in groups {
            within(format!("group {id}"), &v["points"], &v["max"], errors);
        }
    }
    within(
        "total".into(),
        &line["total_points"],
        &line["measured_max"],
        errors,
    );
    if line["score"].is_null() != line["band"].is_null() {
        errors.push(format!("{key}: score and band must be null together"));
    }
}

/// Compares an expected TOML value with the actual JSON, recursively; `path` names the field.
fn matches(path: &str, expected: &Toml, actual: &Json, errors: &mut Vec<String>) {
    let mismatch = |errors: &mut Vec<String>| {
        errors.push(format!("{path}: expected {expected}, got {actual}"));
    };
    match expected {
        Toml::String(s) if s == "null" => {
            if !actual.is_null() {
                mismatch(errors)
            }
        }
        Toml::String(s) => {
            if actual.as_str() != Some(s) {
                mismatch(errors)
            }
        }
        Toml::Integer(i) => {
            if !actual
                .as_f64()
                .is_some_and(|a| (a - *i as f64).abs() <= 1e-9)
            {
                mismatch(errors)
            }
        }
        Toml::Float(f) => {
            if !actual.as_f64().is_some_and(|a| (a - f).abs() <= 1e-9) {
                mismatch(errors)
            }
        }
        Toml::Boolean(b) => {
            if actual.as_bool() != Some(*b) {
                mismatch(errors)
            }
        }
        Toml::Array(items) => match actual.as_array() {
            Some(a) if a.len() == items.len() => {
                for (i, (e, a)) in items.iter().zip(a).enumerate() {
                    matches(&format!("{path}[{i}]"), e, a, errors);
                }
            }
            _ => mismatch(errors),
        },
        Toml::Table(t) => match actual.as_object() {
            Some(obj) => {
                for (k, e) in t {
                    match obj.get(k) {
                        Some(a) => matches(&format!("{path}.{k}"), e, a, errors),
                        None => errors.push(format!("{path}.{k}: no such field in the output")),
                    }
                }
            }
            None => mismatch(errors),
        },
        Toml::Datetime(_) => errors.push(format!("{path}: write times as strings")),
    }
}

fn check_case(dir: &Path, name: &str, bless: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let case: CaseFile = match read(&dir.join("case.toml"))
        .and_then(|t| toml::from_str(&t).map_err(|e| format!("case.toml: {e}")))
    {
        Ok(c) => c,
        Err(e) => return vec![e],
    };
    let (output, summary) = match run_case(dir, &case) {
        Ok(r) => r,
        Err(e) => return vec![format!("replay failed: {e}")],
    };
    let mut lines: BTreeMap<String, Json> = BTreeMap::new();
    for (n, text) in output.lines().enumerate() {
        match serde_json::from_str::<Json>(text) {
            Ok(v) => {
                check_invariants(&v, &mut errors);
                if lines.insert(key_of(&v), v).is_some() {
                    errors.push(format!("output line {}: key printed twice", n + 1));
                }
            }
            Err(e) => errors.push(format!("output line {} is not JSON: {e}", n + 1)),
        }
    }
    if let Some(n) = case.output_lines {
        if output.lines().count() != n {
            errors.push(format!(
                "expected {n} output lines, got {}",
                output.lines().count()
            ));
        }
    }
    if let Some(s) = &case.summary {
        let t = &summary.tally;
        let rejected = t.rejected_total();
        for (what, want, got) in [
            ("lines", s.lines, t.messages),
            ("applied", s.applied, t.applied),
            ("duplicates", s.duplicates, t.duplicates),
            ("rejected", s.rejected, rejected),
        ] {
            if want.is_some_and(|w| w != got) {
                errors.push(format!("summary.{what}: expected {want:?}, got {got}"));
            }
        }
    }
    match read(&dir.join("expect.toml"))
        .and_then(|t| toml::from_str::<ExpectFile>(&t).map_err(|e| format!("expect.toml: {e}")))
    {
        Err(e) => errors.push(e),
        Ok(file) if file.expect.is_empty() => errors.push("expect.toml has no [[expect]]".into()),
        Ok(file) => {
            for (i, exp) in file.expect.iter().enumerate() {
                let (Some(agency), Some(period)) = (
                    exp.get("agency").and_then(Toml::as_str),
                    exp.get("period").and_then(Toml::as_str),
                ) else {
                    errors.push(format!("expect #{}: needs `agency` and `period`", i + 1));
                    continue;
                };
                let key = format!("{agency}|{period}");
                let Some(line) = lines.get(&key) else {
                    errors.push(format!("{key}: no such line in the output"));
                    continue;
                };
                for (field, want) in exp {
                    if field == "agency" || field == "period" {
                        continue;
                    }
                    match line.get(field) {
                        Some(got) => matches(&format!("{key}: {field}"), want, got, &mut errors),
                        None => errors.push(format!("{key}: {field}: no such field")),
                    }
                }
            }
        }
    }
    if let Some(other) = &case.same_output_as {
        let other_dir = scenarios_dir().join(other);
        match read(&other_dir.join("case.toml"))
            .and_then(|t| toml::from_str::<CaseFile>(&t).map_err(|e| e.to_string()))
            .and_then(|c| run_case(&other_dir, &c))
        {
            Ok((o, _)) if o == output => {}
            Ok((o, _)) => errors.push(format!(
                "output differs from case `{other}`:\n{}",
                first_difference(&o, &output)
            )),
            Err(e) => errors.push(format!("same_output_as `{other}`: {e}")),
        }
    }
    let golden = dir.join("results.jsonl");
    if bless {
        if errors.is_empty() {
            std::fs::write(&golden, &output).expect("write results.jsonl");
        } else {
            errors.push("not blessed: fix the failures above first".into());
        }
    } else if golden.exists() {
        match read(&golden) {
            Ok(g) if g == output => {}
            Ok(g) => errors.push(format!(
                "output differs from results.jsonl (CHISO_BLESS=1 rewrites it):\n{}",
                first_difference(&g, &output)
            )),
            Err(e) => errors.push(e),
        }
    }
    errors
        .into_iter()
        .map(|e| format!("[{name}] {e}"))
        .collect()
}

fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            return format!(
                "  line {}:\n  want {}\n  got  {}",
                i + 1,
                w.get(i).unwrap_or(&"<none>"),
                g.get(i).unwrap_or(&"<none>")
            );
        }
    }
    "  (only line endings differ)".into()
}

#[test]
fn scenarios() {
    let bless = std::env::var_os("CHISO_BLESS").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("tests/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    let mut ran = 0;
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !dir.join("case.toml").exists() {
            failures.push(format!("[{name}] no case.toml"));
            continue;
        }
        ran += 1;
        failures.extend(check_case(dir, &name, bless));
    }
    assert!(ran > 0, "no scenario found");
    if !failures.is_empty() {
        let mut msg = format!("{} failure(s) in {ran} scenario(s):\n", failures.len());
        for f in &failures {
            let _ = writeln!(msg, "{f}");
        }
        panic!("{msg}");
    }
}
