//! A compact binary encoding of accepted events, for the state changelog of `chiso run`.
//!
//! Every event a partition engine applied is appended to the `state` topic so that the engine can
//! be rebuilt by replaying them (see `docs/kafka.md`). One Kafka record holds a *batch* of events:
//! restoring a province-year is then tens of thousands of records rather than millions, and
//! decoding is a few varints and borrowed strings per event instead of a JSON parse.
//!
//! ```text
//! batch  := MAGIC VERSION count:u32le event*
//! event  := tag:u8 flags:u8 dt:zigzag-varint id:str agency:str dossier:str [procedure:str] body
//! str    := len:varint utf8-bytes
//! ```
//! `dt` is `occurred_at` in nanoseconds minus the previous event's in the same batch (the first
//! is relative to 0), so time-ordered batches store small deltas. Agencies are written by id, not
//! by registry index, so a state topic survives a registry that gained or reordered agencies.
//! Decoding never panics: a damaged record gives a [`BinError`].

use std::borrow::Cow;

use crate::core::event::{
    Channel, DueSpec, Ending, Event, EventKind, PaymentMethod, Rating, Received, Reported,
};
use crate::core::{Period, Registry, Timestamp};

const MAGIC: u8 = 0xC5;
const VERSION: u8 = 1;
const HEADER: usize = 6;

/// Why a state record cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinError {
    #[error("record is truncated")]
    Truncated,
    #[error("record does not start with the state batch magic byte")]
    BadMagic,
    #[error("unsupported state batch version {0}")]
    BadVersion(u8),
    #[error("unknown tag {1} for {0}")]
    BadTag(&'static str, u8),
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    #[error("varint is too long")]
    BadVarint,
    #[error("agency `{0}` is not in the agency registry")]
    UnknownAgency(String),
    #[error("`{0}` is not a period label")]
    BadPeriod(String),
}

mod tag {
    pub const RECEIVED: u8 = 0;
    pub const SUPPLEMENT_REQUESTED: u8 = 1;
    pub const SUPPLEMENT_RECEIVED: u8 = 2;
    pub const PROCESSED: u8 = 3;
    pub const RETURNED: u8 = 4;
    pub const WITHDRAWN: u8 = 5;
    pub const OVERDUE: u8 = 6;
    pub const REJECTED: u8 = 7;
    pub const PAYMENT: u8 = 8;
    pub const RATED: u8 = 9;
    pub const SYNCED: u8 = 10;
    pub const APOLOGY: u8 = 11;
    pub const INDICATOR_REPORTED: u8 = 12;
}

const F_PROCEDURE: u8 = 1;

/// Builds one batch record. Reusable: [`BatchWriter::finish`] hands the bytes out and resets.
#[derive(Debug)]
pub struct BatchWriter {
    buf: Vec<u8>,
    count: u32,
    last: i64,
}

/// More than one encoded event can take (ids of at most 128 + 64 + 64 code points, fixed fields).
const MAX_EVENT_BYTES: usize = 4096;

impl Default for BatchWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchWriter {
    pub fn new() -> Self {
        Self::with_capacity(64 * 1024)
    }

    /// A writer whose batches are finished at about `bytes`: each batch's buffer is allocated
    /// once at that size (plus one event's worth), never grown by copying.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut w = BatchWriter {
            buf: Vec::with_capacity(bytes + MAX_EVENT_BYTES),
            count: 0,
            last: 0,
        };
        w.reset();
        w
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&[MAGIC, VERSION, 0, 0, 0, 0]);
        self.count = 0;
        self.last = 0;
    }

    /// Events in the batch so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size so far, in bytes.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Appends one event; `registry` names its agency.
    ///
    /// Long because the binary format is written field by field, in the order `read_event`
    /// mirrors.
    pub fn push(&mut self, registry: &Registry, ev: &Event<'_>) {
        let b = &mut self.buf;
        let (t, body_start) = (ev.occurred_at.as_nanos(), b.len());
        b.push(kind_tag(&ev.kind));
        b.push(if ev.procedure.is_some() {
            F_PROCEDURE
        } else {
            0
        });
        put_i64(b, t.wrapping_sub(self.last));
        self.last = t;
        put_str(b, &ev.id);
        put_str(b, &registry.get(ev.agency).id);
        put_str(b, &ev.dossier);
        if let Some(p) = &ev.procedure {
            put_str(b, p);
        }
        match &ev.kind {
            EventKind::Received(r) => {
                match r.due {
                    DueSpec::At(d) => {
                        b.push(0);
                        put_i64(b, d.as_nanos().wrapping_sub(t));
                    }
                    DueSpec::WorkingNanos(Some(n)) => {
                        b.push(1);
                        put_u128(b, n);
                    }
                    DueSpec::WorkingNanos(None) => b.push(2),
                }
                b.push(match r.channel {
                    Channel::Direct => 0,
                    Channel::Online => 1,
                    Channel::Postal => 2,
                });
                b.push(
                    r.via_national_portal as u8
                        | (r.fee_required as u8) << 1
                        | (r.digitized as u8) << 2
                        | (r.reused_data as u8) << 3
                        | (r.citizen_storage as u8) << 4,
                );
            }
            EventKind::SupplementReceived { due_at } => match due_at {
                None => b.push(0),
                Some(d) => {
                    b.push(1);
                    put_i64(b, d.as_nanos().wrapping_sub(t));
                }
            },
            EventKind::Processed {
                outcome,
                electronic_result,
            } => {
                b.push(matches!(outcome, Ending::Stopped) as u8);
                b.push(*electronic_result as u8);
            }
            EventKind::Payment { method } => b.push(match method {
                PaymentMethod::NationalPortal => 0,
                PaymentMethod::ProvincialGateway => 1,
                PaymentMethod::Offline => 2,
            }),
            EventKind::Rated { rating } => b.push(match rating {
                Rating::VerySatisfied => 0,
                Rating::Satisfied => 1,
                Rating::Dissatisfied => 2,
            }),
            EventKind::Apology { new_due_at } => put_i64(b, new_due_at.as_nanos().wrapping_sub(t)),
            EventKind::IndicatorReported(r) => {
                put_str(b, &r.indicator);
                put_str(b, &r.period.label());
                put_u128(b, r.numerator as u128);
                put_u128(b, r.denominator as u128);
            }
            EventKind::SupplementRequested
            | EventKind::Returned
            | EventKind::Withdrawn
            | EventKind::Overdue
            | EventKind::Rejected
            | EventKind::Synced => {}
        }
        debug_assert!(b.len() > body_start);
        self.count += 1;
    }

    /// The finished record (header patched with the count); the writer starts a new batch.
    pub fn finish(&mut self) -> Vec<u8> {
        self.buf[2..HEADER].copy_from_slice(&self.count.to_le_bytes());
        let capacity = self.buf.capacity();
        let out = std::mem::replace(&mut self.buf, Vec::with_capacity(capacity));
        self.reset();
        out
    }
}

fn kind_tag(kind: &EventKind<'_>) -> u8 {
    match kind {
        EventKind::Received(_) => tag::RECEIVED,
        EventKind::SupplementRequested => tag::SUPPLEMENT_REQUESTED,
        EventKind::SupplementReceived { .. } => tag::SUPPLEMENT_RECEIVED,
        EventKind::Processed { .. } => tag::PROCESSED,
        EventKind::Returned => tag::RETURNED,
        EventKind::Withdrawn => tag::WITHDRAWN,
        EventKind::Overdue => tag::OVERDUE,
        EventKind::Rejected => tag::REJECTED,
        EventKind::Payment { .. } => tag::PAYMENT,
        EventKind::Rated { .. } => tag::RATED,
        EventKind::Synced => tag::SYNCED,
        EventKind::Apology { .. } => tag::APOLOGY,
        EventKind::IndicatorReported(_) => tag::INDICATOR_REPORTED,
    }
}

fn put_u128(b: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        b.push(v as u8 | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

fn put_i64(b: &mut Vec<u8>, v: i64) {
    put_u128(b, ((v << 1) ^ (v >> 63)) as u64 as u128);
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put_u128(b, s.len() as u128);
    b.extend_from_slice(s.as_bytes());
}

/// Reads the events of one batch record, borrowing strings from it.
pub struct BatchReader<'a> {
    buf: &'a [u8],
    pos: usize,
    remaining: u32,
    last: i64,
}

impl<'a> BatchReader<'a> {
    pub fn new(buf: &'a [u8]) -> Result<Self, BinError> {
        if buf.len() < HEADER {
            return Err(BinError::Truncated);
        }
        if buf[0] != MAGIC {
            return Err(BinError::BadMagic);
        }
        if buf[1] != VERSION {
            return Err(BinError::BadVersion(buf[1]));
        }
        let count = u32::from_le_bytes(buf[2..HEADER].try_into().expect("4 bytes"));
        Ok(BatchReader {
            buf,
            pos: HEADER,
            remaining: count,
            last: 0,
        })
    }

    /// Events not read yet.
    pub fn remaining(&self) -> usize {
        self.remaining as usize
    }

    /// The next event, `None` at the end of the batch.
    pub fn next_event(&mut self, registry: &Registry) -> Option<Result<Event<'a>, BinError>> {
        if self.remaining == 0 {
            // Bytes after the last event mean the count and the body disagree.
            let trailing = self.pos != self.buf.len();
            self.pos = self.buf.len();
            return trailing.then_some(Err(BinError::Truncated));
        }
        self.remaining -= 1;
        let r = self.read_event(registry);
        if r.is_err() {
            self.remaining = 0;
            self.pos = self.buf.len();
        }
        Some(r)
    }

    fn byte(&mut self) -> Result<u8, BinError> {
        let b = *self.buf.get(self.pos).ok_or(BinError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn u128(&mut self) -> Result<u128, BinError> {
        let mut v: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u128) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(BinError::BadVarint)
    }

    fn u64(&mut self) -> Result<u64, BinError> {
        u64::try_from(self.u128()?).map_err(|_| BinError::BadVarint)
    }

    fn i64(&mut self) -> Result<i64, BinError> {
        let z = self.u64()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    fn str(&mut self) -> Result<&'a str, BinError> {
        let len = usize::try_from(self.u64()?).map_err(|_| BinError::Truncated)?;
        let end = self.pos.checked_add(len).ok_or(BinError::Truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or(BinError::Truncated)?;
        self.pos = end;
        std::str::from_utf8(bytes).map_err(|_| BinError::InvalidUtf8)
    }

    fn bool(&mut self) -> Result<bool, BinError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            t => Err(BinError::BadTag("boolean", t)),
        }
    }

    /// Long because the binary format is read field by field, in the order `push` writes it.
    fn read_event(&mut self, registry: &Registry) -> Result<Event<'a>, BinError> {
        let kind_tag = self.byte()?;
        let flags = self.byte()?;
        let t = self.last.wrapping_add(self.i64()?);
        self.last = t;
        let id = self.str()?;
        let agency_id = self.str()?;
        let agency = registry
            .lookup(agency_id)
            .ok_or_else(|| BinError::UnknownAgency(agency_id.to_owned()))?;
        let dossier = self.str()?;
        let procedure = if flags & F_PROCEDURE != 0 {
            Some(Cow::Borrowed(self.str()?))
        } else {
            None
        };
        let at = |delta: i64| Timestamp::from_nanos(t.wrapping_add(delta));
        let kind = match kind_tag {
            tag::RECEIVED => {
                let due = match self.byte()? {
                    0 => DueSpec::At(at(self.i64()?)),
                    1 => DueSpec::WorkingNanos(Some(self.u128()?)),
                    2 => DueSpec::WorkingNanos(None),
                    x => return Err(BinError::BadTag("due time", x)),
                };
                let channel = match self.byte()? {
                    0 => Channel::Direct,
                    1 => Channel::Online,
                    2 => Channel::Postal,
                    x => return Err(BinError::BadTag("channel", x)),
                };
                let f = self.byte()?;
                if f >> 5 != 0 {
                    return Err(BinError::BadTag("received flags", f));
                }
                EventKind::Received(Received {
                    due,
                    channel,
                    via_national_portal: f & 1 != 0,
                    fee_required: f & 2 != 0,
                    digitized: f & 4 != 0,
                    reused_data: f & 8 != 0,
                    citizen_storage: f & 16 != 0,
                })
            }
            tag::SUPPLEMENT_REQUESTED => EventKind::SupplementRequested,
            tag::SUPPLEMENT_RECEIVED => EventKind::SupplementReceived {
                due_at: if self.bool()? {
                    Some(at(self.i64()?))
                } else {
                    None
                },
            },
            tag::PROCESSED => EventKind::Processed {
                outcome: if self.bool()? {
                    Ending::Stopped
                } else {
                    Ending::Completed
                },
                electronic_result: self.bool()?,
            },
            tag::RETURNED => EventKind::Returned,
            tag::WITHDRAWN => EventKind::Withdrawn,
            tag::OVERDUE => EventKind::Overdue,
            tag::REJECTED => EventKind::Rejected,
            tag::PAYMENT => EventKind::Payment {
                method: match self.byte()? {
                    0 => PaymentMethod::NationalPortal,
                    1 => PaymentMethod::ProvincialGateway,
                    2 => PaymentMethod::Offline,
                    x => return Err(BinError::BadTag("payment method", x)),
                },
            },
            tag::RATED => EventKind::Rated {
                rating: match self.byte()? {
                    0 => Rating::VerySatisfied,
                    1 => Rating::Satisfied,
                    2 => Rating::Dissatisfied,
                    x => return Err(BinError::BadTag("rating", x)),
                },
            },
            tag::SYNCED => EventKind::Synced,
            tag::APOLOGY => EventKind::Apology {
                new_due_at: at(self.i64()?),
            },
            tag::INDICATOR_REPORTED => {
                let indicator = self.str()?;
                let label = self.str()?;
                let period = Period::parse_label(label)
                    .ok_or_else(|| BinError::BadPeriod(label.to_owned()))?;
                EventKind::IndicatorReported(Reported {
                    indicator: Cow::Borrowed(indicator),
                    period,
                    numerator: self.u64()?,
                    denominator: self.u64()?,
                })
            }
            x => return Err(BinError::BadTag("event type", x)),
        };
        Ok(Event {
            id: Cow::Borrowed(id),
            occurred_at: Timestamp::from_nanos(t),
            agency,
            dossier: Cow::Borrowed(dossier),
            procedure,
            kind,
        })
    }
}

#[cfg(test)]
mod tests;
