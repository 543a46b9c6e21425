//! Stage 2: pools the own figures of every partition through the agency tree and publishes
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

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error};

mod publish;
use publish::Published;
mod rebalance;

use super::client;
use super::error::{op, PipelineError};
use super::session::{drop_bounded, run_sessions};
use super::txn::Transactor;
use crate::core::{AgencyResult, OwnFigures, Period};
use crate::kafka::config::KafkaConfig;
use crate::read_model::EngineHealth;
use crate::read_model::{ReadModel, Rollup};

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

struct RollupState {
    cfg: Arc<KafkaConfig>,
    live: ReadModel,
    health: Arc<EngineHealth>,
    producer: Option<Transactor>,
    owned: bool,
    needs_restore: bool,
    caught_up: bool,
    figures: HashMap<Period, Vec<OwnFigures>>,
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

/// Long because it is the stage's whole session in order: clients, subscription, the poll loop,
/// the final publish.
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
