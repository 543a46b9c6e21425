//! Benchmarks of the pure core: ingest throughput (pre-decoded and with JSON decoding, both in
//! batches as `chiso replay` feeds them), the cost of `advance_to` when many deadlines pass at
//! once, the memory held per dossier, and (in the summary) a restore of the same stream through
//! `Engine::restore` against checked ingestion.
//!
//! `cargo bench --bench core` measures a realistic generated stream of 500,000 dossiers (about
//! 6 events each) in the sample province. Under `cargo test` the same code runs once on a small
//! stream, as a smoke test. Every throughput is also reported as a ratio to a baseline measured
//! in the same run (parsing the same lines into `serde_json::Value`), since machines are noisy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion, Throughput};

use chiso::core::event::{Channel, DueSpec, Received};
use chiso::core::time::NANOS_PER_HOUR;
use chiso::core::{
    Engine, EngineSettings, Event, EventKind, PeriodPolicy, Registry, ScoringModel, Timestamp,
    WorkCalendar,
};
use chiso::sim::{Generator, GeneratorConfig};
use chiso::wire::event_json::{decode, DEFAULT_MAX_BYTES};

#[path = "support/counting.rs"]
mod counting;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

struct Fixture {
    registry: Arc<Registry>,
    model: Arc<ScoringModel>,
    calendar: Arc<WorkCalendar>,
    lines: Vec<String>,
    at: Timestamp,
}

fn fixture(dossiers: u64) -> Fixture {
    let registry = Arc::new(
        chiso::app::files::parse_registry(chiso::app::files::SAMPLE_AGENCIES, false).unwrap(),
    );
    let model = Arc::new(chiso::app::files::load_scoring(None).unwrap());
    let calendar = Arc::new(chiso::app::files::load_holidays(None).unwrap());
    let at = Timestamp::parse_rfc3339("2026-01-15T12:00:00+07:00").unwrap();
    let config = GeneratorConfig {
        max_dossiers: Some(dossiers),
        until: Some(at),
        // About a year of a busy province at 500k dossiers.
        dossiers_per_working_day: 2000.0,
        start: Timestamp::parse_rfc3339("2025-01-01T00:00:00+07:00").unwrap(),
        ..GeneratorConfig::new(Arc::new(chiso::app::files::load_holidays(None).unwrap()))
    };
    let mut generator = Generator::new(registry.clone(), config);
    let mut lines = Vec::new();
    while let Some(line) = generator.next_event() {
        lines.push(line);
    }
    Fixture {
        registry,
        model,
        calendar,
        lines,
        at,
    }
}

impl Fixture {
    fn engine(&self, at: Timestamp) -> Engine {
        // Live-mode shape: current month, quarter, year plus the previous one of each (final).
        let settings = EngineSettings {
            periods: PeriodPolicy::Rolling {
                finals_kept: [1, 1, 1],
            },
            ..EngineSettings::default()
        };
        Engine::new(
            self.registry.clone(),
            self.model.clone(),
            self.calendar.clone(),
            settings,
            at,
        )
    }

    fn decoded(&self) -> Vec<Event<'static>> {
        self.lines
            .iter()
            .map(|l| {
                decode(l.as_bytes(), &self.registry, DEFAULT_MAX_BYTES)
                    .expect("generated events are valid")
                    .into_owned()
            })
            .collect()
    }
}

/// What `chiso replay` does with the lines: decode a batch of them, ingest the batch.
fn decode_and_ingest(engine: &mut Engine, f: &Fixture) {
    for chunk in f.lines.chunks(256) {
        let events: Vec<Event<'_>> = chunk
            .iter()
            .filter_map(|l| decode(l.as_bytes(), &f.registry, DEFAULT_MAX_BYTES).ok())
            .collect();
        engine.ingest_batch(&events, |_, _| {});
    }
}

/// Live heap bytes per dossier held by an engine that ingested the whole stream.
fn memory_per_dossier(f: &Fixture, events: &[Event<'static>]) -> (usize, f64) {
    let before = counting::live();
    let mut engine = f.engine(f.at);
    for e in events {
        engine.ingest(e);
    }
    let held = counting::live() - before;
    let n = engine.dossier_count();
    drop(engine);
    (n, held as f64 / n as f64)
}

/// 10,000 open dossiers (of `open`) whose due times all pass between two `advance_to` calls.
fn deadline_engine(f: &Fixture, open: usize, passing: usize) -> (Engine, Timestamp) {
    let t0 = Timestamp::parse_rfc3339("2025-03-03T08:00:00+07:00").unwrap();
    let mut engine = f.engine(t0);
    let agency = f.registry.sorted_by_id()[0];
    for i in 0..open {
        // The first `passing` are due at one instant, the rest a month later.
        let due = if i < passing {
            t0.saturating_add(4 * NANOS_PER_HOUR)
        } else {
            t0.saturating_add(30 * 24 * NANOS_PER_HOUR)
        };
        let ev = Event {
            id: format!("dl-{i}").into(),
            occurred_at: t0.saturating_sub(NANOS_PER_HOUR),
            agency,
            dossier: format!("D{i}").into(),
            procedure: None,
            kind: EventKind::Received(Received {
                due: DueSpec::At(due),
                channel: Channel::Online,
                via_national_portal: false,
                fee_required: false,
                digitized: false,
                reused_data: false,
                citizen_storage: false,
            }),
        };
        engine.ingest(&ev);
    }
    // Past the due-soon horizon, so the only change left at the due time is rule 5.
    engine.advance_to(t0.saturating_add(3 * NANOS_PER_HOUR));
    (engine, t0.saturating_add(5 * NANOS_PER_HOUR))
}

fn bench(c: &mut Criterion) {
    let full = full_run();
    // CHISO_BENCH_DOSSIERS overrides the stream size (for profiling runs).
    let size = std::env::var("CHISO_BENCH_DOSSIERS")
        .ok()
        .and_then(|v| v.parse().ok());
    let f = fixture(size.unwrap_or(if full { 500_000 } else { 2_000 }));
    let events = f.decoded();
    let n = events.len() as u64;

    let (dossiers, bytes) = memory_per_dossier(&f, &events);
    println!("memory: {bytes:.1} bytes of heap per dossier ({dossiers} dossiers, {n} events, {:.2} events/dossier)", n as f64 / dossiers as f64);

    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if full { 20 } else { 1 }));
    g.bench_function("baseline: serde_json::Value parse", |b| {
        b.iter(|| {
            for l in &f.lines {
                criterion::black_box(serde_json::from_str::<serde_json::Value>(l).unwrap());
            }
        })
    });
    g.bench_function("decoded events", |b| {
        b.iter_batched(
            || f.engine(f.at),
            |mut engine| {
                engine.ingest_batch(&events, |_, _| {});
                engine
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("JSON decode + ingest", |b| {
        b.iter_batched(
            || f.engine(f.at),
            |mut engine| {
                decode_and_ingest(&mut engine, &f);
                engine
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("advance_to");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if full { 10 } else { 1 }));
    let open = if full { 200_000 } else { 20_000 };
    for passing in [1_000, 10_000] {
        g.bench_function(
            format!("{passing} of {open} open dossiers turn late"),
            |b| {
                b.iter_batched(
                    || deadline_engine(&f, open, passing),
                    |(mut e, t)| {
                        e.advance_to(t);
                        e
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    g.finish();

    // One timed pass of each, printed as ratios to the baseline (same run, same data).
    if full {
        let time = |run: &mut dyn FnMut()| {
            let t = Instant::now();
            run();
            t.elapsed().as_secs_f64()
        };
        let base = time(&mut || {
            for l in &f.lines {
                criterion::black_box(serde_json::from_str::<serde_json::Value>(l).unwrap());
            }
        });
        let mut engine = f.engine(f.at);
        let decoded = time(&mut || engine.ingest_batch(&events, |_, _| {}));
        let mut engine = f.engine(f.at);
        let json = time(&mut || decode_and_ingest(&mut engine, &f));
        // Restoring from a changelog of the same (accepted) events: the engine at the start of
        // time, then one `advance_to`; ids checked once at the end (`Engine::restore`), or each on
        // arrival (`ingest_batch`, what restoring did before).
        let mut restore = Some(f.engine(Timestamp::MIN).restore());
        let mut restored = None;
        let fast = time(&mut || {
            let mut r = restore.take().expect("timed once");
            r.ingest_batch(&events);
            let mut engine = r.finish().expect("the generated event ids are distinct");
            engine.advance_to(f.at);
            restored = Some(engine);
        });
        let mut engine = f.engine(Timestamp::MIN);
        let checked = time(&mut || {
            engine.ingest_batch(&events, |_, _| {});
            engine.advance_to(f.at);
        });
        assert!(restored.is_some_and(|r| r.results() == engine.results()));
        let rate = |s: f64| n as f64 / s / 1e6;
        println!(
            "summary: baseline Value parse {:.2} M events/s; core ingest {:.2} M events/s ({:.2}x baseline); decode+ingest {:.2} M events/s ({:.2}x baseline)",
            rate(base),
            rate(decoded),
            base / decoded,
            rate(json),
            base / json
        );
        println!(
            "summary: restore {:.2} M events/s ({:.2}x core ingest, {:.2}x baseline); checked restore {:.2} M events/s ({:.2}x core ingest)",
            rate(fast),
            decoded / fast,
            base / fast,
            rate(checked),
            decoded / checked,
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
