//! The state changelog: every event a partition engine applied, in binary batches, on the state
//! partition with the same number as the event partition. Replaying it rebuilds the engine
//! exactly (the core is deterministic and order-independent), duplicate detection included: the
//! ids are checked in bulk once every event is in (`core::Restore`), and a partition that repeats
//! one is restored again with the per-event check.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, warn};

use crate::core::{Engine, Event, Timestamp};
use crate::kafka::client;
use crate::kafka::config::KafkaConfig;
use crate::kafka::error::{op, PipelineError};
use crate::wire::state_batch::{BatchReader, BinError};

/// What one restore read.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreStats {
    pub records: u64,
    pub events: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Event ids found more than once by the bulk check (then restored again with checks).
    pub repeats: usize,
}

/// A rebuilt partition engine.
pub struct Restored {
    pub engine: Engine,
    /// Agencies with at least one event in this partition.
    pub seen: Vec<bool>,
    pub stats: RestoreStats,
}

/// Rebuilds the engine of partition `partition` from its state partition. `keep_going` is
/// called between polls; `Ok(None)` when it said stop.
///
/// The engine is created at the start of time and *not* moved: every event costs no evaluation
/// (nothing is visible yet). Its clock floor is `now`, so that dossiers that can no longer count
/// are dropped while it is rebuilt, not after. The caller moves it to `now` once every event is in (after the
/// catch-up, see `partition::Worker::caught_up`), which evaluates each dossier once per tracked
/// period. The core's results do not depend on how ingestion and `advance_to` interleave, so
/// this is the same engine, faster (`benches/kafka.rs` checks the equality on a province-year).
pub fn restore(
    cfg: &KafkaConfig,
    partition: i32,
    mut keep_going: impl FnMut() -> Result<bool, PipelineError>,
) -> Result<Option<Restored>, PipelineError> {
    // The clock only moves forward: the engine will be evaluated at `now` or later, so the
    // dossiers that can count in no period tracked from then on are dropped as they are read.
    let now = cfg.now();
    let fresh = || {
        let mut engine = Engine::new(
            cfg.registry.clone(),
            cfg.model.clone(),
            cfg.calendar.clone(),
            cfg.engine.clone(),
            Timestamp::MIN,
        );
        engine.set_clock_floor(now);
        engine
    };
    // Every event of the changelog was accepted once, so the ids are checked in bulk at the
    // end instead of one by one (`core::Restore`).
    let mut restore = fresh().restore();
    let mut seen = vec![false; cfg.registry.len()];
    let Some(mut stats) = replay_into(cfg, partition, &mut seen, &mut keep_going, |evs| {
        restore.ingest_batch(evs)
    })?
    else {
        return Ok(None);
    };
    let engine = match restore.finish() {
        Ok(engine) => engine,
        Err(e) => {
            // Not written by chiso's exactly-once path (a topic copied by hand, two pipelines
            // on one state topic…): replay again, dropping repeats as the live path does.
            warn!(
                partition,
                repeats = e.repeats,
                "state partition holds repeated event ids; restoring again with duplicate checks"
            );
            stats.repeats = e.repeats;
            let mut engine = fresh();
            seen.fill(false);
            let Some(_) = replay_into(cfg, partition, &mut seen, &mut keep_going, |evs| {
                engine.ingest_batch(evs, |_, _| {});
            })?
            else {
                return Ok(None);
            };
            engine
        }
    };
    Ok(Some(Restored {
        engine,
        seen,
        stats,
    }))
}

/// Reads state partition `partition` (read committed, from the beginning to its end), giving
/// every event to `apply` and marking the agencies seen.
pub fn replay_into(
    cfg: &KafkaConfig,
    partition: i32,
    seen: &mut [bool],
    mut keep_going: impl FnMut() -> Result<bool, PipelineError>,
    mut apply: impl FnMut(&[Event<'_>]),
) -> Result<Option<RestoreStats>, PipelineError> {
    let t0 = Instant::now();
    let topic = cfg.topics.state.clone();
    let reader: BaseConsumer<client::ReaderCtx> =
        client::reader(cfg, &format!("restore-{partition}"))
            .create_with_context(client::ReaderCtx)
            .map_err(op("creating the state reader"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, partition, Offset::Beginning)
        .map_err(op("assigning the state partition"))?;
    reader
        .assign(&tpl)
        .map_err(op("assigning the state partition"))?;
    let registry = cfg.registry.clone();
    let mut stats = RestoreStats::default();
    loop {
        if !keep_going()? {
            return Ok(None);
        }
        match reader.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                let Some(payload) = m.payload() else { continue };
                stats.records += 1;
                stats.bytes += payload.len() as u64;
                let corrupt = |e: BinError| PipelineError::CorruptState {
                    topic: topic.to_string(),
                    partition,
                    offset: m.offset(),
                    reason: e.to_string(),
                };
                let mut batch = BatchReader::new(payload).map_err(corrupt)?;
                // The record's events, decoded, then applied together (the core prefetches
                // across them).
                let mut events = Vec::with_capacity(4096);
                while let Some(ev) = batch.next_event(&registry) {
                    match ev {
                        Ok(ev) => {
                            seen[ev.agency.index()] = true;
                            events.push(ev);
                        }
                        Err(BinError::UnknownAgency(a)) => {
                            warn!(agency = %a, "state event of an agency no longer in the registry skipped");
                        }
                        Err(e) => return Err(corrupt(e)),
                    }
                }
                apply(&events);
                stats.events += events.len() as u64;
            }
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Err(e)) => debug!(partition, error = %e, "state reader"),
        }
    }
    stats.seconds = t0.elapsed().as_secs_f64();
    crate::kafka::session::drop_bounded("state reader", move || drop(reader));
    Ok(Some(stats))
}
