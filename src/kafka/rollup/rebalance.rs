//! Stage 2's consumer context: librdkafka's callbacks (statistics, errors, logs, rebalances)
//! acting on the roll-up state. The roll-up stage owns its one partition or stands by.

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::Offset;
use tracing::info;

use super::{RollupCtx, LIVE_SOURCE};
use crate::kafka::client;
use crate::kafka::error::{op, PipelineError};
use crate::kafka::session::empty_rebalance;
use crate::read_model::Rollup;

impl ClientContext for RollupCtx {
    /// Statistics are off for this client; should a configuration turn them on, they are not
    /// logged (the default would write them at INFO every interval).
    fn stats(&self, _: rdkafka::Statistics) {}

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        client::log_librdkafka("stage 2 consumer", level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        client::note_error(&self.live, &error, reason, "stage 2 consumer");
    }
}

impl ConsumerContext for RollupCtx {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let mut shared = self.shared.lock().expect("session state lock");
        if let Some(r) = empty_rebalance(consumer, err, tpl) {
            if let Err(e) = r {
                shared.broken.get_or_insert(e);
            }
            if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !shared.owned {
                // The rebalance ended and another instance owns the roll-up partition.
                shared.live.readiness().set_rollup(Rollup::Standby);
            }
            return;
        }
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                info!("roll-up partition assigned: restoring");
                // Always from the beginning: the compacted topic is the whole state.
                let mut from_start = tpl.clone();
                let _ = from_start.set_all_offsets(Offset::Beginning);
                if let Err(e) = consumer.incremental_assign(&from_start) {
                    shared
                        .broken
                        .get_or_insert(op("assigning the partials partition")(e));
                }
                shared.owned = true;
                shared.live.readiness().set_rollup(Rollup::Restoring);
                shared.needs_restore = true;
                shared.caught_up = false;
                shared.figures.clear();
                shared.dirty.clear();
                shared.current.clear();
                shared.published.clear();
                shared.next_offset = None;
                shared.committed_offset = None;
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = consumer.assignment_lost();
                info!(lost, "roll-up partition revoked");
                if shared.owned && !lost && !shared.needs_restore && shared.caught_up {
                    if let Some(g) = consumer.group_metadata() {
                        if let Err(e) = shared.publish(g) {
                            shared.broken.get_or_insert(e);
                        }
                    }
                }
                shared.owned = false;
                shared.live.withdraw(LIVE_SOURCE);
                // Unknown until the rebalance ends with the next assignment.
                shared.live.readiness().set_rollup(Rollup::Unknown);
                if let Err(e) = consumer.incremental_unassign(tpl) {
                    shared
                        .broken
                        .get_or_insert(op("unassigning the partials partition")(e));
                }
                info!("roll-up partition released");
            }
            _ => {
                shared
                    .broken
                    .get_or_insert(PipelineError::Rebalance(err.into()));
            }
        }
    }
}
