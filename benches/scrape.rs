//! Scrape cost: `/metrics` encoding for 5,000 agencies × 3 periods (the budget is
//! 100 ms), plus the generator's throughput (events per second) that the demo and the core
//! benchmarks rely on.
//!
//! `cargo bench --bench scrape` prints criterion's figures and, once, the size of one scrape.
//! Under `cargo test` the same code runs once as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};

use chiso::core::time::NANOS_PER_HOUR;
use chiso::core::{AgencyDef, Engine, EngineSettings, Registry, Timestamp};
use chiso::metrics::Metrics;
use chiso::read_model::{snapshot_of, ReadModel};
use chiso::sim::{Generator, GeneratorConfig};
use chiso::wire::event_json::{decode, DEFAULT_MAX_BYTES};

/// A national-scale tree: one root, 34 provinces, each with 25 departments and ~120 communes.
fn big_registry(agencies: usize) -> Registry {
    let mut defs = vec![AgencyDef {
        id: "VN".into(),
        name: "Cả nước".into(),
        level: "country".into(),
        parent: None,
    }];
    let provinces = 34;
    for p in 0..provinces {
        defs.push(AgencyDef {
            id: format!("P{p:02}"),
            name: format!("Ủy ban nhân dân tỉnh số {p}"),
            level: "province".into(),
            parent: Some("VN".into()),
        });
    }
    let mut i = 0;
    while defs.len() < agencies {
        let p = i % provinces;
        let (level, name) = if (i / provinces) < 25 {
            ("department", format!("Sở chuyên ngành {i}"))
        } else {
            ("commune", format!("Ủy ban nhân dân xã {i}"))
        };
        defs.push(AgencyDef {
            id: format!("P{p:02}.{i:05}"),
            name,
            level: level.into(),
            parent: Some(format!("P{p:02}")),
        });
        i += 1;
    }
    Registry::new(defs).expect("valid synthetic registry")
}

/// A live state holding one engine's snapshot of `agencies` agencies with `events` events.
fn live_state(agencies: usize, events: usize) -> (ReadModel, Arc<Metrics>) {
    let registry = Arc::new(big_registry(agencies));
    let model = Arc::new(chiso::app::files::load_scoring(None).unwrap());
    let calendar = Arc::new(chiso::app::files::load_holidays(None).unwrap());
    let start = Timestamp::parse_rfc3339("2025-08-04T00:00:00+07:00").unwrap();
    let mut generator = Generator::new(
        registry.clone(),
        GeneratorConfig {
            start,
            dossiers_per_working_day: agencies as f64 * 20.0,
            ..GeneratorConfig::new(Arc::new(chiso::app::files::load_holidays(None).unwrap()))
        },
    );
    let mut lines = Vec::with_capacity(events);
    for _ in 0..events {
        lines.push(generator.next_event().expect("endless stream"));
    }
    let now = generator
        .next_event_time()
        .unwrap()
        .saturating_add(NANOS_PER_HOUR);
    let mut engine = Engine::new(
        registry.clone(),
        model.clone(),
        calendar,
        EngineSettings::default(),
        now,
    );
    for l in &lines {
        engine.ingest(&decode(l.as_bytes(), &registry, DEFAULT_MAX_BYTES).unwrap());
    }
    let live = ReadModel::new(registry, model);
    live.publish(0, snapshot_of(&engine));
    live.set_ready(true);
    let metrics = Arc::new(Metrics::new(live.clone()).unwrap());
    (live, metrics)
}

fn bench(c: &mut Criterion) {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (agencies, events) = if smoke {
        (300, 20_000)
    } else {
        (5_000, 600_000)
    };
    let (live, metrics) = live_state(agencies, events);

    let t = Instant::now();
    let text = metrics.encode();
    let once = t.elapsed();
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    eprintln!(
        "scrape: {agencies} agencies × 3 periods → {series} series, {:.1} MB, first encode {once:.1?}",
        text.len() as f64 / 1e6
    );

    let mut g = c.benchmark_group("scrape");
    g.sample_size(if smoke { 10 } else { 20 })
        .measurement_time(Duration::from_secs(if smoke { 1 } else { 10 }));
    g.bench_function(format!("metrics_text_{agencies}_agencies"), |b| {
        b.iter(|| metrics.encode().len())
    });
    // The ranking page of every agency (the web app's heaviest page), through the router.
    let state = chiso::http::AppState::new(live.clone(), metrics.scrape(), None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let render = || {
        rt.block_on(async {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let resp = chiso::http::router(state.clone())
                .oneshot(
                    axum::http::Request::get("/?period=month")
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.into_body().collect().await.unwrap().to_bytes().len()
        })
    };
    let t = Instant::now();
    let bytes = render();
    eprintln!(
        "ranking page: {agencies} agencies, {:.1} MB, first render {:.1?}",
        bytes as f64 / 1e6,
        t.elapsed()
    );
    g.bench_function(format!("ranking_page_{agencies}_agencies"), |b| {
        b.iter(render)
    });
    g.finish();

    let registry = Arc::new(
        chiso::app::files::parse_registry(chiso::app::files::SAMPLE_AGENCIES, false).unwrap(),
    );
    let mut generator = Generator::new(
        registry,
        GeneratorConfig::new(Arc::new(chiso::app::files::load_holidays(None).unwrap())),
    );
    let mut line = String::new();
    let mut g = c.benchmark_group("generator");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("next_event_10k", |b| {
        b.iter(|| {
            for _ in 0..10_000 {
                line.clear();
                generator.next_event_into(&mut line);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
