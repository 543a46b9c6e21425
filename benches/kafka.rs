//! End-to-end benchmark of `chiso run` against a real Apache Kafka started by `scripts/kafka`.
//!
//! `cargo bench --bench kafka` (or `scripts/bench-e2e`) measures, in one run on one machine:
//! 1. throughput: ≥ 2 million generated events produced to the events topic, then read by a
//!    raw rdkafka consumer (the baseline: poll, touch the payload) and by the pipeline (decode,
//!    engine, state changelog, own figures, roll-up, transactions), from first message to
//!    last; reported as events/s and as the ratio pipeline / raw;
//! 2. latency: while a background stream flows, marker events (`indicator_reported` with a
//!    sequence number) are produced and the time until their result is committed to the results
//!    topic is measured (p50, p99, max);
//! 3. restore: the state changelog of a province-year (≈ 1.2 million dossiers, ≈ 7 million
//!    events) is written to one state partition (the worst case) and, by agency, to the default
//!    4 partitions; an engine is rebuilt from the first, and one per partition, side by side as
//!    the partition workers of a restarting instance do, from the second.
//!
//! Under `cargo test` (no `--bench` argument) the same code runs once on small sizes, as a
//! smoke test. Sizes can be set with CHISO_BENCH_EVENTS, CHISO_BENCH_RESTORE_DOSSIERS_PER_DAY and
//! CHISO_BENCH_RESTORE_PARTITIONS, the alternating throughput passes with CHISO_BENCH_PASSES (3);
//! CHISO_BENCH_ONLY=restore runs the restore part alone, CHISO_BENCH_ONLY=throughput the rest.

#[path = "../tests/support_kafka/mod.rs"]
mod support_kafka;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use chiso::app::config::PipelineSection;
use chiso::core::{AgencyIdx, Period, PeriodKind, Timestamp};
use chiso::kafka::ingest::changelog;
use chiso::kafka::KafkaConfig;
use chiso::kafka::Pipeline;
use chiso::read_model::EngineHealth;
use chiso::read_model::ReadModel;
use chiso::sim::{Generator, GeneratorConfig};
use chiso::wire::event_json::{decode, DEFAULT_MAX_BYTES};
use chiso::wire::state_batch::{BatchReader, BatchWriter};
use support_kafka::*;

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `cargo bench` (the full sizes), not `cargo test` (a smoke run).
fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn main() {
    let full = full_run();
    let events = env_or(
        "CHISO_BENCH_EVENTS",
        if full { 2_000_000.0 } else { 20_000.0 },
    ) as usize;
    let per_day = env_or(
        "CHISO_BENCH_RESTORE_DOSSIERS_PER_DAY",
        if full { 4800.0 } else { 40.0 },
    );
    // RUST_LOG=chiso=debug shows the pipeline's own log (to stderr).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let cluster = Cluster::start("bench", 1);
    println!(
        "chiso end-to-end benchmark ({} mode)",
        if full { "full" } else { "smoke" }
    );
    // CHISO_BENCH_ONLY=restore skips the throughput and latency parts.
    if std::env::var("CHISO_BENCH_ONLY").as_deref() != Ok("restore") {
        let (cfg, progress, cancel, pipeline) = throughput(&cluster, events);
        latency(&cluster, &cfg, if full { 30 } else { 3 });
        cancel.cancel();
        pipeline.join().expect("pipeline stops cleanly");
        let _ = progress;
    }
    // CHISO_BENCH_ONLY=throughput skips the restore part.
    if std::env::var("CHISO_BENCH_ONLY").as_deref() != Ok("throughput") {
        restore(&cluster, per_day, full);
    }
}

/// The benchmark's configuration of `topics`, `pipeline` changing its pipeline section, loaded
/// as `chiso run` loads its file.
fn config(
    cluster: &Cluster,
    topics: &Topics,
    clock: &str,
    pipeline: impl FnOnce(&mut PipelineSection),
) -> Arc<KafkaConfig> {
    // Inside the cluster's directory, removed with it when the benchmark ends.
    let dir = cluster.dir.join("bench-config");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.toml", topics.prefix));
    let mut s = run_settings(
        &cluster.bootstrap,
        topics,
        &format!("bench-{}", topics.prefix),
    );
    s.pipeline.clock = clock.to_owned();
    pipeline(&mut s.pipeline);
    s.http.bind = String::new();
    std::fs::write(&path, s.to_toml()).unwrap();
    Arc::new(
        chiso::app::config::load(Some(&path))
            .expect("bench config")
            .kafka(),
    )
}

fn generate_until(seed: u64, start: &str, per_day: f64, n: usize) -> (Vec<String>, Timestamp) {
    let mut g = Generator::new(
        registry(),
        GeneratorConfig {
            seed,
            start: Timestamp::parse_rfc3339(start).unwrap(),
            dossiers_per_working_day: per_day,
            ..GeneratorConfig::new(Arc::new(chiso::app::files::load_holidays(None).unwrap()))
        },
    );
    let mut out = Vec::with_capacity(n);
    let mut last = Timestamp::MIN;
    while out.len() < n {
        last = g.next_event_time().unwrap_or(last);
        match g.next_event() {
            Some(l) => out.push(l),
            None => break,
        }
    }
    (out, last)
}

/// Reads the whole events topic with a plain consumer; events/s from first to last message.
fn raw_pass(cluster: &Cluster, topics: &Topics, n: usize, group: &str) -> f64 {
    let raw: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cluster.bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    raw.subscribe(&[&topics.events]).unwrap();
    let (mut seen, mut bytes, mut first) = (0usize, 0usize, None);
    while seen < n {
        if let Some(Ok(m)) = raw.poll(Duration::from_millis(100)) {
            first.get_or_insert_with(Instant::now);
            bytes += m.payload().map_or(0, |p| p.len());
            seen += 1;
        }
    }
    let secs = first.unwrap().elapsed().as_secs_f64();
    std::hint::black_box(bytes);
    seen as f64 / secs
}

fn throughput(
    cluster: &Cluster,
    n: usize,
) -> (
    Arc<KafkaConfig>,
    Arc<EngineHealth>,
    CancellationToken,
    Pipeline,
) {
    let topics = cluster.topics("tp", 4);
    let t0 = Instant::now();
    let (lines, last) = generate_until(101, "2025-01-01T00:00:00+07:00", 3000.0, n);
    println!(
        "generated {} events in {:.1} s (up to {last})",
        lines.len(),
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    let p = producer(&cluster.bootstrap);
    send_all(&p, &topics.events, lines.iter().map(|l| l.as_bytes()));
    flush(&p);
    let produce_s = t0.elapsed().as_secs_f64();
    println!(
        "produced {} events in {produce_s:.1} s ({:.0} events/s)",
        lines.len(),
        lines.len() as f64 / produce_s
    );

    // Baseline: a plain group consumer that polls every message and touches its payload. The
    // first pass warms the broker up (JIT, page cache) and is not counted; the baseline is the
    // mean of one pass before and one after the pipeline, which share the machine with it.
    let warm = raw_pass(cluster, &topics, lines.len(), "raw-warm-up");
    println!("raw consumer (warm-up): {warm:.0} events/s");
    // The pipeline also makes the broker produce, in transactions: code paths the raw pass does
    // not run, which the broker's JIT compiles on first use (a profile of an unwarmed run shows
    // a fifth of the CPU in its compiler threads). Warm them up with a pipeline run on a tenth
    // of the events, not counted.
    let warm_topics = cluster.topics("tpw", 4);
    let warm_n = lines.len() / 10;
    send_all(
        &p,
        &warm_topics.events,
        lines[..warm_n].iter().map(|l| l.as_bytes()),
    );
    flush(&p);
    let warm_cfg = config(cluster, &warm_topics, &last.to_local_rfc3339(), |_| {});
    let (_, _, warm_cancel, warm_pipeline) = run_pipeline(&warm_cfg, warm_n, "pipeline (warm-up)");
    warm_cancel.cancel();
    warm_pipeline.join().expect("pipeline stops cleanly");
    // Alternating passes: raw consumer, then the pipeline (fresh output topics and group, the
    // same events topic), so that both see the same host. The ratio of each pass is the
    // pipeline's rate over the raw rate just before it; reported as the median with its range,
    // next to the raw baseline's own spread. The pipeline evaluates at the time of the last
    // event (an engine that is up to date), default settings: it starts on a backlog, which it
    // takes with evaluation deferred until caught up (`pipeline.catch_up_max_ms`).
    let passes = env_or("CHISO_BENCH_PASSES", if full_run() { 3.0 } else { 1.0 }) as usize;
    let clock = last.to_local_rfc3339();
    let (mut raws, mut rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = None;
    for pass in 0..passes {
        let raw = raw_pass(cluster, &topics, lines.len(), &format!("raw-{pass}"));
        let out = Topics {
            events: topics.events.clone(),
            ..cluster.topics(&format!("tp{pass}"), 4)
        };
        let cfg = config(cluster, &out, &clock, |_| {});
        let (rate, progress, cancel, pipeline) =
            run_pipeline(&cfg, lines.len(), &format!("pipeline {pass}"));
        println!(
            "pass {pass}: raw {raw:.0} events/s, pipeline {rate:.0} events/s, ratio {:.2}",
            rate / raw
        );
        raws.push(raw);
        rates.push(rate);
        ratios.push(rate / raw);
        // The last pipeline stays up for the latency part.
        if let Some((_, _, cancel, pipeline)) = kept.replace((cfg, progress, cancel, pipeline)) {
            let cancel: CancellationToken = cancel;
            cancel.cancel();
            let pipeline: Pipeline = pipeline;
            pipeline.join().expect("pipeline stops cleanly");
        }
    }
    // The same with every event evaluated as it comes (catch-up deferral off): the steady-state
    // cost per event, one pass for reference.
    let second = Topics {
        events: topics.events.clone(),
        ..cluster.topics("tpe", 4)
    };
    let cfg2 = config(cluster, &second, &clock, |p| p.catch_up_max_ms = 0);
    let (rate_eager, _, cancel2, pipeline2) =
        run_pipeline(&cfg2, lines.len(), "pipeline, no deferral");
    cancel2.cancel();
    pipeline2.join().expect("pipeline stops cleanly");
    let raw_after = raw_pass(cluster, &topics, lines.len(), "raw-after");
    raws.push(raw_after);
    let spread = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (raw_med, raw_min, raw_max) = spread(&raws);
    let (rate_med, rate_min, rate_max) = spread(&rates);
    let (ratio_med, ratio_min, ratio_max) = spread(&ratios);
    println!(
        "raw consumer: median {raw_med:.0} events/s over {} passes (range {raw_min:.0}-{raw_max:.0}); pipeline: median {rate_med:.0} (range {rate_min:.0}-{rate_max:.0})",
        raws.len()
    );
    println!(
        "THROUGHPUT RATIO pipeline/raw = {ratio_med:.2} median of {passes} alternating passes (range {ratio_min:.2}-{ratio_max:.2}), catching up a backlog (default); {:.2} evaluating every event (against the last raw pass) (target >= 0.5)",
        rate_eager / raw_after
    );
    let (cfg, progress, cancel, pipeline) = kept.expect("at least one pass");
    (cfg, progress, cancel, pipeline)
}

/// A client of the pipeline's consumer group that only reads its committed offsets.
fn committed_reader(cfg: &KafkaConfig) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("group.id", &cfg.group_id)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offsets reader")
}

/// Runs the pipeline until it has consumed `n` events and committed them; events/s from the
/// first event consumed to the last.
fn run_pipeline(
    cfg: &Arc<KafkaConfig>,
    n: usize,
    what: &str,
) -> (f64, Arc<EngineHealth>, CancellationToken, Pipeline) {
    let cancel = CancellationToken::new();
    let live = ReadModel::new(cfg.registry.clone(), cfg.model.clone());
    let progress = live.health().clone();
    let started = Instant::now();
    let pipeline = Pipeline::start(cfg.clone(), live, cancel.clone()).unwrap();
    let mut first = None;
    loop {
        let c = progress.consumed();
        if c > 0 && first.is_none() {
            first = Some((Instant::now(), c));
        }
        if c as usize >= n {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "pipeline too slow"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (t_first, c_first) = first.unwrap();
    let secs = t_first.elapsed().as_secs_f64();
    let rate = (n as u64 - c_first + 1) as f64 / secs;
    // Until the group's committed offsets cover every event (an idle pipeline commits nothing,
    // so this asks the broker).
    let committed = committed_reader(cfg);
    while committed_total(&committed, &cfg.topics.events) < n as i64 {
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "offsets never committed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "{what}: {n} events in {secs:.2} s = {rate:.0} events/s (start-up to first event {:.1} s, all committed after {:.1} s)",
        (t_first - started).as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    (rate, progress, cancel, pipeline)
}

/// Marker events for one agency's month; the results topic shows their sequence number as the
/// numerator of indicator 1.1.
fn latency(cluster: &Cluster, cfg: &KafkaConfig, seconds: u64) {
    let now = cfg.now();
    let month = Period::containing(PeriodKind::Month, now);
    let agency = cfg.registry.get(AgencyIdx(0)).id.clone();
    let key = format!("{agency}|{month}");
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let seen: Arc<Mutex<Vec<f64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (sent, seen, stop, key) = (sent.clone(), seen.clone(), stop.clone(), key.clone());
        let bootstrap = cluster.bootstrap.clone();
        let topic = cfg.topics.results.clone();
        std::thread::spawn(move || {
            let c: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "latency-watcher")
                .set("isolation.level", "read_committed")
                .set("fetch.wait.max.ms", "10")
                .create()
                .unwrap();
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, 0, Offset::End).unwrap();
            c.assign(&tpl).unwrap();
            let mut best = 0;
            while !stop.load(Ordering::Relaxed) {
                let Some(Ok(m)) = c.poll(Duration::from_millis(50)) else {
                    continue;
                };
                if m.key() != Some(key.as_bytes()) {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
                let k = v["indicators"]["1.1"]["numerator"].as_u64().unwrap_or(0);
                if k > best {
                    // Every marker up to k is now visible.
                    let sent = sent.lock().unwrap();
                    for i in best + 1..=k {
                        if let Some(t) = sent.get(&i) {
                            seen.lock()
                                .unwrap()
                                .push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                    best = k;
                }
            }
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let (background, _) = generate_until(
        202,
        "2025-03-01T00:00:00+07:00",
        3000.0,
        2000 * seconds as usize,
    );
    let p = producer(&cluster.bootstrap);
    let t0 = Instant::now();
    let mut bg = background.iter();
    let base = now.saturating_sub(3_600_000_000_000);
    for k in 1..=seconds * 10 {
        // 2,000 background events per second, a marker every 100 ms.
        let chunk: Vec<&String> = bg.by_ref().take(200).collect();
        send_all(&p, &cfg.topics.events, chunk.iter().map(|l| l.as_bytes()));
        let at = base.saturating_add(k as i64 * 1_000_000).to_local_rfc3339();
        let marker = format!(
            r#"{{"event_id":"marker-{k}","type":"indicator_reported","occurred_at":"{at}","agency_id":"{agency}","indicator":"1.1","period":"{month}","numerator":{k},"denominator":1000000}}"#
        );
        sent.lock().unwrap().insert(k, Instant::now());
        p.send(
            BaseRecord::to(&cfg.topics.events)
                .key(agency.as_bytes())
                .payload(&marker),
        )
        .map_err(|(e, _)| e)
        .unwrap();
        p.poll(Duration::ZERO);
        let due = Duration::from_millis(100 * k);
        if let Some(w) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(w);
        }
    }
    p.flush(Duration::from_secs(30)).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let mut l = seen.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let q = |f: f64| l[((l.len() as f64 * f).ceil() as usize).clamp(1, l.len()) - 1];
    assert!(!l.is_empty(), "no marker reached the results topic");
    println!(
        "latency event -> results topic: {} markers, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (commit interval {} ms, roll-up interval {} ms)",
        l.len(),
        q(0.5),
        q(0.99),
        l[l.len() - 1],
        cfg.commit_interval.as_millis(),
        cfg.rollup_interval.as_millis(),
    );
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn restore(cluster: &Cluster, per_day: f64, full: bool) {
    // The deployment default (scripts/kafka topics) is 4 event partitions, hence 4 state
    // partitions; one partition is the worst case (a single engine rebuilds everything).
    let parts = env_or("CHISO_BENCH_RESTORE_PARTITIONS", 4.0) as i32;
    let topics = cluster.topics("rs", 1);
    let spread = cluster.topics("rsn", parts);
    // A province-year: one year of intake, evaluated on its last afternoon.
    let at = "2024-12-31T17:00:00+07:00";
    let cfg = config(cluster, &topics, at, |_| {});
    let cfg_spread = config(cluster, &spread, at, |_| {});
    let registry = cfg.registry.clone();
    let mut g = Generator::new(
        registry.clone(),
        GeneratorConfig {
            seed: 2024,
            start: Timestamp::parse_rfc3339("2024-01-01T00:00:00+07:00").unwrap(),
            until: Some(Timestamp::parse_rfc3339(at).unwrap()),
            dossiers_per_working_day: per_day,
            ..GeneratorConfig::new(Arc::new(chiso::app::files::load_holidays(None).unwrap()))
        },
    );
    let t0 = Instant::now();
    let p = producer(&cluster.bootstrap);
    let limit = cfg.state_batch_bytes;
    // One writer for the single partition, one per partition of the spread layout; an agency's
    // events stay in one partition, as with the keyed producer of the events topic.
    let mut w = BatchWriter::new();
    let mut ws: Vec<BatchWriter> = (0..parts).map(|_| BatchWriter::new()).collect();
    let mut batches = Vec::new();
    let mut spread_batches: Vec<(i32, Vec<u8>)> = Vec::new();
    let (mut events, mut line) = (0u64, String::new());
    loop {
        line.clear();
        if !g.next_event_into(&mut line) {
            break;
        }
        let ev = decode(line.as_bytes(), &registry, DEFAULT_MAX_BYTES).unwrap();
        w.push(&registry, &ev);
        let part = (xxhash_rust::xxh3::xxh3_64(registry.get(ev.agency).id.as_bytes())
            % parts as u64) as usize;
        ws[part].push(&registry, &ev);
        events += 1;
        if w.bytes() >= limit {
            batches.push(w.finish());
        }
        if ws[part].bytes() >= limit {
            spread_batches.push((part as i32, ws[part].finish()));
        }
    }
    if !w.is_empty() {
        batches.push(w.finish());
    }
    for (part, w) in ws.iter_mut().enumerate() {
        if !w.is_empty() {
            spread_batches.push((part as i32, w.finish()));
        }
    }
    let dossiers = g.dossiers_started();
    let bytes: usize = batches.iter().map(Vec::len).sum();
    let send = |topic: &str, part: i32, b: &[u8]| {
        let mut rec = BaseRecord::<(), [u8]>::to(topic).partition(part).payload(b);
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, r)) => {
                    rec = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    };
    for b in &batches {
        send(&topics.state, 0, b);
    }
    for (part, b) in &spread_batches {
        send(&spread.state, *part, b);
    }
    flush(&p);
    drop(spread_batches);
    println!(
        "restore fixture: {dossiers} dossiers, {events} events, {} batches, {:.0} MiB binary, built and written (twice: 1 and {parts} partitions) in {:.1} s",
        batches.len(),
        bytes as f64 / 1048576.0,
        t0.elapsed().as_secs_f64()
    );

    // Baseline of the same run: the engine alone, from the batches in memory (no Kafka), taking
    // them as live events (checked one by one, evaluated at `now` as they come).
    let rss0 = rss_mib();
    let t0 = Instant::now();
    let mut engine = cfg.new_engine();
    for b in &batches {
        let mut r = BatchReader::new(b).unwrap();
        while let Some(ev) = r.next_event(&registry) {
            engine.ingest(&ev.unwrap());
        }
    }
    let mem_s = t0.elapsed().as_secs_f64();
    let engine_mib = rss_mib() - rss0;
    let expect = engine.results();
    println!(
        "baseline, live ingest from memory: {mem_s:.2} s ({:.0} events/s); engine memory ≈ {engine_mib:.0} MiB ({:.0} bytes per dossier)",
        events as f64 / mem_s,
        engine_mib * 1048576.0 / dossiers as f64
    );
    drop(engine);
    drop(batches);

    // The real thing: what a partition worker does on assignment, on one partition…
    let t0 = Instant::now();
    let restored = changelog::restore(&cfg, 0, || Ok(true)).unwrap().unwrap();
    let (mut engine, stats) = (restored.engine, restored.stats);
    let read_s = t0.elapsed().as_secs_f64();
    engine.advance_to(cfg.now());
    let restore_s = t0.elapsed().as_secs_f64();
    assert_eq!(stats.events, events);
    assert_eq!(
        engine.results(),
        expect,
        "restored engine equals the original"
    );
    drop(engine);
    println!(
        "RESTORE 1 partition: {} events / {dossiers} dossiers from the state topic in {restore_s:.2} s (read and ingest {read_s:.2} s, evaluation {:.2} s; {:.0} events/s; {:.2}x the baseline's time; target <= 10 s for a province-year){}",
        stats.events,
        restore_s - read_s,
        stats.events as f64 / restore_s,
        restore_s / mem_s,
        if full { "" } else { " [smoke size]" },
    );

    // …and on the default layout, where the instance restarting owns every partition and its
    // workers restore them side by side.
    let t0 = Instant::now();
    let workers: Vec<_> = (0..parts)
        .map(|part| {
            let cfg = cfg_spread.clone();
            std::thread::spawn(move || {
                let restored = changelog::restore(&cfg, part, || Ok(true))
                    .unwrap()
                    .unwrap();
                let mut engine = restored.engine;
                engine.advance_to(cfg.now());
                (restored.stats.events, engine.dossier_count())
            })
        })
        .collect();
    let (mut got_events, mut got_dossiers) = (0, 0);
    for w in workers {
        let (e, d) = w.join().unwrap();
        got_events += e;
        got_dossiers += d;
    }
    let spread_s = t0.elapsed().as_secs_f64();
    assert_eq!(got_events, events);
    assert_eq!(got_dossiers as u64, dossiers);
    println!(
        "RESTORE {parts} partitions: {events} events / {dossiers} dossiers in {spread_s:.2} s until the last partition is evaluated ({:.0} events/s; target <= 10 s){}",
        events as f64 / spread_s,
        if full { "" } else { " [smoke size]" },
    );
}
