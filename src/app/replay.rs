//! `chiso replay`: a file of events in, the results at one evaluation time out.
//!
//! The file order is the arrival order. Output is deterministic: same input, same bytes.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use anyhow::Result;

use crate::accept::{accept_batch, Outcome, Tally};
use crate::core::{
    DueSoonHorizon, Engine, EngineSettings, Period, PeriodPolicy, Registry, ScoringModel,
    Timestamp, WorkCalendar,
};
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

/// Writes one results object per line, sorted by agency id, period kind and start.
pub fn write_results(engine: &Engine, out: &mut impl Write) -> Result<()> {
    let (registry, model) = (engine.registry(), engine.model());
    for r in engine.results() {
        writeln!(out, "{}", result_json::encode(registry, model, &r, 0))?;
    }
    Ok(())
}

/// Runs a whole replay.
pub fn replay(setup: &ReplaySetup, input: impl BufRead, out: &mut impl Write) -> Result<Summary> {
    let mut engine = setup.engine();
    let mut summary = Summary::default();
    feed(&mut engine, input, setup.max_bytes, &mut summary)?;
    write_results(&engine, out)?;
    Ok(summary)
}
