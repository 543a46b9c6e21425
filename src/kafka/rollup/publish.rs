//! Stage 2's state between polls: the own figures it applies, the results it publishes
//! (only what differs from the results topic, with the consumed offset, in one transaction),
//! and the view of the results topic it rebuilds on assignment.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::Offset;
use serde::Deserialize;
use tracing::{debug, info, warn};
use xxhash_rust::xxh3::xxh3_64;

use super::{RollupState, LIVE_SOURCE};
use crate::core::{score_pooled, AgencyResult, OwnFigures, Timestamp};
use crate::kafka::client;
use crate::kafka::error::{op, PipelineError};
use crate::kafka::session::drop_bounded;
use crate::kafka::txn::Out;
use crate::read_model::{Rollup, Snapshot};
use crate::wire::partials;
use crate::wire::result_json;

/// What the results topic holds for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Published {
    revision: u64,
    fingerprint: u64,
    is_final: bool,
    /// [`digest`] of the result published, when this process scored it (`None` for what was
    /// read back from the topic): an equal digest means an equal [`fingerprint`], so the
    /// result is not encoded again to find that out.
    digest: Option<u64>,
}

/// A cheap digest of everything [`fingerprint`] covers (the pooled counts and the score card),
/// taken from the result itself instead of its JSON. With thousands of agencies, encoding
/// every result of a changed period only to find most of them unchanged was most of stage 2's
/// work (docs/performance.md, "Against Kafka Streams").
fn digest(r: &AgencyResult) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.counts.hash(&mut h);
    let card = &r.card;
    for i in &card.indicators {
        match i {
            None => 0u8.hash(&mut h),
            Some(v) => (1u8, v.numerator, v.denominator, v.points_h, v.max_h).hash(&mut h),
        }
    }
    card.groups.hash(&mut h);
    (
        card.total_points_h,
        card.measured_max_h,
        card.score_tenths,
        card.band,
    )
        .hash(&mut h);
    h.finish()
}

/// The part of a result that makes a new revision: everything from `counts` on (counts,
/// indicators, groups, points, score, band), not the identity, `evaluated_at`, `final` or
/// `revision` that come before it in the fixed field order of [`result_json::encode`].
fn fingerprint(json: &str) -> u64 {
    xxh3_64(
        json.find("\"counts\":")
            .map_or(json, |i| &json[i..])
            .as_bytes(),
    )
}

impl RollupState {
    pub(super) fn apply(&mut self, payload: Option<&[u8]>, offset: i64) {
        self.next_offset = Some(offset + 1);
        let Some(bytes) = payload else { return };
        match partials::decode(bytes, &self.cfg.registry, &self.cfg.model) {
            Ok(p) => {
                let n = self.cfg.registry.len();
                let width = self.cfg.model.indicators.len();
                let figures = self.figures.entry(p.period).or_insert_with(|| {
                    vec![
                        OwnFigures {
                            counts: Default::default(),
                            reported: vec![(0, 0); width],
                        };
                        n
                    ]
                });
                figures[p.agency.index()] = p.own;
                self.dirty.insert(p.period);
            }
            Err(e) => warn!(offset, error = %e, "partials record skipped"),
        }
    }

    /// Scores the periods that changed and publishes the results that differ from the topic.
    ///
    /// Long because pooling, scoring, comparing with the topic and the one transaction are a
    /// sequence that must read in order.
    pub(super) fn publish(&mut self, group: ConsumerGroupMetadata) -> Result<(), PipelineError> {
        let now = self.cfg.now();
        // The same periods as the partition engines track.
        let periods = self.cfg.engine.periods.periods_at(now);
        self.current.retain(|p, _| periods.contains(p));
        let (registry, model) = (self.cfg.registry.clone(), self.cfg.model.clone());
        let mut offsets = TopicPartitionList::new();
        if let Some(o) = self
            .next_offset
            .filter(|o| Some(*o) != self.committed_offset)
        {
            offsets
                .add_partition_offset(&self.cfg.topics.partials, 0, Offset::Offset(o))
                .map_err(op("building the offsets list"))?;
        }
        let topic = self.cfg.topics.results.clone();
        let producer = self
            .producer
            .as_mut()
            .expect("producer present while running");
        let t0 = Instant::now();
        // The transaction opens with the first result to send, and each result goes to the
        // producer as soon as it is encoded (librdkafka keeps its own copy): a publication of
        // thousands of agencies never holds all of its JSON at once.
        let mut sent = 0usize;
        let mut staged = Vec::new();
        for &period in &periods {
            let final_now = period.end() <= now;
            let stale = match self.current.get(&period) {
                None => true,
                Some(r) => r.first().is_some_and(|r| r.is_final != final_now),
            };
            if !stale && !self.dirty.contains(&period) {
                continue;
            }
            let own = self.figures.get(&period).cloned().unwrap_or_else(|| {
                vec![
                    OwnFigures {
                        counts: Default::default(),
                        reported: vec![(0, 0); model.indicators.len()],
                    };
                    registry.len()
                ]
            });
            let results = score_pooled(&registry, &model, period, now, own);
            for r in &results {
                let key = result_json::key(&registry, r);
                let digest = digest(r);
                let prev = self.published.get(&key).copied();
                if prev.is_some_and(|p| p.digest == Some(digest) && p.is_final == r.is_final) {
                    continue;
                }
                let probe = result_json::encode(&registry, &model, r, 0);
                let fp = fingerprint(&probe);
                let revision = match prev {
                    Some(p) if p.fingerprint == fp && p.is_final == r.is_final => {
                        // Unchanged: remember its digest, so that it is not encoded again.
                        staged.push((
                            key,
                            Published {
                                digest: Some(digest),
                                ..p
                            },
                        ));
                        continue;
                    }
                    Some(p) if p.fingerprint == fp => p.revision,
                    Some(p) => p.revision + 1,
                    None => 0,
                };
                let value = if revision == 0 {
                    probe
                } else {
                    result_json::encode(&registry, &model, r, revision)
                };
                let out = Out {
                    partition: None,
                    key: Some(key.clone().into_bytes()),
                    value: value.into_bytes(),
                    headers: Vec::new(),
                };
                if sent == 0 {
                    producer.begin()?;
                }
                if let Err(e) = producer.send(&topic, &out) {
                    producer.abort();
                    return Err(e);
                }
                sent += 1;
                staged.push((
                    key,
                    Published {
                        revision,
                        fingerprint: fp,
                        is_final: r.is_final,
                        digest: Some(digest),
                    },
                ));
            }
            self.current.insert(period, results);
        }
        self.dirty.clear();
        if sent > 0 || offsets.count() > 0 {
            if sent == 0 {
                producer.begin()?;
            }
            producer.commit(&offsets, group)?;
            debug!(
                results = sent,
                ms = t0.elapsed().as_millis() as u64,
                "stage 2 transaction committed"
            );
        }
        // Only what is committed counts as published.
        self.published.extend(staged);
        if offsets.count() > 0 {
            self.committed_offset = self.next_offset;
        }
        self.health
            .results_published
            .fetch_add(sent as u64, std::sync::atomic::Ordering::Relaxed);
        if sent > 0 || self.live_stale(now) {
            self.live.publish(
                LIVE_SOURCE,
                Snapshot {
                    evaluated_at: Some(now),
                    results: self.current.values().flatten().cloned().collect(),
                },
            );
            self.live.readiness().set_rollup(Rollup::Serving);
        }
        Ok(())
    }

    pub(super) fn live_stale(&self, _now: Timestamp) -> bool {
        !self.live.snapshots().iter().any(|(s, _)| *s == LIVE_SOURCE)
    }

    /// Reads the results topic to its end: latest revision and fingerprint of every key.
    pub(super) fn restore_results(&mut self) -> Result<(), PipelineError> {
        #[derive(Deserialize)]
        struct Head {
            revision: u64,
            #[serde(rename = "final")]
            is_final: bool,
        }
        let t0 = Instant::now();
        let topic = self.cfg.topics.results.clone();
        let reader: BaseConsumer<client::ReaderCtx> = client::reader(&self.cfg, "results-restore")
            .create_with_context(client::ReaderCtx)
            .map_err(op("creating the results reader"))?;
        let md = reader
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .map_err(op("fetching results topic metadata"))?;
        let parts = md.topics().first().map_or(0, |t| t.partitions().len());
        if parts == 0 {
            return Err(PipelineError::Topics(format!(
                "topic `{topic}` does not exist"
            )));
        }
        let mut tpl = TopicPartitionList::new();
        for p in 0..parts as i32 {
            tpl.add_partition_offset(&topic, p, Offset::Beginning)
                .map_err(op("assigning the results topic"))?;
        }
        reader
            .assign(&tpl)
            .map_err(op("assigning the results topic"))?;
        let mut open: HashSet<i32> = (0..parts as i32).collect();
        let mut records = 0u64;
        while !open.is_empty() {
            match reader.poll(Duration::from_millis(200)) {
                None => {}
                Some(Ok(m)) => {
                    records += 1;
                    let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                        continue;
                    };
                    match m.payload() {
                        None => {
                            self.published.remove(key);
                        }
                        Some(v) => {
                            let text = String::from_utf8_lossy(v);
                            match serde_json::from_str::<Head>(&text) {
                                Ok(h) => {
                                    self.published.insert(
                                        key.to_owned(),
                                        Published {
                                            revision: h.revision,
                                            fingerprint: fingerprint(&text),
                                            is_final: h.is_final,
                                            digest: None,
                                        },
                                    );
                                }
                                Err(e) => {
                                    warn!(error = %e, "unreadable record in the results topic")
                                }
                            }
                        }
                    }
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    open.remove(&p);
                }
                Some(Err(e)) => debug!(error = %e, "results reader"),
            }
        }
        info!(
            records,
            keys = self.published.len(),
            seconds = t0.elapsed().as_secs_f64(),
            "roll-up stage restored revisions from the results topic"
        );
        drop_bounded("results reader", move || drop(reader));
        Ok(())
    }
}
