//! Broker faults against a real Apache Kafka, with `chiso run` kept running throughout: the
//! only broker of a single-node cluster restarts mid-stream, and one broker of three
//! (replication 3, min ISR 2) is killed mid-stream. The engine waits, retries, restores and
//! carries on; the results topic ends equal to `chiso replay`. While the only broker is down the
//! engine reports not-ready on `/readyz`, and ready again once it is back.

mod support_kafka;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use support_kafka::*;

const AT: &str = "2024-09-12T16:00:00+07:00";

/// The two tests each run a cluster of their own; one at a time on a small machine.
static SERIAL: Mutex<()> = Mutex::new(());

fn stream(
    seed: u64,
) -> (
    Vec<String>,
    std::collections::BTreeMap<String, serde_json::Value>,
    tempfile::TempDir,
) {
    let lines = generate(seed, "2024-08-05T00:00:00+07:00", 10_000, 1500.0);
    let dir = tempdir();
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &lines);
    let want = replay(&file, AT);
    (lines, want, dir)
}

#[test]
fn single_broker_restart_mid_stream() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start("restart", 1);
    let topics = cluster.topics("restart", 3);
    let (lines, want, _dir) = stream(41);
    let port = free_port();
    let mut setup = EngineSetup::new(&cluster, &topics, "restart-a", AT);
    setup.http_port = Some(port);
    let mut engine = setup.spawn();
    let producing = produce_steadily(&cluster.bootstrap, &topics.events, lines, 3000);
    assert!(
        await_readyz(port, 200, Duration::from_secs(60)),
        "ready once the partitions are restored"
    );
    std::thread::sleep(Duration::from_secs(4));
    let outage = Instant::now();
    cluster.stop_node(1);
    assert!(
        await_readyz(port, 503, Duration::from_secs(8)),
        "not ready while the only broker is down"
    );
    // Not ready for the whole outage: no flapping back while nothing can be committed.
    while outage.elapsed() < Duration::from_secs(8) {
        assert_ne!(
            readyz(port),
            Some(200),
            "ready while the only broker is down"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    engine.assert_running();
    cluster.start_node(1);
    producing.join().unwrap();
    await_results_of(
        &engine,
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(240),
    );
    assert!(
        await_readyz(port, 200, Duration::from_secs(60)),
        "ready again once the broker is back, without a restart"
    );
    engine.assert_running();
    let log = engine.log_text();
    assert!(
        log.contains("session ended"),
        "the engine noticed the outage and restored in a new session"
    );
    assert!(engine.terminate(Duration::from_secs(25)).success());
}

#[test]
fn losing_one_broker_of_three() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start("three", 3);
    let topics = cluster.topics("three", 3);
    let (lines, want, _dir) = stream(43);
    let mut engine = EngineSetup::new(&cluster, &topics, "three-a", AT).spawn();
    let producing = produce_steadily(&cluster.bootstrap, &topics.events, lines, 3000);
    std::thread::sleep(Duration::from_secs(6));
    // kill -9, and it stays down: replication 3 with min ISR 2 keeps every topic writable.
    cluster.kill_node(1);
    producing.join().unwrap();
    await_results_of(
        &engine,
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(240),
    );
    engine.assert_running();
    assert!(engine.terminate(Duration::from_secs(25)).success());
}
