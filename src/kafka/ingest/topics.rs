//! The topics stage 1 needs, checked at the start of a session.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio_util::sync::CancellationToken;

use super::IngestCtx;
use crate::kafka::config::KafkaConfig;
use crate::kafka::error::{op, PipelineError};

/// The events and state topics must exist with the same number of partitions.
pub(super) fn check_topics(
    consumer: &BaseConsumer<IngestCtx>,
    cfg: &KafkaConfig,
    cancel: &CancellationToken,
) -> Result<i32, PipelineError> {
    let t = &cfg.topics;
    let count = |topic: &str| -> Result<i32, PipelineError> {
        // In steps of a second within 10 s: a stop does not wait for an absent broker.
        let deadline = Instant::now() + Duration::from_secs(10);
        let md = loop {
            match consumer.fetch_metadata(Some(topic), Duration::from_secs(1)) {
                Err(KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut))
                    if !cancel.is_cancelled() && Instant::now() < deadline => {}
                r => break r.map_err(op("fetching topic metadata"))?,
            }
        };
        let m = md.topics().first().ok_or_else(|| {
            PipelineError::TopicsChanged(format!("no metadata for topic {topic}"))
        })?;
        if m.error().is_some() || m.partitions().is_empty() {
            return Err(PipelineError::Topics(format!(
                "topic `{topic}` does not exist (create it: scripts/kafka topics, docs/kafka.md)"
            )));
        }
        Ok(m.partitions().len() as i32)
    };
    let events = count(&t.events)?;
    let state = count(&t.state)?;
    if state != events {
        return Err(PipelineError::Topics(format!(
            "the state topic `{}` has {state} partitions, the events topic `{}` {events}: they must match",
            t.state, t.events
        )));
    }
    for topic in [&t.partials, &t.results, &t.dead_letter] {
        count(topic)?;
    }
    if count(&t.partials)? != 1 {
        return Err(PipelineError::Topics(format!(
            "the partials topic `{}` must have exactly one partition",
            t.partials
        )));
    }
    Ok(events)
}
