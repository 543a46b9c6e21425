//! The Kafka adapter's error type: what went wrong, and whether a new session can fix it.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// What went wrong in the Kafka adapter. [`PipelineError::retryable`] errors end a session,
/// which a new one (restored from Kafka) replaces after a backoff; the others stop the process.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PipelineError {
    /// A librdkafka call failed; the error code says whether a new session can help.
    #[error("{op}: {source}")]
    Kafka {
        op: &'static str,
        #[source]
        source: KafkaError,
    },
    /// The group took this instance's partitions away without a clean revoke.
    #[error("partition assignment lost")]
    AssignmentLost,
    #[error("rebalance error: {0}")]
    Rebalance(RDKafkaErrorCode),
    /// A librdkafka call did not return in time: its client is abandoned.
    #[error("{what} did not return within {seconds} s")]
    Hung { what: &'static str, seconds: u64 },
    #[error("{what}: the producer is unusable after a hung call")]
    ProducerUnusable { what: &'static str },
    #[error("{what}: cannot start a thread: {reason}")]
    Thread { what: &'static str, reason: String },
    #[error("partition workers did not hand over their outputs in time")]
    WorkersTimedOut,
    #[error("partition {partition} worker panicked")]
    WorkerPanicked { partition: i32 },
    /// A partition worker failed; the source says how.
    #[error("partition {partition}: {source}")]
    Partition {
        partition: i32,
        #[source]
        source: Box<PipelineError>,
    },
    /// The topics changed under the session (partitions added, metadata not there yet).
    #[error("{0}")]
    TopicsChanged(String),
    /// The topics are not what the pipeline needs (missing, mismatched partition counts).
    #[error("{0}")]
    Topics(String),
    /// A state topic record that cannot be read: restoring would lose events.
    #[error("state topic {topic} partition {partition} offset {offset}: {reason}")]
    CorruptState {
        topic: String,
        partition: i32,
        offset: i64,
        reason: String,
    },
    #[error("stage {0} panicked")]
    StagePanicked(u8),
}

impl PipelineError {
    /// Whether a new session (restored from Kafka) can get past this.
    pub fn retryable(&self) -> bool {
        match self {
            PipelineError::Kafka { source, .. } => !is_fatal(source),
            PipelineError::Partition { source, .. } => source.retryable(),
            PipelineError::AssignmentLost
            | PipelineError::Rebalance(_)
            | PipelineError::Hung { .. }
            | PipelineError::ProducerUnusable { .. }
            | PipelineError::Thread { .. }
            | PipelineError::WorkersTimedOut
            | PipelineError::WorkerPanicked { .. }
            | PipelineError::TopicsChanged(_) => true,
            PipelineError::Topics(_)
            | PipelineError::CorruptState { .. }
            | PipelineError::StagePanicked(_) => false,
        }
    }
}

/// Attaches the operation name to an rdkafka error.
pub fn op(op: &'static str) -> impl FnOnce(KafkaError) -> PipelineError {
    move |source| PipelineError::Kafka { op, source }
}

/// Errors no retry can fix: bad client configuration or authentication/authorisation failures.
fn is_fatal(e: &KafkaError) -> bool {
    match e {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) => true,
        _ => matches!(
            e.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::TransactionalIdAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::InvalidConfig
            )
        ),
    }
}
