//! One transactional producer: everything a stage writes, plus its consumed offsets, commits
//! atomically or not at all (Kafka transactions, exactly-once v2).
//!
//! The offsets go through `send_offsets_to_transaction` with the consumer's group metadata, so
//! the group coordinator fences an instance that lost its partitions in a rebalance: its commit
//! fails instead of overwriting the new owner's progress.

use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::TopicPartitionList;
use tracing::{debug, warn};

use super::client::{op, PipelineError};

/// Time allowed for one transactional call before it is considered failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One record to produce in the current transaction.
#[derive(Debug, Clone, Default)]
pub struct Out {
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(&'static str, Vec<u8>)>,
}

/// A transactional producer with the retry rules of librdkafka's transaction API.
pub struct Transactor {
    producer: ThreadedProducer<DefaultProducerContext>,
    open: bool,
    /// How long a commit may keep retrying retriable errors (a broker restarting).
    patience: Duration,
}

impl Transactor {
    /// Creates the producer and fences any previous producer with the same transactional id
    /// (its open transaction is aborted).
    pub fn new(config: &rdkafka::ClientConfig, patience: Duration) -> Result<Self, PipelineError> {
        let producer: ThreadedProducer<DefaultProducerContext> = config
            .create()
            .map_err(op("creating the transactional producer"))?;
        producer
            .init_transactions(CALL_TIMEOUT)
            .map_err(op("initialising transactions"))?;
        Ok(Transactor {
            producer,
            open: false,
            patience,
        })
    }

    pub fn begin(&mut self) -> Result<(), PipelineError> {
        debug_assert!(!self.open);
        self.producer
            .begin_transaction()
            .map_err(op("beginning a transaction"))?;
        self.open = true;
        Ok(())
    }

    /// Queues one record in the open transaction, waiting while librdkafka's queue is full.
    pub fn send(&self, topic: &str, out: &Out) -> Result<(), PipelineError> {
        debug_assert!(self.open);
        let mut headers = None;
        if !out.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(out.headers.len());
            for (k, v) in &out.headers {
                h = h.insert(Header {
                    key: k,
                    value: Some(v),
                });
            }
            headers = Some(h);
        }
        let mut record = BaseRecord::to(topic).payload(&out.value[..]);
        if let Some(k) = &out.key {
            record = record.key(&k[..]);
        }
        if let Some(p) = out.partition {
            record = record.partition(p);
        }
        if let Some(h) = headers {
            record = record.headers(h);
        }
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r))
                    if Instant::now() < deadline =>
                {
                    record = r;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((e, _)) => return Err(op("producing")(e)),
            }
        }
    }

    /// Adds the consumed offsets and commits. On error the transaction is aborted (if it can
    /// be) and the error returned: the caller must rebuild whatever it had in memory.
    pub fn commit(
        &mut self,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), PipelineError> {
        debug_assert!(self.open);
        let result = self.try_commit(offsets, group);
        if result.is_err() {
            self.abort();
        }
        self.open = false;
        result
    }

    fn try_commit(
        &mut self,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), PipelineError> {
        let deadline = Instant::now() + self.patience;
        if offsets.count() > 0 {
            retry(deadline, "sending offsets to the transaction", || {
                self.producer
                    .send_offsets_to_transaction(offsets, group, CALL_TIMEOUT)
            })?;
        }
        // rust-rdkafka's commit_transaction flushes first and, while anything is in flight,
        // waits for events in steps of 100 ms — which the ThreadedProducer's own polling thread
        // serves, so every commit would take at least 100 ms. Wait for the deliveries here, in
        // small steps, so that its flush finds nothing to do.
        while self.producer.in_flight_count() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(500));
        }
        retry(deadline, "committing the transaction", || {
            self.producer.commit_transaction(CALL_TIMEOUT)
        })
    }

    /// Aborts the open transaction, if any; errors are logged (the session restarts anyway).
    pub fn abort(&mut self) {
        if let Err(e) = self.producer.abort_transaction(CALL_TIMEOUT) {
            warn!(error = %e, "aborting the transaction failed");
        }
        self.open = false;
    }
}

/// Retries a transactional call while librdkafka says the error is retriable.
fn retry(
    deadline: Instant,
    what: &'static str,
    mut call: impl FnMut() -> Result<(), KafkaError>,
) -> Result<(), PipelineError> {
    loop {
        match call() {
            Ok(()) => return Ok(()),
            Err(KafkaError::Transaction(e)) if e.is_retriable() && Instant::now() < deadline => {
                debug!(error = %e, "{what}: retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(op(what)(e)),
        }
    }
}

impl Drop for Transactor {
    fn drop(&mut self) {
        if self.open {
            self.abort();
        }
    }
}
