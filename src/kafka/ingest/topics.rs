//! The topics stage 1 needs, checked at the start of a session against the layout
//! ([`crate::kafka::layout`]).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio_util::sync::CancellationToken;

use super::IngestCtx;
use crate::kafka::config::KafkaConfig;
use crate::kafka::error::{op, PipelineError};
use crate::kafka::layout;

/// The five topics must exist with the layout's partition counts; returns the events topic's.
pub(super) fn check_topics(
    consumer: &BaseConsumer<IngestCtx>,
    cfg: &KafkaConfig,
    cancel: &CancellationToken,
) -> Result<i32, PipelineError> {
    // In steps of a second within 10 s: a stop does not wait for an absent broker.
    let deadline = Instant::now() + Duration::from_secs(10);
    let md = loop {
        match consumer.fetch_metadata(None, Duration::from_secs(1)) {
            Err(KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut))
                if !cancel.is_cancelled() && Instant::now() < deadline => {}
            r => break r.map_err(op("fetching topic metadata"))?,
        }
    };
    let found = layout::partition_counts(&md, &cfg.topics);
    let problems = layout::partition_problems(&found);
    if !problems.is_empty() {
        return Err(PipelineError::Topics(format!(
            "{} (docs/kafka.md, section Topics)",
            problems.join("; ")
        )));
    }
    Ok(found[0].1.expect("checked above"))
}
