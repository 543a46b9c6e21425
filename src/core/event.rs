//! The core's view of one accepted dossier event, and the reasons an input is refused.
//!
//! Decoding from the wire lives at the edge (`crate::wire`); it produces these types or a
//! [`Reject`]. Strings borrow from the input where they can, so that decoding allocates little.

use std::borrow::Cow;

use super::agency::AgencyIdx;
use super::period::Period;
use super::time::Timestamp;

/// One event that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    pub id: Cow<'a, str>,
    pub occurred_at: Timestamp,
    pub agency: AgencyIdx,
    /// Empty only for `indicator_reported`.
    pub dossier: Cow<'a, str>,
    pub procedure: Option<Cow<'a, str>>,
    pub kind: EventKind<'a>,
}

impl Event<'_> {
    /// A copy that owns its strings, for keeping beyond the input buffer.
    pub fn into_owned(self) -> Event<'static> {
        Event {
            id: Cow::Owned(self.id.into_owned()),
            occurred_at: self.occurred_at,
            agency: self.agency,
            dossier: Cow::Owned(self.dossier.into_owned()),
            procedure: self.procedure.map(|p| Cow::Owned(p.into_owned())),
            kind: match self.kind {
                EventKind::IndicatorReported(r) => EventKind::IndicatorReported(Reported {
                    indicator: Cow::Owned(r.indicator.into_owned()),
                    ..r
                }),
                EventKind::Received(r) => EventKind::Received(r),
                EventKind::SupplementRequested => EventKind::SupplementRequested,
                EventKind::SupplementReceived { due_at } => {
                    EventKind::SupplementReceived { due_at }
                }
                EventKind::Processed {
                    outcome,
                    electronic_result,
                } => EventKind::Processed {
                    outcome,
                    electronic_result,
                },
                EventKind::Returned => EventKind::Returned,
                EventKind::Withdrawn => EventKind::Withdrawn,
                EventKind::Overdue => EventKind::Overdue,
                EventKind::Rejected => EventKind::Rejected,
                EventKind::Payment { method } => EventKind::Payment { method },
                EventKind::Rated { rating } => EventKind::Rated { rating },
                EventKind::Synced => EventKind::Synced,
                EventKind::Apology { new_due_at } => EventKind::Apology { new_due_at },
            },
        }
    }
}

/// What happened, with the fields of each type.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind<'a> {
    Received(Received),
    SupplementRequested,
    SupplementReceived {
        due_at: Option<Timestamp>,
    },
    Processed {
        outcome: Ending,
        electronic_result: bool,
    },
    Returned,
    Withdrawn,
    Overdue,
    Rejected,
    Payment {
        method: PaymentMethod,
    },
    Rated {
        rating: Rating,
    },
    Synced,
    Apology {
        new_due_at: Timestamp,
    },
    IndicatorReported(Reported<'a>),
}

/// How the due time of a received dossier is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueSpec {
    At(Timestamp),
    /// Working time in nanoseconds after `occurred_at` on the working calendar; `None` is beyond
    /// any calendar ("never due").
    WorkingNanos(Option<u128>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub due: DueSpec,
    pub channel: Channel,
    pub via_national_portal: bool,
    pub fee_required: bool,
    pub digitized: bool,
    pub reused_data: bool,
    pub citizen_storage: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channel {
    #[default]
    Direct,
    Online,
    Postal,
}

/// How a dossier's processing ended (the event's `outcome`): with a result, or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ending {
    #[default]
    Completed,
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMethod {
    NationalPortal,
    ProvincialGateway,
    Offline,
}

impl PaymentMethod {
    pub fn is_online(self) -> bool {
        !matches!(self, PaymentMethod::Offline)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rating {
    VerySatisfied,
    Satisfied,
    Dissatisfied,
}

/// Largest numerator or denominator of a reported value: reported indicators count procedures,
/// petitions or dossiers, far below this; the bound keeps every pooled sum exact (see
/// [`crate::core::agency::MAX_AGENCIES`]).
pub const MAX_REPORTED: u64 = 100_000_000_000;

/// A value computed elsewhere for an indicator that dossier events cannot give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported<'a> {
    pub indicator: Cow<'a, str>,
    pub period: Period,
    pub numerator: u64,
    pub denominator: u64,
}

/// Why an input message was refused. The `code` is stable: it labels metrics and dead letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("message is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("message is not valid UTF-8")]
    InvalidUtf8,
    #[error("message is not valid JSON: {0}")]
    NotJson(String),
    #[error("message is not a JSON object")]
    NotObject,
    #[error("field `{0}` appears more than once")]
    DuplicateField(String),
    #[error("required field `{0}` is missing")]
    MissingField(&'static str),
    #[error("field `{field}` must be {expected}")]
    InvalidType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("field `{field}`: {problem}")]
    InvalidValue {
        field: &'static str,
        problem: String,
    },
    #[error("field `{field}` is not a valid RFC 3339 timestamp with an offset")]
    InvalidTimestamp { field: &'static str },
    #[error("field `{field}` must be 1 to {max} characters long")]
    BadLength { field: &'static str, max: usize },
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("agency `{0}` is not in the agency registry")]
    UnknownAgency(String),
}

impl Reject {
    /// A short, stable reason code (a bounded metric label).
    pub fn code(&self) -> &'static str {
        match self {
            Reject::TooLarge { .. } => "too_large",
            Reject::InvalidUtf8 => "invalid_utf8",
            Reject::NotJson(_) => "not_json",
            Reject::NotObject => "not_object",
            Reject::DuplicateField(_) => "duplicate_field",
            Reject::MissingField(_) => "missing_field",
            Reject::InvalidType { .. } => "invalid_type",
            Reject::InvalidValue { .. } => "invalid_value",
            Reject::InvalidTimestamp { .. } => "invalid_timestamp",
            Reject::BadLength { .. } => "bad_length",
            Reject::UnknownType(_) => "unknown_type",
            Reject::UnknownAgency(_) => "unknown_agency",
        }
    }

    /// The position of [`Reject::code`] in [`Reject::CODES`].
    pub fn code_index(&self) -> usize {
        Reject::CODES
            .iter()
            .position(|c| *c == self.code())
            .expect("every code is listed")
    }

    /// Every reason code, for pre-registering metric series.
    pub const CODES: [&'static str; 12] = [
        "too_large",
        "invalid_utf8",
        "not_json",
        "not_object",
        "duplicate_field",
        "missing_field",
        "invalid_type",
        "invalid_value",
        "invalid_timestamp",
        "bad_length",
        "unknown_type",
        "unknown_agency",
    ];
}
