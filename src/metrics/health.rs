//! Engine health metrics, read at scrape time from the owners' atomics
//! ([`EngineHealth`](crate::read_model::EngineHealth)): a collector registered once in the
//! owned registry. A partition handed to another instance stops being reported here (its lag
//! entry is gone), and the owners never hold a metrics type.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use crate::core::Reject;
use crate::read_model::health::DurationHistogram;
use crate::read_model::EngineHealth;

/// (name, help, type, variable label) of every health family, in scrape order.
const FAMILIES: [(&str, &str, MetricType, Option<&str>); 13] = [
    (
        "chiso_events_consumed_total",
        "Input messages read (applied, duplicate or rejected).",
        MetricType::COUNTER,
        None,
    ),
    (
        "chiso_events_rejected_total",
        "Input messages rejected because they break the event contract, by reason.",
        MetricType::COUNTER,
        Some("reason"),
    ),
    (
        "chiso_events_duplicate_total",
        "Valid messages ignored as duplicates: their agency had accepted the same event_id before.",
        MetricType::COUNTER,
        None,
    ),
    (
        "chiso_dead_letters_total",
        "Rejected messages copied to the dead-letter topic.",
        MetricType::COUNTER,
        None,
    ),
    (
        "chiso_consumer_lag",
        "Messages between the committed position and the end of each owned input partition.",
        MetricType::GAUGE,
        Some("partition"),
    ),
    (
        "chiso_commit_duration_seconds",
        "Time to commit engine state, results and input offsets together.",
        MetricType::HISTOGRAM,
        None,
    ),
    (
        "chiso_restore_duration_seconds",
        "Time to rebuild an engine's state (start-up, partition assignment, demo backlog).",
        MetricType::HISTOGRAM,
        None,
    ),
    (
        "chiso_last_event_timestamp_seconds",
        "The latest occurred_at among applied events, in Unix seconds.",
        MetricType::GAUGE,
        None,
    ),
    (
        "chiso_partitions_owned",
        "Input partitions (engine sources) this process owns now.",
        MetricType::GAUGE,
        None,
    ),
    (
        "chiso_dossiers_tracked",
        "Dossiers held in memory by the engines of this process.",
        MetricType::GAUGE,
        None,
    ),
    (
        "chiso_dossiers_pending",
        "Dossiers with events but no received event yet (in no indicator).",
        MetricType::GAUGE,
        None,
    ),
    (
        "chiso_dossiers_expired",
        "Dossiers dropped from memory because they can count in no tracked period any more (received and ended or rejected before the oldest one); their keys are kept.",
        MetricType::GAUGE,
        None,
    ),
    (
        "chiso_build_info",
        "Always 1; the version label says which build runs.",
        MetricType::GAUGE,
        Some("version"),
    ),
];

/// The health families, built from [`EngineHealth`] at every scrape.
pub struct HealthCollector {
    health: Arc<EngineHealth>,
    descs: Vec<Desc>,
}

impl HealthCollector {
    pub fn new(health: Arc<EngineHealth>) -> prometheus::Result<Self> {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, _, label)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    label.iter().map(|l| l.to_string()).collect(),
                    HashMap::new(),
                )
            })
            .collect::<prometheus::Result<_>>()?;
        Ok(HealthCollector { health, descs })
    }
}

fn pair(name: &str, value: &str) -> LabelPair {
    let mut p = LabelPair::default();
    p.set_name(name.to_owned());
    p.set_value(value.to_owned());
    p
}

fn counter(value: u64, labels: Vec<LabelPair>) -> Metric {
    let mut c = Counter::default();
    c.set_value(value as f64);
    let mut m = Metric::from_label(labels);
    m.set_counter(c);
    m
}

fn gauge(value: f64, labels: Vec<LabelPair>) -> Metric {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::from_label(labels);
    m.set_gauge(g);
    m
}

fn histogram(h: &DurationHistogram) -> Metric {
    let (cumulative, sum) = h.read();
    let mut out = Histogram::default();
    out.set_sample_count(*cumulative.last().expect("a +Inf bucket"));
    out.set_sample_sum(sum);
    out.set_bucket(
        h.bounds()
            .iter()
            .zip(&cumulative)
            .map(|(&bound, &count)| {
                let mut b = Bucket::default();
                b.set_upper_bound(bound);
                b.set_cumulative_count(count);
                b
            })
            .collect(),
    );
    let mut m = Metric::default();
    m.set_histogram(out);
    m
}

impl Collector for HealthCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let h = &self.health;
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let gauge_i =
            |a: &std::sync::atomic::AtomicI64| gauge(a.load(Ordering::Relaxed) as f64, vec![]);
        let last = h.last_event_at.load(Ordering::Relaxed);
        let metrics: [Vec<Metric>; 13] = [
            vec![counter(load(&h.events_consumed), vec![])],
            Reject::CODES
                .iter()
                .zip(&h.events_rejected)
                .map(|(code, n)| counter(load(n), vec![pair("reason", code)]))
                .collect(),
            vec![counter(load(&h.events_duplicate), vec![])],
            vec![counter(load(&h.dead_letters), vec![])],
            h.consumer_lag
                .lock()
                .expect("lag lock")
                .iter()
                .map(|(p, lag)| gauge(*lag as f64, vec![pair("partition", &p.to_string())]))
                .collect(),
            vec![histogram(&h.commit_seconds)],
            vec![histogram(&h.restore_seconds)],
            vec![gauge(
                if last == i64::MIN {
                    0.0
                } else {
                    last as f64 / 1e9
                },
                vec![],
            )],
            vec![gauge_i(&h.partitions_owned)],
            vec![gauge_i(&h.dossiers_tracked)],
            vec![gauge_i(&h.dossiers_pending)],
            vec![gauge_i(&h.dossiers_expired)],
            vec![gauge(1.0, vec![pair("version", env!("CARGO_PKG_VERSION"))])],
        ];
        FAMILIES
            .iter()
            .zip(metrics)
            .filter(|(_, m)| !m.is_empty())
            .map(|((name, help, kind, _), m)| {
                let mut f = MetricFamily::default();
                f.set_name(name.to_string());
                f.set_help(help.to_string());
                f.set_field_type(*kind);
                f.set_metric(m);
                f
            })
            .collect()
    }
}
