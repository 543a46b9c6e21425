//! One transactional producer: everything a stage writes, plus its consumed offsets, commits
//! atomically or not at all (Kafka transactions, exactly-once v2).
//!
//! The offsets go through `send_offsets_to_transaction` with the consumer's group metadata, so
//! the group coordinator fences an instance that lost its partitions in a rebalance: its commit
//! fails instead of overwriting the new owner's health.
//!
//! Every blocking call of librdkafka's transaction API runs on a helper thread with a deadline of
//! our own: `rd_kafka_send_offsets_to_transaction` was seen to wait forever, whatever its
//! timeout, when the broker holding the coordinators was killed (librdkafka 2.12; it waits with
//! `RD_POLL_INFINITE` for a result the transaction manager never sets). A call past its deadline
//! marks the producer *hung*: the session ends, a new producer with the same transactional id
//! fences it, and the stuck thread and client are left behind.

use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::TopicPartitionList;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use super::client::ProducerCtx;
use super::error::{op, PipelineError};

/// Time allowed for one transactional call of librdkafka.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Grace beyond librdkafka's own timeouts before a call is declared hung.
const HANG_GRACE: Duration = Duration::from_secs(10);

type Client = ThreadedProducer<ProducerCtx>;

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
    producer: Arc<Client>,
    open: bool,
    /// A call never returned: nothing more may be asked of this producer.
    hung: bool,
    /// How long a commit may keep retrying retriable errors (a broker restarting).
    patience: Duration,
}

/// The call did not return in time.
#[derive(Debug)]
struct Hung(PipelineError);

/// Runs `f` on a helper thread; `Err(Hung)` if it does not return within `limit`.
fn guarded<T: Send + 'static>(
    what: &'static str,
    limit: Duration,
    f: impl FnOnce() -> Result<T, PipelineError> + Send + 'static,
) -> Result<Result<T, PipelineError>, Hung> {
    let (tx, rx) = channel();
    let spawned = std::thread::Builder::new()
        .name("chiso-txn".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        return Ok(Err(PipelineError::Thread {
            what,
            reason: e.to_string(),
        }));
    }
    rx.recv_timeout(limit).map_err(|_| {
        error!(
            what,
            limit_s = limit.as_secs(),
            "librdkafka transaction call hung; abandoning the producer"
        );
        Hung(PipelineError::Hung {
            what,
            seconds: limit.as_secs(),
        })
    })
}

/// `init_transactions` in short steps (a timed-out call may be repeated) within
/// [`CALL_TIMEOUT`], until it succeeds, fails for good or `cancel` is cancelled.
fn init_transactions(p: &Client, cancel: &CancellationToken) -> Result<(), PipelineError> {
    const STEP: Duration = Duration::from_millis(500);
    let deadline = Instant::now() + CALL_TIMEOUT;
    loop {
        match p.init_transactions(STEP) {
            Err(KafkaError::Transaction(e))
                if e.is_retriable() && !cancel.is_cancelled() && Instant::now() < deadline => {}
            r => return r.map_err(op("initialising transactions")),
        }
    }
}

impl Transactor {
    /// Creates the producer and fences any previous producer with the same transactional id
    /// (its open transaction is aborted).
    /// Gives up early when `cancel` is cancelled (a stop does not wait for an absent broker).
    pub fn new(
        config: &rdkafka::ClientConfig,
        context: ProducerCtx,
        patience: Duration,
        cancel: &CancellationToken,
    ) -> Result<Self, PipelineError> {
        let producer: Arc<Client> = Arc::new(
            config
                .create_with_context(context)
                .map_err(op("creating the transactional producer"))?,
        );
        let p = producer.clone();
        let mut t = Transactor {
            producer,
            open: false,
            hung: false,
            patience,
        };
        let cancel = cancel.clone();
        t.run(
            "initialising transactions",
            CALL_TIMEOUT + HANG_GRACE,
            move || init_transactions(&p, &cancel),
        )?;
        Ok(t)
    }

    /// Runs a guarded call; a hang marks this producer unusable.
    fn run<T: Send + 'static>(
        &mut self,
        what: &'static str,
        limit: Duration,
        f: impl FnOnce() -> Result<T, PipelineError> + Send + 'static,
    ) -> Result<T, PipelineError> {
        if self.hung {
            return Err(PipelineError::ProducerUnusable { what });
        }
        match guarded(what, limit, f) {
            Ok(result) => result,
            Err(Hung(e)) => {
                self.hung = true;
                self.open = false;
                Err(e)
            }
        }
    }

    pub fn begin(&mut self) -> Result<(), PipelineError> {
        debug_assert!(!self.open);
        if self.hung {
            return Err(PipelineError::ProducerUnusable {
                what: "beginning a transaction",
            });
        }
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
        group: ConsumerGroupMetadata,
    ) -> Result<(), PipelineError> {
        debug_assert!(self.open);
        let (p, offsets, patience) = (self.producer.clone(), offsets.clone(), self.patience);
        let limit = patience + CALL_TIMEOUT + HANG_GRACE;
        let result = self.run("committing the transaction", limit, move || {
            try_commit(&p, &offsets, &group, patience)
        });
        if result.is_err() {
            self.abort();
        }
        self.open = false;
        result
    }

    /// Aborts the open transaction, if any; errors are logged (the session restarts anyway).
    pub fn abort(&mut self) {
        if self.hung {
            return;
        }
        let p = self.producer.clone();
        let aborted = self.run(
            "aborting the transaction",
            CALL_TIMEOUT + HANG_GRACE,
            move || {
                p.abort_transaction(CALL_TIMEOUT)
                    .map_err(op("aborting the transaction"))
            },
        );
        if let Err(e) = aborted {
            warn!(error = %e, "aborting the transaction failed");
        }
        self.open = false;
    }
}

fn try_commit(
    producer: &Client,
    offsets: &TopicPartitionList,
    group: &ConsumerGroupMetadata,
    patience: Duration,
) -> Result<(), PipelineError> {
    let deadline = Instant::now() + patience;
    if offsets.count() > 0 {
        retry(deadline, "sending offsets to the transaction", || {
            producer.send_offsets_to_transaction(offsets, group, CALL_TIMEOUT)
        })?;
    }
    // rust-rdkafka's commit_transaction flushes first and, while anything is in flight, waits
    // for events in steps of 100 ms — which the ThreadedProducer's own polling thread serves, so
    // every commit would take at least 100 ms. Wait for the deliveries here, in small steps, so
    // that its flush finds nothing to do.
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(500));
    }
    retry(deadline, "committing the transaction", || {
        producer.commit_transaction(CALL_TIMEOUT)
    })
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
