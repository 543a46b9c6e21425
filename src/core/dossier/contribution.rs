//! What a dossier's state adds to the counts of a period, as a bit mask per count.

use super::log::*;
use super::view::View;
use crate::core::counts::{Count, Mask};
use crate::core::time::Timestamp;

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
