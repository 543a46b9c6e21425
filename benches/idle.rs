//! What an engine that holds a province-year costs while nothing happens: the per-second work
//! of its owner (move the clock, publish the results, bring the operator lists up to date), as
//! the demo and each Kafka partition worker do it.
//!
//! Measured in the same run, on the same engine:
//! - **incremental** — the read model follows the engine's changes ([`OpenSet::follow`]): only
//!   the dossiers an event or a timer touched are looked at;
//! - **full scan** (the baseline, how the operator lists were refreshed before) — every second,
//!   every dossier is evaluated and every open one copied into the read model.
//!
//! `cargo bench --bench idle` builds a province-year with the demo's generator (the sample
//! province, 21 dossiers per agency and working day, 365 days: about 750k dossiers); under
//! `cargo test` the same code runs on a month, as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chiso::core::time::{NANOS_PER_DAY, NANOS_PER_SEC};
use chiso::core::{Engine, EngineSettings, PeriodPolicy, Timestamp};
use chiso::read_model::{publish_engine, ReadModel};
use chiso::sim::{Generator, GeneratorConfig};
use chiso::wire::event_json::{decode, DEFAULT_MAX_BYTES};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let days = if full { 365 } else { 30 };
    let registry = Arc::new(
        chiso::app::files::parse_registry(chiso::app::files::SAMPLE_AGENCIES, false).unwrap(),
    );
    let model = Arc::new(chiso::app::files::load_scoring(None).unwrap());
    let calendar = Arc::new(chiso::app::files::load_holidays(None).unwrap());
    let now = Timestamp::parse_rfc3339("2026-03-16T10:00:00+07:00").unwrap();
    let mut generator = Generator::new(
        registry.clone(),
        GeneratorConfig {
            seed: 766,
            start: now.saturating_sub(days * NANOS_PER_DAY),
            until: Some(now),
            dossiers_per_working_day: 21.0 * registry.len() as f64,
            ..GeneratorConfig::new(calendar.clone())
        },
    );
    // The demo's engine: current periods plus the previous month and quarter.
    let settings = EngineSettings {
        periods: PeriodPolicy::Rolling {
            finals_kept: [1, 1, 0],
        },
        ..EngineSettings::default()
    };
    let mut engine = Engine::new(registry.clone(), model.clone(), calendar, settings, now);
    let t = Instant::now();
    let mut events = 0u64;
    while let Some(line) = generator.next_event() {
        engine.ingest(&decode(line.as_bytes(), &registry, DEFAULT_MAX_BYTES).unwrap());
        events += 1;
    }
    println!(
        "idle: {} dossiers from {events} events ({days} days) built in {:.1} s",
        engine.dossier_count(),
        t.elapsed().as_secs_f64()
    );
    let read_model = ReadModel::new(registry, model);
    publish_engine(&read_model, 0, &mut engine);
    let open = read_model.open_set(0).read().unwrap().len();

    // One simulated second per tick, as the owners do it every wall-clock second.
    let ticks = if full { 60 } else { 5 };
    let mut clock = now;
    let mut tick = |engine: &mut Engine, full_scan: bool| -> Duration {
        clock = clock.saturating_add(NANOS_PER_SEC);
        let t = Instant::now();
        engine.advance_to(clock);
        if full_scan {
            // What a refresh of the whole list costs: the next drain reports every dossier.
            engine.track_open_dossiers();
        }
        publish_engine(&read_model, 0, engine);
        t.elapsed()
    };
    // Alternate the two, so that both see the same host.
    let (mut incremental, mut scan) = (Vec::new(), Vec::new());
    for _ in 0..ticks {
        incremental.push(tick(&mut engine, false));
        scan.push(tick(&mut engine, true));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (inc, full_scan) = (median(&mut incremental), median(&mut scan));
    println!(
        "idle: per-second work with {open} open dossiers, median of {ticks} ticks: incremental {:.3} ms ({:.3}% of a core), full scan {:.1} ms ({:.2}% of a core); {:.0}x less",
        inc.as_secs_f64() * 1e3,
        inc.as_secs_f64() * 100.0,
        full_scan.as_secs_f64() * 1e3,
        full_scan.as_secs_f64() * 100.0,
        full_scan.as_secs_f64() / inc.as_secs_f64().max(1e-9),
    );
    assert!(
        inc < full_scan || !full,
        "following changes must cost less than a scan"
    );
}
