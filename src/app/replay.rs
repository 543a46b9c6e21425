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

/// What a replay read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub applied: u64,
    pub duplicates: u64,
    /// Rejects by reason code.
    pub rejects: BTreeMap<&'static str, u64>,
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
    let mut input = input;
    let mut buf = Vec::with_capacity(BATCH * 512);
    // Where each non-blank line of `buf` lies.
    let mut spans = Vec::with_capacity(BATCH);
    let mut tally = Tally::default();
    let mut line_no = 0u64;
    let mut more = true;
    while more {
        buf.clear();
        spans.clear();
        while spans.len() < BATCH {
            let start = buf.len();
            // A line over the size limit keeps only a prefix that is still over it (the rest is
            // skipped as it is read): the decoder rejects it as too large, in its place, and
            // memory stays bounded whatever the input.
            // (The limit, a byte order mark, a `\r`, and one byte over.)
            let Some(complete) = read_line_bounded(&mut input, &mut buf, max_bytes + 5)? else {
                more = false;
                break;
            };
            line_no += 1;
            let mut msg = &buf[start..];
            if complete {
                msg = msg.strip_suffix(b"\r").unwrap_or(msg);
            }
            let mut from = start;
            if line_no == 1 {
                // A byte order mark some editors write first is not part of the event.
                if let Some(rest) = msg.strip_prefix(b"\xef\xbb\xbf") {
                    msg = rest;
                    from += 3;
                }
            }
            if msg.iter().all(u8::is_ascii_whitespace) {
                buf.truncate(start);
                continue;
            }
            spans.push((from..from + msg.len(), line_no));
        }
        let messages: Vec<&[u8]> = spans.iter().map(|(span, _)| &buf[span.clone()]).collect();
        accept_batch(engine, max_bytes, &messages, |i, outcome| {
            if let Outcome::Rejected(reject) = &outcome {
                summary
                    .first_reject
                    .entry(reject.code())
                    .or_insert_with(|| (spans[i].1, reject.to_string()));
            }
            tally.note(&outcome);
        });
    }
    summary.lines += tally.messages;
    summary.applied += tally.applied;
    summary.duplicates += tally.duplicates;
    for (code, n) in tally.rejects() {
        *summary.rejects.entry(code).or_default() += n;
    }
    Ok(())
}

/// Appends the next line of `input` to `buf`, without its `\n`, keeping at most `keep` bytes of
/// it and skipping the rest unread into memory. `None` at the end of the input; otherwise
/// whether the whole line was kept.
fn read_line_bounded(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    keep: usize,
) -> std::io::Result<Option<bool>> {
    let start = buf.len();
    let mut seen = false;
    let mut complete = true;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(seen.then_some(complete));
        }
        seen = true;
        let (part, used, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = keep.saturating_sub(buf.len() - start);
        if part.len() > room {
            complete = false;
        }
        buf.extend_from_slice(&part[..part.len().min(room)]);
        input.consume(used);
        if end {
            return Ok(Some(complete));
        }
    }
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
