//! `/readyz` tells the truth, against a real Apache Kafka: from the first poll after a cold
//! start and after a `kill -9` restart, whenever `/readyz` says 200 the instance owns every
//! event partition, serves every agency's result and the overdue list it would give once
//! settled — never "ready with nothing". And with no broker at all, the API says Kafka is
//! unreachable (not "restoring"), and SIGTERM stops the process at once without announcing a
//! new session.

mod support_kafka;

use std::time::{Duration, Instant};

use serde_json::Value;
use support_kafka::*;

const AT: &str = "2024-09-18T10:00:00+07:00";
const ROOT_AGENCY: &str = "TQ";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(3)))
        .build()
        .into()
}

/// Status and JSON body of `GET path`; `None` when the server does not answer.
fn get(port: u16, path: &str) -> Option<(u16, Value)> {
    let mut r = agent()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .call()
        .ok()?;
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().ok()?;
    Some((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

fn gauge(port: u16, name: &str) -> Option<f64> {
    let mut r = agent()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .ok()?;
    let text = r.body_mut().read_to_string().ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.trim().parse().ok())
}

/// What a ready instance must show, from `chiso replay` of the same events at the same clock.
struct Truth {
    agencies: usize,
    partitions: f64,
    root_overdue: u64,
}

/// Polls the instance for `within`: every 200 of `/readyz` must come with the whole truth.
/// Returns how many ready answers were checked.
fn watch(port: u16, truth: &Truth, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    let mut ready = 0;
    while Instant::now() < deadline {
        if let Some((200, body)) = get(port, "/readyz") {
            ready += 1;
            assert_eq!(body["ready"], true);
            let owned = gauge(port, "chiso_partitions_owned");
            assert_eq!(
                owned,
                Some(truth.partitions),
                "ready, so it owns every partition: {body}"
            );
            let (status, results) = get(port, "/api/v1/results").expect("results");
            let n = results["results"].as_array().map_or(0, Vec::len);
            assert!(
                status == 200 && n == truth.agencies,
                "ready, so every agency's result is served: {status}, {n} results"
            );
            let (status, overdue) = get(
                port,
                &format!("/api/v1/agencies/{ROOT_AGENCY}/overdue?limit=1"),
            )
            .expect("overdue");
            assert_eq!(status, 200, "{overdue}");
            assert_eq!(
                overdue["total"].as_u64(),
                Some(truth.root_overdue),
                "ready, so the overdue list is the whole one"
            );
        } else if let Some((503, body)) = get(port, "/api/v1/results") {
            // Not ready: the API says so, with the reason, never an empty list.
            assert_eq!(body["code"], "not_ready", "{body}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ready
}

#[test]
fn ready_means_every_partition_restored_after_a_cold_start_and_a_kill_9() {
    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("ready{}", std::process::id()), 3);
    let lines = generate(7, "2024-08-20T00:00:00+07:00", 6_000, 600.0);
    let dir = tempdir();
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &lines);
    let want = replay(&file, AT);
    let month = "2024-09";
    let truth = Truth {
        agencies: registry().len(),
        partitions: 3.0,
        root_overdue: want[&format!("{ROOT_AGENCY}|{month}")]["counts"]["open_overdue"]
            .as_u64()
            .unwrap(),
    };
    assert!(truth.root_overdue > 0, "the stream has overdue dossiers");
    let p = producer(&cluster.bootstrap);
    send_all(&p, &topics.events, lines.iter().map(|l| l.as_bytes()));
    flush(&p);

    let port = free_port();
    let mut setup = EngineSetup::new(cluster, &topics, "ready-a", AT);
    setup.http_port = Some(port);
    setup.static_membership = true;
    let mut engine = setup.spawn();
    assert!(
        watch(port, &truth, Duration::from_secs(25)) > 0,
        "never ready after a cold start; log:\n{}",
        engine.log_text()
    );
    for round in 1..=2 {
        engine.kill();
        let t0 = Instant::now();
        engine = setup.spawn();
        let ready = watch(port, &truth, Duration::from_secs(30));
        assert!(
            ready > 0,
            "restart {round}: never ready within 30 s; log:\n{}",
            engine.log_text()
        );
        eprintln!(
            "kill -9 #{round}: {ready} ready answers checked in {:?}",
            t0.elapsed()
        );
    }
}

#[test]
fn without_a_broker_the_api_says_kafka_is_unreachable_and_sigterm_is_quick() {
    let cluster_dir = tempdir();
    // A port nothing listens on.
    let dead = free_port();
    let topics = Topics::named("nobroker");
    let port = free_port();
    let setup = EngineSetup {
        bootstrap: format!("127.0.0.1:{dead}"),
        run_root: cluster_dir.path().to_path_buf(),
        topics,
        instance: "nobroker-a".into(),
        clock: AT.into(),
        static_membership: false,
        http_port: Some(port),
    };
    let engine = setup.spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        if let Some((503, body)) = get(port, "/readyz") {
            if body["reason"] == "kafka_unreachable" {
                break body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never said Kafka is unreachable: {:?}; log:\n{}",
            get(port, "/readyz"),
            engine.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(body["ready"], false);
    let (status, api) = get(port, "/api/v1/results").unwrap();
    assert_eq!(status, 503);
    assert_eq!(api["code"], "not_ready");
    let message = api["error"].as_str().unwrap();
    assert!(message.contains("Kafka is unreachable"), "{message}");
    assert!(!message.contains("restor"), "{message}");

    let log = engine.log.clone();
    let t0 = Instant::now();
    let status = engine.terminate(Duration::from_secs(20));
    let took = t0.elapsed();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(status.success(), "exit status {status}:\n{text}");
    assert!(
        !text.contains("starting a new one"),
        "a stopping process announces no new session:\n{text}"
    );
    assert!(
        took < Duration::from_secs(3),
        "SIGTERM took {took:?}:\n{text}"
    );
}
