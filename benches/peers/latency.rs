//! Latency from an event to its result under a steady load.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use serde_json::Value;

use chiso::core::Timestamp;

use crate::support_kafka::*;

/// Latencies in milliseconds: p50, p99, max and how many.
#[derive(Default, Clone, Copy)]
pub(crate) struct Quantiles {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) n: usize,
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
pub(crate) fn stop_cont(child: &Child, signal: &str) {
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
pub(crate) struct Phase<'a> {
    pub(crate) events: &'a str,
    pub(crate) results: &'a str,
    pub(crate) marker: usize,
    pub(crate) tag: &'a str,
}

pub(crate) fn latency(
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
