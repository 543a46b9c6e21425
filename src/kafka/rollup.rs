//! Stage 2: pools the partial figures of every partition through the agency tree and publishes
//! the results of every agency, roll-ups included.
//!
//! The partials topic has one partition, so the roll-up consumer group (`{group_id}-rollup`)
//! gives it to exactly one instance at a time; the others stand by. On assignment the owner
//! rebuilds its view from scratch: it reads the results topic to its end (each key's latest
//! revision and content fingerprint) and the partials topic from the beginning (compacted: the
//! latest own figures of every (agency, period)). Only then does it publish, and only what
//! differs from the results topic. It commits its results with its consumed offsets in one
//! transaction, so a fenced former owner cannot publish over it, and it exports results to
//! [`ReadModel`] only while it owns the partition.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, ConsumerGroupMetadata};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::Offset;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use xxhash_rust::xxh3::xxh3_64;

use super::client;
use super::error::{op, PipelineError};
use super::session::{drop_bounded, empty_rebalance, run_sessions};
use super::txn::{Out, Transactor};
use crate::core::{score_pooled, AgencyResult, Own, Period, Timestamp};
use crate::kafka::config::KafkaConfig;
use crate::read_model::EngineHealth;
use crate::read_model::{ReadModel, Rollup, Snapshot};
use crate::wire::partials;
use crate::wire::result_json;

/// The [`ReadModel`] source number of pooled results.
pub const LIVE_SOURCE: u32 = u32::MAX;

/// Runs stage 2 until cancelled; returns an error only for problems no retry can fix.
pub fn run(
    cfg: Arc<KafkaConfig>,
    live: ReadModel,
    health: Arc<EngineHealth>,
    cancel: CancellationToken,
) -> Result<(), PipelineError> {
    run_sessions("stage 2", &cancel, &health, || {
        live.readiness().set_rollup(Rollup::Unknown);
        session(&cfg, &live, &health, &cancel)
    })
}

/// What the results topic holds for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Published {
    revision: u64,
    fingerprint: u64,
    is_final: bool,
    /// [`digest`] of the result published, when this process scored it (`None` for what was
    /// read back from the topic): an equal digest means an equal [`fingerprint`], so the
    /// result is not encoded again to find that out.
    digest: Option<u64>,
}

/// A cheap digest of everything [`fingerprint`] covers (the pooled counts and the score card),
/// taken from the result itself instead of its JSON. With thousands of agencies, encoding
/// every result of a changed period only to find most of them unchanged was most of stage 2's
/// work (docs/performance.md, "Against Kafka Streams").
fn digest(r: &AgencyResult) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.counts.hash(&mut h);
    let card = &r.card;
    for i in &card.indicators {
        match i {
            None => 0u8.hash(&mut h),
            Some(v) => (1u8, v.numerator, v.denominator, v.points_h, v.max_h).hash(&mut h),
        }
    }
    card.groups.hash(&mut h);
    (
        card.total_points_h,
        card.measured_max_h,
        card.score_tenths,
        card.band,
    )
        .hash(&mut h);
    h.finish()
}

/// The part of a result that makes a new revision: everything from `counts` on (counts,
/// indicators, groups, points, score, band), not the identity, `evaluated_at`, `final` or
/// `revision` that come before it in the fixed field order of [`result_json::encode`].
fn fingerprint(json: &str) -> u64 {
    xxh3_64(
        json.find("\"counts\":")
            .map_or(json, |i| &json[i..])
            .as_bytes(),
    )
}

struct RollupState {
    cfg: Arc<KafkaConfig>,
    live: ReadModel,
    health: Arc<EngineHealth>,
    producer: Option<Transactor>,
    owned: bool,
    needs_restore: bool,
    caught_up: bool,
    figures: HashMap<Period, Vec<Own>>,
    dirty: HashSet<Period>,
    /// Latest results per tracked period (what ReadModel shows), with their `final` flag.
    current: HashMap<Period, Vec<AgencyResult>>,
    published: HashMap<String, Published>,
    next_offset: Option<i64>,
    /// The partials offset last committed (nothing to commit while it is `next_offset`).
    committed_offset: Option<i64>,
    broken: Option<PipelineError>,
}

pub struct RollupCtx {
    shared: Arc<Mutex<RollupState>>,
    live: ReadModel,
}

impl ClientContext for RollupCtx {
    /// Statistics are off for this client; should a configuration turn them on, they are not
    /// logged (the default would write them at INFO every interval).
    fn stats(&self, _: rdkafka::Statistics) {}

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        client::log_librdkafka("stage 2 consumer", level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        client::note_error(&self.live, &error, reason, "stage 2 consumer");
    }
}

impl ConsumerContext for RollupCtx {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let mut shared = self.shared.lock().expect("session state lock");
        if let Some(r) = empty_rebalance(consumer, err, tpl) {
            if let Err(e) = r {
                shared.broken.get_or_insert(e);
            }
            if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !shared.owned {
                // The rebalance ended and another instance owns the roll-up partition.
                shared.live.readiness().set_rollup(Rollup::Standby);
            }
            return;
        }
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                info!("roll-up partition assigned: restoring");
                // Always from the beginning: the compacted topic is the whole state.
                let mut from_start = tpl.clone();
                let _ = from_start.set_all_offsets(Offset::Beginning);
                if let Err(e) = consumer.incremental_assign(&from_start) {
                    shared
                        .broken
                        .get_or_insert(op("assigning the partials partition")(e));
                }
                shared.owned = true;
                shared.live.readiness().set_rollup(Rollup::Restoring);
                shared.needs_restore = true;
                shared.caught_up = false;
                shared.figures.clear();
                shared.dirty.clear();
                shared.current.clear();
                shared.published.clear();
                shared.next_offset = None;
                shared.committed_offset = None;
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = consumer.assignment_lost();
                info!(lost, "roll-up partition revoked");
                if shared.owned && !lost && !shared.needs_restore && shared.caught_up {
                    if let Some(g) = consumer.group_metadata() {
                        if let Err(e) = shared.publish(g) {
                            shared.broken.get_or_insert(e);
                        }
                    }
                }
                shared.owned = false;
                shared.live.withdraw(LIVE_SOURCE);
                // Unknown until the rebalance ends with the next assignment.
                shared.live.readiness().set_rollup(Rollup::Unknown);
                if let Err(e) = consumer.incremental_unassign(tpl) {
                    shared
                        .broken
                        .get_or_insert(op("unassigning the partials partition")(e));
                }
                info!("roll-up partition released");
            }
            _ => {
                shared
                    .broken
                    .get_or_insert(PipelineError::Rebalance(err.into()));
            }
        }
    }
}

impl RollupState {
    fn apply(&mut self, payload: Option<&[u8]>, offset: i64) {
        self.next_offset = Some(offset + 1);
        let Some(bytes) = payload else { return };
        match partials::decode(bytes, &self.cfg.registry, &self.cfg.model) {
            Ok(p) => {
                let n = self.cfg.registry.len();
                let width = self.cfg.model.indicators.len();
                let figures = self.figures.entry(p.period).or_insert_with(|| {
                    vec![
                        Own {
                            counts: Default::default(),
                            reported: vec![(0, 0); width],
                        };
                        n
                    ]
                });
                figures[p.agency.index()] = p.own;
                self.dirty.insert(p.period);
            }
            Err(e) => warn!(offset, error = %e, "partials record skipped"),
        }
    }

    /// Scores the periods that changed and publishes the results that differ from the topic.
    fn publish(&mut self, group: ConsumerGroupMetadata) -> Result<(), PipelineError> {
        let now = self.cfg.now();
        // The same periods as the partition engines track.
        let periods = self.cfg.engine.periods.periods_at(now);
        self.current.retain(|p, _| periods.contains(p));
        let (registry, model) = (self.cfg.registry.clone(), self.cfg.model.clone());
        let mut offsets = TopicPartitionList::new();
        if let Some(o) = self
            .next_offset
            .filter(|o| Some(*o) != self.committed_offset)
        {
            offsets
                .add_partition_offset(&self.cfg.topics.partials, 0, Offset::Offset(o))
                .map_err(op("building the offsets list"))?;
        }
        let topic = self.cfg.topics.results.clone();
        let producer = self
            .producer
            .as_mut()
            .expect("producer present while running");
        let t0 = Instant::now();
        // The transaction opens with the first result to send, and each result goes to the
        // producer as soon as it is encoded (librdkafka keeps its own copy): a publication of
        // thousands of agencies never holds all of its JSON at once.
        let mut sent = 0usize;
        let mut staged = Vec::new();
        for &period in &periods {
            let final_now = period.end() <= now;
            let stale = match self.current.get(&period) {
                None => true,
                Some(r) => r.first().is_some_and(|r| r.is_final != final_now),
            };
            if !stale && !self.dirty.contains(&period) {
                continue;
            }
            let own = self.figures.get(&period).cloned().unwrap_or_else(|| {
                vec![
                    Own {
                        counts: Default::default(),
                        reported: vec![(0, 0); model.indicators.len()],
                    };
                    registry.len()
                ]
            });
            let results = score_pooled(&registry, &model, period, now, own);
            for r in &results {
                let key = result_json::key(&registry, r);
                let digest = digest(r);
                let prev = self.published.get(&key).copied();
                if prev.is_some_and(|p| p.digest == Some(digest) && p.is_final == r.is_final) {
                    continue;
                }
                let probe = result_json::encode(&registry, &model, r, 0);
                let fp = fingerprint(&probe);
                let revision = match prev {
                    Some(p) if p.fingerprint == fp && p.is_final == r.is_final => {
                        // Unchanged: remember its digest, so that it is not encoded again.
                        staged.push((
                            key,
                            Published {
                                digest: Some(digest),
                                ..p
                            },
                        ));
                        continue;
                    }
                    Some(p) if p.fingerprint == fp => p.revision,
                    Some(p) => p.revision + 1,
                    None => 0,
                };
                let value = if revision == 0 {
                    probe
                } else {
                    result_json::encode(&registry, &model, r, revision)
                };
                let out = Out {
                    partition: None,
                    key: Some(key.clone().into_bytes()),
                    value: value.into_bytes(),
                    headers: Vec::new(),
                };
                if sent == 0 {
                    producer.begin()?;
                }
                if let Err(e) = producer.send(&topic, &out) {
                    producer.abort();
                    return Err(e);
                }
                sent += 1;
                staged.push((
                    key,
                    Published {
                        revision,
                        fingerprint: fp,
                        is_final: r.is_final,
                        digest: Some(digest),
                    },
                ));
            }
            self.current.insert(period, results);
        }
        self.dirty.clear();
        if sent > 0 || offsets.count() > 0 {
            if sent == 0 {
                producer.begin()?;
            }
            producer.commit(&offsets, group)?;
            debug!(
                results = sent,
                ms = t0.elapsed().as_millis() as u64,
                "stage 2 transaction committed"
            );
        }
        // Only what is committed counts as published.
        self.published.extend(staged);
        if offsets.count() > 0 {
            self.committed_offset = self.next_offset;
        }
        self.health
            .results_published
            .fetch_add(sent as u64, std::sync::atomic::Ordering::Relaxed);
        if sent > 0 || self.live_stale(now) {
            self.live.publish(
                LIVE_SOURCE,
                Snapshot {
                    evaluated_at: Some(now),
                    results: self.current.values().flatten().cloned().collect(),
                },
            );
            self.live.readiness().set_rollup(Rollup::Serving);
        }
        Ok(())
    }

    fn live_stale(&self, _now: Timestamp) -> bool {
        !self.live.snapshots().iter().any(|(s, _)| *s == LIVE_SOURCE)
    }

    /// Reads the results topic to its end: latest revision and fingerprint of every key.
    fn restore_results(&mut self) -> Result<(), PipelineError> {
        #[derive(Deserialize)]
        struct Head {
            revision: u64,
            #[serde(rename = "final")]
            is_final: bool,
        }
        let t0 = Instant::now();
        let topic = self.cfg.topics.results.clone();
        let reader: BaseConsumer<client::ReaderCtx> = client::reader(&self.cfg, "results-restore")
            .create_with_context(client::ReaderCtx)
            .map_err(op("creating the results reader"))?;
        let md = reader
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .map_err(op("fetching results topic metadata"))?;
        let parts = md.topics().first().map_or(0, |t| t.partitions().len());
        if parts == 0 {
            return Err(PipelineError::Topics(format!(
                "topic `{topic}` does not exist"
            )));
        }
        let mut tpl = TopicPartitionList::new();
        for p in 0..parts as i32 {
            tpl.add_partition_offset(&topic, p, Offset::Beginning)
                .map_err(op("assigning the results topic"))?;
        }
        reader
            .assign(&tpl)
            .map_err(op("assigning the results topic"))?;
        let mut open: HashSet<i32> = (0..parts as i32).collect();
        let mut records = 0u64;
        while !open.is_empty() {
            match reader.poll(Duration::from_millis(200)) {
                None => {}
                Some(Ok(m)) => {
                    records += 1;
                    let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                        continue;
                    };
                    match m.payload() {
                        None => {
                            self.published.remove(key);
                        }
                        Some(v) => {
                            let text = String::from_utf8_lossy(v);
                            match serde_json::from_str::<Head>(&text) {
                                Ok(h) => {
                                    self.published.insert(
                                        key.to_owned(),
                                        Published {
                                            revision: h.revision,
                                            fingerprint: fingerprint(&text),
                                            is_final: h.is_final,
                                            digest: None,
                                        },
                                    );
                                }
                                Err(e) => {
                                    warn!(error = %e, "unreadable record in the results topic")
                                }
                            }
                        }
                    }
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    open.remove(&p);
                }
                Some(Err(e)) => debug!(error = %e, "results reader"),
            }
        }
        info!(
            records,
            keys = self.published.len(),
            seconds = t0.elapsed().as_secs_f64(),
            "roll-up stage restored revisions from the results topic"
        );
        drop_bounded("results reader", move || drop(reader));
        Ok(())
    }
}

fn session(
    cfg: &Arc<KafkaConfig>,
    live: &ReadModel,
    health: &Arc<EngineHealth>,
    cancel: &CancellationToken,
) -> Result<(), PipelineError> {
    let shared = Arc::new(Mutex::new(RollupState {
        cfg: cfg.clone(),
        live: live.clone(),
        health: health.clone(),
        producer: None,
        owned: false,
        needs_restore: false,
        caught_up: false,
        figures: HashMap::new(),
        dirty: HashSet::new(),
        current: HashMap::new(),
        published: HashMap::new(),
        next_offset: None,
        committed_offset: None,
        broken: None,
    }));
    let result = session_inner(cfg, cancel, &shared);
    let producer = {
        let mut c = shared.lock().expect("session state lock");
        if c.owned {
            c.live.withdraw(LIVE_SOURCE);
        }
        c.live.readiness().set_rollup(Rollup::Unknown);
        c.owned = false;
        c.producer.take()
    };
    drop_bounded("stage 2 producer", move || drop(producer));
    result
}

fn session_inner(
    cfg: &Arc<KafkaConfig>,
    cancel: &CancellationToken,
    shared: &Arc<Mutex<RollupState>>,
) -> Result<(), PipelineError> {
    let live = shared.lock().expect("session state lock").live.clone();
    let producer = Transactor::new(
        &client::producer(cfg, &format!("{}-rollup", cfg.instance_id)),
        client::ProducerCtx {
            live: live.clone(),
            client: "stage 2 producer",
        },
        cfg.transaction_timeout / 2,
        cancel,
    )?;
    shared.lock().expect("session state lock").producer = Some(producer);
    let group = format!("{}-rollup", cfg.group_id);
    // The end of the latency path, one low-traffic partition: it waits least for new data.
    let mut config = client::group_consumer(cfg, &group, "rollup", true, 20);
    // No lag gauge here: without this, librdkafka's statistics would be logged every 5 s.
    if !cfg.librdkafka.contains_key("statistics.interval.ms") {
        config.set("statistics.interval.ms", "0");
    }
    let consumer: BaseConsumer<RollupCtx> = config
        .create_with_context(RollupCtx {
            shared: shared.clone(),
            live,
        })
        .map_err(op("creating the partials consumer"))?;
    consumer
        .subscribe(&[&cfg.topics.partials])
        .map_err(op("subscribing to the partials topic"))?;
    let result = (|| {
        let mut last_publish = Instant::now();
        loop {
            if cancel.is_cancelled() {
                break;
            }
            match consumer.poll(Duration::from_millis(50)) {
                None => {}
                Some(Ok(m)) => {
                    let mut c = shared.lock().expect("session state lock");
                    if c.owned {
                        c.apply(m.payload(), m.offset());
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    shared.lock().expect("session state lock").caught_up = true;
                }
                Some(Err(e)) => debug!(error = %e, "stage 2 consumer"),
            }
            let mut c = shared.lock().expect("session state lock");
            if let Some(e) = c.broken.take() {
                return Err(e);
            }
            if c.owned && c.needs_restore {
                c.restore_results()?;
                c.needs_restore = false;
            }
            if c.owned
                && c.caught_up
                && !c.needs_restore
                && last_publish.elapsed() >= cfg.rollup_interval
            {
                last_publish = Instant::now();
                if let Some(g) = consumer.group_metadata() {
                    c.publish(g)?;
                }
            }
        }
        // Final publish before leaving.
        let mut c = shared.lock().expect("session state lock");
        if c.owned && c.caught_up && !c.needs_restore {
            if let Some(g) = consumer.group_metadata() {
                if let Err(e) = c.publish(g) {
                    error!(error = %e, "stage 2: final transaction failed");
                }
            }
        }
        Ok(())
    })();
    consumer.unsubscribe();
    drop_bounded("stage 2 consumer", move || drop(consumer));
    result
}
