//! chiso side by side with what a team would otherwise build: a raw rdkafka consumer (the
//! baseline), `chiso run`, and a Kafka Streams application (`benches/peers/kafka-streams/`, the
//! peer) consume the same events topic on one broker and one machine, in one run.
//!
//! `scripts/bench-peers` (which builds the peer and starts a private Kafka) runs
//! `cargo bench --bench peers`. For each case (CHISO_BENCH_PEER_EVENTS, default
//! "1000000,5000000,country:1000000": N events of the sample province, or of a country-sized
//! registry of 3,321 communes for the cardinality case), a generated stream is cut down to the rules the peer implements (see
//! [`stream::peer_stream`]) and produced to a 4-partition topic keyed by `agency_id`; then, for
//! CHISO_BENCH_PASSES passes (default 3) with the order of the systems rotated each pass, every
//! system reads the topic from the start with a fresh group and fresh output topics. Per system
//! and pass it reports events/s until the results of the last event are committed (the group's
//! committed offsets reach the end of the topic: both commit offsets in the transaction that
//! carries the results), CPU-seconds and peak RSS of the process, and the time from start to
//! the first result on the output topic. After the last pass it compares the results (the five
//! counts of the current month of every agency with no agency under it), measures the latency
//! from an event to its result under a steady load (each system alone, the other stopped), and
//! the restart after `kill -9` with the state of the whole stream: chiso until `/readyz`
//! answers 200, the peer until Kafka Streams is RUNNING again, CHISO_BENCH_RESTARTS times each
//! (default 3), alternating, each kill on the process the previous restart started. Medians and
//! ranges at the end (the upper median of an even count), and the ratios of the medians.
//!
//! The peer runs with CHISO_BENCH_PEER_PROFILE (see [`systems::PeerProfile`]): `defaults`
//! (Kafka Streams' RocksDB settings, a heap of at most CHISO_BENCH_PEER_HEAP, default 1g), or
//! `bounded` (all its RocksDB stores within CHISO_BENCH_PEER_ROCKSDB_MB, default 64, and a heap
//! of 384m by default). The report names the profile.
//!
//! Under `cargo test` (no `--bench` argument) it runs once on a small stream as a test, with one
//! restart by default: the results of chiso and the peer must agree.

#[path = "../../tests/support_kafka/mod.rs"]
mod support_kafka;

mod latency;
mod stream;
mod systems;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use latency::{latency, stop_cont, Phase, Quantiles};
use stream::{country_registry, leaf_agencies, peer_stream};
use support_kafka::*;
use systems::{raw_consumer, run_raw, terminate, ChisoRun, Measured, PeerProfile, PeerRun};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The five counts the peer computes.
pub(crate) const COUNTS: [&str; 5] = ["in_scope", "on_time", "late", "open_overdue", "due_soon"];
/// Event types the peer implements; the others are left out of the compared stream.
pub(crate) const PEER_TYPES: [&str; 7] = [
    "received",
    "processed",
    "returned",
    "withdrawn",
    "supplement_requested",
    "supplement_received",
    "overdue",
];
/// Commit interval of both systems (chiso's default; the peer is given the same).
pub(crate) const COMMIT_MS: u64 = 1000;

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
    let count = |var: &str| -> usize {
        let n = std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if full { 3 } else { 1 });
        assert!(n > 0, "{var}: at least 1");
        n
    };
    let (passes, restarts) = (count("CHISO_BENCH_PASSES"), count("CHISO_BENCH_RESTARTS"));
    let profile = PeerProfile::from_env();
    println!("peer profile: {profile}");
    let mut report = Vec::new();
    for case in &cases {
        report.push(size_run(&cluster, &jar, case, passes, restarts, &profile));
    }
    println!("\n=== summary ===");
    println!("peer profile: {profile}");
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

/// The median (the upper one of an even count), the minimum and the maximum.
fn median_range(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn size_run(
    cluster: &Cluster,
    jar: &Path,
    case: &Case,
    passes: usize,
    restarts: usize,
    profile: &PeerProfile,
) -> String {
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
                    let run = PeerRun::new(cluster, jar, &input.events, &tag, &clock, profile);
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
    let (chiso_run, mut chiso_child) = last_chiso.expect("a chiso pass");
    let (peer_run, mut peer_child) = last_peer.expect("a peer pass");
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

    // Restart after kill -9, with the state of the whole stream: each kill ends the process
    // the previous restart started, chiso and the peer in turn.
    let (mut chiso_secs, mut peer_secs) = (Vec::new(), Vec::new());
    for k in 1..=restarts {
        let (c, child) = chiso_run.restart_after_kill(chiso_child);
        chiso_child = child;
        let (p, child) = peer_run.restart_after_kill(peer_child);
        peer_child = child;
        println!(
            "restart {k}/{restarts} after kill -9: chiso {c:.1} s to /readyz 200, peer {p:.1} s to RUNNING"
        );
        chiso_secs.push(c);
        peer_secs.push(p);
    }
    terminate(chiso_child);
    terminate(peer_child);
    let (chiso_restart, c0, c1) = median_range(chiso_secs);
    let (peer_restart, p0, p1) = median_range(peer_secs);
    let restart = format!(
        "restart after kill -9 ({restarts} of each): chiso {chiso_restart:.1} s ({c0:.1}-{c1:.1}) to /readyz 200, peer {peer_restart:.1} s ({p0:.1}-{p1:.1}) to RUNNING"
    );
    println!("{restart}");

    let med = |s: System, f: &dyn Fn(&Measured) -> f64| -> (f64, f64, f64) {
        median_range(measured[&s].iter().map(f).collect())
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
        "  latency event -> results under a steady load (2,000 events/s, a marker every 100 ms): chiso {chiso_lat}; peer {peer_lat}\n  {restart}\n"
    );
    text += &format!(
        "  ratios: throughput chiso/peer {:.2} (target >= 3), chiso/raw {:.2}; peak RSS chiso/peer {:.2} (target <= 0.2); CPU chiso/peer {:.2}; restart chiso/peer {:.2} (target <= 0.33)\n  {agreement}",
        chiso_r / peer_r,
        chiso_r / raw_r,
        chiso_m / peer_m,
        chiso_c / peer_c,
        chiso_restart / peer_restart,
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
