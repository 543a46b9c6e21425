//! Stage 1's consumer context: librdkafka's callbacks (statistics, errors, logs, rebalances)
//! acting on the session state. A revoke commits the revoked partitions' last outputs inside the
//! callback, so the next owner restores from a state topic that matches the committed offset.

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::Offset;
use tracing::{error, info};

use super::{IngestCtx, OFFSETS_TIMEOUT};
use crate::kafka::client;
use crate::kafka::error::{op, PipelineError};
use crate::kafka::session::empty_rebalance;

impl ClientContext for IngestCtx {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        client::log_librdkafka("stage 1 consumer", level, fac, log_message);
    }

    /// Consumer lag per owned partition, from librdkafka's statistics (no extra requests).
    fn stats(&self, stats: rdkafka::Statistics) {
        let Ok(shared) = self.shared.try_lock() else {
            return;
        };
        let Some(topic) = stats.topics.get(&shared.cfg.topics.events) else {
            return;
        };
        for (p, s) in &topic.partitions {
            if *p >= 0 && shared.workers.contains_key(p) && s.consumer_lag >= 0 {
                shared.health.set_lag(*p, s.consumer_lag);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        client::note_error(&self.live, &error, reason, "stage 1 consumer");
    }
}

impl ConsumerContext for IngestCtx {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        if let Some(r) = empty_rebalance(consumer, err, tpl) {
            if let Err(e) = r {
                self.break_session(e);
            }
            if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                // The end of a rebalance that gave this instance nothing new: what it owns now
                // is its share.
                let mut shared = self.shared.lock().expect("session state lock");
                shared.assigned = true;
                shared.report_ownership();
            }
            return;
        }
        let partitions: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                info!(?partitions, "event partitions assigned");
                // Offsets first, state second: the restore then reads at least everything the
                // committed offset covers (an older transaction still in flight only adds
                // duplicates, which the engine ignores by event id).
                let assignment = match consumer.committed_offsets(tpl.clone(), OFFSETS_TIMEOUT) {
                    Ok(c) => {
                        for mut e in c.elements() {
                            if e.offset() == Offset::Invalid {
                                let _ = e.set_offset(Offset::Beginning);
                            }
                        }
                        c
                    }
                    Err(e) => {
                        self.break_session(op("fetching committed offsets")(e));
                        tpl.clone()
                    }
                };
                if let Err(e) = consumer.incremental_assign(&assignment) {
                    self.break_session(op("assigning partitions")(e));
                }
                let mut shared = self.shared.lock().expect("session state lock");
                shared.start_workers(&partitions);
                shared.assigned = true;
                shared.report_ownership();
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = consumer.assignment_lost();
                info!(?partitions, lost, "event partitions revoked");
                let group = consumer.group_metadata();
                {
                    let mut shared = self.shared.lock().expect("session state lock");
                    // Not ready until the rebalance ends with the next assignment.
                    shared.assigned = false;
                    shared.report_ownership();
                    if lost || group.is_none() {
                        shared.discard_workers(&partitions);
                        shared.broken.get_or_insert(PipelineError::AssignmentLost);
                    } else if let Err(e) = shared.stop_workers(&partitions, group) {
                        shared.broken.get_or_insert(e);
                    }
                }
                if let Err(e) = consumer.incremental_unassign(tpl) {
                    self.break_session(op("unassigning partitions")(e));
                }
                info!(?partitions, "event partitions released");
            }
            _ => {
                self.break_session(PipelineError::Rebalance(err.into()));
            }
        }
    }
}

impl IngestCtx {
    fn break_session(&self, e: PipelineError) {
        error!(error = %e, "stage 1 rebalance");
        self.shared
            .lock()
            .expect("session state lock")
            .broken
            .get_or_insert(e);
    }
}
