//! The pure indicator core: no I/O, no clock, no async, no Kafka, no metrics.
//!
//! Everything here is synchronous and deterministic: the same events and the same evaluation
//! time give the same results, whatever the arrival order, duplication or batching.

pub mod agency;
pub mod calendar;
pub mod counts;
pub mod dossier;
pub mod engine;
pub mod event;
pub mod feed;
pub mod period;
pub mod reported;
pub mod scoring;
pub mod stake;
pub mod store;
pub mod time;

pub use agency::{AgencyDef, AgencyIdx, Registry};
pub use calendar::WorkCalendar;
pub use counts::{Count, Counts};
pub use dossier::LateRule;
pub use engine::{
    score_pooled, AgencyResult, DueSoonHorizon, Engine, EngineSettings, Ingested, OpenChange,
    OpenDossier, OwnFigures, PeriodPolicy, Restore, RestoreError,
};
pub use event::{Event, EventKind, Reject, MAX_REPORTED};
pub use period::{Period, PeriodKind};
pub use scoring::ScoringModel;
pub use time::Timestamp;
