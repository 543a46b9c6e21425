//! Reads the published results back from the compacted results topic (`chiso report --kafka`):
//! every partition from its start to its end, read committed, the latest value of each key.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::kafka::client;
use crate::kafka::config::KafkaConfig;
use crate::kafka::error::{op, PipelineError};

/// The latest value of every results key that `keep` accepts (`agency_id|period`), in key
/// order; a key whose latest record is a tombstone is left out. Fails if the topic is missing or
/// its end is not reached within `within`.
pub fn latest_results(
    cfg: &KafkaConfig,
    keep: impl Fn(&str) -> bool,
    within: Duration,
) -> Result<Vec<Vec<u8>>, PipelineError> {
    let deadline = Instant::now() + within;
    let topic = cfg.topics.results.as_str();
    let reader: BaseConsumer<client::ReaderCtx> = client::reader(cfg, "results-reader")
        .create_with_context(client::ReaderCtx)
        .map_err(op("creating the results reader"))?;
    let md = reader
        .fetch_metadata(Some(topic), within)
        .map_err(op("fetching the results topic's metadata"))?;
    let partitions = md
        .topics()
        .first()
        .filter(|m| m.error().is_none() && !m.partitions().is_empty())
        .map(|m| m.partitions().len() as i32)
        .ok_or_else(|| PipelineError::Topics(format!("results topic `{topic}` does not exist")))?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(op("assigning the results partitions"))?;
    }
    reader
        .assign(&tpl)
        .map_err(op("assigning the results partitions"))?;
    let mut latest: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut at_end: HashSet<i32> = HashSet::new();
    while at_end.len() < partitions as usize {
        if Instant::now() > deadline {
            return Err(PipelineError::Hung {
                what: "reading the results topic to its end",
                seconds: within.as_secs(),
            });
        }
        match reader.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                    continue;
                };
                if keep(key) {
                    latest.insert(key.to_owned(), m.payload().map(<[u8]>::to_vec));
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => tracing::debug!(error = %e, "results reader"),
        }
    }
    crate::kafka::session::drop_bounded("results reader", move || drop(reader));
    Ok(latest.into_values().flatten().collect())
}
