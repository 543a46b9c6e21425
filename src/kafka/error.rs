//! The Kafka adapter's error type: what went wrong, and whether a new session can fix it.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// What went wrong in the Kafka adapter. `retryable` errors end a session, which is restarted
/// with backoff; the others stop the process with the message.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{op}: {source}")]
    Kafka {
        op: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("{0}")]
    Retry(String),
    /// A setting or topic layout the pipeline cannot work with.
    #[error("{0}")]
    Fatal(String),
}

impl PipelineError {
    pub fn retryable(&self) -> bool {
        match self {
            PipelineError::Kafka { source, .. } => !is_fatal(source),
            PipelineError::Retry(_) => true,
            PipelineError::Fatal(_) => false,
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
