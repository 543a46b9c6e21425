//! End to end against a real Apache Kafka (started by `scripts/kafka`): events produced to the
//! events topic → `chiso run` → the results topic holds exactly what `chiso replay` prints for
//! the same events at the same evaluation time; rejects land in the dead-letter topic.

mod support_kafka;

use std::collections::BTreeMap;
use std::time::Duration;

use support_kafka::*;

/// Evaluation time of these tests: mid-month, with events before and after it in the stream.
const AT: &str = "2024-07-24T15:30:00+07:00";

#[test]
fn results_topic_equals_replay_with_duplicates_and_late_events() {
    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("eq{}", std::process::id()), 4);
    let mut lines = generate(11, "2024-06-20T00:00:00+07:00", 5000, 350.0);
    // Duplicates (same event id, some with different content: the first accepted one wins) and
    // late arrivals: the tail of the stream is sent again at the end, shuffled in blocks.
    let n = lines.len();
    let mut again: Vec<String> = lines[n / 3..n / 3 + 2000].to_vec();
    again.reverse();
    for l in again.iter_mut().step_by(7) {
        *l = l.replace("\"channel\":\"direct\"", "\"channel\":\"online\"");
    }
    lines.extend(again);
    let dir = tempdir();
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &lines);
    let want = replay(&file, AT);
    assert!(
        want.len() > 400,
        "the sample province has results for every agency"
    );

    let setup = EngineSetup::new(cluster, &topics, "eq-a", AT);
    let engine = setup.spawn();
    let p = producer(&cluster.bootstrap);
    send_all(&p, &topics.events, lines.iter().map(|l| l.as_bytes()));
    flush(&p);
    await_results(
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(120),
    );

    // Nothing was rejected: the dead-letter topic is empty; every applied event is in the state
    // changelog exactly once.
    assert!(read_all(&cluster.bootstrap, &topics.dead_letter).is_empty());
    // What the topics hold is what the published schemas describe.
    let results = assert_topic_valid(&cluster.bootstrap, &topics.results, &schema("results"));
    let partials = assert_topic_valid(&cluster.bootstrap, &topics.partials, &schema("partials"));
    assert!(results >= want.len() && partials > 0);

    // `chiso report --kafka` reads those results back: its notice equals the one made from the
    // replay's results.
    let run_config = dir.path().join("run.toml");
    setup.write_config(&run_config);
    let replayed = dir.path().join("replayed.jsonl");
    write_lines(
        &replayed,
        &want.values().map(|v| v.to_string()).collect::<Vec<_>>(),
    );
    let from_kafka = report(
        dir.path(),
        &["--kafka", "--config", run_config.to_str().unwrap()],
    );
    let from_file = report(dir.path(), &["--results", replayed.to_str().unwrap()]);
    assert!(from_kafka.lines().count() > 100, "{from_kafka}");
    assert_eq!(from_kafka, from_file);
    let status = engine.terminate(Duration::from_secs(25));
    assert!(status.success(), "chiso run exited with {status}");
}

/// `chiso report --period 2024-07 --format csv` from `source`, as text.
fn report(dir: &std::path::Path, source: &[&str]) -> String {
    let out = dir.join(format!("report-{}", source[0].trim_start_matches('-')));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_chiso"))
        .args(["report", "--period", "2024-07", "--format", "csv", "--out"])
        .arg(&out)
        .args(source)
        .status()
        .expect("chiso report");
    assert!(status.success(), "chiso report {source:?} failed");
    std::fs::read_to_string(out.join("report-2024-07.csv")).unwrap()
}

/// One message per reject class of the contract, with the code it must be dead-lettered with.
fn poison(agency: &str) -> Vec<(Vec<u8>, &'static str)> {
    let ok = |id: &str, extra: &str| {
        format!(
            r#"{{"event_id":"{id}","type":"received","occurred_at":"2024-07-02T08:00:00+07:00","agency_id":"{agency}","dossier_id":"pd","due_at":"2024-07-09T08:00:00+07:00"{extra}}}"#
        )
    };
    let big = format!(
        r#"{{"event_id":"big","type":"synced","occurred_at":"2024-07-02T08:00:00+07:00","agency_id":"{agency}","dossier_id":"d","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    vec![
        (big.into_bytes(), "too_large"),
        (b"{\"event_id\":\"\xff\xfe\"}".to_vec(), "invalid_utf8"),
        (b"hello, kafka".to_vec(), "not_json"),
        (b"[1, 2, 3]".to_vec(), "not_object"),
        (
            format!(r#"{{"event_id":"a","event_id":"b","type":"synced","occurred_at":"2024-07-02T08:00:00Z","agency_id":"{agency}","dossier_id":"d"}}"#).into_bytes(),
            "duplicate_field",
        ),
        (
            format!(r#"{{"event_id":"m1","type":"synced","agency_id":"{agency}","dossier_id":"d"}}"#).into_bytes(),
            "missing_field",
        ),
        (ok("p1", r#","digitized":"yes""#).into_bytes(), "invalid_type"),
        (ok("p2", r#","channel":"fax""#).into_bytes(), "invalid_value"),
        (
            format!(r#"{{"event_id":"t1","type":"synced","occurred_at":"2024-07-02 08:00:00","agency_id":"{agency}","dossier_id":"d"}}"#).into_bytes(),
            "invalid_timestamp",
        ),
        (
            format!(r#"{{"event_id":"{}","type":"synced","occurred_at":"2024-07-02T08:00:00Z","agency_id":"{agency}","dossier_id":"d"}}"#, "e".repeat(129)).into_bytes(),
            "bad_length",
        ),
        (
            format!(r#"{{"event_id":"u1","type":"teleported","occurred_at":"2024-07-02T08:00:00Z","agency_id":"{agency}","dossier_id":"d"}}"#).into_bytes(),
            "unknown_type",
        ),
        (
            br#"{"event_id":"u2","type":"synced","occurred_at":"2024-07-02T08:00:00Z","agency_id":"NO.SUCH.AGENCY","dossier_id":"d"}"#.to_vec(),
            "unknown_agency",
        ),
    ]
}

#[test]
fn poison_burst_is_dead_lettered_and_good_events_around_it_count() {
    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("poison{}", std::process::id()), 3);
    let good = generate(5, "2024-07-01T00:00:00+07:00", 1500, 300.0);
    let agency = agency_of(good[0].as_bytes()).unwrap();
    let bad = poison(&agency);
    assert_eq!(
        bad.len(),
        chiso::core::Reject::CODES.len(),
        "every reject class"
    );
    // Good events, the burst (every class, three times), good events.
    let half = good.len() / 2;
    let mut stream: Vec<Vec<u8>> = good[..half]
        .iter()
        .map(|l| l.clone().into_bytes())
        .collect();
    for _ in 0..3 {
        stream.extend(bad.iter().map(|(m, _)| m.clone()));
    }
    stream.extend(good[half..].iter().map(|l| l.clone().into_bytes()));
    let dir = tempdir();
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &stream);
    let want = replay(&file, AT);

    let engine = EngineSetup::new(cluster, &topics, "poison-a", AT).spawn();
    let p = producer(&cluster.bootstrap);
    send_all(&p, &topics.events, stream.iter().map(|l| l.as_slice()));
    flush(&p);
    await_results(
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(120),
    );

    let dead = read_all(&cluster.bootstrap, &topics.dead_letter);
    assert_eq!(dead.len(), 3 * bad.len(), "every poison message, once");
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    for r in &dead {
        let code = &r.headers["chiso.reason"];
        *by_code.entry(code.clone()).or_default() += 1;
        let (payload, _) = bad
            .iter()
            .find(|(_, c)| c == code)
            .unwrap_or_else(|| panic!("unexpected reason {code}"));
        assert_eq!(
            r.value.as_deref(),
            Some(payload.as_slice()),
            "original payload kept ({code})"
        );
        assert!(!r.headers["chiso.reason_text"].is_empty());
        assert_eq!(r.headers["chiso.source_topic"], topics.events);
        let partition: i32 = r.headers["chiso.source_partition"].parse().unwrap();
        let offset: i64 = r.headers["chiso.source_offset"].parse().unwrap();
        assert!((0..3).contains(&partition) && offset >= 0);
    }
    let headers = schema("dead-letter-headers");
    for r in &dead {
        assert_headers_valid(r, &headers);
    }
    assert!(by_code.values().all(|&n| n == 3), "{by_code:?}");
    assert_eq!(by_code.len(), bad.len());
    let status = engine.terminate(Duration::from_secs(25));
    assert!(status.success());
}

/// A state partition that holds an event twice (not something chiso's exactly-once path writes,
/// but a topic copied by hand could): the bulk duplicate check of the restore notices it and the
/// restore starts again with per-event checks, so the repeat is counted once.
#[test]
fn restore_counts_a_repeated_state_event_once() {
    use chiso::core::Engine;
    use chiso::wire::event_json::{decode, DEFAULT_MAX_BYTES};
    use chiso::wire::state_batch::BatchWriter;
    use rdkafka::producer::BaseRecord;

    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("rep{}", std::process::id()), 1);
    let cfg = EngineSetup::new(cluster, &topics, "rep-a", AT).load();
    let lines = generate(23, "2024-07-01T00:00:00+07:00", 300, 60.0);
    let events: Vec<_> = lines
        .iter()
        .map(|l| decode(l.as_bytes(), &cfg.registry, DEFAULT_MAX_BYTES).unwrap())
        .collect();
    // Two batches; the second repeats the first 40 events of the first.
    let mut w = BatchWriter::new();
    let half = events.len() / 2;
    for e in &events[..half] {
        w.push(&cfg.registry, e);
    }
    let first = w.finish();
    for e in events[half..].iter().chain(&events[..40]) {
        w.push(&cfg.registry, e);
    }
    let second = w.finish();
    let p = producer(&cluster.bootstrap);
    for b in [&first, &second] {
        p.send(
            BaseRecord::<(), [u8]>::to(&topics.state)
                .partition(0)
                .payload(&b[..]),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    }
    flush(&p);

    let restored = chiso::kafka::ingest::changelog::restore(&cfg, 0, || Ok(true))
        .unwrap()
        .expect("not cancelled");
    assert_eq!(restored.stats.repeats, 40, "the bulk check saw the repeats");
    let mut got = restored.engine;
    got.advance_to(cfg.now());
    let mut want = Engine::new(
        cfg.registry.clone(),
        cfg.model.clone(),
        cfg.calendar.clone(),
        cfg.engine.clone(),
        cfg.now(),
    );
    for e in &events {
        want.ingest(e);
    }
    assert_eq!(got.stats().applied, events.len() as u64);
    assert_eq!(got.results(), want.results());
    // The restored engine still knows every id: a redelivered event is a duplicate.
    assert_eq!(got.ingest(&events[7]), chiso::core::Ingested::Duplicate);
}

/// Duplicates are per agency: one `event_id` used by three agencies — one in the same partition
/// as the first, one in another — is three events, counted in each agency, as `chiso replay`
/// counts them; a copy under the same agency is still a duplicate.
#[test]
fn an_event_id_reused_by_other_agencies_counts_in_each() {
    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("reuse{}", std::process::id()), 4);
    let engine = EngineSetup::new(cluster, &topics, "reuse-a", AT).spawn();
    let base = generate(13, "2024-07-10T00:00:00+07:00", 800, 300.0);
    let p = producer(&cluster.bootstrap);
    send_all(&p, &topics.events, base.iter().map(|l| l.as_bytes()));
    flush(&p);

    // Where the keyed producer put each agency; leaves only, whose results are their own
    // counts (a parent's pool the reused dossiers of its children too).
    let reg = registry();
    let is_leaf = |id: &str| {
        let a = reg.lookup(id).expect("registered");
        (0..reg.len() as u32).all(|b| reg.parent(chiso::core::AgencyIdx(b)) != Some(a))
    };
    let mut partition_of: BTreeMap<String, i32> = BTreeMap::new();
    for r in read_all(&cluster.bootstrap, &topics.events) {
        let agency = String::from_utf8(r.key.expect("keyed")).unwrap();
        if is_leaf(&agency) {
            partition_of.insert(agency, r.partition);
        }
    }
    let (first, &part) = partition_of.iter().next().expect("agencies");
    let same = partition_of
        .iter()
        .find(|(a, &p)| *a != first && p == part)
        .expect("another agency in the same partition")
        .0;
    let other = partition_of
        .iter()
        .find(|(_, &p)| p != part)
        .expect("an agency in another partition")
        .0;
    let received = |agency: &str, channel: &str| {
        format!(
            r#"{{"event_id":"reused-1","type":"received","occurred_at":"2024-07-15T08:00:00+07:00","agency_id":"{agency}","dossier_id":"reuse-d","due_at":"2024-07-30T17:00:00+07:00","channel":"{channel}"}}"#
        )
    };
    let reused = vec![
        received(first, "online"),
        received(same, "online"),
        received(other, "online"),
        // Copies under the same agency: duplicates, even with other content.
        received(first, "direct"),
        received(other, "direct"),
    ];
    send_all(&p, &topics.events, reused.iter().map(|l| l.as_bytes()));
    flush(&p);

    let dir = tempdir();
    let before = dir.path().join("before.jsonl");
    write_lines(&before, &base);
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &base.iter().chain(&reused).collect::<Vec<_>>());
    let (without, want) = (replay(&before, AT), replay(&file, AT));
    let month = |m: &BTreeMap<String, serde_json::Value>, agency: &str, count: &str| {
        m[&format!("{agency}|2024-07")]["counts"][count]
            .as_u64()
            .unwrap()
    };
    for agency in [first, same, other] {
        assert_eq!(
            month(&want, agency, "received"),
            month(&without, agency, "received") + 1,
            "replay counts the reused id once in {agency}"
        );
        assert_eq!(
            month(&want, agency, "online"),
            month(&without, agency, "online") + 1,
            "the first arrival wins in {agency}"
        );
    }
    await_results(
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(120),
    );
    let status = engine.terminate(Duration::from_secs(25));
    assert!(status.success(), "chiso run exited with {status}");
}

/// `chiso produce` loads a file into the events topic keyed by agency, and the lines it cannot
/// key into the dead-letter topic with their reason, file and line; `chiso run` on what it
/// loaded gives `chiso replay`'s results for the same file.
#[test]
fn produce_loads_a_file_that_run_turns_into_replays_results() {
    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("prod{}", std::process::id()), 3);
    let mut lines = generate(17, "2024-07-01T00:00:00+07:00", 1500, 200.0);
    let good = lines.len();
    let bad = [
        ("not json".to_owned(), "not_json"),
        ("[1,2]".to_owned(), "not_object"),
        (
            r#"{"event_id":"x","type":"received"}"#.to_owned(),
            "missing_field",
        ),
        (
            r#"{"event_id":"x","agency_id":7}"#.to_owned(),
            "invalid_type",
        ),
        (
            format!(r#"{{"agency_id":"TQ","pad":"{}"}}"#, "a".repeat(70_000)),
            "too_large",
        ),
    ];
    // Bad lines among the good ones, and a blank line that is not an event at all.
    for (i, (line, _)) in bad.iter().enumerate() {
        lines.insert(100 * (i + 1), line.clone());
    }
    lines.insert(50, String::new());
    let dir = tempdir();
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &lines);
    let setup = EngineSetup::new(cluster, &topics, "prod-a", AT);
    let run_config = dir.path().join("run.toml");
    setup.write_config(&run_config);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chiso"))
        .args(["produce", "--config"])
        .arg(&run_config)
        .arg("--events")
        .arg(&file)
        .output()
        .expect("chiso produce");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(out.status.success(), "chiso produce failed: {stderr}");
    assert!(
        stderr.contains(&format!("{good} events sent"))
            && stderr.contains("5 lines that cannot be keyed"),
        "{stderr}"
    );

    let events = read_all(&cluster.bootstrap, &topics.events);
    assert_eq!(events.len(), good);
    for r in &events {
        let key = String::from_utf8(r.key.clone().expect("keyed")).unwrap();
        assert_eq!(agency_of(r.value.as_deref().unwrap()), Some(key));
    }
    let dead = read_all(&cluster.bootstrap, &topics.dead_letter);
    let reasons: Vec<&str> = dead
        .iter()
        .map(|r| r.headers["chiso.reason"].as_str())
        .collect();
    assert_eq!(reasons, bad.iter().map(|b| b.1).collect::<Vec<_>>());
    // Lines numbered in the file: the blank line at 51 counts, so the first bad line is 102.
    assert_eq!(dead[0].headers["chiso.source_line"], "102");
    assert_eq!(
        dead[0].headers["chiso.source_file"],
        file.display().to_string()
    );
    assert_eq!(dead[0].value.as_deref(), Some(&b"not json"[..]));
    let headers = schema("dead-letter-headers");
    for r in &dead {
        assert_headers_valid(r, &headers);
    }

    let want = replay(&file, AT);
    let engine = setup.spawn();
    await_results(
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(120),
    );
    let status = engine.terminate(Duration::from_secs(25));
    assert!(status.success(), "chiso run exited with {status}");
}
