//! What both stages' sessions share: running sessions one after the other with backoff, the
//! empty callbacks of cooperative rebalancing, a sleep that ends on cancellation, and bounded
//! dropping of rdkafka clients.
//!
//! A session is one set of clients and everything in memory built from them. Any error ends
//! it; a retryable one starts a new session (which restores from Kafka) after a backoff, a
//! fatal one stops the stage.

use std::sync::atomic::Ordering;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::TopicPartitionList;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use super::error::{op, PipelineError};
use crate::read_model::EngineHealth;

/// Runs `session` until it ends cleanly (cancelled) or with an error no new session can fix;
/// retryable errors start a new session after an exponential backoff (0.5 s to 15 s).
pub fn run_sessions(
    stage: &'static str,
    cancel: &CancellationToken,
    health: &EngineHealth,
    mut session: impl FnMut() -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
    while !cancel.is_cancelled() {
        match session() {
            Ok(()) => return Ok(()),
            Err(e) if cancel.is_cancelled() => {
                // Stopping: nothing is restarted. What was not committed is consumed again by
                // the next owner (exactly once holds either way).
                warn!(stage, error = %e, "session ended on an error while stopping");
                return Ok(());
            }
            Err(e) if e.retryable() => {
                let delay = backoff.next_delay();
                warn!(
                    stage,
                    error = %e,
                    retry_in_ms = delay.as_millis() as u64,
                    "session ended; starting a new one, restored from Kafka"
                );
                health.session_restarts.fetch_add(1, Ordering::Relaxed);
                cancel_aware_sleep(cancel, delay);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Cooperative rebalancing also calls back with empty lists, where nothing changes but the
/// incremental (un)assign must still be called. `None` when `tpl` is not empty (a real change,
/// for the caller); otherwise the result of that call.
pub fn empty_rebalance<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    err: RDKafkaRespErr,
    tpl: &TopicPartitionList,
) -> Option<Result<(), PipelineError>> {
    if tpl.count() > 0 {
        return None;
    }
    let r = match err {
        RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => consumer.incremental_assign(tpl),
        RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => consumer.incremental_unassign(tpl),
        _ => return None,
    };
    Some(r.map_err(op("empty rebalance")))
}

/// Exponential backoff between session restarts.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff { next: first, max }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
}

pub fn cancel_aware_sleep(cancel: &CancellationToken, d: Duration) {
    let end = Instant::now() + d;
    while !cancel.is_cancelled() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Drops rdkafka clients on a helper thread and waits a bounded time: librdkafka can hang in
/// `close` (rust-rdkafka #453, #509, #611), and a hung session must not stop the next one.
pub fn drop_bounded(what: &'static str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("chiso-drop".into())
        .spawn(move || {
            f();
            let _ = tx.send(());
        });
    if spawned.is_ok() && rx.recv_timeout(Duration::from_secs(30)).is_err() {
        error!(
            what,
            "closing Kafka clients takes over 30 s; leaving them behind"
        );
    }
}
