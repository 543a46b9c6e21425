//! The one accept path: message bytes → decode → ingest → [`Outcome`], with the bookkeeping of
//! what became of the messages ([`Tally`]). `chiso replay`, `chiso demo` and the Kafka worker
//! all go through [`accept_batch`]; they differ only in what they do with each outcome (count
//! a reject with its line number, dead-letter it, append an applied event to the state topic).

pub mod feed;

use crate::core::{Engine, Event, Ingested, Reject};
use crate::wire::event_json;

/// What became of one message.
#[derive(Debug)]
pub enum Outcome<'e, 'a> {
    /// Decoded and applied: the event, for whoever keeps a changelog of applied events.
    Applied(&'e Event<'a>),
    /// Decoded, but its agency accepted its `event_id` before: ignored.
    Duplicate,
    /// Broke the event contract: not applied, its `event_id` not claimed.
    Rejected(Reject),
}

/// Running counts of outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub messages: u64,
    pub applied: u64,
    pub duplicates: u64,
    /// Rejects, indexed like [`Reject::CODES`].
    pub rejected: [u64; Reject::CODES.len()],
}

impl Tally {
    pub fn note(&mut self, outcome: &Outcome<'_, '_>) {
        self.messages += 1;
        match outcome {
            Outcome::Applied(_) => self.applied += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Rejected(r) => self.rejected[r.code_index()] += 1,
        }
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// (code, count) of every reason with at least one reject, in [`Reject::CODES`] order.
    pub fn rejects(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Reject::CODES
            .iter()
            .zip(self.rejected)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (*c, n))
    }

    /// Hands the counts over and starts again from zero.
    pub fn take(&mut self) -> Tally {
        std::mem::take(self)
    }
}

/// Accepts `messages` in order, as one call per message would, and tells `each` what became of
/// every one (by position). Rejects are reported as they are decoded, then the applied and
/// duplicate events in order: the events are ingested together ([`Engine::ingest_batch`]),
/// which prefetches ahead.
pub fn accept_batch<'a>(
    engine: &mut Engine,
    max_bytes: usize,
    messages: &[&'a [u8]],
    mut each: impl FnMut(usize, Outcome<'_, 'a>),
) {
    let registry = engine.registry().clone();
    let mut events = Vec::with_capacity(messages.len());
    let mut positions = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        match event_json::decode(m, &registry, max_bytes) {
            Ok(ev) => {
                events.push(ev);
                positions.push(i);
            }
            Err(reject) => each(i, Outcome::Rejected(reject)),
        }
    }
    engine.ingest_batch(&events, |j, ingested| {
        let outcome = match ingested {
            Ingested::Applied => Outcome::Applied(&events[j]),
            Ingested::Duplicate => Outcome::Duplicate,
        };
        each(positions[j], outcome)
    });
}

/// [`accept_batch`] of one message.
pub fn accept(engine: &mut Engine, max_bytes: usize, message: &[u8]) -> Tally {
    let mut tally = Tally::default();
    accept_batch(engine, max_bytes, &[message], |_, o| tally.note(&o));
    tally
}
