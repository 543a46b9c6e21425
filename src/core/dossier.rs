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

use compact_str::CompactString;

use super::agency::AgencyIdx;
use super::calendar::WorkCalendar;
use super::counts::{Count, Mask};
use super::event::{Channel, DueSpec, EventKind, Outcome, Rating};
use super::store::blocks::{BlockRef, Blocks};
use super::time::Timestamp;

const NONE: Timestamp = Timestamp::MAX;

/// Kinds of logged entries; the order breaks ties at one instant (a receipt closes a request
/// made at the same instant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum EntryKind {
    #[default]
    Received,
    SupplementRequested,
    SupplementReceived,
    Rated,
    // Rare kinds where only the earliest matters: logged rather than given a field each.
    Overdue,
    Rejected,
    Apology,
}

// Flags of a `received` entry.
const ONLINE: u8 = 1;
const NATIONAL_PORTAL: u8 = 2;
const FEE: u8 = 4;
const DIGITIZED: u8 = 8;
const REUSED: u8 = 16;
const STORAGE: u8 = 32;
// Flag of a `supplement_received` entry that carries a new due time.
const HAS_DUE: u8 = 1;
// Flags of the end, kept in the top bits of `Dossier::procedure`.
const END_COMPLETED: u32 = 1 << 30;
const END_ELECTRONIC: u32 = 1 << 31;
const END_FLAGS: u32 = END_COMPLETED | END_ELECTRONIC;
/// "No procedure" in the low 30 bits of `Dossier::procedure`.
pub(crate) const NO_PROCEDURE: u32 = !END_FLAGS;

/// Event ids kept for tie-breaking, packed end to end in 1 MiB chunks (no per-id allocation).
#[derive(Debug, Clone, Default)]
pub struct Ties {
    chunks: Vec<Vec<u8>>,
}

const TIE_CHUNK_BITS: u32 = 20;
const TIE_CHUNK: usize = 1 << TIE_CHUNK_BITS;

impl Ties {
    fn push(&mut self, id: &str) -> (u32, u16) {
        debug_assert!(!id.is_empty() && id.len() <= u16::MAX as usize);
        if self
            .chunks
            .last()
            .is_none_or(|c| c.len() + id.len() > TIE_CHUNK)
        {
            self.chunks.push(Vec::with_capacity(TIE_CHUNK));
        }
        let chunk = self.chunks.len() - 1;
        let buf = &mut self.chunks[chunk];
        let pos = buf.len();
        buf.extend_from_slice(id.as_bytes());
        let offset = u32::try_from(chunk << TIE_CHUNK_BITS | pos)
            .expect("over 4 GiB of event ids in one engine");
        (offset, id.len() as u16)
    }

    fn get(&self, offset: u32, len: u16) -> &[u8] {
        let (chunk, pos) = (
            (offset >> TIE_CHUNK_BITS) as usize,
            (offset as usize) & (TIE_CHUNK - 1),
        );
        &self.chunks[chunk][pos..pos + len as usize]
    }
}

/// 24 bytes: most dossiers log one or two of these.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    at: Timestamp,
    /// `received`: its due time; `supplement_received`: its `due_at` (if `HAS_DUE`).
    due: Timestamp,
    /// Where the event id is kept in [`Ties`], for kinds where "latest wins, ties to the greater
    /// `event_id`"; `tie_len == 0` for the others (an id is never empty).
    tie: u32,
    tie_len: u16,
    kind: EntryKind,
    flags: u8,
}

impl Entry {
    /// Whether `self` is later than `other` by (`occurred_at`, `event_id`).
    fn later_than(&self, other: &Entry, ties: &Ties) -> bool {
        match self.at.cmp(&other.at) {
            std::cmp::Ordering::Equal => {
                ties.get(self.tie, self.tie_len) > ties.get(other.tie, other.tie_len)
            }
            o => o.is_gt(),
        }
    }
}

/// Every dossier's log, and the event ids their entries keep for tie-breaks: one store per
/// engine, so that a log growing by one entry costs no heap allocation (see [`super::store::blocks`]).
#[derive(Debug, Default)]
pub struct Logs {
    entries: Blocks<Entry>,
    ties: Ties,
}

impl Logs {
    /// Whether the store's free blocks outweigh the logs (see [`super::store::blocks`]).
    pub(crate) fn wasteful(&self) -> bool {
        self.entries.wasteful()
    }

    /// Copies every log into fresh chunks; `dossiers` must be every dossier of this store.
    pub(crate) fn compact<'a>(&mut self, dossiers: impl Iterator<Item = &'a mut Dossier>) {
        self.entries.compact(dossiers.map(|d| &mut d.log));
    }
}

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

/// A dossier's state at one evaluation time, when it has a governing `received`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub received_at: Timestamp,
    pub due: Timestamp,
    pub end: Option<Timestamp>,
    pub rejected: bool,
    pub late: bool,
    pub paused: bool,
    pub due_soon: bool,
    flags: u8,
    pub completed: bool,
    pub electronic_result: bool,
    pub dissatisfied: bool,
    pub apology: bool,
    pub paid_online: bool,
    pub synced: bool,
}

impl Status {
    pub fn online(&self) -> bool {
        self.flags & ONLINE != 0
    }
    pub fn via_national_portal(&self) -> bool {
        self.flags & NATIONAL_PORTAL != 0
    }
    pub fn fee_required(&self) -> bool {
        self.flags & FEE != 0
    }
    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }
}

/// What a dossier is at one evaluation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// None of its events happened before `c`.
    Unseen,
    /// Events before `c`, but no `received`: in no indicator.
    Pending,
    Known(Status),
}

/// What a pass over the log has gathered so far: entries are fed in order, so one pass can
/// answer for several evaluation times in turn ([`Dossier::views`]).
#[derive(Debug, Clone, Copy)]
struct Scan<'a> {
    governing: Option<&'a Entry>,
    new_due: Option<&'a Entry>,
    rating: Option<&'a Entry>,
    requests: u32,
    /// Requests not yet closed by a receipt: how many, the earliest, and the sum of their
    /// instants, so that one receipt closes them all at once (its pause lengths add up to
    /// `open × s − Σr`).
    open: i128,
    open_sum: i128,
    earliest_open: Timestamp,
    /// The total length of the closed pauses.
    closed: i128,
    seen: bool,
    overdue_at: Timestamp,
    rejected_at: Timestamp,
    apology_at: Timestamp,
}

impl Default for Scan<'_> {
    fn default() -> Self {
        Scan {
            governing: None,
            new_due: None,
            rating: None,
            requests: 0,
            open: 0,
            open_sum: 0,
            earliest_open: NONE,
            closed: 0,
            seen: false,
            overdue_at: NONE,
            rejected_at: NONE,
            apology_at: NONE,
        }
    }
}

impl<'a> Scan<'a> {
    fn feed(&mut self, e: &'a Entry, ties: &Ties) {
        self.seen = true;
        match e.kind {
            EntryKind::Received => {
                if self.governing.is_none_or(|g| e.later_than(g, ties)) {
                    self.governing = Some(e);
                }
            }
            EntryKind::SupplementRequested => {
                self.requests += 1;
                if self.open == 0 {
                    self.earliest_open = e.at;
                }
                self.open += 1;
                self.open_sum += e.at.as_nanos() as i128;
            }
            EntryKind::SupplementReceived => {
                self.closed += self.open * e.at.as_nanos() as i128 - self.open_sum;
                self.open = 0;
                self.open_sum = 0;
                if e.flags & HAS_DUE != 0 && self.new_due.is_none_or(|d| e.later_than(d, ties)) {
                    self.new_due = Some(e);
                }
            }
            EntryKind::Rated => {
                if self.rating.is_none_or(|r| e.later_than(r, ties)) {
                    self.rating = Some(e);
                }
            }
            EntryKind::Overdue => self.overdue_at = self.overdue_at.min(e.at),
            EntryKind::Rejected => self.rejected_at = self.rejected_at.min(e.at),
            EntryKind::Apology => self.apology_at = self.apology_at.min(e.at),
        }
    }
}

impl View {
    /// Whether, with no event between now and `c`, the view at `c` is this one: only an open
    /// dossier that is neither paused nor late changes with time alone (late after its due
    /// time, due soon within the horizon before it).
    fn steady_until(&self, c: Timestamp, due_soon_horizon: i64) -> bool {
        match self {
            View::Unseen | View::Pending => true,
            View::Known(s) => {
                // A negative horizon means no due-soon at all, but the due time still passes.
                let until = c.saturating_add(due_soon_horizon.max(0));
                !s.is_open() || s.paused || s.late || s.due > until
            }
        }
    }
}

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

    /// Asks for the first line of the log (see [`super::store::prefetch`]).
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

    /// Records one accepted event. `indicator_reported` never reaches a dossier.
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
                let flags = u8::from(r.channel == Channel::Online) * ONLINE
                    | u8::from(r.via_national_portal) * NATIONAL_PORTAL
                    | u8::from(r.fee_required) * FEE
                    | u8::from(r.digitized) * DIGITIZED
                    | u8::from(r.reused_data) * REUSED
                    | u8::from(r.citizen_storage) * STORAGE;
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
                        outcome: Outcome::Completed,
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

    fn singles(&self) -> [Timestamp; 3] {
        [self.end_at, self.paid_online_at, self.synced_at]
    }

    /// The dossier at evaluation time `c`, using only events with `occurred_at < c`.
    pub fn view(&self, c: Timestamp, due_soon_horizon: i64, logs: &Logs) -> View {
        let mut scan = Scan::default();
        for e in logs.entries.get(self.log).iter().take_while(|e| e.at < c) {
            scan.feed(e, &logs.ties);
        }
        self.finish(&scan, c, due_soon_horizon)
    }

    /// [`Dossier::view`] at each of `times` (ascending), in one pass over the log. `each` also
    /// learns whether the view is the one it was given for the previous time, found without
    /// working it out again: nothing happened in between and nothing in it depends on the time
    /// (an ended dossier, say), which is most dossiers between a final period's end and now.
    // Inlined into the ingest path: out of line it costs 6% more instructions per event.
    #[inline(always)]
    pub fn views(
        &self,
        times: &[Timestamp],
        due_soon_horizon: i64,
        logs: &Logs,
        mut each: impl FnMut(Timestamp, &View, bool),
    ) {
        debug_assert!(times.is_sorted());
        let log = logs.entries.get(self.log);
        let mut scan = Scan::default();
        let mut next = 0;
        let mut previous = Timestamp::MIN;
        let mut view = View::Unseen;
        for (i, &c) in times.iter().enumerate() {
            let fed = next;
            while let Some(e) = log.get(next).filter(|e| e.at < c) {
                scan.feed(e, &logs.ties);
                next += 1;
            }
            let same = i > 0
                && next == fed
                && self.singles().iter().all(|&t| t < previous || t >= c)
                && view.steady_until(c, due_soon_horizon);
            if same {
                debug_assert_eq!(view, self.finish(&scan, c, due_soon_horizon));
            } else {
                view = self.finish(&scan, c, due_soon_horizon);
            }
            each(c, &view, same);
            previous = c;
        }
    }

    /// The view at `c` from the log entries before `c`.
    fn finish(&self, scan: &Scan<'_>, c: Timestamp, due_soon_horizon: i64) -> View {
        let Some(governing) = scan.governing else {
            return if scan.seen || self.singles().iter().any(|&t| t < c) {
                View::Pending
            } else {
                View::Unseen
            };
        };
        let end = (self.end_at < c).then_some(self.end_at);
        let due = match scan.new_due {
            Some(d) => d.due,
            None if governing.due == NONE => NONE,
            None => Timestamp::saturating(governing.due.as_nanos() as i128 + scan.closed),
        };
        let paused = scan.open > 0;
        let overdue_declared = scan.overdue_at < c && end.is_none_or(|e| scan.overdue_at < e);
        let late = scan.requests > 1
            || overdue_declared
            || match end {
                Some(e) => e > due,
                None if paused => scan.earliest_open > due,
                None => c > due,
            };
        let due_soon =
            end.is_none() && !paused && !late && due <= c.saturating_add(due_soon_horizon);
        let completed = end.is_some() && self.procedure & END_COMPLETED != 0;
        View::Known(Status {
            received_at: governing.at,
            due,
            end,
            rejected: scan.rejected_at < c,
            late,
            paused,
            due_soon,
            flags: governing.flags,
            completed,
            electronic_result: completed && self.procedure & END_ELECTRONIC != 0,
            dissatisfied: scan
                .rating
                .is_some_and(|r| r.flags == Rating::Dissatisfied as u8),
            apology: scan.apology_at < c,
            paid_online: self.paid_online_at < c,
            synced: self.synced_at < c,
        })
    }

    /// The first instant after `now` at which [`Dossier::view`] may answer differently, as `c`
    /// moves forward with the clock: an event becoming visible, the due time passing (rule 5), or
    /// the due-soon horizon reaching the due time. `Timestamp::MAX` if none.
    /// `view_now`, if given, is `self.view(now, …)` already computed by the caller.
    pub fn next_change(
        &self,
        now: Timestamp,
        due_soon_horizon: i64,
        logs: &Logs,
        view_now: Option<View>,
    ) -> Timestamp {
        // The log is sorted by instant: its first entry at or after `now` is the earliest.
        let log = logs.entries.get(self.log);
        let mut next = log
            .get(log.partition_point(|e| e.at < now))
            .map_or(NONE, |e| e.at.saturating_add(1));
        for t in self.singles() {
            if t >= now {
                next = next.min(t.saturating_add(1));
            }
        }
        let view = view_now.unwrap_or_else(|| self.view(now, due_soon_horizon, logs));
        debug_assert_eq!(view, self.view(now, due_soon_horizon, logs));
        if let View::Known(s) = view {
            if s.is_open() && !s.paused && !s.late && s.due != NONE {
                next = next.min(s.due.saturating_add(1));
                let soon = s.due.saturating_sub(due_soon_horizon);
                if soon > now {
                    next = next.min(soon);
                }
            }
        }
        next
    }
}

/// What one dossier adds to the counts of a period `[start, …)` evaluated at `c`.
pub fn contribution(view: &View, start: Timestamp, c: Timestamp) -> Mask {
    debug_assert!(!matches!(view, View::Known(s) if s.received_at >= c));
    Contribution::of(view).mask(start)
}

/// A dossier's contribution at one evaluation time to every period evaluated then, which differ
/// only by their start: worked out once per view, then [`Contribution::mask`] per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    /// In a period that starts at or before this instant (its end, if ended), the dossier counts:
    /// it was open at some point of the period.
    end: Timestamp,
    /// The counts it adds to such a period…
    always: Mask,
    /// …and those added when it was also received in the period (at or after its start).
    received_at: Timestamp,
    received: Mask,
}

impl Contribution {
    pub const EMPTY: Contribution = Contribution {
        end: Timestamp::MIN,
        always: Mask::EMPTY,
        received_at: Timestamp::MIN,
        received: Mask::EMPTY,
    };

    pub fn of(view: &View) -> Self {
        let s = match view {
            View::Unseen => return Contribution::EMPTY,
            View::Pending => {
                return Contribution {
                    end: Timestamp::MAX,
                    always: Mask::PENDING,
                    ..Contribution::EMPTY
                }
            }
            View::Known(s) if s.rejected => return Contribution::EMPTY,
            View::Known(s) => s,
        };
        let open = s.is_open();
        let mut always = Mask::EMPTY
            .with(Count::InScope, true)
            .with(Count::OnTime, !s.late)
            .with(Count::Late, s.late)
            .with(Count::OpenOnTime, open && !s.late)
            .with(Count::OpenOverdue, open && s.late)
            .with(
                Count::OpenOverdueNationalPortal,
                open && s.late && s.via_national_portal(),
            )
            .with(Count::AwaitingSupplement, open && s.paused)
            .with(Count::DueSoon, s.due_soon)
            .with(Count::Dissatisfied, s.dissatisfied)
            .with(Count::DissatisfiedOnTime, s.dissatisfied && !s.late)
            .with(Count::LateWithApology, s.late && s.apology);
        if !open {
            // In scope and ended means ended in this period: start ≤ end < c.
            always = always
                .with(Count::EndedOnTime, !s.late)
                .with(Count::EndedLate, s.late)
                .with(Count::Completed, s.completed)
                .with(Count::ElectronicResult, s.electronic_result);
        }
        let received = Mask::EMPTY
            .with(Count::Received, true)
            .with(Count::Online, s.online())
            .with(Count::FeeRequired, s.fee_required())
            .with(Count::PaidOnline, s.fee_required() && s.paid_online)
            .with(Count::Digitized, s.flags & DIGITIZED != 0)
            .with(Count::ReusedData, s.flags & REUSED != 0)
            .with(Count::CitizenStorage, s.flags & STORAGE != 0)
            .with(Count::Synced, s.synced);
        Contribution {
            end: s.end.unwrap_or(Timestamp::MAX),
            always,
            received_at: s.received_at,
            received,
        }
    }

    /// The counts added to the period starting at `start`.
    pub fn mask(&self, start: Timestamp) -> Mask {
        if self.end < start {
            Mask::EMPTY
        } else if self.received_at >= start {
            Mask(self.always.0 | self.received.0)
        } else {
            self.always
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::agency::AgencyIdx;
    use crate::core::event::Received;
    use crate::core::time::NANOS_PER_HOUR;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_nanos(1_750_000_000_000_000_000 + hours * NANOS_PER_HOUR)
    }

    fn received(due: Timestamp) -> EventKind<'static> {
        EventKind::Received(Received {
            due: DueSpec::At(due),
            channel: Channel::Online,
            via_national_portal: false,
            fee_required: false,
            digitized: false,
            reused_data: false,
            citizen_storage: false,
        })
    }

    fn status(d: &Dossier, c: Timestamp, logs: &Logs) -> Status {
        match d.view(c, 0, logs) {
            View::Known(s) => s,
            other => panic!("expected a known dossier, got {other:?}"),
        }
    }

    /// A daily `overdue` notice, in any order, keeps one log entry: the earliest.
    #[test]
    fn repeated_overdue_keeps_the_earliest_only() {
        let (cal, mut logs) = (WorkCalendar::default(), Logs::default());
        let mut d = Dossier::new(AgencyIdx(0), "D1");
        d.apply(at(0), "r", &received(at(1000)), &cal, &mut logs);
        for (n, h) in [50, 40, 70, 30, 90, 30].into_iter().enumerate() {
            d.apply(
                at(h),
                &format!("o{n}"),
                &EventKind::Overdue,
                &cal,
                &mut logs,
            );
        }
        assert_eq!(d.log.len(), 2);
        assert!(!status(&d, at(30), &logs).late);
        assert!(status(&d, at(31), &logs).late);
    }

    /// `views` answers as `view` at each time, for any horizon (a view reused from the previous
    /// time must still be right; a negative horizon means no due-soon at all).
    #[test]
    fn views_agree_with_view_whatever_the_horizon() {
        let (cal, mut logs) = (WorkCalendar::default(), Logs::default());
        let mut d = Dossier::new(AgencyIdx(0), "D1");
        d.apply(at(0), "r", &received(at(100)), &cal, &mut logs);
        let times = [at(50), at(80), at(99), at(101), at(200)];
        for h in [-1000, -1, 0, 1, 24, 1000] {
            let horizon = h * NANOS_PER_HOUR;
            let mut got = Vec::new();
            d.views(&times, horizon, &logs, |_, v, _| got.push(*v));
            let want: Vec<View> = times.iter().map(|&c| d.view(c, horizon, &logs)).collect();
            assert_eq!(got, want, "horizon {h} h");
        }
    }

    /// A dossier flooded with ratings outgrows the exact, the power-of-two and the chunked block
    /// sizes; the latest rating still wins at every evaluation time.
    #[test]
    fn long_logs_stay_exact() {
        let (cal, mut logs) = (WorkCalendar::default(), Logs::default());
        let mut d = Dossier::new(AgencyIdx(0), "D1");
        d.apply(at(0), "r", &received(at(1_000_000)), &cal, &mut logs);
        let n = 5000;
        // Odd hours dissatisfied, even hours satisfied; inserted from both ends towards the middle.
        let hours: Vec<i64> = (1..=n).collect();
        let order = hours
            .iter()
            .step_by(2)
            .chain(hours.iter().skip(1).step_by(2).rev());
        for &h in order {
            let rating = if h % 2 == 1 {
                Rating::Dissatisfied
            } else {
                Rating::Satisfied
            };
            let kind = EventKind::Rated { rating };
            d.apply(at(h), &format!("x{h}"), &kind, &cal, &mut logs);
        }
        assert_eq!(d.log.len(), n as usize + 1);
        for h in [1, 2, 9, 10, 4095, 4096, 4097, n] {
            assert_eq!(
                status(&d, at(h).saturating_add(1), &logs).dissatisfied,
                h % 2 == 1,
                "at hour {h}"
            );
        }
        let mut seen = Vec::new();
        d.views(
            &[
                at(7).saturating_add(1),
                at(8).saturating_add(1),
                at(n).saturating_add(1),
            ],
            0,
            &logs,
            |_, v, _| seen.push(matches!(v, View::Known(s) if s.dissatisfied)),
        );
        assert_eq!(seen, [true, false, false]);
    }
}
