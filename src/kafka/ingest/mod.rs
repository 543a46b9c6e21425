//! Stage 1: the event partitions of this instance, and the transactions that commit them.
//!
//! One thread (this module) owns the group consumer and the transactional producer. It polls the
//! consumer's main queue, which serves the rebalance callbacks; every event partition's messages
//! go to a queue of their own, read by that partition's worker thread ([`worker`]).
//! Every `commit_interval` the thread collects the workers' outputs and commits them with their
//! offsets in one transaction. Before a partition is given up (cooperative rebalance) its worker
//! stops and the same commit runs inside the revoke callback, so the next owner restores from a
//! state topic that matches the committed offset exactly.
//!
//! A session is one consumer + one producer. Any failed commit, lost assignment or worker error
//! ends the session: everything in memory is dropped and the next session restores from Kafka.
//! That is the whole recovery story, for broker outages too.

pub mod changelog;
mod rebalance;
mod topics;
pub mod worker;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::Offset;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::client;
use super::error::{op, PipelineError};
use super::session::{drop_bounded, run_sessions};
use super::txn::{Out, Transactor};
use crate::kafka::config::KafkaConfig;
use crate::read_model::EngineHealth;
use crate::read_model::{Partitions, ReadModel};
use topics::check_topics;
use worker::{Cmd, Flushed, Worker};

/// How long the stage waits for the workers' outputs before it declares the session broken.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the offsets of newly assigned partitions may take to fetch.
const OFFSETS_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs stage 1 until cancelled; returns an error only for problems no retry can fix.
pub fn run(
    cfg: Arc<KafkaConfig>,
    live: ReadModel,
    health: Arc<EngineHealth>,
    cancel: CancellationToken,
) -> Result<(), PipelineError> {
    run_sessions("stage 1", &cancel, &health, || {
        live.readiness().set_partitions(Partitions::Unassigned);
        session(&cfg, &live, &health, &cancel)
    })
}

type Queue = PartitionQueue<IngestCtx>;

struct WorkerHandle {
    cmds: Sender<Cmd>,
    join: JoinHandle<Queue>,
    restored: bool,
}

/// Everything the session shares between its main loop and the rebalance callbacks.
struct IngestState {
    cfg: Arc<KafkaConfig>,
    live: ReadModel,
    health: Arc<EngineHealth>,
    producer: Option<Transactor>,
    queues: HashMap<i32, Queue>,
    workers: HashMap<i32, WorkerHandle>,
    replies_tx: Sender<Flushed>,
    replies: Receiver<Flushed>,
    epoch: u64,
    /// The offset last committed per partition: unchanged offsets are not committed again.
    committed: HashMap<i32, i64>,
    last_partials: Instant,
    /// Set when the session can no longer be trusted; the main loop then ends it.
    broken: Option<PipelineError>,
    /// The events topic's partitions.
    total: u32,
    /// Whether the group has given this session its partitions (and no revoke came since):
    /// until then what it owns is not its share of the work.
    assigned: bool,
}

/// The consumer context: rebalance callbacks with access to the session shared.
pub struct IngestCtx {
    shared: Arc<Mutex<IngestState>>,
    live: ReadModel,
}

impl IngestState {
    fn start_workers(&mut self, partitions: &[i32]) {
        for &p in partitions {
            if self.workers.contains_key(&p) {
                continue;
            }
            let Some(queue) = self.queues.remove(&p) else {
                self.broken
                    .get_or_insert(PipelineError::TopicsChanged(format!(
                        "partition {p} has no queue (more partitions than at start-up?)"
                    )));
                continue;
            };
            let (tx, rx) = channel();
            let worker = Worker::new(
                p,
                self.cfg.clone(),
                self.live.clone(),
                self.health.clone(),
                queue,
                rx,
                self.replies_tx.clone(),
            );
            let join = std::thread::Builder::new()
                .name(format!("chiso-p{p}"))
                .spawn(move || worker.run())
                .expect("spawning a partition thread");
            self.health.partitions_owned.fetch_add(1, Ordering::Relaxed);
            self.workers.insert(
                p,
                WorkerHandle {
                    cmds: tx,
                    join,
                    restored: false,
                },
            );
        }
    }

    /// Ends workers without output (their partitions were lost, or the session is over).
    fn discard_workers(&mut self, partitions: &[i32]) {
        for p in partitions {
            if let Some(w) = self.workers.remove(p) {
                let _ = w.cmds.send(Cmd::Discard);
                self.join(*p, w);
            }
        }
    }

    fn join(&mut self, p: i32, w: WorkerHandle) {
        self.committed.remove(&p);
        self.health.partitions_owned.fetch_sub(1, Ordering::Relaxed);
        self.health.forget_lag(p);
        match w.join.join() {
            Ok(queue) => {
                self.queues.insert(p, queue);
            }
            Err(_) => {
                self.broken
                    .get_or_insert(PipelineError::WorkerPanicked { partition: p });
            }
        }
        self.live.withdraw(p as u32);
    }

    /// Final commit for the given partitions (with everyone else's pending outputs), then ends
    /// their workers.
    fn stop_workers(
        &mut self,
        partitions: &[i32],
        group: Option<ConsumerGroupMetadata>,
    ) -> Result<(), PipelineError> {
        let result = match group {
            Some(g) => self.commit(g, partitions).map(|_| ()),
            None => Ok(()),
        };
        for p in partitions {
            if let Some(w) = self.workers.remove(p) {
                if result.is_err() {
                    let _ = w.cmds.send(Cmd::Discard);
                }
                self.join(*p, w);
            }
        }
        result
    }

    /// Collects every worker's outputs (stopping those in `stopping`) and commits them with
    /// their offsets in one transaction.
    /// `Ok(true)` when a transaction was committed, `Ok(false)` when there was nothing to commit.
    ///
    /// Long because the exactly-once protocol is one sequence (collect the outputs, begin,
    /// send, add the offsets, commit, acknowledge) whose order must be checked at a glance.
    fn commit(
        &mut self,
        group: ConsumerGroupMetadata,
        stopping: &[i32],
    ) -> Result<bool, PipelineError> {
        self.epoch += 1;
        let epoch = self.epoch;
        let partials =
            !stopping.is_empty() || self.last_partials.elapsed() >= self.cfg.publish_interval;
        if partials {
            self.last_partials = Instant::now();
        }
        let mut waiting = 0;
        for (p, w) in &self.workers {
            let cmd = if stopping.contains(p) {
                Cmd::Stop { epoch }
            } else {
                Cmd::Flush { epoch, partials }
            };
            if w.cmds.send(cmd).is_ok() {
                waiting += 1;
            }
        }
        let mut outputs = Vec::with_capacity(waiting);
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        while outputs.len() < waiting {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(f) if f.epoch == epoch => outputs.push(f),
                Ok(_) => {}
                Err(_) => return Err(PipelineError::WorkersTimedOut),
            }
        }
        for f in &outputs {
            if let Some(e) = &f.error {
                return Err(PipelineError::Partition {
                    partition: f.partition,
                    source: Box::new(e.clone()),
                });
            }
            if let Some(w) = self.workers.get_mut(&f.partition) {
                w.restored = f.restored;
            }
        }
        let records: usize = outputs
            .iter()
            .map(|f| f.state.len() + f.dead.len() + f.partials.len())
            .sum();
        let mut offsets = TopicPartitionList::new();
        for f in &outputs {
            if let Some(o) = f
                .next_offset
                .filter(|o| self.committed.get(&f.partition) != Some(o))
            {
                offsets
                    .add_partition_offset(&self.cfg.topics.events, f.partition, Offset::Offset(o))
                    .map_err(op("building the offsets list"))?;
            }
        }
        if records == 0 && offsets.count() == 0 {
            return Ok(false);
        }
        let t0 = Instant::now();
        let topics = self.cfg.topics.clone();
        let producer = self
            .producer
            .as_mut()
            .expect("producer present while running");
        producer.begin()?;
        let batches: usize = outputs.iter().map(|f| f.state.len()).sum();
        let sent = (|| {
            for f in &mut outputs {
                // Moved, not copied: a state batch is a quarter of a megabyte.
                for value in std::mem::take(&mut f.state) {
                    let out = Out {
                        partition: Some(f.partition),
                        value,
                        ..Out::default()
                    };
                    producer.send(&topics.state, &out)?;
                }
                for d in &f.dead {
                    producer.send(&topics.dead_letter, d)?;
                }
                for p in &f.partials {
                    producer.send(&topics.partials, p)?;
                }
            }
            Ok::<_, PipelineError>(())
        })();
        if let Err(e) = sent {
            producer.abort();
            return Err(e);
        }
        producer.commit(&offsets, group)?;
        for f in &outputs {
            if let Some(o) = f.next_offset {
                self.committed.insert(f.partition, o);
            }
        }
        let dead: usize = outputs.iter().map(|f| f.dead.len()).sum();
        let h = &self.health;
        h.commit_seconds.observe(t0.elapsed());
        h.dead_letters.fetch_add(dead as u64, Ordering::Relaxed);
        h.transactions.fetch_add(1, Ordering::Relaxed);
        debug!(
            epoch,
            records,
            state_batches = batches,
            ms = t0.elapsed().as_millis() as u64,
            "stage 1 transaction committed"
        );
        Ok(true)
    }

    fn all_restored(&self) -> bool {
        self.workers.values().all(|w| w.restored)
    }

    /// Tells the read model what this session owns (readiness and completeness of the lists).
    fn report_ownership(&self) {
        let p = if self.assigned {
            Partitions::Assigned {
                owned: self.workers.len() as u32,
                total: self.total,
                restored: self.all_restored(),
            }
        } else {
            Partitions::Unassigned
        };
        self.live.readiness().set_partitions(p);
    }
}

fn session(
    cfg: &Arc<KafkaConfig>,
    live: &ReadModel,
    health: &Arc<EngineHealth>,
    cancel: &CancellationToken,
) -> Result<(), PipelineError> {
    let (replies_tx, replies) = channel();
    let shared = Arc::new(Mutex::new(IngestState {
        cfg: cfg.clone(),
        live: live.clone(),
        health: health.clone(),
        producer: None,
        queues: HashMap::new(),
        workers: HashMap::new(),
        replies_tx,
        replies,
        epoch: 0,
        committed: HashMap::new(),
        last_partials: Instant::now(),
        broken: None,
        total: 0,
        assigned: false,
    }));
    let result = session_inner(cfg, live, cancel, &shared);
    // Break the cycle consumer → context → shared → queues → consumer, outside the lock: the last
    // queue dropped closes the consumer, which may run a revoke callback that takes the lock.
    let (queues, producer) = {
        let mut c = shared.lock().expect("session state lock");
        let all: Vec<i32> = c.workers.keys().copied().collect();
        c.discard_workers(&all);
        (std::mem::take(&mut c.queues), c.producer.take())
    };
    drop_bounded("stage 1 clients", move || drop((queues, producer)));
    result
}

/// Long because it is the stage's whole session in order: clients, topics check, subscription,
/// the poll loop.
fn session_inner(
    cfg: &Arc<KafkaConfig>,
    live: &ReadModel,
    cancel: &CancellationToken,
    shared: &Arc<Mutex<IngestState>>,
) -> Result<(), PipelineError> {
    let topics = cfg.topics.clone();
    let producer = Transactor::new(
        &client::producer(cfg, &format!("{}-events", cfg.instance_id)),
        client::ProducerCtx {
            live: live.clone(),
            client: "stage 1 producer",
        },
        cfg.transaction_timeout / 2,
        cancel,
    )?;
    let consumer: Arc<BaseConsumer<IngestCtx>> = Arc::new(
        client::group_consumer(cfg, &cfg.group_id, "events", false, 100)
            .create_with_context(IngestCtx {
                shared: shared.clone(),
                live: live.clone(),
            })
            .map_err(op("creating the events consumer"))?,
    );
    let partitions = check_topics(&consumer, cfg, cancel)?;
    {
        let mut c = shared.lock().expect("session state lock");
        c.producer = Some(producer);
        c.total = partitions as u32;
        for p in 0..partitions {
            let q = consumer
                .split_partition_queue(&topics.events, p)
                .ok_or_else(|| PipelineError::Topics(format!("cannot split partition {p}")))?;
            c.queues.insert(p, q);
        }
    }
    consumer
        .subscribe(&[&topics.events])
        .map_err(op("subscribing to the events topic"))?;
    info!(
        topic = %topics.events,
        partitions,
        group = %cfg.group_id,
        instance = %cfg.instance_id,
        "stage 1 session started"
    );
    let mut last_commit = Instant::now();
    loop {
        if cancel.is_cancelled() {
            return shutdown(&consumer, shared);
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                use rdkafka::Message;
                return Err(PipelineError::TopicsChanged(format!(
                    "message of partition {} on the main queue (partitions added?)",
                    m.partition()
                )));
            }
            Some(Err(e)) => {
                // Logged by the context's error callback.
                if matches!(e, KafkaError::MessageConsumptionFatal(_)) {
                    return Err(op("consuming")(e));
                }
            }
        }
        let mut c = shared.lock().expect("session state lock");
        if let Some(e) = c.broken.take() {
            return Err(e);
        }
        if last_commit.elapsed() >= cfg.commit_interval {
            last_commit = Instant::now();
            if let Some(group) = consumer.group_metadata() {
                if c.commit(group, &[])? {
                    client::note_reachable(live);
                }
            }
            drop(c);
            if !live.kafka_reachable()
                && consumer
                    .fetch_metadata(Some(&topics.events), Duration::from_secs(1))
                    .is_ok()
            {
                // An idle pipeline has no commit to prove that the brokers are back.
                client::note_reachable(live);
            }
            shared
                .lock()
                .expect("session state lock")
                .report_ownership();
        }
    }
}

/// Final commit of every partition, then leave the group.
fn shutdown(
    consumer: &Arc<BaseConsumer<IngestCtx>>,
    shared: &Arc<Mutex<IngestState>>,
) -> Result<(), PipelineError> {
    let group = consumer.group_metadata();
    let result = {
        let mut c = shared.lock().expect("session state lock");
        let all: Vec<i32> = c.workers.keys().copied().collect();
        c.stop_workers(&all, group)
    };
    match &result {
        Ok(()) => info!("stage 1: final transaction committed"),
        Err(e) => warn!(error = %e, "stage 1: final transaction failed"),
    }
    consumer.unsubscribe();
    result
}
