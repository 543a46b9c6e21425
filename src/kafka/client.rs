//! librdkafka client settings and the client contexts shared by both stages.
//!
//! Every client gets the pass-through properties of `[kafka.librdkafka]` (TLS, SASL, timeouts),
//! then the properties the exactly-once design depends on, which the configuration cannot
//! override (it refuses them at start-up).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientConfig;
use tracing::{info, warn};

use crate::kafka::config::KafkaConfig;
use crate::read_model::ReadModel;

/// Pass-through properties that only one kind of client understands (librdkafka warns about
/// the others at every client creation).
const CONSUMER_ONLY: [&str; 8] = [
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "fetch.",
    "queued.",
    "check.crcs",
    "coordinator.query.interval.ms",
    "group.remote.assignor",
];
const PRODUCER_ONLY: [&str; 10] = [
    "acks",
    "request.required.acks",
    "linger.ms",
    "queue.buffering.",
    "batch.",
    "compression.",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "retries",
    "sticky.partitioning.linger.ms",
];

fn passes(key: &str, skip: &[&str]) -> bool {
    !skip
        .iter()
        .any(|p| key == *p || (p.ends_with('.') && key.starts_with(p)))
}

fn base(cfg: &KafkaConfig, client_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in &cfg.librdkafka {
        if passes(k, &PRODUCER_ONLY) {
            c.set(k, v);
        }
    }
    c.set("bootstrap.servers", &cfg.bootstrap_servers);
    c.set("client.id", client_id);
    c
}

/// An admin client (topic creation and checks): the pass-through properties (TLS, SASL).
pub fn admin(cfg: &KafkaConfig) -> ClientConfig {
    base(cfg, &format!("{}-admin", cfg.instance_id))
}

/// The consumer of a consumer group: manual, transactional offsets only.
/// `fetch_wait_ms` is the default of librdkafka's `fetch.wait.max.ms` for this consumer.
pub fn group_consumer(
    cfg: &KafkaConfig,
    group: &str,
    suffix: &str,
    eof: bool,
    fetch_wait_ms: u32,
) -> ClientConfig {
    let mut c = base(cfg, &format!("{}-{suffix}", cfg.instance_id));
    if c.get("statistics.interval.ms").is_none() {
        // Statistics feed the consumer-lag gauge.
        c.set("statistics.interval.ms", "5000");
    }
    if c.get("fetch.wait.max.ms").is_none() {
        // With read_committed, a fetch parked on the broker is not always woken by a commit
        // marker: do not let new (committed) data wait for the default 500 ms.
        c.set("fetch.wait.max.ms", fetch_wait_ms.to_string());
    }
    // The prefetch queue. librdkafka keeps up to `queued.min.messages` (100,000 by default) per
    // partition, each message with about 300 bytes of bookkeeping beside its payload: on a
    // backlog of 4 partitions that alone held about 170 MB. 10,000 a partition is still
    // seconds of work for a worker; checking the queue again after 5 ms instead of the default
    // 1 s (`fetch.queue.backoff.ms`) keeps a small queue from running dry. Measured on a
    // 1 M-event backlog: peak RSS 379 → 209 MB, the same time to consume it
    // (docs/performance.md, "Against Kafka Streams").
    if c.get("queued.min.messages").is_none() {
        c.set("queued.min.messages", "10000");
    }
    if c.get("fetch.queue.backoff.ms").is_none() {
        c.set("fetch.queue.backoff.ms", "5");
    }
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("enable.partition.eof", if eof { "true" } else { "false" });
    if cfg.static_membership {
        c.set("group.instance.id", format!("{}-{suffix}", cfg.instance_id));
    }
    c
}

/// A consumer without a group that reads one partition to its end (restores).
pub fn reader(cfg: &KafkaConfig, suffix: &str) -> ClientConfig {
    let mut c = base(cfg, &format!("{}-{suffix}", cfg.instance_id));
    // librdkafka's assign() needs a group id; with assign() only, the group is never joined
    // and nothing is committed to it.
    c.set("group.id", format!("{}-reader", cfg.group_id))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        // The end of the partition is seen when a fetch returns nothing: do not let the broker
        // hold that last fetch for the default 500 ms.
        .set("fetch.wait.max.ms", "10")
        // Restores read whole partitions: large fetches, deep prefetch queue.
        .set("fetch.max.bytes", "67108864")
        .set("max.partition.fetch.bytes", "16777216")
        .set("queued.max.messages.kbytes", "262144");
    c
}

/// A plain idempotent producer (`chiso produce`): every record acknowledged by all in-sync
/// replicas, retried without duplicates, in order per partition.
pub fn idempotent_producer(cfg: &KafkaConfig, client_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("compression.type", "lz4").set("linger.ms", "20");
    for (k, v) in &cfg.librdkafka {
        if passes(k, &CONSUMER_ONLY) {
            c.set(k, v);
        }
    }
    c.set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("client.id", client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all");
    c
}

/// The transactional producer of one stage.
pub fn producer(cfg: &KafkaConfig, transactional_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    // Back-to-back transactions: the first AddPartitionsToTxn of a transaction often meets the
    // previous one's markers still being written (CONCURRENT_TRANSACTIONS) and is retried after
    // retry.backoff.ms — 100 ms by default, which would add 100 ms to every commit.
    c.set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set("retry.backoff.ms", "5");
    for (k, v) in &cfg.librdkafka {
        if passes(k, &CONSUMER_ONLY) {
            c.set(k, v);
        }
    }
    c.set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("client.id", transactional_id)
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set(
            "transaction.timeout.ms",
            cfg.transaction_timeout.as_millis().to_string(),
        );
    c
}

/// Whether a client error event is worth a log line: end-of-partition events are how restores
/// know they are done, not errors (librdkafka reports them through the error callback too).
pub fn noteworthy(error: &KafkaError) -> bool {
    !matches!(error, KafkaError::PartitionEOF(_))
        && error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF)
}

/// Context of the restore readers: errors logged as warnings, end-of-partition not at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReaderCtx;

impl ClientContext for ReaderCtx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_librdkafka("restore reader", level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if noteworthy(&error) {
            warn!(error = %error, reason, "restore reader");
        }
    }
}

impl ConsumerContext for ReaderCtx {}

/// Notes a client error in the shared reachability flag: librdkafka's "all brokers down" makes
/// the process not ready until the pipeline sees Kafka answer again.
///
/// One line per state change: "all brokers down" is logged once, when the flag turns, not once
/// per client and retry; any other error is logged the first time and then at most once a
/// minute per client and kind, with the number of repeats left out in between.
pub fn note_error(live: &ReadModel, error: &KafkaError, reason: &str, client: &'static str) {
    if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
        if live.set_kafka_reachable(false) {
            warn!(
                client,
                "Kafka unreachable: not ready until it answers again"
            );
        }
        return;
    }
    if !noteworthy(error) {
        return;
    }
    let kind = error
        .rdkafka_error_code()
        .map_or_else(|| "other".to_owned(), |c| format!("{c:?}"));
    if let Some(suppressed) = ERROR_LOG.admit(client, kind) {
        warn!(error = %error, reason, client, suppressed, "Kafka client error");
    }
}

/// librdkafka's own log lines (broker connections, retries), with the same rate limit per
/// client and facility as [`note_error`]: a broker that stays away must not write a line every
/// few hundred milliseconds.
pub fn log_librdkafka(client: &'static str, level: RDKafkaLogLevel, facility: &str, message: &str) {
    use RDKafkaLogLevel::*;
    if facility == "FAIL" {
        // A broker connection failing: the error callback reports it too ([`note_error`]).
        tracing::debug!(client, facility, "librdkafka: {message}");
        return;
    }
    match level {
        Emerg | Alert | Critical | Error => {
            if let Some(suppressed) = ERROR_LOG.admit(client, format!("log {facility}")) {
                tracing::error!(client, facility, suppressed, "librdkafka: {message}");
            }
        }
        Warning => {
            if let Some(suppressed) = ERROR_LOG.admit(client, format!("log {facility}")) {
                warn!(client, facility, suppressed, "librdkafka: {message}");
            }
        }
        Notice | Info => info!(client, facility, "librdkafka: {message}"),
        Debug => tracing::debug!(client, facility, "librdkafka: {message}"),
    }
}

/// Rate limit of repeated client error lines (see [`note_error`]). Process-wide on purpose:
/// librdkafka calls back from its own threads for every client, which share no other owner.
static ERROR_LOG: ErrorLog = ErrorLog::new();

/// Repeats of one error (client, kind) are logged at most once per this.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// (client, error kind) → when it was last logged, and the repeats since.
type Seen = BTreeMap<(&'static str, String), (Instant, u64)>;

struct ErrorLog {
    seen: Mutex<Seen>,
}

impl ErrorLog {
    const fn new() -> Self {
        ErrorLog {
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// `Some(repeats left out since the last line)` if this one is to be logged.
    fn admit(&self, client: &'static str, kind: String) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match seen.get_mut(&(client, kind.clone())) {
            Some((last, suppressed)) if now.duration_since(*last) < ERROR_LOG_EVERY => {
                *suppressed += 1;
                None
            }
            Some((last, suppressed)) => {
                let n = std::mem::take(suppressed);
                *last = now;
                Some(n)
            }
            None => {
                seen.insert((client, kind), (now, 0));
                Some(0)
            }
        }
    }
}

/// Notes that Kafka answered (a committed transaction, a metadata response).
pub fn note_reachable(live: &ReadModel) {
    if live.set_kafka_reachable(true) {
        info!("Kafka reachable again");
    }
}

/// Context of the transactional producers: errors go to the reachability flag and the log.
/// Deliveries need no callback: the transaction commit reports any failed one.
#[derive(Clone)]
pub struct ProducerCtx {
    pub live: ReadModel,
    pub client: &'static str,
}

impl ClientContext for ProducerCtx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_librdkafka(self.client, level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        note_error(&self.live, &error, reason, self.client);
    }
}

impl ProducerContext for ProducerCtx {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_errors_are_logged_once_a_minute_with_the_count() {
        let log = ErrorLog::new();
        assert_eq!(log.admit("c", "Transport".into()), Some(0));
        for _ in 0..9 {
            assert_eq!(log.admit("c", "Transport".into()), None);
        }
        // Another kind or another client is a line of its own.
        assert_eq!(log.admit("c", "Timeout".into()), Some(0));
        assert_eq!(log.admit("d", "Transport".into()), Some(0));
        // A minute later, the repeats are counted in the next line.
        log.seen
            .lock()
            .unwrap()
            .get_mut(&("c", "Transport".to_owned()))
            .unwrap()
            .0 -= ERROR_LOG_EVERY;
        assert_eq!(log.admit("c", "Transport".into()), Some(9));
    }
}
