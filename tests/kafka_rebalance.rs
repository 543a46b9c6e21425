//! Rebalancing against a real Apache Kafka: a second `chiso run` joins mid-stream, the first
//! leaves and comes back, the second leaves. Event partitions and the roll-up stage move
//! between the instances (cooperative rebalancing, state restored from the state topic); the
//! results topic ends equal to `chiso replay`, and no partition or roll-up was owned (so
//! exported) by both instances at once. While two instances share the work both are ready, one
//! serves the results and the other says they are served elsewhere, and neither gives a list of
//! open dossiers that would miss the other's.

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

    let mut a_setup = EngineSetup::new(cluster, &topics, "reb-a", AT);
    let mut b_setup = EngineSetup::new(cluster, &topics, "reb-b", AT);
    let (a_port, b_port) = (free_port(), free_port());
    a_setup.http_port = Some(a_port);
    b_setup.http_port = Some(b_port);
    let producing = produce_steadily(&cluster.bootstrap, &topics.events, lines, 4000);

    let mut a = a_setup.spawn();
    std::thread::sleep(Duration::from_secs(4));
    let mut b = b_setup.spawn();
    std::thread::sleep(Duration::from_secs(6));
    a.assert_running();
    b.assert_running();
    shared_work_is_answered_honestly(a_port, b_port);
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
    // Alone again, the first instance answers everything.
    assert!(await_readyz(a_port, 200, Duration::from_secs(30)));
    assert_eq!(status(a_port, "/api/v1/results").0, 200);
    assert_eq!(status(a_port, "/api/v1/agencies/TQ/overdue").0, 200);
    assert!(a.terminate(Duration::from_secs(25)).success());

    let (a_log, b_log) = (
        std::fs::read_to_string(&a_log).unwrap(),
        std::fs::read_to_string(&b_log).unwrap(),
    );
    let (a_own, b_own) = (ownership(&a_log), ownership(&b_log));
    assert!(
        b_own.iter().any(|(w, _, _)| w == "rollup") && a_own.iter().any(|(w, _, _)| w == "rollup"),
        "the roll-up stage moved between the instances: {a_own:?} {b_own:?}"
    );
    assert!(
        b_own.iter().any(|(w, _, _)| w.starts_with('p')),
        "the second instance got event partitions"
    );
    assert_exclusive(&a_log, &b_log);
}

/// Status and error code of `GET path`.
fn status(port: u16, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(3)))
        .build()
        .into();
    let mut r = agent
        .get(format!("http://127.0.0.1:{port}{path}"))
        .call()
        .expect("the instance answers");
    let body: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or_default();
    (
        r.status().as_u16(),
        body["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// Two instances share the work: both ready, one serves the results, neither lists open
/// dossiers it cannot see.
fn shared_work_is_answered_honestly(a: u16, b: u16) {
    for port in [a, b] {
        assert!(
            await_readyz(port, 200, Duration::from_secs(30)),
            "both instances ready"
        );
    }
    // Wait for the group to settle: exactly one serves the results.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let served = loop {
        let (ra, rb) = (status(a, "/api/v1/results"), status(b, "/api/v1/results"));
        if (ra.0 == 200) != (rb.0 == 200) {
            break (ra, rb);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "one instance serves the results: {ra:?} {rb:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let elsewhere = if served.0 .0 == 200 {
        served.1
    } else {
        served.0
    };
    assert_eq!(elsewhere, (503, "results_elsewhere".to_owned()));
    for port in [a, b] {
        let (s, code) = status(port, "/api/v1/agencies/TQ/overdue");
        // An instance that owns all four partitions may list them; one that owns some, not.
        assert!(
            s == 200 || (s, code.as_str()) == (503, "lists_incomplete"),
            "an instance with part of the partitions lists nothing: {s} {code}"
        );
    }
}
