//! Snapshots of a dossier's current state (the national portal's sync records, a one-stop
//! system's database rows) turned into lifecycle events.
//!
//! A source sends what a dossier looks like now, again and again; chiso's contract is a log of
//! what happened. [`derive`] compares a new [`Snapshot`] with the [`Memory`] kept of the
//! dossier's earlier ones and returns the events the difference means, each with an id made from
//! the dossier and what it reports, so that a snapshot sent again derives nothing new, and an
//! event derived twice (a crash between deriving and committing) is a duplicate downstream.
//!
//! The rules, in the order [`derive`] applies them:
//! - A snapshot older than the last one applied (by the source's position) is stale: nothing.
//! - A delete derives nothing: what was counted stays counted; the memory is kept, so that the
//!   row inserted again derives nothing twice.
//! - `received`: when the status is past `submitted` and the receipt time is known. A change of
//!   its receipt time, due time, channel or flags derives a new `received`, whose id sorts after
//!   the earlier ones (the correction rule of the event contract).
//! - Supplement rounds: each round's request and its receipt, once, by round number.
//! - Ends (`processed`, `returned`, `withdrawn`), `rejected`, an online payment and `synced` count
//!   from their earliest instant: each is derived when first seen and again whenever a snapshot
//!   dates it earlier, so any order of snapshots ends at the earliest.
//! - A status of `processed` without an end date is a *squashed* status (sources send 9 for 5, 6
//!   and 8): it ends nothing, and the status before it stands.

use std::borrow::Cow;

use super::agency::AgencyIdx;
use super::event::{Channel, DueSpec, Ending, Event, EventKind, PaymentMethod, Received};
use super::time::Timestamp;

/// A dossier's lifecycle state as a source reports it (the portal's `TrangThaiHoSo` 1–10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Submitted,
    Received,
    Refused,
    Processing,
    SupplementRequested,
    FinancialObligation,
    Withdrawn,
    Stopped,
    Processed,
    Returned,
}

impl Status {
    /// Every status with its name in mapping files.
    pub const NAMES: [(&'static str, Status); 10] = [
        ("submitted", Status::Submitted),
        ("received", Status::Received),
        ("refused", Status::Refused),
        ("processing", Status::Processing),
        ("supplement_requested", Status::SupplementRequested),
        ("financial_obligation", Status::FinancialObligation),
        ("withdrawn", Status::Withdrawn),
        ("stopped", Status::Stopped),
        ("processed", Status::Processed),
        ("returned", Status::Returned),
    ];
}

/// One supplement round (yêu cầu bổ sung): numbered from 1 in the dossier's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub number: u8,
    pub requested_at: Option<Timestamp>,
    pub received_at: Option<Timestamp>,
    /// The due time set when the papers arrived (`NgayHenTraMoi`).
    pub new_due_at: Option<Timestamp>,
}

/// What a `received` says beyond its time: compared as a whole to tell a correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Intake {
    pub due_at: Option<Timestamp>,
    pub channel: Channel,
    pub via_national_portal: bool,
    pub fee_required: bool,
    pub digitized: bool,
    pub reused_data: bool,
    pub citizen_storage: bool,
}

/// A dossier's state in one source record, read through a mapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot<'a> {
    pub dossier: Cow<'a, str>,
    pub agency: Option<AgencyIdx>,
    pub procedure: Option<Cow<'a, str>>,
    /// Orders the records of one dossier (an LSN, a commit time, a time the feed adds).
    pub position: i64,
    /// Dates what the record reports without a date of its own (a withdrawal, a payment, the
    /// sync itself).
    pub changed_at: Timestamp,
    pub deleted: bool,
    pub status: Status,
    pub received_at: Option<Timestamp>,
    pub intake: Intake,
    pub rounds: Vec<Round>,
    pub processed_at: Option<Timestamp>,
    pub returned_at: Option<Timestamp>,
    pub refused_at: Option<Timestamp>,
    pub withdrawn_at: Option<Timestamp>,
    pub electronic_result: bool,
    pub paid_online: Option<PaymentMethod>,
    /// The record itself is a sync to the national portal (the portal's own feed).
    pub synced: bool,
}

/// What is kept of a dossier between its snapshots: only what [`derive`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub position: i64,
    pub agency: AgencyIdx,
    pub status: Status,
    /// Corrections of `received` derived so far (the first is 1).
    pub intakes: u16,
    pub received_at: Timestamp,
    pub intake: Intake,
    pub requested: u8,
    pub answered: u8,
    /// The earliest instant derived of each kind; `Timestamp::MAX` when none.
    pub ended: Timestamp,
    pub ended_electronic: bool,
    pub returned: Timestamp,
    pub withdrawn: Timestamp,
    pub rejected: Timestamp,
    pub paid: Timestamp,
    pub synced: Timestamp,
}

impl Memory {
    fn new(position: i64, agency: AgencyIdx) -> Memory {
        Memory {
            position,
            agency,
            status: Status::Submitted,
            intakes: 0,
            received_at: Timestamp::MIN,
            intake: Intake::default(),
            requested: 0,
            answered: 0,
            ended: Timestamp::MAX,
            ended_electronic: false,
            returned: Timestamp::MAX,
            withdrawn: Timestamp::MAX,
            rejected: Timestamp::MAX,
            paid: Timestamp::MAX,
            synced: Timestamp::MAX,
        }
    }
}

/// What one snapshot does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derived {
    /// Older than the last snapshot applied: nothing.
    Stale,
    /// A delete: at most a `rejected` derived, the memory kept.
    Deleted,
    /// Applied: this many events (maybe none) appended, the memory updated.
    Applied(usize),
}

/// Why a snapshot cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("the dossier is received but its due time is missing")]
    NoDueTime,
    #[error("the first record of a dossier names no agency")]
    NoAgency,
}

/// Compares `snap` with `memory` (none for a dossier not seen yet), appends the events the
/// difference means to `out`, and updates `memory`.
///
/// Long because it applies the rules of the module doc in their order, one block each.
pub fn derive(
    memory: &mut Option<Memory>,
    snap: &Snapshot<'_>,
    out: &mut Vec<Event<'static>>,
) -> Result<Derived, SnapshotError> {
    if let Some(m) = memory.as_ref() {
        if snap.position < m.position {
            return Ok(Derived::Stale);
        }
    }
    let agency = match (memory.as_ref(), snap.agency) {
        // The agency that first received the dossier keeps it (the event contract's key).
        (Some(m), _) => m.agency,
        (None, Some(a)) => a,
        (None, None) => return Err(SnapshotError::NoAgency),
    };
    let received = snap.status != Status::Submitted && snap.received_at.is_some();
    if received && snap.intake.due_at.is_none() {
        return Err(SnapshotError::NoDueTime);
    }
    let m = memory.get_or_insert_with(|| Memory::new(snap.position, agency));
    m.position = snap.position;
    let before = out.len();
    let mut o = Out { out, snap, agency };
    if snap.deleted {
        // An open dossier deleted was entered by mistake: it leaves the counts from then on. An
        // ended one is being archived: what it counted stays.
        let open = [m.ended, m.returned, m.withdrawn, m.rejected]
            .iter()
            .all(|t| *t == Timestamp::MAX);
        if m.intakes > 0 && open {
            o.earliest(&mut m.rejected, snap.changed_at, 'x', EventKind::Rejected);
        }
        return Ok(Derived::Deleted);
    }
    if let (true, Some(at)) = (received, snap.received_at) {
        if m.intakes == 0 || at != m.received_at || snap.intake != m.intake {
            m.intakes = m.intakes.saturating_add(1);
            m.received_at = at;
            m.intake = snap.intake;
            o.push(
                format!("r{:05}", m.intakes),
                at,
                received_kind(&snap.intake),
            );
        }
    }
    for r in &snap.rounds {
        if let (true, Some(at)) = (r.number > m.requested, r.requested_at) {
            m.requested = r.number;
            o.push(
                format!("q{:03}", r.number),
                at,
                EventKind::SupplementRequested,
            );
        }
        if let (true, Some(at)) = (r.number > m.answered, r.received_at) {
            m.answered = r.number;
            let kind = EventKind::SupplementReceived {
                due_at: r.new_due_at,
            };
            o.push(format!("a{:03}", r.number), at, kind);
        }
    }
    // A `processed` without its date is a squashed status: the one before it stands.
    let squashed = snap.status == Status::Processed && snap.processed_at.is_none();
    let status = if squashed { m.status } else { snap.status };
    let at_or_now = |t: Option<Timestamp>| t.unwrap_or(snap.changed_at);
    match status {
        Status::Processed | Status::Returned | Status::Stopped => {
            let stopped = status == Status::Stopped;
            let end = match (stopped, snap.processed_at) {
                (false, None) => None,
                (_, t) => Some(at_or_now(t)),
            };
            if let Some(at) = end {
                end_at(&mut o, m, at, stopped);
            }
            if status == Status::Returned {
                let at = at_or_now(snap.returned_at);
                o.earliest(&mut m.returned, at, 't', EventKind::Returned);
            }
        }
        Status::Withdrawn => {
            let at = at_or_now(snap.withdrawn_at);
            o.earliest(&mut m.withdrawn, at, 'w', EventKind::Withdrawn);
        }
        Status::Refused => {
            let at = at_or_now(snap.refused_at);
            o.earliest(&mut m.rejected, at, 'x', EventKind::Rejected);
        }
        _ => {}
    }
    if let Some(method) = snap.paid_online {
        let kind = EventKind::Payment { method };
        o.earliest(&mut m.paid, snap.changed_at, '$', kind);
    }
    if snap.synced {
        o.earliest(&mut m.synced, snap.changed_at, 's', EventKind::Synced);
    }
    m.status = status;
    Ok(Derived::Applied(out.len() - before))
}

/// The end at `at`: derived when earlier than the one derived, or again at the same instant when
/// the result has become electronic since.
fn end_at(o: &mut Out<'_, '_, '_>, m: &mut Memory, at: Timestamp, stopped: bool) {
    let electronic = !stopped && o.snap.electronic_result;
    let kind = EventKind::Processed {
        outcome: if stopped {
            Ending::Stopped
        } else {
            Ending::Completed
        },
        electronic_result: electronic,
    };
    if at == m.ended && electronic && !m.ended_electronic {
        m.ended_electronic = true;
        o.push(format!("e{}", at.as_nanos()), at, kind);
    } else if at < m.ended {
        m.ended_electronic = electronic;
        o.earliest(&mut m.ended, at, 'p', kind);
    }
}

/// Where derived events go, with what each of them shares.
struct Out<'o, 's, 'a> {
    out: &'o mut Vec<Event<'static>>,
    snap: &'s Snapshot<'a>,
    agency: AgencyIdx,
}

impl Out<'_, '_, '_> {
    fn push(&mut self, tag: String, at: Timestamp, kind: EventKind<'static>) {
        let snap = self.snap;
        self.out.push(Event {
            id: Cow::Owned(format!("{}~{tag}", snap.dossier)),
            occurred_at: at,
            agency: self.agency,
            dossier: Cow::Owned(snap.dossier.to_string()),
            procedure: snap.procedure.as_ref().map(|p| Cow::Owned(p.to_string())),
            kind,
        });
    }

    /// An event that counts from its earliest instant: derived when `at` is before `slot`.
    fn earliest(
        &mut self,
        slot: &mut Timestamp,
        at: Timestamp,
        tag: char,
        kind: EventKind<'static>,
    ) {
        if at < *slot {
            *slot = at;
            self.push(format!("{tag}{}", at.as_nanos()), at, kind);
        }
    }
}

fn received_kind(i: &Intake) -> EventKind<'static> {
    EventKind::Received(Received {
        due: DueSpec::At(i.due_at.expect("checked before")),
        channel: i.channel,
        via_national_portal: i.via_national_portal,
        fee_required: i.fee_required,
        digitized: i.digitized,
        reused_data: i.reused_data,
        citizen_storage: i.citizen_storage,
    })
}

#[cfg(test)]
mod tests;
