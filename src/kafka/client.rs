//! librdkafka client settings, and the adapter's error type.
//!
//! Every client gets the pass-through properties of `[kafka.librdkafka]` (TLS, SASL, timeouts),
//! then the properties the exactly-once design depends on, which the configuration cannot
//! override (it refuses them at start-up).

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientConfig;

use crate::settings::Config;

/// What went wrong in the Kafka adapter. `retryable` errors end a session, which is restarted
/// with backoff; the others stop the process with the message.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{op}: {source}")]
    Kafka {
        op: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("{0}")]
    Retry(String),
    /// A setting or topic layout the pipeline cannot work with.
    #[error("{0}")]
    Fatal(String),
}

impl PipelineError {
    pub fn retryable(&self) -> bool {
        match self {
            PipelineError::Kafka { source, .. } => !is_fatal(source),
            PipelineError::Retry(_) => true,
            PipelineError::Fatal(_) => false,
        }
    }
}

/// Attaches the operation name to an rdkafka error.
pub fn op(op: &'static str) -> impl FnOnce(KafkaError) -> PipelineError {
    move |source| PipelineError::Kafka { op, source }
}

/// Errors no retry can fix: bad client configuration or authentication/authorisation failures.
fn is_fatal(e: &KafkaError) -> bool {
    match e {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) => true,
        _ => matches!(
            e.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::TransactionalIdAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::InvalidConfig
            )
        ),
    }
}

fn base(cfg: &Config, client_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in &cfg.librdkafka {
        c.set(k, v);
    }
    c.set("bootstrap.servers", &cfg.settings.kafka.bootstrap_servers);
    c.set("client.id", client_id);
    c
}

/// The consumer of a consumer group: manual, transactional offsets only.
pub fn group_consumer(cfg: &Config, group: &str, suffix: &str, eof: bool) -> ClientConfig {
    let mut c = base(cfg, &format!("{}-{suffix}", cfg.instance_id));
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("enable.partition.eof", if eof { "true" } else { "false" });
    if cfg.settings.kafka.static_membership {
        c.set(
            "group.instance.id",
            format!("{}-{suffix}", cfg.instance_id),
        );
    }
    c
}

/// A consumer without a group that reads one partition to its end (restores).
pub fn reader(cfg: &Config, suffix: &str) -> ClientConfig {
    let mut c = base(cfg, &format!("{}-{suffix}", cfg.instance_id));
    c.set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        // Restores read whole partitions: large fetches, deep prefetch queue.
        .set("fetch.max.bytes", "67108864")
        .set("max.partition.fetch.bytes", "16777216")
        .set("queued.max.messages.kbytes", "262144");
    c
}

/// The transactional producer of one stage.
pub fn producer(cfg: &Config, transactional_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("compression.type", "lz4").set("linger.ms", "5");
    for (k, v) in &cfg.librdkafka {
        c.set(k, v);
    }
    c.set("bootstrap.servers", &cfg.settings.kafka.bootstrap_servers)
        .set("client.id", transactional_id)
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set(
            "transaction.timeout.ms",
            cfg.settings.pipeline.transaction_timeout_ms.to_string(),
        );
    c
}

/// Exponential backoff between session restarts.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff { next: first, max }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
}
