//! Engine health as plain atomics: the engine owners (the Kafka pipeline, the demo) add to them
//! as they go, and the metrics adapter reads them when Prometheus scrapes. No owner holds a
//! metrics type, and a scrape costs the owners nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::core::{Reject, Timestamp};

/// Upper bounds (seconds) of [`EngineHealth::commit_seconds`]'s buckets.
pub const COMMIT_BOUNDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds (seconds) of [`EngineHealth::restore_seconds`]'s buckets.
pub const RESTORE_BOUNDS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// A histogram of durations with fixed bucket bounds.
#[derive(Debug)]
pub struct DurationHistogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
}

impl DurationHistogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        DurationHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self.bounds.partition_point(|&b| b < secs);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(d.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }

    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Cumulative counts per bound (the last is the total), and the sum in seconds.
    pub fn read(&self) -> (Vec<u64>, f64) {
        let mut total = 0;
        let cumulative = self
            .counts
            .iter()
            .map(|c| {
                total += c.load(Ordering::Relaxed);
                total
            })
            .collect();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (cumulative, sum)
    }
}

/// The health figures of one process. Field docs name the metric each one becomes.
#[derive(Debug)]
pub struct EngineHealth {
    /// `chiso_events_consumed_total`: messages read from the input (applied, duplicate or not).
    pub events_consumed: AtomicU64,
    /// `chiso_events_duplicate_total`: valid messages whose agency accepted their `event_id`
    /// before.
    pub events_duplicate: AtomicU64,
    /// `chiso_events_rejected_total{reason}`, indexed like [`Reject::CODES`].
    pub events_rejected: [AtomicU64; Reject::CODES.len()],
    /// `chiso_dead_letters_total`: rejected messages copied to the dead-letter topic.
    pub dead_letters: AtomicU64,
    /// `chiso_consumer_lag{partition}`: messages behind the end of each owned input partition.
    pub consumer_lag: Mutex<BTreeMap<i32, i64>>,
    /// `chiso_commit_duration_seconds`: time to commit state, results and offsets.
    pub commit_seconds: DurationHistogram,
    /// `chiso_restore_duration_seconds`: time to rebuild an engine's state.
    pub restore_seconds: DurationHistogram,
    /// `chiso_last_event_timestamp_seconds`: the latest `occurred_at` applied, in nanoseconds
    /// (`i64::MIN`: none yet).
    pub last_event_at: AtomicI64,
    /// `chiso_partitions_owned`: input partitions (engine sources) owned now.
    pub partitions_owned: AtomicI64,
    /// `chiso_dossiers_tracked`: dossiers held in memory.
    pub dossiers_tracked: AtomicI64,
    /// `chiso_dossiers_pending`: dossiers with events but no `received` yet.
    pub dossiers_pending: AtomicI64,
    /// `chiso_dossiers_expired`: dossiers dropped because they can no longer count.
    pub dossiers_expired: AtomicI64,
    /// Events applied by the partition engines (restores not included): logs and benchmarks.
    pub applied: AtomicU64,
    /// Pipeline sessions restarted after an error.
    pub session_restarts: AtomicU64,
    /// Stage-1 transactions committed.
    pub transactions: AtomicU64,
    /// Result records published by the roll-up stage.
    pub results_published: AtomicU64,
}

impl Default for EngineHealth {
    fn default() -> Self {
        EngineHealth {
            events_consumed: AtomicU64::new(0),
            events_duplicate: AtomicU64::new(0),
            events_rejected: std::array::from_fn(|_| AtomicU64::new(0)),
            dead_letters: AtomicU64::new(0),
            consumer_lag: Mutex::new(BTreeMap::new()),
            commit_seconds: DurationHistogram::new(&COMMIT_BOUNDS),
            restore_seconds: DurationHistogram::new(&RESTORE_BOUNDS),
            last_event_at: AtomicI64::new(i64::MIN),
            partitions_owned: AtomicI64::new(0),
            dossiers_tracked: AtomicI64::new(0),
            dossiers_pending: AtomicI64::new(0),
            dossiers_expired: AtomicI64::new(0),
            applied: AtomicU64::new(0),
            session_restarts: AtomicU64::new(0),
            transactions: AtomicU64::new(0),
            results_published: AtomicU64::new(0),
        }
    }
}

impl EngineHealth {
    pub fn consumed(&self) -> u64 {
        self.events_consumed.load(Ordering::Relaxed)
    }

    pub fn rejected(&self) -> u64 {
        self.events_rejected
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Adds a batch of outcomes (see [`crate::accept::Tally`]).
    pub fn add_outcomes(&self, messages: u64, applied: u64, duplicates: u64, rejected: &[u64]) {
        self.events_consumed.fetch_add(messages, Ordering::Relaxed);
        self.applied.fetch_add(applied, Ordering::Relaxed);
        self.events_duplicate
            .fetch_add(duplicates, Ordering::Relaxed);
        for (c, &n) in self.events_rejected.iter().zip(rejected) {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Moves the latest applied `occurred_at` forward to `t`.
    pub fn saw_event_at(&self, t: Timestamp) {
        self.last_event_at
            .fetch_max(t.as_nanos(), Ordering::Relaxed);
    }

    pub fn set_lag(&self, partition: i32, lag: i64) {
        self.consumer_lag
            .lock()
            .expect("lag lock")
            .insert(partition, lag);
    }

    /// Stops reporting the lag of a partition this process no longer owns.
    pub fn forget_lag(&self, partition: i32) {
        self.consumer_lag
            .lock()
            .expect("lag lock")
            .remove(&partition);
    }
}
