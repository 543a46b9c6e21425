//! The read model that HTTP and metrics serve: what the engine owners publish.
//!
//! One owner per piece of state: the task that owns an engine (a partition in `chiso run`, the
//! single engine of `chiso demo`, the roll-up stage) publishes here under its *source* number,
//! and withdraws when it loses the state (a revoked partition). Two kinds of content:
//! - results, as owned [`Snapshot`]s replaced whole (their size follows the agencies, not the
//!   dossiers);
//! - open dossiers, as one [`OpenSet`] per source that its owner keeps up to date from the
//!   engine's changes ([`OpenSet::follow`]): the cost follows what changed, never the dossiers
//!   held.
//!
//! Readers only ever clone `Arc`s out of the maps and hold a set's lock for one synchronous
//! pass; nothing is held across an `.await`.

pub mod health;
pub mod readiness;

use std::sync::{Arc, RwLock};

use compact_str::CompactString;
use dashmap::DashMap;

pub use health::EngineHealth;
pub use readiness::{Needs, Partitions, Readiness, Rollup, Unavailable};

use crate::core::stake::AtRisk;
use crate::core::{
    AgencyIdx, AgencyResult, Engine, LateRule, OpenChange, OpenDossier, Registry, ScoringModel,
    Timestamp,
};

/// An open dossier in an operator list (owned copy). Its strings are kept inline up to 24 bytes
/// (dossier ids and procedure codes are shorter), not on the heap: a set holds every open
/// dossier of its source (country-sized registry, 1 M events: 280,000 open dossiers, whose sets
/// were the largest single item of the heap at its peak, 51 MB, with two heap strings each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub dossier_id: CompactString,
    pub agency: AgencyIdx,
    pub procedure: Option<CompactString>,
    pub received_at: Timestamp,
    pub due: Timestamp,
    pub late: bool,
    /// See [`OpenDossier::late_rule`].
    pub late_rule: Option<LateRule>,
    /// See [`OpenDossier::late_since`].
    pub late_since: Timestamp,
    pub paused: bool,
    pub due_soon: bool,
    pub via_national_portal: bool,
    pub dissatisfied: bool,
    pub apology: bool,
}

impl OpenItem {
    /// At stake: open (as every item), on time, not paused. See [`crate::core::stake`].
    pub fn at_risk(&self) -> Option<AtRisk> {
        (!self.late && !self.paused).then_some(AtRisk {
            due: self.due,
            due_soon: self.due_soon,
            via_national_portal: self.via_national_portal,
            dissatisfied: self.dissatisfied,
            apology: self.apology,
        })
    }

    fn of(d: &OpenDossier<'_>) -> Self {
        OpenItem {
            dossier_id: CompactString::new(d.id),
            agency: d.agency,
            procedure: d.procedure.map(CompactString::new),
            received_at: d.received_at,
            due: d.due,
            late: d.late,
            late_rule: d.late_rule,
            late_since: d.late_since,
            paused: d.paused,
            due_soon: d.due_soon,
            via_national_portal: d.via_national_portal,
            dissatisfied: d.dissatisfied,
            apology: d.apology,
        }
    }

    /// Takes `d`'s state, reusing this item's strings when they are the same.
    fn update(&mut self, d: &OpenDossier<'_>) {
        if self.dossier_id != d.id || self.procedure.as_deref() != d.procedure {
            *self = OpenItem::of(d);
            return;
        }
        self.agency = d.agency;
        self.received_at = d.received_at;
        self.due = d.due;
        self.late = d.late;
        self.late_rule = d.late_rule;
        self.late_since = d.late_since;
        self.paused = d.paused;
        self.due_soon = d.due_soon;
        self.via_national_portal = d.via_national_portal;
        self.dissatisfied = d.dissatisfied;
        self.apology = d.apology;
    }
}

/// The open dossiers one source owns, as of one evaluation time.
#[derive(Debug, Default)]
pub struct OpenSet {
    evaluated_at: Option<Timestamp>,
    items: foldhash::HashMap<u32, OpenItem>,
}

impl OpenSet {
    pub fn evaluated_at(&self) -> Option<Timestamp> {
        self.evaluated_at
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn items(&self) -> impl Iterator<Item = &OpenItem> {
        self.items.values()
    }

    /// Applies what changed in `engine`'s open dossiers since the last call (everything the
    /// first time: see [`Engine::track_open_dossiers`], which this turns on).
    pub fn follow(&mut self, engine: &mut Engine) {
        if !engine.tracks_open_dossiers() {
            engine.track_open_dossiers();
        }
        self.evaluated_at = Some(engine.now());
        let items = &mut self.items;
        engine.drain_open_changes(|change| match change {
            OpenChange::Reset => items.clear(),
            OpenChange::Open { key, dossier } => match items.get_mut(&key) {
                Some(item) => item.update(&dossier),
                None => {
                    items.insert(key, OpenItem::of(&dossier));
                }
            },
            OpenChange::Closed { key } => {
                items.remove(&key);
            }
        });
    }

    /// Sets the whole list by hand (tests, fixtures): `items` in any order.
    pub fn replace(&mut self, evaluated_at: Timestamp, items: Vec<OpenItem>) {
        self.evaluated_at = Some(evaluated_at);
        self.items = items
            .into_iter()
            .enumerate()
            .map(|(k, item)| (k as u32, item))
            .collect();
    }
}

/// The results of one source, as of one evaluation time.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub evaluated_at: Option<Timestamp>,
    /// Pooled results of the agencies this source exports (any order).
    pub results: Vec<AgencyResult>,
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
    open: DashMap<u32, Arc<RwLock<OpenSet>>>,
    health: Arc<EngineHealth>,
    readiness: Readiness,
}

impl ReadModel {
    pub fn new(registry: Arc<Registry>, model: Arc<ScoringModel>) -> Self {
        ReadModel {
            inner: Arc::new(Inner {
                registry,
                model,
                sources: DashMap::new(),
                open: DashMap::new(),
                health: Arc::new(EngineHealth::default()),
                readiness: Readiness::default(),
            }),
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    pub fn model(&self) -> &Arc<ScoringModel> {
        &self.inner.model
    }

    /// The engine owners' health figures, for the metrics adapter.
    pub fn health(&self) -> &Arc<EngineHealth> {
        &self.inner.health
    }

    /// Replaces the snapshot of one source.
    pub fn publish(&self, source: u32, snapshot: Snapshot) {
        self.inner.sources.insert(source, Arc::new(snapshot));
    }

    /// Withdraws a source (its partition moved away): its agencies stop being exported here.
    pub fn withdraw(&self, source: u32) {
        self.inner.sources.remove(&source);
        self.inner.open.remove(&source);
    }

    /// The open-dossier set of one source, created empty on first use; its owner updates it.
    pub fn open_set(&self, source: u32) -> Arc<RwLock<OpenSet>> {
        self.inner.open.entry(source).or_default().clone()
    }

    /// Every source's open-dossier set (cloned `Arc`s, no map lock held afterwards).
    pub fn open_sets(&self) -> Vec<Arc<RwLock<OpenSet>>> {
        self.inner.open.iter().map(|e| e.value().clone()).collect()
    }

    /// All current snapshots (cloned `Arc`s, no lock held afterwards).
    pub fn snapshots(&self) -> Vec<(u32, Arc<Snapshot>)> {
        self.inner
            .sources
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect()
    }

    /// What this instance holds, as the owners last said: readiness and coverage.
    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    /// For an owner of the whole state in one process (`chiso demo`, tests): every partition
    /// and the results, restored (`ready`) or still being built.
    pub fn set_ready(&self, ready: bool) {
        let r = &self.inner.readiness;
        r.set_partitions(Partitions::Assigned {
            owned: 1,
            total: 1,
            restored: ready,
        });
        r.set_rollup(if ready {
            Rollup::Serving
        } else {
            Rollup::Restoring
        });
    }

    /// Whether Kafka answers, as the clients last saw it; `true` if it changed. Any client may
    /// report it down (librdkafka's "all brokers down"), from any thread; the pipeline reports
    /// it up again once a transaction commits or a metadata request succeeds.
    pub fn set_kafka_reachable(&self, up: bool) -> bool {
        self.inner.readiness.set_kafka_reachable(up)
    }

    pub fn kafka_reachable(&self) -> bool {
        self.inner.readiness.kafka_reachable()
    }

    /// Ready (`/readyz`): this instance's share of the work assigned and restored, its role in
    /// the roll-up known, Kafka reachable, not shutting down. While the brokers are away the
    /// figures stop moving, so a load balancer should prefer another instance.
    pub fn is_ready(&self) -> bool {
        self.inner.readiness.check_ready().is_ok()
    }

    /// `Ok` when this instance can answer completely what `needs` asks, else why not.
    pub fn serves(&self, needs: Needs) -> Result<(), Unavailable> {
        self.inner.readiness.check(needs)
    }
}

/// The results of every tracked period and agency of one engine.
pub fn snapshot_of(engine: &Engine) -> Snapshot {
    Snapshot {
        evaluated_at: Some(engine.now()),
        results: engine.results(),
    }
}

/// Publishes an engine's results and brings its open-dossier set up to date, under `source`.
pub fn publish_engine(model: &ReadModel, source: u32, engine: &mut Engine) {
    model.publish(source, snapshot_of(engine));
    model
        .open_set(source)
        .write()
        .expect("open set lock")
        .follow(engine);
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
