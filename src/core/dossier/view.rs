//! A dossier's state at an evaluation time `c` (the on-time rules), and the next instant at
//! which that state can change with time alone.

use super::log::*;
use super::Dossier;
use crate::core::event::Rating;
use crate::core::time::Timestamp;

/// A dossier's state at one evaluation time, when it has a governing `received`.
/// The on-time rule that makes a dossier late: the first that holds, in the contract's order
/// (a second request for papers, a declared overdue, then the due time passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LateRule {
    /// Rule 1: the applicant was asked for papers a second time.
    SecondSupplementRequest = 1,
    /// Rule 2: the processing system declared the dossier overdue.
    DeclaredOverdue = 2,
    /// Rule 3: the dossier ended after its due time.
    EndedAfterDue = 3,
    /// Rule 4: waiting for papers, but the wait began after the due time.
    PausedAfterDue = 4,
    /// Rule 5: still open after its due time.
    PastDue = 5,
}

impl LateRule {
    /// The rule's number in the contract (1–5).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The rule as a stable code (the API's `late_reason`, the worklist CSV).
    pub fn code(self) -> &'static str {
        match self {
            LateRule::SecondSupplementRequest => "second_supplement_request",
            LateRule::DeclaredOverdue => "declared_overdue",
            LateRule::EndedAfterDue => "ended_after_due",
            LateRule::PausedAfterDue => "paused_after_due",
            LateRule::PastDue => "past_due",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub received_at: Timestamp,
    pub due: Timestamp,
    pub end: Option<Timestamp>,
    pub rejected: bool,
    pub late: bool,
    /// The first on-time rule that makes the dossier late; `None` when on time.
    pub late_rule: Option<LateRule>,
    /// Since when the dossier is late (the earliest instant at which a rule that holds began to
    /// hold: the second request for papers, the declared overdue, or the due time); `MAX` when
    /// on time. Always before the evaluation time.
    pub late_since: Timestamp,
    pub paused: bool,
    pub due_soon: bool,
    pub(super) flags: u8,
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
pub(super) struct Scan<'a> {
    governing: Option<&'a Entry>,
    new_due: Option<&'a Entry>,
    rating: Option<&'a Entry>,
    requests: u32,
    /// When the second request for papers was made (rule 1), if there was one.
    second_request_at: Timestamp,
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
            second_request_at: NONE,
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
    pub(super) fn feed(&mut self, e: &'a Entry, ties: &Ties) {
        self.seen = true;
        match e.kind {
            EntryKind::Received => {
                if self.governing.is_none_or(|g| e.later_than(g, ties)) {
                    self.governing = Some(e);
                }
            }
            EntryKind::SupplementRequested => {
                self.requests += 1;
                if self.requests == 2 {
                    self.second_request_at = e.at;
                }
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
    pub(super) fn steady_until(&self, c: Timestamp, due_soon_horizon: i64) -> bool {
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
    pub(super) fn singles(&self) -> [Timestamp; 3] {
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
    pub(super) fn finish(&self, scan: &Scan<'_>, c: Timestamp, due_soon_horizon: i64) -> View {
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
        let past_due = match end {
            Some(e) => e > due,
            None if paused => scan.earliest_open > due,
            None => c > due,
        };
        let late = scan.requests > 1 || overdue_declared || past_due;
        let (late_rule, late_since) = if late {
            let rule = if scan.requests > 1 {
                LateRule::SecondSupplementRequest
            } else if overdue_declared {
                LateRule::DeclaredOverdue
            } else {
                match end {
                    Some(_) => LateRule::EndedAfterDue,
                    None if paused => LateRule::PausedAfterDue,
                    None => LateRule::PastDue,
                }
            };
            let mut since = NONE;
            if scan.requests > 1 {
                since = since.min(scan.second_request_at);
            }
            if overdue_declared {
                since = since.min(scan.overdue_at);
            }
            if past_due {
                since = since.min(due);
            }
            (Some(rule), since)
        } else {
            (None, NONE)
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
            late_rule,
            late_since,
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
