//! Exactly once under crashes, against a real Apache Kafka: `chiso run` is killed with SIGKILL
//! at random moments while more than 200,000 events stream in, and restarted each time. In the
//! end the results topic equals `chiso replay` of the same events, and the state changelog holds
//! every applied event exactly once (nothing lost, nothing counted twice).

mod support_kafka;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use support_kafka::*;

const AT: &str = "2024-09-18T10:00:00+07:00";

#[test]
fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    let cluster = Cluster::shared();
    let topics = cluster.topics(&format!("crash{}", std::process::id()), 4);
    let lines = generate(21, "2024-08-01T00:00:00+07:00", 36_000, 2500.0);
    assert!(lines.len() >= 200_000, "{} events", lines.len());
    let dir = tempdir();
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &lines);
    let want = replay(&file, AT);

    let seed: u64 = std::env::var("CHISO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Instant::now().elapsed().as_nanos() as u64 ^ std::process::id() as u64);
    eprintln!("crash test seed {seed} (set CHISO_CRASH_SEED to repeat)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);

    let mut setup = EngineSetup::new(cluster, &topics, "crash-a", AT);
    // A restarted instance takes its partitions back at once instead of waiting for a rebalance.
    setup.static_membership = true;

    // The stream: about 40 s of steady production while the engine is killed and restarted.
    let sent = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let producer_thread = {
        let (bootstrap, topic, sent, done) = (
            cluster.bootstrap.clone(),
            topics.events.clone(),
            sent.clone(),
            done.clone(),
        );
        let lines = lines.clone();
        std::thread::spawn(move || {
            let p = producer(&bootstrap);
            let t0 = Instant::now();
            for (i, chunk) in lines.chunks(2500).enumerate() {
                send_all(&p, &topic, chunk.iter().map(|l| l.as_bytes()));
                sent.fetch_add(chunk.len(), Ordering::Relaxed);
                // 5,000 events/s.
                let due = Duration::from_millis(500 * (i as u64 + 1));
                if let Some(wait) = due.checked_sub(t0.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            flush(&p);
            done.store(true, Ordering::Relaxed);
        })
    };

    let mut kills = 0;
    let mut engine = setup.spawn();
    while !done.load(Ordering::Relaxed) || kills < 6 {
        std::thread::sleep(Duration::from_millis(rng.random_range(700..4500)));
        engine.assert_running();
        engine.kill();
        kills += 1;
        eprintln!(
            "kill -9 #{kills} after {} events sent",
            sent.load(Ordering::Relaxed)
        );
        engine = setup.spawn();
    }
    producer_thread.join().unwrap();
    assert!(kills >= 6);
    await_results(
        &cluster.bootstrap,
        &topics.results,
        &want,
        Duration::from_secs(240),
    );

    // The changelog: every event the engine applied, exactly once.
    let registry = registry();
    let mut ids = HashSet::new();
    let mut total = 0usize;
    for r in read_all(&cluster.bootstrap, &topics.state) {
        let value = r.value.expect("state records have a value");
        let mut batch = chiso::wire::state_batch::BatchReader::new(&value).unwrap();
        while let Some(ev) = batch.next_event(&registry) {
            ids.insert(ev.unwrap().id.into_owned());
            total += 1;
        }
    }
    let distinct: HashSet<&str> = lines.iter().map(|l| event_id(l)).collect();
    assert_eq!(ids.len(), distinct.len(), "every event applied");
    assert_eq!(total, ids.len(), "no event applied twice");

    let status = engine.terminate(Duration::from_secs(25));
    assert!(status.success(), "chiso run exited with {status}");
}

fn event_id(line: &str) -> &str {
    let start = line.find("\"event_id\":\"").unwrap() + 12;
    &line[start..start + line[start..].find('"').unwrap()]
}
