//! `chiso replay`: a file of events in, the results at one evaluation time out.
//!
//! The file order is the arrival order. Output is deterministic: same input, same bytes.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use anyhow::Result;

use crate::accept::feed::{FeedTally, Normalizer};
use crate::accept::{accept_batch, Outcome, Tally};
use crate::core::{
    DueSoonHorizon, Engine, EngineSettings, Period, PeriodPolicy, Registry, ScoringModel,
    Timestamp, WorkCalendar,
};
use crate::wire::feed::Mapping;
use crate::wire::result_json;

use super::lines::Lines;

/// What a replay read: the counts of the one accept path, and where each kind of reject first
/// happened (what the command prints).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Lines read (`messages`), applied, duplicates and rejects by reason.
    pub tally: Tally,
    /// The first reject of each reason: (line number in the input, counting blank lines, message).
    pub first_reject: BTreeMap<&'static str, (u64, String)>,
    /// A snapshot source's records (`--format dvcqg|debezium`): what they became; the events
    /// they derived are in `tally`.
    pub feed: Option<FeedTally>,
    /// The first reject of each reason among the source's records, as `first_reject`.
    pub first_feed_reject: BTreeMap<&'static str, (u64, String)>,
}

/// Everything a replay needs besides the events.
pub struct ReplaySetup {
    pub registry: Arc<Registry>,
    pub model: Arc<ScoringModel>,
    pub calendar: Arc<WorkCalendar>,
    pub at: Timestamp,
    /// Empty: the month, quarter and year containing `at`.
    pub periods: Vec<Period>,
    pub due_soon_horizon: DueSoonHorizon,
    pub max_bytes: usize,
    /// A snapshot source's mapping: the input is its records, not chiso's events.
    pub source: Option<Mapping>,
}

impl ReplaySetup {
    pub fn engine(&self) -> Engine {
        let periods = if self.periods.is_empty() {
            PeriodPolicy::Rolling {
                finals_kept: [0, 0, 0],
            }
        } else {
            PeriodPolicy::Fixed(self.periods.clone())
        };
        let settings = EngineSettings {
            due_soon_horizon: self.due_soon_horizon,
            periods,
        };
        Engine::new(
            self.registry.clone(),
            self.model.clone(),
            self.calendar.clone(),
            settings,
            self.at,
        )
    }
}

/// Lines decoded before their events are ingested together ([`Engine::ingest_batch`]).
const BATCH: usize = 256;

/// Feeds JSON lines into the engine; blank lines are skipped.
///
/// Lines are read and decoded `BATCH` at a time, then ingested as one batch: the engine
/// prefetches ahead within a batch, which a call per event cannot.
pub fn feed(
    engine: &mut Engine,
    input: impl BufRead,
    max_bytes: usize,
    summary: &mut Summary,
) -> Result<()> {
    let mut lines = Lines::new(input, max_bytes);
    let mut buf = Vec::with_capacity(BATCH * 512);
    // Where each non-blank line of `buf` lies.
    let mut spans = Vec::with_capacity(BATCH);
    let mut more = true;
    while more {
        buf.clear();
        spans.clear();
        while spans.len() < BATCH {
            let Some(line) = lines.next_into(&mut buf)? else {
                more = false;
                break;
            };
            spans.push(line);
        }
        let messages: Vec<&[u8]> = spans.iter().map(|(span, _)| &buf[span.clone()]).collect();
        accept_batch(engine, max_bytes, &messages, |i, outcome| {
            if let Outcome::Rejected(reject) = &outcome {
                summary
                    .first_reject
                    .entry(reject.code())
                    .or_insert_with(|| (spans[i].1, reject.to_string()));
            }
            summary.tally.note(&outcome);
        });
    }
    Ok(())
}

/// Feeds a snapshot source's records (JSON lines) into the engine through `normalizer`:
/// the events each batch of lines derives are ingested together.
pub fn feed_records(
    engine: &mut Engine,
    mut normalizer: Normalizer,
    input: impl BufRead,
    max_bytes: usize,
    summary: &mut Summary,
) -> Result<()> {
    let mut lines = Lines::new(input, max_bytes);
    let mut buf = Vec::with_capacity(1 << 16);
    let mut events = Vec::with_capacity(BATCH * 2);
    let mut tally = FeedTally::default();
    let mut more = true;
    while more {
        events.clear();
        for _ in 0..BATCH {
            buf.clear();
            let Some((span, line_no)) = lines.next_into(&mut buf)? else {
                more = false;
                break;
            };
            let first = &mut summary.first_feed_reject;
            normalizer.record(&buf[span], &mut events, &mut tally, |r| {
                first
                    .entry(r.code)
                    .or_insert_with(|| (line_no, r.to_string()));
            });
        }
        engine.ingest_batch(&events, |j, ingested| {
            let outcome = match ingested {
                crate::core::Ingested::Applied => Outcome::Applied(&events[j]),
                crate::core::Ingested::Duplicate => Outcome::Duplicate,
            };
            summary.tally.note(&outcome);
        });
    }
    summary.feed = Some(tally);
    Ok(())
}

/// Writes one results object per line, sorted by agency id, period kind and start.
pub fn write_results(engine: &Engine, out: &mut impl Write) -> Result<()> {
    let (registry, model) = (engine.registry(), engine.model());
    for r in engine.results() {
        writeln!(out, "{}", result_json::encode(registry, model, &r, 0))?;
    }
    Ok(())
}

/// Feeds the input into the engine: chiso's events, or the records of the setup's source.
pub fn feed_input(
    setup: &ReplaySetup,
    engine: &mut Engine,
    input: impl BufRead,
    summary: &mut Summary,
) -> Result<()> {
    match &setup.source {
        None => feed(engine, input, setup.max_bytes, summary),
        Some(mapping) => {
            let n = Normalizer::new(mapping.clone(), setup.registry.clone(), setup.max_bytes);
            feed_records(engine, n, input, setup.max_bytes, summary)
        }
    }
}

/// Runs a whole replay.
pub fn replay(setup: &ReplaySetup, input: impl BufRead, out: &mut impl Write) -> Result<Summary> {
    let mut engine = setup.engine();
    let mut summary = Summary::default();
    feed_input(setup, &mut engine, input, &mut summary)?;
    write_results(&engine, out)?;
    Ok(summary)
}
