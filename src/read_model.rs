//! The read model that HTTP and metrics serve: snapshots published by the engine owners.
//!
//! One owner per piece of state: the task that owns an engine (a partition in `chiso run`, the
//! single engine of `chiso demo`, the roll-up stage) publishes owned snapshots here under its
//! *source* number, and withdraws them when it loses the state (a revoked partition). Readers
//! only ever clone `Arc`s out of the maps; no reference into a map is held across an `.await`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use crate::core::{AgencyIdx, AgencyResult, Engine, Registry, ScoringModel, Timestamp};

/// An open dossier in an operator list (owned copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub dossier_id: String,
    pub agency: AgencyIdx,
    pub procedure: Option<String>,
    pub received_at: Timestamp,
    pub due: Timestamp,
    pub late: bool,
    pub paused: bool,
    pub due_soon: bool,
}

/// Results and operator lists of one source, as of one evaluation time.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub evaluated_at: Option<Timestamp>,
    /// Pooled results of the agencies this source exports (any order).
    pub results: Vec<AgencyResult>,
    /// Open dossiers this source owns.
    pub open: Vec<OpenItem>,
}

/// Shared read model. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct ReadModel {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<Registry>,
    model: Arc<ScoringModel>,
    sources: DashMap<u32, Arc<Snapshot>>,
    ready: AtomicBool,
    kafka_reachable: AtomicBool,
}

impl ReadModel {
    pub fn new(registry: Arc<Registry>, model: Arc<ScoringModel>) -> Self {
        ReadModel {
            inner: Arc::new(Inner {
                registry,
                model,
                sources: DashMap::new(),
                ready: AtomicBool::new(false),
                kafka_reachable: AtomicBool::new(true),
            }),
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    pub fn model(&self) -> &Arc<ScoringModel> {
        &self.inner.model
    }

    /// Replaces the snapshot of one source.
    pub fn publish(&self, source: u32, snapshot: Snapshot) {
        self.inner.sources.insert(source, Arc::new(snapshot));
    }

    /// Withdraws a source (its partition moved away): its agencies stop being exported here.
    pub fn withdraw(&self, source: u32) {
        self.inner.sources.remove(&source);
    }

    /// All current snapshots (cloned `Arc`s, no lock held afterwards).
    pub fn snapshots(&self) -> Vec<(u32, Arc<Snapshot>)> {
        self.inner
            .sources
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect()
    }

    /// Whether the owners' state is complete (restored and caught up).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether Kafka answers, as the clients last saw it; `true` if it changed. Any client may
    /// report it down (librdkafka's "all brokers down"), from any thread; the pipeline reports
    /// it up again once a transaction commits or a metadata request succeeds.
    pub fn set_kafka_reachable(&self, up: bool) -> bool {
        self.inner.kafka_reachable.swap(up, Ordering::Relaxed) != up
    }

    pub fn kafka_reachable(&self) -> bool {
        self.inner.kafka_reachable.load(Ordering::Relaxed)
    }

    /// Ready to serve results (`/readyz`): state complete and Kafka reachable. While the
    /// brokers are away the figures stop moving, so a load balancer should prefer another
    /// instance.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed) && self.kafka_reachable()
    }
}

/// Builds a full snapshot (all tracked periods, all agencies, open dossiers) from one engine.
pub fn snapshot_of(engine: &Engine) -> Snapshot {
    Snapshot {
        evaluated_at: Some(engine.now()),
        results: engine.results(),
        open: open_items(engine),
    }
}

/// Owned copies of an engine's open dossiers, for the operator lists.
pub fn open_items(engine: &Engine) -> Vec<OpenItem> {
    engine
        .open_dossiers(|_| true)
        .into_iter()
        .map(|d| OpenItem {
            dossier_id: d.id.to_owned(),
            agency: d.agency,
            procedure: d.procedure.map(str::to_owned),
            received_at: d.received_at,
            due: d.due,
            late: d.late,
            paused: d.paused,
            due_soon: d.due_soon,
        })
        .collect()
}

/// The current result of every agency for each period kind (month, quarter, year), across
/// snapshots: the period with the latest start, then the latest evaluation. Indexed by agency;
/// `None` where no snapshot exports that agency (its state lives elsewhere).
pub fn current_results(
    registry_len: usize,
    snapshots: &[(u32, Arc<Snapshot>)],
) -> Vec<[Option<&AgencyResult>; 3]> {
    let mut current: Vec<[Option<&AgencyResult>; 3]> = vec![[None; 3]; registry_len];
    for (_, snap) in snapshots {
        for r in &snap.results {
            let Some(slot) = current.get_mut(r.agency.index()) else {
                continue;
            };
            let slot = &mut slot[r.period.kind() as usize];
            let newer = slot.is_none_or(|old| {
                (r.period.start(), r.evaluated_at) > (old.period.start(), old.evaluated_at)
            });
            if newer {
                *slot = Some(r);
            }
        }
    }
    current
}
