//! Rebalancing against a real Apache Kafka: a second `chiso run` joins mid-stream, the first
//! leaves and comes back, the second leaves. Event partitions and the roll-up stage move
//! between the instances (cooperative rebalancing, state restored from the state topic); the
//! results topic ends equal to `chiso replay`, and no partition or roll-up was owned (so
//! exported) by both instances at once.

mod support_kafka;

use std::time::Duration;

use support_kafka::*;

const AT: &str = "2024-09-10T11:00:00+07:00";

#[test]
fn instances_join_and_leave_mid_stream() {
    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("reb{}", std::process::id()), 4);
    let lines = generate(31, "2024-08-01T00:00:00+07:00", 12_000, 1500.0);
    let dir = tempdir();
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &lines);
    let want = replay(&file, AT);

    let a_setup = EngineSetup::new(cluster, &topics, "reb-a", AT);
    let b_setup = EngineSetup::new(cluster, &topics, "reb-b", AT);
    let producing = produce_steadily(&cluster.bootstrap, &topics.events, lines, 4000);

    let mut a = a_setup.spawn();
    std::thread::sleep(Duration::from_secs(4));
    let mut b = b_setup.spawn();
    std::thread::sleep(Duration::from_secs(6));
    a.assert_running();
    b.assert_running();
    // The first instance leaves: its partitions and the roll-up stage move to the second.
    let a_log = a.log.clone();
    assert!(a.terminate(Duration::from_secs(25)).success());
    std::thread::sleep(Duration::from_secs(4));
    let mut a = a_setup.spawn();
    std::thread::sleep(Duration::from_secs(6));
    a.assert_running();
    b.assert_running();
    // The second leaves; the first (back) ends alone.
    let b_log = b.log.clone();
    assert!(b.terminate(Duration::from_secs(25)).success());
    producing.join().unwrap();
    await_results(
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(180),
    );
    assert!(a.terminate(Duration::from_secs(25)).success());

    let a_own = ownership(&std::fs::read_to_string(&a_log).unwrap());
    let b_own = ownership(&std::fs::read_to_string(&b_log).unwrap());
    assert!(
        b_own.iter().any(|(w, _, _)| w == "rollup") && a_own.iter().any(|(w, _, _)| w == "rollup"),
        "the roll-up stage moved between the instances: {a_own:?} {b_own:?}"
    );
    assert!(
        b_own.iter().any(|(w, _, _)| w.starts_with('p')),
        "the second instance got event partitions"
    );
    assert_exclusive(&a_own, &b_own);
}
