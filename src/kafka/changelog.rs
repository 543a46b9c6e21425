//! The state changelog: every event a partition engine applied, in binary batches, on the state
//! partition with the same number as the event partition. Replaying it rebuilds the engine
//! exactly (the core is deterministic and order-independent), duplicate detection included.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, warn};

use super::client::{self, op, PipelineError};
use crate::core::Engine;
use crate::settings::Config;
use crate::wire::event_bin::{BatchReader, BinError};

/// What one restore read.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreStats {
    pub records: u64,
    pub events: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// Replays state partition `partition` (read committed, from the beginning to its end) into
/// `engine`, marking the agencies seen. `keep_going` is called between polls; `Ok(None)` when
/// it said stop.
pub fn restore(
    cfg: &Config,
    partition: i32,
    engine: &mut Engine,
    seen: &mut [bool],
    mut keep_going: impl FnMut() -> Result<bool, PipelineError>,
) -> Result<Option<RestoreStats>, PipelineError> {
    let t0 = Instant::now();
    let topic = cfg.topics().state.clone();
    let reader: BaseConsumer<client::ReaderCtx> =
        client::reader(cfg, &format!("restore-{partition}"))
            .create_with_context(client::ReaderCtx)
            .map_err(op("creating the state reader"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, partition, Offset::Beginning)
        .map_err(op("assigning the state partition"))?;
    reader
        .assign(&tpl)
        .map_err(op("assigning the state partition"))?;
    let registry = cfg.registry.clone();
    let mut stats = RestoreStats::default();
    loop {
        if !keep_going()? {
            return Ok(None);
        }
        match reader.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                let Some(payload) = m.payload() else { continue };
                stats.records += 1;
                stats.bytes += payload.len() as u64;
                let corrupt = |e: BinError| {
                    PipelineError::Fatal(format!(
                        "state topic {topic} partition {partition} offset {}: {e}",
                        m.offset()
                    ))
                };
                let mut batch = BatchReader::new(payload).map_err(corrupt)?;
                while let Some(ev) = batch.next_event(&registry) {
                    match ev {
                        Ok(ev) => {
                            engine.ingest(&ev);
                            seen[ev.agency.index()] = true;
                            stats.events += 1;
                        }
                        Err(BinError::UnknownAgency(a)) => {
                            warn!(agency = %a, "state event of an agency no longer in the registry skipped");
                        }
                        Err(e) => return Err(corrupt(e)),
                    }
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Err(e)) => debug!(partition, error = %e, "state reader"),
        }
    }
    stats.seconds = t0.elapsed().as_secs_f64();
    super::stage1::drop_bounded("state reader", move || drop(reader));
    Ok(Some(stats))
}
