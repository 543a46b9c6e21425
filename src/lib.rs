//! # chiso — architecture
//!
//! chiso turns the lifecycle events of administrative-procedure dossiers (hồ sơ) into the
//! service-quality indicators of the "766 index", per agency and per month, quarter and year,
//! in real time. This page is the map for contributors; users start at the README.
//!
//! ## Data flow
//!
//! ```text
//!  Kafka events ──► wire::event_json::decode ──► core::Engine::ingest ──┐
//!  (JSON, key = agency)      │ reject                                   │ advance_to(now): timers
//!                            ▼                                          ▼
//!                      dead-letter topic                 per-agency own counts (incremental)
//!                                                                       │ own_figures / results
//!                                     ┌─────────────────────────────────┤
//!                                     ▼                                 ▼
//!                     results topic (wire::result_json)     live::ReadModel ──► http, metrics
//! ```
//!
//! `chiso replay` is the same pipeline on a file with a fixed evaluation time; `chiso demo` feeds
//! the engine from a built-in generator; `chiso run` wraps one engine per Kafka partition.
//!
//! ## Code map
//!
//! - [`core`] — the pure domain: no I/O, no clock, no async (checked by `tests/architecture.rs`).
//!   - [`core::time`] instants (i64 nanoseconds), strict RFC 3339, +07:00 civil arithmetic.
//!   - [`core::calendar`] working calendar: due times from working hours and holidays.
//!   - [`core::period`] month / quarter / year periods and labels.
//!   - [`core::event`] the accepted event model and the typed reject reasons.
//!   - [`core::dossier`] one dossier's compact event summary and its state at any time `c`.
//!   - [`core::counts`] the counts of the contract and a dossier's contribution as a bit mask.
//!   - [`core::engine`] ingest (one event, or a batch with prefetching), the restore path
//!     (`Engine::restore`: ids checked in bulk, one settling pass), deadline index, tracked
//!     periods, pooled results.
//!   - [`core::idset`] the compact exact set of event-id hashes (duplicate detection).
//!   - [`core::index`] the (agency, dossier id) → dossier table, open addressing.
//!   - [`core::slab`] chunked storage of the dossiers; [`core::blocks`] the dossiers' logs in
//!     shared chunks (size classes, free lists: no allocation per logged event);
//!     [`core::prefetch`] the cache hint.
//!   - [`core::reports`] reported indicator values (`indicator_reported`).
//!   - [`core::scoring`] the configurable scoring model and exact points arithmetic.
//!   - [`core::agency`] the agency registry and roll-ups over its tree.
//! - [`wire`] — the edge formats: JSON input decoding with reject reasons, results encoding,
//!   and the compact binary encoding of accepted events kept in the state topic.
//! - [`config`] — loading the registry, scoring model and holidays (TOML or JSON).
//! - [`settings`] — the layered configuration of `chiso run` (defaults, file, environment).
//! - [`live`] — the read model (snapshots per source) that HTTP and metrics serve.
//! - [`kafka`] — the Kafka adapter: per-partition engines, transactions, restore, roll-up stage.
//! - [`http`] — the read-only HTTP API, `/metrics`, `/healthz`, `/readyz` (axum).
//! - [`metrics`] — the owned Prometheus registry: engine health and scrape-time indicators.
//! - [`demo`] — the realistic event generator and the accelerated clock of `chiso demo`.
//! - [`app`] — the commands: `replay`, `run`, `demo`, `generate`.
//!
//! ## Invariants
//!
//! - The core never reads the clock: `now` is always passed in. Same events, same `now`, same
//!   results — whatever the arrival order, duplication or `advance_to` batching (property tests).
//! - For every tracked period `p` and agency `a`, the own counts equal the sum over `a`'s dossiers
//!   of their contribution evaluated at `min(now, p.end)`. An event retracts its dossier's old
//!   contribution and adds the new one; nothing is recomputed over all dossiers, except once
//!   when a new period starts being tracked and once when a restored engine is settled.
//! - A dossier whose state can change with time alone (due time, due-soon horizon, events stamped
//!   in the future) sits in the deadline index at its next such instant; `advance_to` touches only
//!   the dossiers whose instant has passed.
//! - Results are always computed from pooled counts of a whole subtree, never by averaging.
//! - Points are exact: hundredths and millionths in integers, one rounding, half away from zero.
//! - Bad input is data: a [`core::Reject`] with a stable code, never a panic.
//!
//! Deliberately absent: any per-dossier identifier in metrics labels or logs; global state
//! (the registry, model and metrics registry are passed down explicitly).

pub mod accept;
pub mod app;
pub mod core;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod read_model;
pub mod sim;
pub mod wire;
