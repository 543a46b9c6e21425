//! Stage 1, one event partition: the thread that owns its engine.
//!
//! Lifecycle: restore (replay the state partition of the same number to its end, read
//! committed), then consume the event partition's queue from the committed offset. Every event
//! is decoded; rejects become dead letters; events the engine applies (not duplicates) are
//! appended to the next state batch. The stage-1 thread asks for the outputs at every commit
//! ([`Cmd::Flush`]) and writes them in one transaction with this partition's next offset, so
//! the state topic always holds exactly the events up to the committed offset.
//!
//! Nothing here survives a failed commit: the session drops every worker and restores again.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::ConsumerContext;
use rdkafka::message::{BorrowedMessage, Message};
use tracing::{debug, info, warn};

use super::changelog;
use crate::accept::{accept_batch, Outcome, Tally};
use crate::core::{AgencyIdx, Engine, OwnFigures, Period};
use crate::kafka::config::KafkaConfig;
use crate::kafka::error::PipelineError;
use crate::kafka::txn::Out;
use crate::read_model::EngineHealth;
use std::sync::RwLock;

use crate::read_model::{OpenSet, ReadModel};
use crate::wire::dead_letter::{H_OFFSET, H_PARTITION, H_REASON, H_REASON_TEXT, H_TOPIC};
use crate::wire::partials;
use crate::wire::state_batch::BatchWriter;

/// At most this many messages already fetched are accepted as one batch.
const POLL_BATCH: usize = 512;

/// How often the engine's clock moves and the operator list is refreshed.
const TICK: Duration = Duration::from_secs(1);

/// What the stage-1 thread asks of a worker.
#[derive(Debug)]
pub enum Cmd {
    /// Hand over the outputs since the last flush (and changed own figures if asked).
    Flush { epoch: u64, partials: bool },
    /// Final flush (with own figures), then exit: the partition is being given up.
    Stop { epoch: u64 },
    /// Exit without output: the session failed and will restore.
    Discard,
}

/// A worker's outputs for one commit.
#[derive(Debug, Default)]
pub struct Flushed {
    pub partition: i32,
    pub epoch: u64,
    pub restored: bool,
    /// The offset to commit (next to consume), if anything was consumed since the start.
    pub next_offset: Option<i64>,
    pub state: Vec<Vec<u8>>,
    pub dead: Vec<Out>,
    pub partials: Vec<Out>,
    /// The worker cannot go on (the session must restart, or stop if `fatal`).
    pub error: Option<PipelineError>,
}

pub struct Worker<C: ConsumerContext + 'static> {
    partition: i32,
    cfg: Arc<KafkaConfig>,
    live: ReadModel,
    /// This partition's operator lists in the read model.
    open: Arc<RwLock<OpenSet>>,
    health: Arc<EngineHealth>,
    /// `None` only while [`Worker::consume`] holds it.
    queue: Option<PartitionQueue<C>>,
    cmds: Receiver<Cmd>,
    replies: Sender<Flushed>,
    engine: Engine,
    /// Agencies with at least one applied event here: the only ones this partition reports.
    seen: Vec<bool>,
    batch: BatchWriter,
    state: Vec<Vec<u8>>,
    dead: Vec<Out>,
    next_offset: Option<i64>,
    published: HashMap<(AgencyIdx, Period), OwnFigures>,
    restored: bool,
    error: Option<PipelineError>,
    /// (dossiers, pending, expired) last added to the process-wide gauges.
    reported: (i64, i64, i64),
    tally: Tally,
    /// Catching up: events are ingested without evaluation (see [`Worker::caught_up`]).
    deferred: bool,
    restore_started: Instant,
}

/// Adds a worker's local counts to the shared counters. Kept locally and added now and then:
/// four threads incrementing the same atomics for every event would bounce one cache line
/// between cores.
fn flush_tally(tally: &mut Tally, health: &EngineHealth) {
    if tally.messages == 0 {
        return;
    }
    let t = tally.take();
    health.add_outcomes(t.messages, t.applied, t.duplicates, &t.rejected);
}

enum Next {
    Go,
    Exit,
}

impl<C: ConsumerContext + 'static> Worker<C> {
    pub fn new(
        partition: i32,
        cfg: Arc<KafkaConfig>,
        live: ReadModel,
        health: Arc<EngineHealth>,
        queue: PartitionQueue<C>,
        cmds: Receiver<Cmd>,
        replies: Sender<Flushed>,
    ) -> Self {
        let engine = cfg.new_engine();
        Worker {
            batch: BatchWriter::with_capacity(cfg.state_batch_bytes),
            partition,
            seen: vec![false; cfg.registry.len()],
            cfg,
            open: live.open_set(partition as u32),
            live,
            health,
            queue: Some(queue),
            cmds,
            replies,
            engine,
            state: Vec::new(),
            dead: Vec::new(),
            next_offset: None,
            published: HashMap::new(),
            restored: false,
            error: None,
            reported: (0, 0, 0),
            tally: Tally::default(),
            deferred: false,
            restore_started: Instant::now(),
        }
    }

    /// Runs until stopped; gives the partition queue back for a later assignment.
    pub fn run(mut self) -> PartitionQueue<C> {
        let t0 = Instant::now();
        match self.restore() {
            Ok(Next::Go) => {
                self.restored = true;
                info!(
                    partition = self.partition,
                    events = self.engine.stats().applied,
                    dossiers = self.engine.dossier_count(),
                    seconds = t0.elapsed().as_secs_f64(),
                    "partition state read from the state topic; catching up"
                );
                if self.cfg.catch_up_max.is_zero() {
                    self.caught_up();
                }
                self.report_sizes(false);
                self.consume();
            }
            Ok(Next::Exit) => {}
            Err(e) => {
                warn!(partition = self.partition, error = %e, "restore failed");
                self.error = Some(e);
                // Report the failure at the next flush, then wait to be stopped.
                while let Ok(cmd) = self.cmds.recv() {
                    if let Next::Exit = self.handle(cmd) {
                        break;
                    }
                }
            }
        }
        self.live.withdraw(self.partition as u32);
        self.report_sizes(true);
        self.queue.take().expect("queue returned by consume")
    }

    /// Rebuilds the engine from the state partition of the same number, not yet evaluated:
    /// see [`Worker::caught_up`].
    fn restore(&mut self) -> Result<Next, PipelineError> {
        let cfg = self.cfg.clone();
        self.restore_started = Instant::now();
        let restored = changelog::restore(&cfg, self.partition, || {
            Ok(matches!(self.serve_commands()?, Next::Go))
        })?;
        match restored {
            None => Ok(Next::Exit),
            Some(r) => {
                self.engine = r.engine;
                self.seen = r.seen;
                self.deferred = true;
                Ok(Next::Go)
            }
        }
    }

    /// Ends the catch-up: the engine, which has taken every event so far without evaluating
    /// anything (its clock at the start of time), moves to `now` once. Until then it publishes
    /// no figures and does not count as restored (`/readyz`).
    ///
    /// Catching up this way — after a restore, over the backlog that built up while the
    /// partition had no owner — costs one evaluation per dossier and period instead of two per
    /// event, and gives the same engine (the core does not depend on how ingestion and
    /// `advance_to` interleave). It ends when the partition queue is empty or after
    /// `pipeline.catch_up_max_ms`.
    fn caught_up(&mut self) {
        if !self.deferred {
            return;
        }
        let t = Instant::now();
        self.engine.advance_to(self.cfg.now());
        self.deferred = false;
        let took = self.restore_started.elapsed();
        self.health.restore_seconds.observe(took);
        let seconds = took.as_secs_f64();
        info!(
            partition = self.partition,
            events = self.engine.stats().applied,
            dossiers = self.engine.dossier_count(),
            evaluation_seconds = t.elapsed().as_secs_f64(),
            seconds,
            "partition restored and caught up"
        );
        self.publish_open();
        self.report_sizes(false);
    }

    /// Answers commands during the restore: nothing to hand over yet.
    fn serve_commands(&mut self) -> Result<Next, PipelineError> {
        loop {
            match self.cmds.try_recv() {
                Ok(cmd) => {
                    if let Next::Exit = self.handle(cmd) {
                        return Ok(Next::Exit);
                    }
                }
                Err(TryRecvError::Empty) => return Ok(Next::Go),
                Err(TryRecvError::Disconnected) => return Ok(Next::Exit),
            }
        }
    }

    fn consume(&mut self) {
        let queue = self.queue.take().expect("queue present");
        self.consume_from(&queue);
        self.queue = Some(queue);
    }

    fn consume_from(&mut self, queue: &PartitionQueue<C>) {
        let mut last_tick = Instant::now();
        loop {
            loop {
                match self.cmds.try_recv() {
                    Ok(cmd) => {
                        if let Next::Exit = self.handle(cmd) {
                            return;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            if self.deferred && self.restore_started.elapsed() >= self.cfg.catch_up_max {
                self.caught_up();
            }
            if last_tick.elapsed() >= TICK && !self.deferred {
                last_tick = Instant::now();
                self.engine.advance_to(self.cfg.now());
                self.publish_open();
                self.report_sizes(false);
            }
            // Short waits: commands are answered within this much while the partition is idle.
            match queue.poll(Duration::from_millis(20)) {
                None => {
                    flush_tally(&mut self.tally, &self.health);
                    // Nothing waiting: the backlog is consumed.
                    self.caught_up();
                }
                Some(Ok(first)) => {
                    // What the queue holds already, up to a batch, is accepted together.
                    let mut messages = Vec::with_capacity(POLL_BATCH);
                    messages.push(first);
                    while messages.len() < POLL_BATCH {
                        match queue.poll(Duration::ZERO) {
                            Some(Ok(m)) => messages.push(m),
                            Some(Err(e)) => {
                                debug!(partition = self.partition, error = %e, "event partition");
                                break;
                            }
                            None => break,
                        }
                    }
                    self.process(&messages);
                    if self.tally.messages >= 1024 {
                        flush_tally(&mut self.tally, &self.health);
                    }
                }
                // Already reported through the consumer context's error callback.
                Some(Err(e)) => debug!(partition = self.partition, error = %e, "event partition"),
            }
        }
    }

    /// Accepts a batch of consecutive messages: applied events go to the next state batch,
    /// rejects to the dead-letter topic.
    fn process(&mut self, messages: &[BorrowedMessage<'_>]) {
        let payloads: Vec<&[u8]> = messages
            .iter()
            .map(|m| m.payload().unwrap_or_default())
            .collect();
        let registry = self.engine.registry().clone();
        let cfg = &self.cfg;
        let Worker {
            engine,
            seen,
            batch,
            state,
            dead,
            tally,
            ..
        } = self;
        accept_batch(engine, cfg.max_event_bytes, &payloads, |i, outcome| {
            tally.note(&outcome);
            match outcome {
                Outcome::Applied(ev) => {
                    seen[ev.agency.index()] = true;
                    batch.push(&registry, ev);
                    if batch.bytes() >= cfg.state_batch_bytes {
                        state.push(batch.finish());
                    }
                }
                Outcome::Duplicate => {}
                Outcome::Rejected(reject) => {
                    let m = &messages[i];
                    dead.push(Out {
                        partition: None,
                        key: m.key().map(<[u8]>::to_vec),
                        value: payloads[i].to_vec(),
                        headers: vec![
                            (H_REASON, reject.code().as_bytes().to_vec()),
                            (H_REASON_TEXT, reject.to_string().into_bytes()),
                            (H_TOPIC, m.topic().as_bytes().to_vec()),
                            (H_PARTITION, m.partition().to_string().into_bytes()),
                            (H_OFFSET, m.offset().to_string().into_bytes()),
                        ],
                    });
                }
            }
        });
        if let Some(m) = messages.last() {
            self.next_offset = Some(m.offset() + 1);
        }
    }

    fn handle(&mut self, cmd: Cmd) -> Next {
        flush_tally(&mut self.tally, &self.health);
        let (epoch, partials, exit) = match cmd {
            Cmd::Flush { epoch, partials } => (epoch, partials, false),
            Cmd::Stop { epoch } => (epoch, true, true),
            Cmd::Discard => return Next::Exit,
        };
        let mut out = Flushed {
            partition: self.partition,
            epoch,
            restored: self.restored && !self.deferred,
            next_offset: self.next_offset,
            error: self.error.clone(),
            ..Flushed::default()
        };
        if self.restored {
            if !self.batch.is_empty() {
                self.state.push(self.batch.finish());
            }
            out.state = std::mem::take(&mut self.state);
            out.dead = std::mem::take(&mut self.dead);
            if partials && !self.deferred {
                out.partials = self.changed_partials();
            }
        }
        // The receiver is gone only when the session is over; nothing to do then.
        let _ = self.replies.send(out);
        if exit {
            Next::Exit
        } else {
            Next::Go
        }
    }

    /// OwnFigures figures of this partition's agencies that differ from what was last handed over.
    fn changed_partials(&mut self) -> Vec<Out> {
        let now = self.engine.now();
        let periods: Vec<Period> = self.engine.periods().collect();
        self.published.retain(|(_, p), _| periods.contains(p));
        let (registry, model) = (self.engine.registry().clone(), self.engine.model().clone());
        let mut out = Vec::new();
        for period in periods {
            let own = self.engine.own_figures(period).expect("tracked period");
            for (a, figures) in own.into_iter().enumerate() {
                if !self.seen[a] {
                    continue;
                }
                let agency = AgencyIdx(a as u32);
                if self.published.get(&(agency, period)) == Some(&figures) {
                    continue;
                }
                out.push(Out {
                    partition: Some(0),
                    key: Some(partials::key(&registry, agency, period).into_bytes()),
                    value: partials::encode(
                        &registry,
                        &model,
                        agency,
                        period,
                        now,
                        self.partition,
                        &figures,
                    ),
                    headers: Vec::new(),
                });
                self.published.insert((agency, period), figures);
            }
        }
        out
    }

    /// Adds this engine's change in size to the process-wide gauges (all of it on exit).
    fn report_sizes(&mut self, leaving: bool) {
        let h = &self.health;
        let (dossiers, pending, expired) = if leaving {
            (0, 0, 0)
        } else {
            (
                self.engine.dossier_count() as i64,
                self.engine.pending() as i64,
                self.engine.expired_count() as i64,
            )
        };
        h.dossiers_tracked
            .fetch_add(dossiers - self.reported.0, Ordering::Relaxed);
        h.dossiers_pending
            .fetch_add(pending - self.reported.1, Ordering::Relaxed);
        h.dossiers_expired
            .fetch_add(expired - self.reported.2, Ordering::Relaxed);
        self.reported = (dossiers, pending, expired);
        if let Some(t) = self.engine.stats().last_event_at {
            h.saw_event_at(t);
        }
    }

    /// Brings this partition's operator lists up to date with what changed in the engine.
    fn publish_open(&mut self) {
        self.open
            .write()
            .expect("open set lock")
            .follow(&mut self.engine);
    }
}
