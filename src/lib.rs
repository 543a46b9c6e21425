//! # chiso — architecture
//!
//! chiso turns the lifecycle events of administrative-procedure dossiers (hồ sơ) into the
//! service-quality indicators of the "766 index", per agency and per month, quarter and year,
//! in real time. This page is the map for contributors; users start at the README.
//!
//! ## Data flow
//!
//! ```text
//!  bytes (Kafka message, file line, generator) ──► accept::accept_batch
//!      wire::event_json::decode ──► core::Engine::ingest_batch ──► Outcome
//!        │ reject (counted, dead-lettered)       │ applied (kafka: appended to the state topic)
//!        ▼                                       ▼
//!                            per-agency own counts, kept incrementally;
//!                            advance_to(now): deadline timers flip dossiers late
//!                                                │
//!          ┌─────────────────────────────────────┼───────────────────────────────┐
//!          ▼                                     ▼                               ▼
//!  results: score_pooled            read_model: results snapshots,     read_model::EngineHealth
//!  (wire::result_json,               OpenSet per source following       (atomics the owners add
//!   results topic, replay)           the engine's open-dossier changes)   to)
//!                                                │                               │
//!                                                └────────► http, metrics ◄──────┘
//! ```
//!
//! `chiso replay` is the accept path on a file with a fixed evaluation time; `chiso demo` feeds
//! it from the built-in generator; `chiso run` runs one engine per Kafka partition (stage 1)
//! and pools their own figures in a roll-up stage (stage 2).
//!
//! ## Layers
//!
//! `main → app (wiring) → adapters (kafka, http, metrics, sim) → read_model, wire, accept,
//! render → core`. The core imports nothing of the crate; nothing below the app imports it, not
//! even in tests (the built-in definitions are in `wire`); adapters never import the app nor
//! each other (they meet in `read_model`, `wire`, `accept` and `render`); nothing under
//! `kafka` names the app's configuration. `tests/architecture.rs` enforces all of it.
//!
//! ## Code map
//!
//! - [`core`] — the pure domain: no I/O, no clock, no async.
//!   - [`core::time`] instants (i64 nanoseconds), strict RFC 3339, +07:00 civil arithmetic.
//!   - [`core::calendar`] working calendar: due times from working hours and holidays.
//!   - [`core::period`] month / quarter / year periods and labels.
//!   - [`core::event`] the accepted event model and the typed reject reasons.
//!   - [`core::dossier`] one dossier in compact form: its log (`log`), its state at any time
//!     `c` under the on-time rules (`view`), what it adds to the counts (`contribution`).
//!   - [`core::counts`] the counts of the contract and a dossier's contribution as a bit mask.
//!   - [`core::engine`] the engine: settings and state (`mod`), one event (`ingest`), batches
//!     with prefetching (`batch`), deadline timers and settling (`timers`), tracked periods and
//!     [`core::PeriodPolicy`] (`periods`), pooled and scored results (`results`), the
//!     incremental open-dossier set (`open`), rebuilding from a changelog (`restore`).
//!   - [`core::feed`] snapshots of a dossier's current state (portal sync records, database
//!     rows) compared with what is kept of the earlier ones, giving lifecycle events.
//!   - [`core::reported`] reported indicator values (`indicator_reported`).
//!   - [`core::scoring`] the configurable scoring model and exact points arithmetic.
//!   - [`core::agency`] the agency registry and roll-ups over its tree.
//!   - [`core::stake`] points at stake: what an open, on-time dossier would cost its agency's
//!     score if it turned late, and the period-end projections.
//!   - [`core::store`] generic containers with no domain knowledge: chunked slab, block store
//!     for the logs, open-addressing index, compact id-hash set, the prefetch hint.
//! - [`wire`] — every byte format: event JSON (`event_json`, decode), results JSON
//!   (`result_json`), own figures for the roll-up (`partials`), the binary state batches of
//!   the changelog (`state_batch`), the dead-letter headers (`dead_letter`), core events written back as JSON
//!   (`event_encode`), snapshot sources read through a mapping file (`feed`: `mapping`, the portal's sync records
//!   `dvcqg`, Debezium change records `debezium`), the definition
//!   files — registry, scoring model, holidays — and the built-in ones (`definitions`).
//! - [`accept`] — the one accept path: bytes → decode → ingest → outcome, and its tally; before
//!   it, a snapshot source's records → snapshots → derived events, with each dossier's memory
//!   (`feed`).
//! - [`read_model`] — what HTTP and metrics serve: results snapshots, open-dossier sets,
//!   readiness and coverage (`readiness`), engine health atomics (`health`).
//! - [`kafka`] — the Kafka adapter of `chiso run`: its own [`kafka::KafkaConfig`] (`config`),
//!   typed [`kafka::PipelineError`] (`error`), client settings and contexts (`client`), the
//!   session loop (`session`), transactions (`txn`), the topic layout (`layout`), stage 1
//!   (`ingest`: session, partition `worker`, `changelog` restore, `rebalance`) and stage 2
//!   (`rollup`: session, results `publish`, `rebalance`), both on the one session loop; the
//!   producer of `chiso produce` (`backfill`) and the reader of the results topic for
//!   `chiso report --kafka` (`published`).
//! - [`http`] — the read-only HTTP server (axum routes, hyper connections with limits:
//!   `server`): results (`api`), operator lists (`operator`), points at stake (`stake`), the
//!   handlers of the pages for people (`pages`) and of the operator's worklist (`worklist`), `/metrics` handed
//!   out in slices (`scrape`, the scrape function handed in by the app), `/healthz`, `/readyz`,
//!   JSON errors (`error`). The route table is in its module doc.
//! - [`render`] — what people read: the text table of each language and the one way instants
//!   are written (`text`), the HTML escaper and the CSV field writer, the web pages (`pages`:
//!   the ranking, an agency's page, the operator's worklist as HTML and CSV), the monthly notice
//!   (`notice`: HTML, CSV, Markdown; `notice_xlsx`: the workbook). Pure, like the core: the
//!   HTTP handlers parse, fetch from the read model and hand typed views to it.
//! - [`metrics`] — the owned Prometheus registry: engine health (`health`) and indicator series
//!   (`indicators`) built at scrape time from the read model, written to a sink (`sink`).
//! - [`sim`] — `chiso demo`'s and `chiso generate`'s realistic event stream: the generator
//!   (`generator`) over per-agency habits and intake rates (`profile`), each dossier's life
//!   decided at intake (`plan`), a monotone queue of waiting events (`queue`), fast JSON lines
//!   (`encode`), the sample file (`sample`), the accelerated clock (`clock`).
//! - [`app`] — the commands (`replay`, `run`, `demo`, `generate`, `report`, `produce`,
//!   `topics`), the layered run configuration (`config`), registry/scoring/holiday files
//!   (`files`: reading them, errors naming the file), the command-line values (`args`: instants and periods), reading JSON lines with bounded memory (`lines`), logging, signals and the
//!   shutdown watchdog (`process`), the clock (`clock`).
//!
//! ## Where do I change X
//!
//! | to … | change | and keep true |
//! |---|---|---|
//! | add or re-weigh an indicator | `config/scoring.toml` (a new count: `src/core/counts.rs`, what a dossier adds in `src/core/dossier/contribution.rs`) | `docs/indicators.md`, the golden scenarios in `tests/scenarios/` |
//! | change an on-time rule | `src/core/dossier/view.rs` | `docs/indicators.md`, `tests/properties.rs` |
//! | take a new input format | a decoder in `src/wire/` to core events, called from `src/accept.rs` | `docs/events.md`, `deploy/schema/`, `deploy/asyncapi.yaml` |
//! | add a page or an API route | a handler in `src/http/` that parses and fetches, the HTML in `src/render/pages/` (texts in `src/render/text.rs`, both languages), the route in `src/http/mod.rs` | its route table, `docs/api.md` (error codes too) |
//! | add a metric | engine health: `src/read_model/health.rs` and `src/metrics/health.rs`; an indicator series: `src/metrics/indicators.rs` | `docs/metrics.md`, the alerts in `deploy/prometheus/` with their tests in `tests/alerts/` |
//! | add a setting of `chiso run` | `config/chiso.toml` (the defaults list every key) and `src/app/config/settings.rs` (its checks in `src/app/config.rs`) | `docs/configuration.md` |
//! | add a command or a flag | `src/main.rs` and a module in `src/app/` | README, `docs/` (a test checks every flag they give) |
//! | change a Kafka topic | `src/kafka/layout.rs` (`chiso topics`) | `docs/kafka.md`, `deploy/asyncapi.yaml` |
//!
//! The paths in this table, in the code map and in every document are checked to exist
//! (`tests/docs.rs`); the code map must name every module (`tests/architecture.rs`).
//!
//! ## Invariants
//!
//! - The core never reads the clock: `now` is always passed in. Same events, same `now`, same
//!   results — whatever the arrival order, duplication or `advance_to` batching (property tests).
//! - Duplicates are per agency: an event whose `(agency_id, event_id)` was accepted before is
//!   ignored, in every mode.
//! - For every tracked period `p` and agency `a`, the own counts equal the sum over `a`'s dossiers
//!   of their contribution evaluated at `min(now, p.end)`. An event retracts its dossier's old
//!   contribution and adds the new one; nothing is recomputed over all dossiers, except once
//!   when a new period starts being tracked and once when a restored engine is settled.
//! - A dossier whose state can change with time alone (due time, due-soon horizon, events stamped
//!   in the future) sits in the deadline index at its next such instant; `advance_to` touches only
//!   the dossiers whose instant has passed. The same two places (an event, a timer) mark the
//!   dossier for the open-dossier set, so the operator lists cost what changed, never a scan.
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
pub mod render;
pub mod sim;
pub mod wire;
