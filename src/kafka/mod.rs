//! The Kafka adapter of `chiso run`: consume events, publish results, exactly once.
//!
//! ```text
//!  events topic (key = agency_id, N partitions)
//!    │  stage 1: one engine per partition (consumer group `group_id`)
//!    ├──► state topic, partition p   every applied event, binary batches (the changelog)
//!    ├──► dead-letter topic          rejects, with reason and source headers
//!    └──► partials topic (1 part.)   own figures per (agency, period), changed ones only
//!            │  stage 2: one owner at a time (consumer group `group_id-rollup`)
//!            └──► results topic      pooled results per (agency, period), key `agency|period`
//! ```
//!
//! Each stage commits what it wrote together with the offsets it consumed, in one Kafka
//! transaction; readers use `read_committed`. A partition's engine is rebuilt by replaying its
//! state partition, which holds exactly the events before the committed offset. See
//! `docs/kafka.md` for the design and why.
//!
//! Invariants: only the thread that owns a partition touches its engine; nothing in memory is
//! ahead of Kafka after a failed commit (the session is dropped and restored); an agency is
//! exported to [`crate::read_model`] by at most one instance at a time (the stage-2 owner).

pub mod backfill;
pub mod client;
pub mod config;
pub mod error;
pub mod ingest;
pub mod layout;
pub mod published;
pub mod rollup;
pub mod session;
pub mod txn;

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio_util::sync::CancellationToken;

pub use config::{KafkaConfig, Topics};
pub use error::PipelineError;

use crate::read_model::ReadModel;

/// The two stages, running on their own threads.
pub struct Pipeline {
    stage1: JoinHandle<Result<(), PipelineError>>,
    rollup: JoinHandle<Result<(), PipelineError>>,
}

impl Pipeline {
    /// Starts both stages; they run until `cancel` fires (or a fatal error).
    pub fn start(
        cfg: Arc<KafkaConfig>,
        live: ReadModel,
        cancel: CancellationToken,
    ) -> std::io::Result<Pipeline> {
        // Both stages report to the read model's health figures, which metrics read.
        let health = live.health().clone();
        let stage1 = {
            let (cfg, live, health, cancel) =
                (cfg.clone(), live.clone(), health.clone(), cancel.clone());
            std::thread::Builder::new()
                .name("chiso-stage1".into())
                .spawn(move || {
                    let r = ingest::run(cfg, live, health, cancel.clone());
                    if r.is_err() {
                        cancel.cancel();
                    }
                    r
                })?
        };
        let rollup = std::thread::Builder::new()
            .name("chiso-rollup".into())
            .spawn(move || {
                let r = rollup::run(cfg, live, health, cancel.clone());
                if r.is_err() {
                    cancel.cancel();
                }
                r
            })?;
        Ok(Pipeline { stage1, rollup })
    }

    /// Waits for both stages to end; the first fatal error, if any.
    pub fn join(self) -> Result<(), PipelineError> {
        let a = self
            .stage1
            .join()
            .unwrap_or_else(|_| Err(PipelineError::StagePanicked(1)));
        let b = self
            .rollup
            .join()
            .unwrap_or_else(|_| Err(PipelineError::StagePanicked(2)));
        a.and(b)
    }
}
