//! The compared stream: a generated one cut down to what the peer implements, and the
//! registries it is generated for.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use chiso::core::{Timestamp, WorkCalendar};
use chiso::sim::{Generator, GeneratorConfig};

use super::PEER_TYPES;

/// 34 provinces, each with 25 departments and 97 or 98 communes (3,321 in all), under one root.
pub(crate) fn country_registry() -> chiso::core::Registry {
    use chiso::core::AgencyDef;
    let def = |id: String, name: String, level: &str, parent: Option<String>| AgencyDef {
        id,
        name,
        level: level.into(),
        parent,
    };
    let mut defs = vec![def("VN".into(), "Cả nước".into(), "country", None)];
    for p in 0..34 {
        defs.push(def(
            format!("P{p:02}"),
            format!("Tỉnh {p}"),
            "province",
            Some("VN".into()),
        ));
        for d in 0..25 {
            defs.push(def(
                format!("P{p:02}.S{d:02}"),
                format!("Sở {d}"),
                "department",
                Some(format!("P{p:02}")),
            ));
        }
    }
    for c in 0..3321 {
        let p = c % 34;
        defs.push(def(
            format!("P{p:02}.X{c:04}"),
            format!("Xã {c}"),
            "commune",
            Some(format!("P{p:02}")),
        ));
    }
    chiso::core::Registry::new(defs).expect("a valid registry")
}

/// A generated province stream cut down to what the peer implements, with at least `n` events:
/// the event types of [`PEER_TYPES`]; the first `received` of a dossier only (no corrections),
/// its due time given as `due_at` (a `time_limit_hours` is turned into the instant it means on
/// the working calendar); at most one `supplement_requested` and one `supplement_received` per
/// dossier; and every 997th event sent again ten events later (a duplicate `event_id`, which
/// both must ignore). Returns the lines and the evaluation instant: one minute after the last
/// event.
pub(crate) fn peer_stream(
    reg: Arc<chiso::core::Registry>,
    n: usize,
    seed: u64,
) -> (Vec<String>, String) {
    let calendar: WorkCalendar = chiso::app::files::load_holidays(None).unwrap();
    // The sample province's intake per agency (about 21 dossiers a working day each).
    let per_day = 21.4 * reg.len() as f64;
    let mut g = Generator::new(
        reg,
        GeneratorConfig {
            seed,
            start: Timestamp::parse_rfc3339("2025-01-01T00:00:00+07:00").unwrap(),
            dossiers_per_working_day: per_day,
            ..GeneratorConfig::new(Arc::new(calendar.clone()))
        },
    );
    let mut received = HashSet::new();
    let mut requested = HashSet::new();
    let mut receipts = HashSet::new();
    let mut out: Vec<String> = Vec::with_capacity(n + n / 900);
    let mut last = Timestamp::MIN;
    let mut kept = 0usize;
    while kept < n {
        let Some(line) = g.next_event() else { break };
        let mut e: Value = serde_json::from_str(&line).unwrap();
        let kind = e["type"].as_str().unwrap().to_owned();
        if !PEER_TYPES.contains(&kind.as_str()) {
            continue;
        }
        let dossier = format!(
            "{}|{}",
            e["agency_id"].as_str().unwrap(),
            e["dossier_id"].as_str().unwrap()
        );
        let first = match kind.as_str() {
            "received" => received.insert(dossier),
            "supplement_requested" => requested.insert(dossier),
            "supplement_received" => receipts.insert(dossier),
            _ => true,
        };
        if !first {
            continue;
        }
        let at = Timestamp::parse_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap();
        last = last.max(at);
        if kind == "received" {
            if let Some(hours) = e.as_object_mut().unwrap().remove("time_limit_hours") {
                let work = (hours.as_f64().unwrap() * 3_600e9).round() as u128;
                let due = calendar.add_working_time(at, work);
                e["due_at"] = Value::String(due.to_local_rfc3339());
            }
        }
        out.push(serde_json::to_string(&e).unwrap());
        kept += 1;
        if kept % 997 == 0 {
            // Sent again, a little later.
            let again = out[out.len() - 1].clone();
            out.push(again);
            let len = out.len();
            out[len - 11..].rotate_right(1);
        }
    }
    let clock = last.saturating_add(60 * 1_000_000_000).to_local_rfc3339();
    (out, clock)
}

/// The agencies with no agency under them, in the registry's order.
pub(crate) fn leaf_agencies(reg: &chiso::core::Registry) -> Vec<String> {
    let parents: HashSet<&str> = reg
        .defs()
        .iter()
        .filter_map(|d| d.parent.as_deref())
        .collect();
    reg.defs()
        .iter()
        .filter(|d| !parents.contains(d.id.as_str()))
        .map(|d| d.id.clone())
        .collect()
}
