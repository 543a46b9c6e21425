//! The producer of `chiso produce`: events into the events topic keyed by agency, lines that
//! cannot be keyed into the dead-letter topic. Idempotent (no duplicates from producer retries),
//! `acks=all`, not transactional: a load that is stopped and run again sends its lines again,
//! and the pipeline counts each event once anyway (duplicates are detected per agency).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use tracing::warn;

use crate::kafka::client;
use crate::kafka::config::KafkaConfig;
use crate::kafka::error::{op, PipelineError};

/// Counts what the brokers acknowledged and what they refused.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
}

struct Ctx(Arc<Deliveries>);

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        client::log_librdkafka("backfill producer", level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if client::noteworthy(&error) {
            warn!(error = %error, reason, "backfill producer");
        }
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.0.delivered.fetch_add(1, Ordering::Relaxed),
            Err((e, _)) => {
                warn!(error = %e, "a record was not delivered");
                self.0.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// Records sent and acknowledged so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub delivered: u64,
    pub failed: u64,
}

/// An idempotent producer to the pipeline's events and dead-letter topics.
pub struct Backfill {
    producer: ThreadedProducer<Ctx>,
    deliveries: Arc<Deliveries>,
    events: String,
    dead_letter: String,
}

impl Backfill {
    pub fn new(cfg: &KafkaConfig) -> Result<Self, PipelineError> {
        let deliveries = Arc::new(Deliveries::default());
        let producer = client::idempotent_producer(cfg, &format!("{}-produce", cfg.instance_id))
            .create_with_context(Ctx(deliveries.clone()))
            .map_err(op("creating the producer"))?;
        Ok(Backfill {
            producer,
            deliveries,
            events: cfg.topics.events.clone(),
            dead_letter: cfg.topics.dead_letter.clone(),
        })
    }

    /// Queues one event, keyed by its agency (waits while the local queue is full).
    pub fn event(&self, key: &str, value: &[u8]) -> Result<(), PipelineError> {
        self.send(BaseRecord::to(&self.events).key(key).payload(value))
    }

    /// Queues a line that cannot be keyed, with why (`headers`: name, value).
    pub fn dead_letter(
        &self,
        value: &[u8],
        headers: &[(&str, &[u8])],
    ) -> Result<(), PipelineError> {
        let mut h = OwnedHeaders::new_with_capacity(headers.len());
        for (key, value) in headers {
            h = h.insert(Header {
                key,
                value: Some(*value),
            });
        }
        self.send(
            BaseRecord::<[u8], [u8]>::to(&self.dead_letter)
                .payload(value)
                .headers(h),
        )
    }

    fn send<K: rdkafka::message::ToBytes + ?Sized>(
        &self,
        mut record: BaseRecord<'_, K, [u8]>,
    ) -> Result<(), PipelineError> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(op("queueing a record")(e)),
            }
        }
    }

    pub fn progress(&self) -> Progress {
        Progress {
            delivered: self.deliveries.delivered.load(Ordering::Relaxed),
            failed: self.deliveries.failed.load(Ordering::Relaxed),
        }
    }

    /// Waits until every queued record is acknowledged or has failed (at most `within`).
    pub fn flush(&self, within: Duration) -> Result<Progress, PipelineError> {
        self.producer
            .flush(within)
            .map_err(op("waiting for the last acknowledgements"))?;
        Ok(self.progress())
    }
}
