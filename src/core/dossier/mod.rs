//! One dossier's accepted events in compact form, and its state at any evaluation time `c`.
//!
//! A period that is already final is evaluated at its end, the open ones at `now`, and late or
//! out-of-order events may land anywhere, so the state is not kept "as of now": what is kept is
//! enough to answer "what was this dossier at `c`?" exactly, for any `c`.
//!
//! - Events where only the earliest matters (an end, `overdue`, `rejected`, `apology`, an online
//!   payment, `synced`) shrink to one instant each.
//! - Events where several can matter (`received` corrections, supplement requests and receipts,
//!   ratings) stay in a short log sorted by instant.

mod contribution;
mod log;
mod view;

use compact_str::CompactString;

use crate::core::agency::AgencyIdx;
use crate::core::calendar::WorkCalendar;
use crate::core::event::{Channel, DueSpec, Ending, EventKind};
use crate::core::store::blocks::BlockRef;
use crate::core::time::Timestamp;

/// All that is kept of one dossier (72 bytes, plus its log entries in [`Logs`]).
#[derive(Debug)]
pub struct Dossier {
    pub(crate) id: CompactString,
    end_at: Timestamp,
    paid_online_at: Timestamp,
    synced_at: Timestamp,
    /// The earliest live timer of this dossier in the engine's deadline index.
    pub(crate) scheduled: Timestamp,
    log: BlockRef,
    pub(crate) agency: AgencyIdx,
    /// Interned procedure code in the low 30 bits ([`NO_PROCEDURE`] if none was given), the end
    /// flags in the top two.
    procedure: u32,
}

const _: () = assert!(std::mem::size_of::<Dossier>() == 72 && std::mem::size_of::<Entry>() == 24);

impl Dossier {
    pub fn new(agency: AgencyIdx, id: &str) -> Self {
        Dossier {
            id: CompactString::new(id),
            end_at: NONE,
            paid_online_at: NONE,
            synced_at: NONE,
            scheduled: NONE,
            log: BlockRef::default(),
            agency,
            procedure: NO_PROCEDURE,
        }
    }

    /// The interned procedure code, if any.
    pub(crate) fn procedure(&self) -> Option<u32> {
        let p = self.procedure & !END_FLAGS;
        (p != NO_PROCEDURE).then_some(p)
    }

    pub(crate) fn set_procedure(&mut self, p: u32) {
        debug_assert!(p < NO_PROCEDURE);
        self.procedure = (self.procedure & END_FLAGS) | p;
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Asks for the first line of the log (see [`crate::core::store::prefetch`]).
    pub(crate) fn prefetch_log(&self, logs: &Logs) {
        logs.entries.prefetch(self.log);
    }

    pub fn agency(&self) -> AgencyIdx {
        self.agency
    }

    fn log(
        &mut self,
        at: Timestamp,
        kind: EntryKind,
        due: Timestamp,
        flags: u8,
        tie: Option<&str>,
        logs: &mut Logs,
    ) {
        let log = logs.entries.get(self.log);
        if matches!(
            kind,
            EntryKind::Overdue | EntryKind::Rejected | EntryKind::Apology
        ) {
            // Only the earliest of these kinds matters, at any evaluation time: keep just that
            // one (an upstream system repeating a daily `overdue` notice adds nothing).
            if let Some(i) = log.iter().position(|e| e.kind == kind) {
                if log[i].at <= at {
                    return;
                }
                // Earlier: move it back to its place in the order.
                let pos = log.partition_point(|e| (e.at, e.kind) <= (at, kind));
                let log = logs.entries.get_mut(self.log);
                log[i].at = at;
                log[pos..=i].rotate_right(1);
                return;
            }
        }
        let pos = log.partition_point(|e| (e.at, e.kind) <= (at, kind));
        let (tie, tie_len) = tie.map_or((0, 0), |id| logs.ties.push(id));
        logs.entries.insert(
            &mut self.log,
            pos,
            Entry {
                at,
                due,
                tie,
                tie_len,
                kind,
                flags,
            },
        );
    }

    /// Whether the dossier counts in no period that starts at or after `bound`, whatever events
    /// come later: it was received before `bound` (so it is never pending from then on) and it
    /// ended or was rejected before `bound` (so it is out of scope of every such period). Later
    /// events cannot undo that: an end or a rejection only ever moves earlier, and a `received`
    /// before `bound` stays visible.
    pub(crate) fn settled_before(&self, bound: Timestamp, logs: &Logs) -> bool {
        let log = logs.entries.get(self.log);
        let closed = self.end_at < bound
            || log
                .iter()
                .any(|e| e.kind == EntryKind::Rejected && e.at < bound);
        closed
            && log
                .iter()
                .any(|e| e.kind == EntryKind::Received && e.at < bound)
    }

    /// Records one accepted event. `indicator_reported` never reaches a dossier.
    ///
    /// Long because it is one match over the event kinds, each arm a few lines, all updating
    /// the one compact log in place.
    pub fn apply(
        &mut self,
        at: Timestamp,
        event_id: &str,
        kind: &EventKind<'_>,
        calendar: &WorkCalendar,
        logs: &mut Logs,
    ) {
        fn earliest(slot: &mut Timestamp, at: Timestamp) {
            *slot = (*slot).min(at);
        }
        match kind {
            EventKind::Received(r) => {
                let due = match r.due {
                    DueSpec::At(t) => t,
                    DueSpec::WorkingNanos(Some(n)) => calendar.add_working_time(at, n),
                    DueSpec::WorkingNanos(None) => NONE,
                };
                let flags = (u8::from(r.channel == Channel::Online) * ONLINE)
                    | (u8::from(r.via_national_portal) * NATIONAL_PORTAL)
                    | (u8::from(r.fee_required) * FEE)
                    | (u8::from(r.digitized) * DIGITIZED)
                    | (u8::from(r.reused_data) * REUSED)
                    | (u8::from(r.citizen_storage) * STORAGE);
                self.log(at, EntryKind::Received, due, flags, Some(event_id), logs);
            }
            EventKind::SupplementRequested => {
                self.log(at, EntryKind::SupplementRequested, NONE, 0, None, logs)
            }
            EventKind::SupplementReceived { due_at } => match due_at {
                Some(d) => self.log(
                    at,
                    EntryKind::SupplementReceived,
                    *d,
                    HAS_DUE,
                    Some(event_id),
                    logs,
                ),
                None => self.log(at, EntryKind::SupplementReceived, NONE, 0, None, logs),
            },
            EventKind::Rated { rating } => self.log(
                at,
                EntryKind::Rated,
                NONE,
                *rating as u8,
                Some(event_id),
                logs,
            ),
            EventKind::Processed { .. } | EventKind::Returned | EventKind::Withdrawn => {
                let flags = match kind {
                    EventKind::Processed {
                        outcome: Ending::Completed,
                        electronic_result,
                    } => {
                        END_COMPLETED
                            | if *electronic_result {
                                END_ELECTRONIC
                            } else {
                                0
                            }
                    }
                    _ => 0,
                };
                if at < self.end_at {
                    self.end_at = at;
                    self.procedure = (self.procedure & !END_FLAGS) | flags;
                } else if at == self.end_at {
                    // Several events at the end instant: any completed one makes it completed.
                    self.procedure |= flags;
                }
            }
            EventKind::Overdue => self.log(at, EntryKind::Overdue, NONE, 0, None, logs),
            EventKind::Rejected => self.log(at, EntryKind::Rejected, NONE, 0, None, logs),
            EventKind::Apology { .. } => self.log(at, EntryKind::Apology, NONE, 0, None, logs),
            EventKind::Payment { method } if method.is_online() => {
                earliest(&mut self.paid_online_at, at)
            }
            EventKind::Payment { .. } => {}
            EventKind::Synced => earliest(&mut self.synced_at, at),
            EventKind::IndicatorReported(_) => {
                debug_assert!(false, "reports are not dossier events")
            }
        }
    }
}

pub use contribution::{contribution, Contribution};
pub use log::Logs;
use log::*;
pub use view::{LateRule, Status, View};

#[cfg(test)]
mod tests;
