//! The per-agency, per-period counts of the contract, and the bit mask a dossier contributes.
//!
//! Every count is "how many dossiers", and each dossier adds 0 or 1 to each, so a dossier's whole
//! contribution to one period is a bit mask. Keeping counts incremental is then: subtract the old
//! mask, add the new one.

use std::ops::{Index, IndexMut};

macro_rules! counts {
    ($($variant:ident = $name:literal),+ $(,)?) => {
        /// One count of the contract (see `docs/results.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Count { $($variant),+ }

        impl Count {
            /// Every count, in the order results list them.
            pub const ALL: &'static [Count] = &[$(Count::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $(Count::$variant => $name),+ }
            }
        }
    };
}

counts! {
    InScope = "in_scope",
    OnTime = "on_time",
    Late = "late",
    OpenOnTime = "open_on_time",
    OpenOverdue = "open_overdue",
    OpenOverdueNationalPortal = "open_overdue_national_portal",
    AwaitingSupplement = "awaiting_supplement",
    DueSoon = "due_soon",
    Dissatisfied = "dissatisfied",
    DissatisfiedOnTime = "dissatisfied_on_time",
    LateWithApology = "late_with_apology",
    EndedOnTime = "ended_on_time",
    EndedLate = "ended_late",
    Completed = "completed",
    ElectronicResult = "electronic_result",
    Received = "received",
    Online = "online",
    FeeRequired = "fee_required",
    PaidOnline = "paid_online",
    Digitized = "digitized",
    ReusedData = "reused_data",
    CitizenStorage = "citizen_storage",
    Synced = "synced",
}

/// Number of published counts.
pub const NUM_COUNTS: usize = 23;
/// An extra slot, not published: dossiers with events but no `received` (an engine health figure).
pub const PENDING_SLOT: usize = NUM_COUNTS;

impl Count {
    /// The counts whose dossiers always include this one's (direct parents), from the
    /// definitions of the counts: e.g. `due_soon` ⊆ `open_on_time` ⊆ `on_time` ⊆ `in_scope`.
    fn parents(self) -> &'static [Count] {
        use Count::*;
        match self {
            InScope => &[],
            OnTime | Late | AwaitingSupplement | Dissatisfied | Completed | Received => &[InScope],
            OpenOnTime | EndedOnTime => &[OnTime],
            DissatisfiedOnTime => &[OnTime, Dissatisfied],
            DueSoon => &[OpenOnTime],
            OpenOverdue | EndedLate | LateWithApology => &[Late],
            OpenOverdueNationalPortal => &[OpenOverdue],
            ElectronicResult => &[Completed],
            Online | FeeRequired | Digitized | ReusedData | CitizenStorage | Synced => &[Received],
            PaidOnline => &[FeeRequired],
        }
    }

    /// Whether every dossier this count counts is also counted by `other` (in one agency and
    /// period), so that `self ≤ other` always.
    pub fn within(self, other: Count) -> bool {
        self == other || self.parents().iter().any(|p| p.within(other))
    }

    pub fn parse(name: &str) -> Option<Count> {
        Count::ALL.iter().copied().find(|c| c.name() == name)
    }

    pub const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The contribution of one dossier to one period: a set of counts (and the pending slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mask(pub u32);

impl Mask {
    pub const EMPTY: Mask = Mask(0);
    pub const PENDING: Mask = Mask(1 << PENDING_SLOT);

    pub fn set(&mut self, c: Count) {
        self.0 |= c.bit();
    }

    /// `self` with `c` added if `on` (without a branch: masks are built for every event).
    pub fn with(self, c: Count, on: bool) -> Self {
        Mask(self.0 | u32::from(on) << c as u32)
    }

    pub fn has(self, c: Count) -> bool {
        self.0 & c.bit() != 0
    }
}

/// Counts of one agency (own or pooled) for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Counts([u64; NUM_COUNTS + 1]);

impl Counts {
    pub fn add_mask(&mut self, m: Mask) {
        let mut bits = m.0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            self.0[i] += 1;
            bits &= bits - 1;
        }
    }

    pub fn sub_mask(&mut self, m: Mask) {
        let mut bits = m.0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            debug_assert!(self.0[i] > 0, "count {i} would go negative");
            self.0[i] -= 1;
            bits &= bits - 1;
        }
    }

    /// Replaces one dossier's old contribution with its new one.
    pub fn replace(&mut self, old: Mask, new: Mask) {
        if old != new {
            self.sub_mask(Mask(old.0 & !new.0));
            self.add_mask(Mask(new.0 & !old.0));
        }
    }

    pub fn add(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += *b;
        }
    }

    /// One more dossier in `c` (what-if figures: see [`crate::core::stake`]).
    pub fn increment(&mut self, c: Count) {
        self.0[c as usize] += 1;
    }

    /// One dossier fewer in `c`; saturates at 0 (what-if figures may be asked of counts a
    /// little older or newer than the dossiers they are asked about).
    pub fn decrement(&mut self, c: Count) {
        self.0[c as usize] = self.0[c as usize].saturating_sub(1);
    }

    pub fn pending(&self) -> u64 {
        self.0[PENDING_SLOT]
    }

    /// The published counts, in [`Count::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Count, u64)> + '_ {
        Count::ALL.iter().map(|&c| (c, self[c]))
    }

    /// Whether the identities of the contract hold (`on_time + late = in_scope`, …).
    pub fn is_consistent(&self) -> bool {
        use Count::*;
        let c = |k| self[k];
        c(OnTime) + c(Late) == c(InScope)
            && c(OnTime) == c(EndedOnTime) + c(OpenOnTime)
            && c(Late) == c(EndedLate) + c(OpenOverdue)
            && c(OpenOverdueNationalPortal) <= c(OpenOverdue)
            && c(DueSoon) <= c(OpenOnTime)
            && c(DissatisfiedOnTime) <= c(Dissatisfied).min(c(OnTime))
            && c(LateWithApology) <= c(Late)
            && c(Completed) <= c(EndedOnTime) + c(EndedLate)
            && c(ElectronicResult) <= c(Completed)
            && c(PaidOnline) <= c(FeeRequired)
            && [
                Online,
                FeeRequired,
                Digitized,
                ReusedData,
                CitizenStorage,
                Synced,
            ]
            .iter()
            .all(|&k| c(k) <= c(Received))
            && c(Received) <= c(InScope)
    }
}

impl Index<Count> for Counts {
    type Output = u64;
    fn index(&self, c: Count) -> &u64 {
        &self.0[c as usize]
    }
}

impl IndexMut<Count> for Counts {
    fn index_mut(&mut self, c: Count) -> &mut u64 {
        &mut self.0[c as usize]
    }
}

const _: () = assert!(NUM_COUNTS == Count::Synced as usize + 1);
