//! What the Kafka adapter runs on: its own configuration, built by the app from the layered run
//! configuration (the adapter never reads the app's). The domain parts (registry, scoring
//! model, calendar, engine settings) and the clock come from the app too.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::{Engine, EngineSettings, Registry, ScoringModel, Timestamp, WorkCalendar};

/// The source of `now` for the engines (the wall clock in production; fixed in tests).
pub type Now = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The five topics of a pipeline.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Topics {
    pub events: String,
    pub results: String,
    pub partials: String,
    pub state: String,
    pub dead_letter: String,
}

/// Everything the two stages are configured with.
#[derive(Clone)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    pub group_id: String,
    /// This instance's id: client ids, transactional ids, static membership.
    pub instance_id: String,
    pub static_membership: bool,
    pub topics: Topics,
    /// librdkafka pass-through properties (TLS, SASL, timeouts), keys normalised (`_` → `.`).
    pub librdkafka: BTreeMap<String, String>,
    /// How often stage 1 commits its outputs with its offsets.
    pub commit_interval: Duration,
    /// How often changed own figures are handed to stage 2.
    pub publish_interval: Duration,
    /// How often stage 2 publishes changed results.
    pub rollup_interval: Duration,
    pub transaction_timeout: Duration,
    /// Longest a partition catches up a backlog without evaluating.
    pub catch_up_max: Duration,
    pub max_event_bytes: usize,
    pub state_batch_bytes: usize,
    pub registry: Arc<Registry>,
    pub model: Arc<ScoringModel>,
    pub calendar: Arc<WorkCalendar>,
    pub engine: EngineSettings,
    pub clock: Now,
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("group_id", &self.group_id)
            .field("instance_id", &self.instance_id)
            .field("topics", &self.topics)
            .field("agencies", &self.registry.len())
            .finish_non_exhaustive()
    }
}

impl KafkaConfig {
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// A fresh engine with the pipeline's settings, at `now`.
    pub fn new_engine(&self) -> Engine {
        Engine::new(
            self.registry.clone(),
            self.model.clone(),
            self.calendar.clone(),
            self.engine.clone(),
            self.now(),
        )
    }
}
