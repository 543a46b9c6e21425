//! Generator properties: valid, ordered, unique, deterministic, realistic.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::*;
use crate::core::{Engine, EngineSettings, Registry, Timestamp};
use crate::wire::event_json;

fn sample_registry() -> Arc<Registry> {
    Arc::new(crate::wire::definitions::sample_registry())
}

fn occurred_at(line: &str) -> Timestamp {
    let i = line.find("\"occurred_at\":\"").unwrap() + 15;
    Timestamp::parse_rfc3339(&line[i..i + 25]).unwrap()
}

#[test]
fn events_are_valid_ordered_unique_and_deterministic() {
    let registry = sample_registry();
    let config = GeneratorConfig {
        max_dossiers: Some(5_000),
        ..GeneratorConfig::new(Arc::new(crate::wire::definitions::builtin_holidays()))
    };
    let mut g = Generator::new(registry.clone(), config.clone());
    let mut ids = HashSet::new();
    let mut types: HashMap<String, u64> = HashMap::new();
    let mut last = Timestamp::MIN;
    let mut lines = Vec::new();
    while let Some(expected) = g.next_event_time() {
        let line = g.next_event().unwrap();
        let ev = event_json::decode(line.as_bytes(), &registry, 65536)
            .unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(ev.occurred_at, expected, "{line}");
        assert!(ev.occurred_at >= last, "out of order: {line}");
        last = ev.occurred_at;
        assert!(ids.insert(ev.id.to_string()), "duplicate id: {line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        *types.entry(v["type"].as_str().unwrap().into()).or_default() += 1;
        lines.push(line);
    }
    assert!(g.next_event().is_none());
    assert_eq!(g.dossiers_started(), 5_000);
    let per_dossier = (lines.len() as f64 - types["indicator_reported"] as f64) / 5_000.0;
    assert!(
        (5.0..7.5).contains(&per_dossier),
        "{per_dossier} events per dossier"
    );
    for t in [
        "received",
        "supplement_requested",
        "supplement_received",
        "processed",
        "returned",
        "withdrawn",
        "overdue",
        "rejected",
        "payment",
        "rated",
        "synced",
        "apology",
        "indicator_reported",
    ] {
        assert!(
            types.get(t).copied().unwrap_or(0) > 0,
            "no {t} events: {types:?}"
        );
    }
    let mut again = Generator::new(registry, config);
    for line in &lines {
        assert_eq!(again.next_event().as_ref(), Some(line));
    }
}

#[test]
fn intake_follows_working_hours_and_the_engine_sees_overdue_dossiers() {
    let registry = sample_registry();
    let start = Timestamp::parse_rfc3339("2025-08-04T00:00:00+07:00").unwrap(); // a Monday
    let until = Timestamp::parse_rfc3339("2025-08-25T00:00:00+07:00").unwrap();
    let mut g = Generator::new(
        registry.clone(),
        GeneratorConfig {
            start,
            until: Some(until),
            ..GeneratorConfig::new(Arc::new(crate::wire::definitions::builtin_holidays()))
        },
    );
    let mut engine = Engine::new(
        registry.clone(),
        Arc::new(crate::wire::definitions::builtin_scoring()),
        Arc::new(crate::wire::definitions::builtin_holidays()),
        EngineSettings::default(),
        until,
    );
    let (mut counter_hours, mut received, mut online) = (0u64, 0u64, 0u64);
    while let Some(line) = g.next_event() {
        let ev = event_json::decode(line.as_bytes(), &registry, 65536).unwrap();
        if line.contains("\"type\":\"received\"") {
            received += 1;
            online += line.contains("\"channel\":\"online\"") as u64;
            let (day, tod) = occurred_at(&line).local_day_and_time();
            let h = tod as f64 / 3.6e12;
            let weekday = crate::core::time::weekday(day) < 5;
            counter_hours +=
                (weekday && ((7.0..11.5).contains(&h) || (13.5..17.0).contains(&h))) as u64;
        }
        engine.ingest(&ev);
    }
    // Three weeks at 3,000 a working day (15 days, one of them possibly a holiday).
    assert!((38_000..52_000).contains(&received), "{received} received");
    let share = counter_hours as f64 / received as f64;
    assert!(share > 0.85, "{share} of intake in counter hours");
    let online = online as f64 / received as f64;
    assert!((0.4..0.65).contains(&online), "online share {online}");
    let root = registry.lookup("TQ").unwrap();
    let month = engine.periods().next().unwrap();
    let r = &engine.results_for(month).unwrap()[root.index()];
    use crate::core::Count::*;
    assert!(
        r.counts[OpenOverdue] > 0 && r.counts[DueSoon] > 0,
        "{:?}",
        r.counts
    );
    let on_time = r.counts[OnTime] as f64 / r.counts[InScope] as f64;
    assert!((0.8..0.99).contains(&on_time), "on-time ratio {on_time}");
    assert!(r.card.score_tenths.is_some());
}

#[test]
fn checked_in_sample_is_what_the_generator_writes() {
    let mut out = Vec::new();
    let n = sample_file(
        sample_registry(),
        Arc::new(crate::wire::definitions::builtin_holidays()),
        &mut out,
    )
    .unwrap();
    assert!((15_000..25_000).contains(&n), "{n} events");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/samples/tuyen-quang-events.jsonl"
    );
    let file = std::fs::read(path).unwrap();
    assert!(
        file == out,
        "config/samples/tuyen-quang-events.jsonl is stale: regenerate it with \
         `cargo run -- demo --write-sample config/samples/tuyen-quang-events.jsonl`"
    );
}
