//! chiso side by side with what a team would otherwise build: a raw rdkafka consumer (the
//! baseline), `chiso run`, and a Kafka Streams application (`benches/peers/kafka-streams/`, the
//! peer) consume the same events topic on one broker and one machine, in one run.
//!
//! `scripts/bench-peers` (which builds the peer and starts a private Kafka) runs
//! `cargo bench --bench peers`. For each case (CHISO_BENCH_PEER_EVENTS, default
//! "1000000,5000000,country:1000000": N events of the sample province, or of a country-sized
//! registry of 3,321 communes for the cardinality case), a generated stream is cut down to the rules the peer implements (see
//! [`peer_stream`]) and produced to a 4-partition topic keyed by `agency_id`; then, for
//! CHISO_BENCH_PASSES passes (default 3) with the order of the systems rotated each pass, every
//! system reads the topic from the start with a fresh group and fresh output topics. Per system
//! and pass it reports events/s until the results of the last event are committed (the group's
//! committed offsets reach the end of the topic: both commit offsets in the transaction that
//! carries the results), CPU-seconds and peak RSS of the process, and the time from start to
//! the first result on the output topic. After the last pass it compares the results (the five
//! counts of the current month of every agency with no agency under it), measures the latency
//! from an event to its result under a steady load (each system alone, the other stopped), and
//! the restart after `kill -9` with the state of the whole stream: chiso until `/readyz`
//! answers 200, the peer until Kafka Streams is RUNNING again. Medians and ranges at the end,
//! and the ratios.
//!
//! Under `cargo test` (no `--bench` argument) it runs once on a small stream as a test: the
//! results of chiso and the peer must agree.

#[path = "../tests/support_kafka/mod.rs"]
mod support_kafka;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use serde_json::Value;

use chiso::core::{Timestamp, WorkCalendar};
use chiso::sim::{Generator, GeneratorConfig};
use support_kafka::*;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The five counts the peer computes.
const COUNTS: [&str; 5] = ["in_scope", "on_time", "late", "open_overdue", "due_soon"];
/// Event types the peer implements; the others are left out of the compared stream.
const PEER_TYPES: [&str; 7] = [
    "received",
    "processed",
    "returned",
    "withdrawn",
    "supplement_requested",
    "supplement_received",
    "overdue",
];
/// Commit interval of both systems (chiso's default; the peer is given the same).
const COMMIT_MS: u64 = 1000;

/// `cargo bench` (the full sizes), not `cargo test` (a small agreement check).
fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn main() {
    if std::env::var("CHISO_PEERS_ROLE").as_deref() == Ok("raw") {
        return raw_consumer();
    }
    let full = full_run();
    let jar = peer_jar();
    let cluster = Cluster::start("peers", 1);
    let cases: Vec<Case> = if full {
        std::env::var("CHISO_BENCH_PEER_EVENTS")
            .unwrap_or_else(|_| "1000000,5000000,country:1000000".into())
            .split(',')
            .map(|s| Case::parse(s.trim()))
            .collect()
    } else {
        vec![Case::parse("30000")]
    };
    let passes: usize = std::env::var("CHISO_BENCH_PASSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 3 } else { 1 });
    let mut report = Vec::new();
    for case in &cases {
        report.push(size_run(&cluster, &jar, case, passes));
    }
    println!("\n=== summary ===");
    for r in &report {
        println!("{r}");
    }
}

/// One size of the benchmark: N events of the sample province, or (`country:N`) of a
/// country-sized registry (34 provinces, 850 departments, 3,321 communes) for the cardinality
/// case.
struct Case {
    n: usize,
    registry: Arc<chiso::core::Registry>,
    name: &'static str,
}

impl Case {
    fn parse(s: &str) -> Case {
        let (name, n) = match s.split_once(':') {
            Some(("country", n)) => ("country", n),
            Some(("province", n)) => ("province", n),
            None => ("province", s),
            Some((other, _)) => panic!("CHISO_BENCH_PEER_EVENTS: unknown case {other:?}"),
        };
        Case {
            n: n.parse()
                .expect("CHISO_BENCH_PEER_EVENTS: a number of events"),
            registry: if name == "country" {
                Arc::new(country_registry())
            } else {
                registry()
            },
            name,
        }
    }
}

/// 34 provinces, each with 25 departments and 97 or 98 communes (3,321 in all), under one root.
fn country_registry() -> chiso::core::Registry {
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

/// The peer's jar, built by `scripts/bench-peers build` (run here if it is missing).
fn peer_jar() -> PathBuf {
    let jar =
        Path::new(ROOT).join("benches/peers/kafka-streams/target/chiso-peer-kafka-streams.jar");
    if !jar.exists() {
        let status = Command::new(Path::new(ROOT).join("scripts/bench-peers"))
            .arg("build")
            .status()
            .expect("scripts/bench-peers build");
        assert!(status.success(), "building the Kafka Streams peer failed");
    }
    assert!(jar.exists(), "{} missing after the build", jar.display());
    jar
}

// ---------------------------------------------------------------------------------------------
// The compared stream

/// A generated province stream cut down to what the peer implements, with at least `n` events:
/// the event types of [`PEER_TYPES`]; the first `received` of a dossier only (no corrections),
/// its due time given as `due_at` (a `time_limit_hours` is turned into the instant it means on
/// the working calendar); at most one `supplement_requested` and one `supplement_received` per
/// dossier; and every 997th event sent again ten events later (a duplicate `event_id`, which
/// both must ignore). Returns the lines and the evaluation instant: one minute after the last
/// event.
fn peer_stream(reg: Arc<chiso::core::Registry>, n: usize, seed: u64) -> (Vec<String>, String) {
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

// ---------------------------------------------------------------------------------------------
// One size

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum System {
    Raw,
    Chiso,
    Peer,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Raw => "raw consumer",
            System::Chiso => "chiso run",
            System::Peer => "Kafka Streams peer",
        }
    }
}

/// What one pass of one system measured.
#[derive(Clone, Debug)]
struct Measured {
    events_per_s: f64,
    cpu_s: f64,
    peak_rss_mb: f64,
    /// From start to the first record on the output topic (None for the raw consumer).
    first_result_s: Option<f64>,
}

fn size_run(cluster: &Cluster, jar: &Path, case: &Case, passes: usize) -> String {
    let (n, reg) = (case.n, &case.registry);
    let t0 = Instant::now();
    let (lines, clock) = peer_stream(reg.clone(), n, 766 + n as u64);
    let events = lines.len();
    let leaves = leaf_agencies(reg);
    println!(
        "\n== {} N = {n}: {events} events (duplicates included), {} agencies ({} with none under them), generated in {:.1} s, evaluated at {clock}",
        case.name,
        reg.len(),
        leaves.len(),
        t0.elapsed().as_secs_f64()
    );
    // chiso reads the registry from a file.
    let agencies = cluster.dir.join(format!("agencies-{}.json", case.name));
    std::fs::write(&agencies, serde_json::to_vec(reg.defs()).unwrap()).unwrap();
    let input = cluster.topics(&format!("pin{}{n}", case.name), 4);
    let p = producer(&cluster.bootstrap);
    send_all(&p, &input.events, lines.iter().map(|l| l.as_bytes()));
    flush(&p);
    drop(lines);
    // One raw pass, not counted: the broker's page cache and JIT.
    let warm = run_raw(cluster, &input.events, events, &format!("raw-warm-{n}"));
    println!("raw consumer (warm-up): {:.0} events/s", warm.events_per_s);

    let mut measured: BTreeMap<System, Vec<Measured>> = BTreeMap::new();
    let mut last_chiso = None;
    let mut last_peer = None;
    for pass in 0..passes {
        let mut order = [System::Raw, System::Chiso, System::Peer];
        order.rotate_left(pass % 3);
        if pass % 2 == 1 {
            order.reverse();
        }
        let last = pass + 1 == passes;
        for system in order {
            let tag = format!("p{}{n}x{pass}", case.name);
            let m = match system {
                System::Raw => run_raw(cluster, &input.events, events, &format!("raw-{tag}")),
                System::Chiso => {
                    let run = ChisoRun::new(cluster, &input.events, &tag, &clock, &agencies);
                    let (m, child) = run.consume(events);
                    // The last pass's process stays up for the restart after kill -9.
                    if last {
                        last_chiso = Some((run, child));
                    } else {
                        terminate(child);
                    }
                    m
                }
                System::Peer => {
                    let run = PeerRun::new(cluster, jar, &input.events, &tag, &clock);
                    let (m, child) = run.consume(events);
                    if last {
                        last_peer = Some((run, child));
                    } else {
                        terminate(child);
                    }
                    m
                }
            };
            println!(
                "pass {pass} {:<20} {:>9.0} events/s  cpu {:>6.1} s  peak RSS {:>6.0} MB  first result {}",
                system.name(),
                m.events_per_s,
                m.cpu_s,
                m.peak_rss_mb,
                m.first_result_s.map_or("-".into(), |s| format!("{s:.1} s"))
            );
            measured.entry(system).or_default().push(m);
        }
    }

    // Agreement, on the last pass of each.
    let (chiso_run, chiso_child) = last_chiso.expect("a chiso pass");
    let (peer_run, peer_child) = last_peer.expect("a peer pass");
    let agreement = compare(
        &latest_results(&cluster.bootstrap, &chiso_run.topics.results),
        &latest_results(&cluster.bootstrap, &peer_run.output),
        &clock,
        &leaves,
    );
    println!("{agreement}");
    if !full_run() {
        assert!(agreement.starts_with("results agree"), "{agreement}");
    }

    // Latency under a steady load, each system alone (the other one stopped with SIGSTOP).
    let (chiso_lat, peer_lat) = if full_run() {
        let seconds = 15;
        stop_cont(&peer_child, "STOP");
        let c = latency(
            cluster,
            Phase {
                events: &chiso_run.topics.events,
                results: &chiso_run.topics.results,
                marker: 0,
                tag: "c",
            },
            &clock,
            &leaves,
            seconds,
        );
        stop_cont(&peer_child, "CONT");
        stop_cont(&chiso_child, "STOP");
        // The peer first catches up on the events of chiso's phase.
        std::thread::sleep(Duration::from_secs(5));
        let p = latency(
            cluster,
            Phase {
                events: &peer_run.events,
                results: &peer_run.output,
                marker: 1,
                tag: "k",
            },
            &clock,
            &leaves,
            seconds,
        );
        stop_cont(&chiso_child, "CONT");
        (c, p)
    } else {
        (Quantiles::default(), Quantiles::default())
    };
    println!("latency event -> results: chiso {chiso_lat}; peer {peer_lat}");

    // Restart after kill -9, with the state of the whole stream.
    let chiso_restore = chiso_run.restart_after_kill(chiso_child);
    let peer_restore = peer_run.restart_after_kill(peer_child);
    println!(
        "restart after kill -9: chiso {chiso_restore:.1} s to /readyz 200, peer {peer_restore:.1} s to RUNNING"
    );

    let med = |s: System, f: &dyn Fn(&Measured) -> f64| -> (f64, f64, f64) {
        let mut v: Vec<f64> = measured[&s].iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let mut text = format!(
        "{} N = {n} ({events} events, {} agencies, {passes} passes, medians with ranges):\n",
        case.name,
        reg.len()
    );
    for s in [System::Raw, System::Chiso, System::Peer] {
        let (r, r0, r1) = med(s, &|m| m.events_per_s);
        let (c, c0, c1) = med(s, &|m| m.cpu_s);
        let (m_, m0, m1) = med(s, &|m| m.peak_rss_mb);
        let first = if s == System::Raw {
            "-".to_owned()
        } else {
            let (f, f0, f1) = med(s, &|m| m.first_result_s.unwrap_or(f64::NAN));
            format!("{f:.1} s ({f0:.1}-{f1:.1})")
        };
        text += &format!(
            "  {:<20} {r:>9.0} events/s ({r0:.0}-{r1:.0})  cpu {c:.1} s ({c0:.1}-{c1:.1})  peak RSS {m_:.0} MB ({m0:.0}-{m1:.0})  first result {first}\n",
            s.name()
        );
    }
    let (chiso_r, _, _) = med(System::Chiso, &|m| m.events_per_s);
    let (peer_r, _, _) = med(System::Peer, &|m| m.events_per_s);
    let (raw_r, _, _) = med(System::Raw, &|m| m.events_per_s);
    let (chiso_m, _, _) = med(System::Chiso, &|m| m.peak_rss_mb);
    let (peer_m, _, _) = med(System::Peer, &|m| m.peak_rss_mb);
    let (chiso_c, _, _) = med(System::Chiso, &|m| m.cpu_s);
    let (peer_c, _, _) = med(System::Peer, &|m| m.cpu_s);
    text += &format!(
        "  latency event -> results under a steady load (2,000 events/s, a marker every 100 ms): chiso {chiso_lat}; peer {peer_lat}\n"
    );
    text += &format!(
        "  ratios: throughput chiso/peer {:.2} (target >= 3), chiso/raw {:.2}; peak RSS chiso/peer {:.2} (target <= 0.2); CPU chiso/peer {:.2}; restart chiso/peer {:.2} (target <= 0.33; chiso {chiso_restore:.1} s, peer {peer_restore:.1} s)\n  {agreement}",
        chiso_r / peer_r,
        chiso_r / raw_r,
        chiso_m / peer_m,
        chiso_c / peer_c,
        chiso_restore / peer_restore,
    );
    text
}

/// Compares the five counts of the month of `clock`, for every agency with no agency under it
/// (chiso's results pool an agency's subtree; the peer counts each agency alone).
fn compare(
    chiso: &BTreeMap<String, Value>,
    peer: &BTreeMap<String, Value>,
    clock: &str,
    leaves: &[String],
) -> String {
    let month = &clock[..7];
    let counts = |results: &BTreeMap<String, Value>, key: &str| -> [u64; 5] {
        let mut out = [0; 5];
        if let Some(v) = results.get(key) {
            for (i, c) in COUNTS.iter().enumerate() {
                out[i] = v["counts"][c].as_u64().unwrap_or(0);
            }
        }
        out
    };
    let (mut agree, mut differ, mut total) = (0, Vec::new(), [0u64; 5]);
    for id in leaves {
        let key = format!("{id}|{month}");
        let (a, b) = (counts(chiso, &key), counts(peer, &key));
        if a == b {
            agree += 1;
            for (t, x) in total.iter_mut().zip(a) {
                *t += x;
            }
        } else {
            differ.push(format!("{key}: chiso {a:?} peer {b:?}"));
        }
    }
    if differ.is_empty() {
        format!(
            "results agree: {agree} agencies, month {month}, totals {}",
            COUNTS
                .iter()
                .zip(total)
                .map(|(c, t)| format!("{c} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            "RESULTS DIFFER for {} of {} agencies ({:?}), e.g.:\n    {}",
            differ.len(),
            agree + differ.len(),
            COUNTS,
            differ
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n    ")
        )
    }
}

/// The agencies with no agency under them, in the registry's order.
fn leaf_agencies(reg: &chiso::core::Registry) -> Vec<String> {
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

// ---------------------------------------------------------------------------------------------
// Latency

/// Latencies in milliseconds: p50, p99, max and how many.
#[derive(Default, Clone, Copy)]
struct Quantiles {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

impl std::fmt::Display for Quantiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.n == 0 {
            return write!(f, "not measured");
        }
        write!(
            f,
            "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} markers)",
            self.p50, self.p99, self.max, self.n
        )
    }
}

/// `kill -STOP` or `-CONT` a process.
fn stop_cont(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status();
}

/// For `seconds`, 2,000 background events a second and a marker every 100 ms: a `received`
/// of a new dossier of `leaves[marker]` (0 or 1; the background never touches those two), so that its `in_scope` on `results` grows by one per marker.
/// The latency of marker k is the time from its send until a result of the agency's month shows
/// `in_scope` ≥ the value before the first marker + k.
/// One system's latency phase: the topics it reads and writes, which leaf agency gets its
/// markers, and a tag that keeps its event and dossier ids apart from the other phase's.
struct Phase<'a> {
    events: &'a str,
    results: &'a str,
    marker: usize,
    tag: &'a str,
}

fn latency(
    cluster: &Cluster,
    phase: Phase<'_>,
    clock: &str,
    leaves: &[String],
    seconds: u64,
) -> Quantiles {
    let Phase {
        events,
        results,
        marker,
        tag,
    } = phase;
    let agency = &leaves[marker];
    use rdkafka::producer::{BaseRecord, Producer};
    use rdkafka::{Offset, TopicPartitionList};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    let key = format!("{agency}|{}", &clock[..7]);
    let base = latest_results(&cluster.bootstrap, results)
        .get(&key)
        .and_then(|v| v["counts"]["in_scope"].as_u64())
        .unwrap_or(0);
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let seen: Arc<Mutex<Vec<f64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (sent, seen, stop) = (sent.clone(), seen.clone(), stop.clone());
        let (bootstrap, results, key) =
            (cluster.bootstrap.clone(), results.to_owned(), key.clone());
        std::thread::spawn(move || {
            let c: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "latency-watcher")
                .set("isolation.level", "read_committed")
                .set("enable.auto.commit", "false")
                .set("fetch.wait.max.ms", "10")
                .create()
                .unwrap();
            let mut tpl = TopicPartitionList::new();
            let parts = c
                .fetch_metadata(Some(&results), Duration::from_secs(10))
                .unwrap()
                .topics()[0]
                .partitions()
                .len() as i32;
            for p in 0..parts {
                tpl.add_partition_offset(&results, p, Offset::End).unwrap();
            }
            c.assign(&tpl).unwrap();
            let mut best = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let Some(Ok(m)) = c.poll(Duration::from_millis(20)) else {
                    continue;
                };
                if m.key() != Some(key.as_bytes()) {
                    continue;
                }
                let v: Value = serde_json::from_slice(m.payload().unwrap_or_default()).unwrap();
                let k = v["counts"]["in_scope"]
                    .as_u64()
                    .unwrap_or(0)
                    .saturating_sub(base);
                if k > best {
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
    let c = Timestamp::parse_rfc3339(clock).unwrap();
    let at = c.saturating_sub(3_600 * 1_000_000_000).to_local_rfc3339();
    let due = c
        .saturating_add(30 * 86_400 * 1_000_000_000)
        .to_local_rfc3339();
    // Background: new dossiers of every leaf agency but the two marker agencies (of this phase
    // and the other's), received an hour before the clock.
    let background = &leaves[2..];
    let p = producer(&cluster.bootstrap);
    let t0 = Instant::now();
    let mut n_bg = 0usize;
    for k in 1..=seconds * 10 {
        let chunk: Vec<String> = (0..200)
            .map(|_| {
                n_bg += 1;
                let a = &background[n_bg % background.len()];
                format!(
                    r#"{{"event_id":"bg-{tag}-{n_bg}","type":"received","occurred_at":"{at}","agency_id":"{a}","dossier_id":"BG-{tag}-{n_bg}","procedure_id":"1.0","due_at":"{due}","channel":"direct"}}"#
                )
            })
            .collect();
        send_all(&p, events, chunk.iter().map(|l| l.as_bytes()));
        let marker = format!(
            r#"{{"event_id":"lat-{tag}-{k}","type":"received","occurred_at":"{at}","agency_id":"{agency}","dossier_id":"LAT-{tag}-{k}","procedure_id":"1.0","due_at":"{due}","channel":"direct"}}"#
        );
        sent.lock().unwrap().insert(k, Instant::now());
        p.send(
            BaseRecord::to(events)
                .key(agency.as_bytes())
                .payload(&marker),
        )
        .map_err(|(e, _)| e)
        .unwrap();
        p.poll(Duration::ZERO);
        if let Some(w) = Duration::from_millis(100 * k).checked_sub(t0.elapsed()) {
            std::thread::sleep(w);
        }
    }
    p.flush(Duration::from_secs(30)).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let mut l = seen.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    if l.is_empty() {
        return Quantiles::default();
    }
    let q = |f: f64| l[((l.len() as f64 * f).ceil() as usize).clamp(1, l.len()) - 1];
    Quantiles {
        p50: q(0.5),
        p99: q(0.99),
        max: l[l.len() - 1],
        n: l.len(),
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// CPU-seconds (user + system) and peak RSS (MB) of a live process, from /proc.
fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let cpu = (ticks(11) + ticks(12)) / clock_ticks();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, hwm_kb / 1024.0)
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Polls until `group` has committed `n` offsets of `topic`; panics after 30 minutes.
fn await_committed(bootstrap: &str, group: &str, topic: &str, n: usize, child: &mut Child) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offsets reader");
    let deadline = Instant::now() + Duration::from_secs(1800);
    while committed_total(&c, topic) < n as i64 {
        if let Some(s) = child.try_wait().unwrap() {
            panic!("{group}: exited ({s}) before committing every event");
        }
        assert!(Instant::now() < deadline, "{group}: not done in 30 minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, and waits for the exit.
fn terminate(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// The earliest record timestamp (ms since the epoch) of a topic.
fn first_record_ms(bootstrap: &str, topic: &str) -> Option<i64> {
    read_all(bootstrap, topic)
        .iter()
        .filter_map(|r| r.timestamp)
        .min()
}

/// The baseline in a process of its own: this binary again, as CHISO_PEERS_ROLE=raw.
fn run_raw(cluster: &Cluster, topic: &str, n: usize, group: &str) -> Measured {
    let started = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .env("CHISO_PEERS_ROLE", "raw")
        .env("CHISO_PEERS_BOOTSTRAP", &cluster.bootstrap)
        .env("CHISO_PEERS_TOPIC", topic)
        .env("CHISO_PEERS_GROUP", group)
        .env("CHISO_PEERS_N", n.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("raw consumer");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "raw consumer failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let (cpu, rss) = text
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("raw: ")?;
            let mut it = rest.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            Some((it.next()?, it.next()?))
        })
        .expect("the raw consumer's usage line");
    Measured {
        events_per_s: n as f64 / secs,
        cpu_s: cpu,
        peak_rss_mb: rss,
        first_result_s: None,
    }
}

/// CHISO_PEERS_ROLE=raw: a plain group consumer that polls every message of the topic and
/// touches its payload, then prints its own CPU and peak RSS.
fn raw_consumer() {
    let var = |k: &str| std::env::var(k).unwrap();
    let n: usize = var("CHISO_PEERS_N").parse().unwrap();
    let raw: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", var("CHISO_PEERS_BOOTSTRAP"))
        .set("group.id", var("CHISO_PEERS_GROUP"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    raw.subscribe(&[&var("CHISO_PEERS_TOPIC")]).unwrap();
    let (mut seen, mut bytes) = (0usize, 0usize);
    while seen < n {
        if let Some(Ok(m)) = raw.poll(Duration::from_millis(100)) {
            bytes += m.payload().map_or(0, |p| p.len());
            seen += 1;
        }
    }
    std::hint::black_box(bytes);
    let (cpu, rss) = usage(std::process::id());
    println!("raw: {cpu} {rss}");
}

/// When a system was started, to measure its pass.
struct Started {
    at: Instant,
    epoch_ms: i64,
}

impl Started {
    fn now() -> Started {
        Started {
            at: Instant::now(),
            epoch_ms: now_ms(),
        }
    }

    /// Waits until `group` has committed all `n` events of `events`, then measures the process;
    /// and, three commit intervals later (both publish the results of their last events a moment
    /// after that commit), the time to the first record on `output`.
    fn measure(
        &self,
        bootstrap: &str,
        group: &str,
        events: &str,
        output: &str,
        n: usize,
        child: &mut Child,
    ) -> Measured {
        await_committed(bootstrap, group, events, n, child);
        let secs = self.at.elapsed().as_secs_f64();
        let (cpu, rss) = usage(child.id());
        std::thread::sleep(Duration::from_millis(3 * COMMIT_MS));
        let first =
            first_record_ms(bootstrap, output).map(|ms| (ms - self.epoch_ms) as f64 / 1000.0);
        Measured {
            events_per_s: n as f64 / secs,
            cpu_s: cpu,
            peak_rss_mb: rss,
            first_result_s: first,
        }
    }
}

/// One `chiso run` pass: its own group, output topics and HTTP port, the shared events topic.
struct ChisoRun {
    bootstrap: String,
    topics: Topics,
    config: PathBuf,
    port: u16,
    log: PathBuf,
}

impl ChisoRun {
    fn new(cluster: &Cluster, events: &str, tag: &str, clock: &str, agencies: &Path) -> ChisoRun {
        let topics = Topics {
            events: events.to_owned(),
            ..cluster.topics(&format!("c{tag}"), 4)
        };
        let dir = cluster.dir.join(format!("chiso-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("chiso.toml");
        let port = free_port();
        let t = &topics;
        std::fs::write(
            &config,
            format!(
                r#"[kafka]
bootstrap_servers = "{bootstrap}"
group_id = "{group}"
instance_id = "{group}"
static_membership = true
[kafka.topics]
events = "{events}"
state = "{state}"
partials = "{partials}"
results = "{results}"
dead_letter = "{dead}"
[pipeline]
clock = "{clock}"
commit_interval_ms = {COMMIT_MS}
[engine]
agencies = "{agencies}"
[engine.finals_kept]
month = 0
quarter = 0
year = 0
[http]
bind = "127.0.0.1:{port}"
"#,
                bootstrap = cluster.bootstrap,
                group = t.prefix,
                events = t.events,
                state = t.state,
                partials = t.partials,
                results = t.results,
                dead = t.dead_letter,
                agencies = agencies.display(),
            ),
        )
        .unwrap();
        ChisoRun {
            bootstrap: cluster.bootstrap.clone(),
            log: dir.join("run.log"),
            topics,
            config,
            port,
        }
    }

    fn spawn(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        Command::new(CHISO)
            .args(["run", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("chiso run")
    }

    /// Consumes the whole topic; the measurement and the still running process.
    fn consume(&self, n: usize) -> (Measured, Child) {
        let started = Started::now();
        let mut child = self.spawn();
        let t = &self.topics;
        let m = started.measure(
            &self.bootstrap,
            &t.prefix,
            &t.events,
            &t.results,
            n,
            &mut child,
        );
        (m, child)
    }

    /// `kill -9`, then the seconds from the new start to `/readyz` 200 (state restored).
    fn restart_after_kill(&self, mut child: Child) -> f64 {
        child.kill().unwrap();
        child.wait().unwrap();
        let started = Instant::now();
        let child = self.spawn();
        assert!(
            await_readyz(self.port, 200, Duration::from_secs(600)),
            "chiso not ready after its restart; log {}",
            self.log.display()
        );
        let secs = started.elapsed().as_secs_f64();
        terminate(child);
        secs
    }
}

/// One pass of the Kafka Streams peer: its own application id (group), state directory and
/// output topic.
struct PeerRun {
    bootstrap: String,
    jar: PathBuf,
    app_id: String,
    events: String,
    output: String,
    state_dir: PathBuf,
    clock: String,
    log: PathBuf,
}

impl PeerRun {
    fn new(cluster: &Cluster, jar: &Path, events: &str, tag: &str, clock: &str) -> PeerRun {
        let topics = cluster.topics(&format!("k{tag}"), 4);
        let dir = cluster.dir.join(format!("peer-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        PeerRun {
            bootstrap: cluster.bootstrap.clone(),
            jar: jar.to_owned(),
            app_id: topics.prefix.clone(),
            events: events.to_owned(),
            output: topics.results,
            state_dir: dir.join("state"),
            clock: clock.to_owned(),
            log: dir.join("peer.log"),
        }
    }

    /// Starts the peer; a thread copies its standard output to the log and reports when it
    /// says it is running.
    fn spawn(&self) -> (Child, std::sync::mpsc::Receiver<()>) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = Command::new("java")
            .args(peer_jvm_options())
            .arg("-jar")
            .arg(&self.jar)
            .args(["--bootstrap", &self.bootstrap])
            .args(["--input", &self.events])
            .args(["--output", &self.output])
            .args(["--app-id", &self.app_id])
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(["--clock", &self.clock])
            .args(["--commit-interval-ms", &COMMIT_MS.to_string()])
            // Static membership, as chiso is run here: a restarted instance takes its tasks
            // back at once instead of waiting for its predecessor's session to time out.
            .arg("--config")
            .arg(format!("group.instance.id={}-1", self.app_id))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .expect("java -jar (the Kafka Streams peer)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut log = log;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                use std::io::Write;
                let _ = writeln!(log, "{line}");
                if line.trim() == "peer: running" {
                    let _ = tx.send(());
                }
            }
        });
        (child, rx)
    }

    fn consume(&self, n: usize) -> (Measured, Child) {
        let started = Started::now();
        let (mut child, _running) = self.spawn();
        let m = started.measure(
            &self.bootstrap,
            &self.app_id,
            &self.events,
            &self.output,
            n,
            &mut child,
        );
        (m, child)
    }

    /// `kill -9`, then the seconds from the new start to Kafka Streams' RUNNING state (its
    /// stores restored from their changelogs: under exactly-once an unclean stop leaves no
    /// checkpoint to start from).
    fn restart_after_kill(&self, mut child: Child) -> f64 {
        child.kill().unwrap();
        child.wait().unwrap();
        let started = Instant::now();
        let (child, running) = self.spawn();
        running
            .recv_timeout(Duration::from_secs(600))
            .unwrap_or_else(|_| panic!("the peer never ran again; log {}", self.log.display()));
        let secs = started.elapsed().as_secs_f64();
        terminate(child);
        secs
    }
}

/// The peer's JVM: G1 with a maximum heap (CHISO_BENCH_PEER_HEAP, default 1g) and no minimum,
/// so that its resident memory follows what it uses rather than what it is allowed.
fn peer_jvm_options() -> Vec<String> {
    let heap = std::env::var("CHISO_BENCH_PEER_HEAP").unwrap_or_else(|_| "1g".into());
    vec![format!("-Xmx{heap}"), "-XX:+UseG1GC".into()]
}
