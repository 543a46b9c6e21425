//! Engine health metrics: registered once in the owned registry, updated by whoever owns an
//! engine (the Kafka pipeline, the demo). Cloning a `Health` shares the same series.

use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use crate::core::Reject;

/// The health series of one process. Every field is a cheap, shareable handle.
#[derive(Clone)]
pub struct Health {
    /// `chiso_events_consumed_total`: messages read from the input (accepted, duplicate or not).
    pub events_consumed: IntCounter,
    /// `chiso_events_rejected_total{reason}`: messages that broke the event contract.
    pub events_rejected: IntCounterVec,
    /// `chiso_events_duplicate_total`: valid messages whose agency accepted their `event_id` before.
    pub events_duplicate: IntCounter,
    /// `chiso_dead_letters_total`: rejected messages copied to the dead-letter topic.
    pub dead_letters: IntCounter,
    /// `chiso_consumer_lag{partition}`: messages behind the end of each owned input partition.
    pub consumer_lag: IntGaugeVec,
    /// `chiso_commit_duration_seconds`: time to commit state, results and offsets.
    pub commit_duration: Histogram,
    /// `chiso_restore_duration_seconds`: time to rebuild an engine's state at start or assignment.
    pub restore_duration: Histogram,
    /// `chiso_last_event_timestamp_seconds`: the latest `occurred_at` applied (Unix seconds).
    pub last_event_timestamp: Gauge,
    /// `chiso_partitions_owned`: input partitions (sources) this process owns now.
    pub partitions_owned: IntGauge,
    /// `chiso_dossiers_tracked`: dossiers held in memory.
    pub dossiers_tracked: IntGauge,
    /// `chiso_dossiers_pending`: dossiers with events but no `received` yet.
    pub dossiers_pending: IntGauge,
    /// `chiso_build_info{version}`: always 1.
    pub build_info: IntGaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    buckets: Vec<f64>,
) -> prometheus::Result<Histogram> {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Health {
    /// Creates and registers every health series in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Health> {
        let r = registry;
        let events_rejected = IntCounterVec::new(
            Opts::new(
                "chiso_events_rejected_total",
                "Input messages rejected because they break the event contract, by reason.",
            ),
            &["reason"],
        )?;
        r.register(Box::new(events_rejected.clone()))?;
        // Every reason exists from the start, so that rate() sees the first reject.
        for code in Reject::CODES {
            events_rejected.with_label_values(&[code]);
        }
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "chiso_consumer_lag",
                "Messages between the committed position and the end of each owned input partition.",
            ),
            &["partition"],
        )?;
        r.register(Box::new(consumer_lag.clone()))?;
        let last_event_timestamp = Gauge::new(
            "chiso_last_event_timestamp_seconds",
            "The latest occurred_at among applied events, in Unix seconds.",
        )?;
        r.register(Box::new(last_event_timestamp.clone()))?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "chiso_build_info",
                "Always 1; the version label says which build runs.",
            ),
            &["version"],
        )?;
        r.register(Box::new(build_info.clone()))?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Ok(Health {
            events_consumed: counter(
                r,
                "chiso_events_consumed_total",
                "Input messages read (applied, duplicate or rejected).",
            )?,
            events_rejected,
            events_duplicate: counter(
                r,
                "chiso_events_duplicate_total",
                "Valid messages ignored as duplicates: their agency had accepted the same event_id before.",
            )?,
            dead_letters: counter(
                r,
                "chiso_dead_letters_total",
                "Rejected messages copied to the dead-letter topic.",
            )?,
            consumer_lag,
            commit_duration: histogram(
                r,
                "chiso_commit_duration_seconds",
                "Time to commit engine state, results and input offsets together.",
                vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )?,
            restore_duration: histogram(
                r,
                "chiso_restore_duration_seconds",
                "Time to rebuild an engine's state (start-up, partition assignment, demo backlog).",
                vec![0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0],
            )?,
            last_event_timestamp,
            partitions_owned: gauge(
                r,
                "chiso_partitions_owned",
                "Input partitions (engine sources) this process owns now.",
            )?,
            dossiers_tracked: gauge(
                r,
                "chiso_dossiers_tracked",
                "Dossiers held in memory by the engines of this process.",
            )?,
            dossiers_pending: gauge(
                r,
                "chiso_dossiers_pending",
                "Dossiers with events but no received event yet (in no indicator).",
            )?,
            build_info,
        })
    }
}
