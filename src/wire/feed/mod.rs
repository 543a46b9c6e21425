//! Records that report a dossier's current state — the national portal's sync records
//! (`dvcqg`) and Debezium change records of a one-stop system's dossier table (`debezium`) —
//! read through a [`Mapping`] as [`Snapshot`]s for [`crate::core::feed::derive`].
//!
//! Both decoders read the JSON once, borrowing strings, keeping only the fields the mapping
//! names (no `serde_json::Value` tree). A record the mapping cannot read, or one dossier entry
//! of it, is a [`FeedReject`] with a stable reason code of [`REJECT_CODES`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::core::feed::Snapshot;
use crate::core::time::{days_from_civil, days_in_month, NANOS_PER_SEC};
use crate::core::{Registry, Timestamp};

/// The visitor methods of a seed that reads only objects: every other JSON value gives
/// `$other` (an array is read through and skipped).
macro_rules! only_objects {
    ($other:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($other)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

pub mod debezium;
pub mod dvcqg;
pub mod mapping;

pub use mapping::{Format, Mapping, MappingError};

/// A record, or one dossier entry of it, that the mapping cannot read: a stable reason code
/// (a metric label) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct FeedReject {
    pub code: &'static str,
    pub detail: String,
}

/// Every reason a source record is refused, for pre-registering metric series. The last one
/// comes from [`crate::core::feed::SnapshotError`].
pub const REJECT_CODES: [&str; 12] = [
    "too_large",
    "not_json",
    "not_object",
    "unknown_service",
    "missing_field",
    "invalid_type",
    "invalid_value",
    "invalid_timestamp",
    "bad_length",
    "unknown_status",
    "unknown_agency",
    "no_due_time",
];

pub(crate) fn reject(code: &'static str, detail: impl Into<String>) -> FeedReject {
    debug_assert!(REJECT_CODES.contains(&code));
    FeedReject {
        code,
        detail: detail.into(),
    }
}

/// What one source record holds: a snapshot or a reject per dossier it reports (none for a
/// tombstone), or a reject of the whole record.
pub type Decoded<'a> = Result<Vec<Result<Snapshot<'a>, FeedReject>>, FeedReject>;

/// Reads one record of `mapping`'s format.
pub fn decode<'a>(
    bytes: &'a [u8],
    mapping: &Mapping,
    registry: &Registry,
    max_bytes: usize,
) -> Decoded<'a> {
    if bytes.len() > max_bytes {
        return Err(reject(
            "too_large",
            format!("the record is larger than the {max_bytes}-byte limit"),
        ));
    }
    match mapping.format {
        Format::Dvcqg => dvcqg::decode(bytes, mapping, registry),
        Format::Debezium => debezium::decode(bytes, mapping, registry),
    }
}

/// The key a source topic is partitioned by: the dossier id of each snapshot is what keeps a
/// dossier's records in order; for a record of several dossiers, the first.
pub fn dossier_key(bytes: &[u8], mapping: &Mapping, registry: &Registry) -> Option<String> {
    match decode(bytes, mapping, registry, usize::MAX) {
        Ok(snaps) => snaps
            .into_iter()
            .find_map(|s| s.ok().map(|s| s.dossier.into_owned())),
        Err(_) => None,
    }
}

/// One JSON value where a scalar is expected, borrowed when it can be; arrays and objects are
/// skipped and kept as [`Scalar::Other`].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Scalar<'a> {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

impl<'a> Scalar<'a> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    /// A text field; a number is read as its digits (sources send ids both ways).
    pub(crate) fn text(&self, field: &str) -> Result<Option<Cow<'a, str>>, FeedReject> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Str(s) => Ok(Some(s.clone())),
            Scalar::Int(n) => Ok(Some(Cow::Owned(n.to_string()))),
            _ => Err(reject("invalid_type", format!("`{field}` is not text"))),
        }
    }

    /// A code, as the key of a `[values.*]` table: digits of a number, or trimmed text; an
    /// empty text is absent.
    pub(crate) fn code(&self, field: &str) -> Result<Option<Cow<'a, str>>, FeedReject> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Str(s) if s.trim().is_empty() => Ok(None),
            Scalar::Str(Cow::Borrowed(s)) => Ok(Some(Cow::Borrowed(s.trim()))),
            Scalar::Str(s) => Ok(Some(Cow::Owned(s.trim().to_string()))),
            Scalar::Int(n) => Ok(Some(Cow::Owned(n.to_string()))),
            Scalar::Bool(b) => Ok(Some(Cow::Borrowed(if *b { "1" } else { "0" }))),
            _ => Err(reject("invalid_type", format!("`{field}` is not a code"))),
        }
    }

    /// A flag: `true`, a non-zero number, `"1"`, `"true"`.
    pub(crate) fn flag(&self) -> bool {
        match self {
            Scalar::Bool(b) => *b,
            Scalar::Int(n) => *n != 0,
            Scalar::Str(s) => matches!(s.trim(), "1" | "true"),
            _ => false,
        }
    }

    /// An integer (a count, a log position): a number or digits.
    pub(crate) fn int(&self, field: &str) -> Result<Option<i64>, FeedReject> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Int(n) => Ok(Some(*n)),
            Scalar::Str(s) if s.trim().is_empty() => Ok(None),
            Scalar::Str(s) => s.trim().parse().map(Some).map_err(|_| {
                reject(
                    "invalid_value",
                    format!("`{field}` `{s}` is not a whole number"),
                )
            }),
            _ => Err(reject(
                "invalid_type",
                format!("`{field}` is not a whole number"),
            )),
        }
    }
}

/// `yyyyMMddHHmmss` of the local wall clock (+07:00).
pub(crate) fn compact_local(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != 14 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().expect("digits");
    local(n(0..4), n(4..6), n(6..8), n(8..10), n(10..12), n(12..14), 0)
}

/// `YYYY-MM-DD[ T]HH:MM:SS[.f…]` with no offset: the local wall clock (+07:00); with an
/// offset or `Z`: that instant (RFC 3339).
pub(crate) fn text_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Some(t);
    }
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b'T' | b' ') || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let mut nanos = 0;
    if b.len() > 19 {
        let frac = s.get(20..)?;
        if b[19] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        nanos = digits(20..b.len())? * 10i64.pow(9 - frac.len() as u32);
    }
    local(
        digits(0..4)?,
        digits(5..7)?,
        digits(8..10)?,
        digits(11..13)?,
        digits(14..16)?,
        digits(17..19)?,
        nanos,
    )
}

fn local(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, nanos: i64) -> Option<Timestamp> {
    let valid = y >= 1
        && (1..=12).contains(&mo)
        && (1..=days_in_month(y, mo)).contains(&d)
        && h < 24
        && mi < 60
        && s < 60;
    valid.then(|| {
        Timestamp::from_local(
            days_from_civil(y, mo, d),
            (h * 3600 + mi * 60 + s) * NANOS_PER_SEC + nanos,
        )
    })
}

/// Nanoseconds since 1970-01-01 00:00 of the local wall clock, as an instant; `None` outside
/// the years 1900 to 2199 (no dossier date is; an integer out there is not a date).
pub(crate) fn epoch_local(nanos: i64) -> Option<Timestamp> {
    let day = 86_400 * NANOS_PER_SEC;
    let days = nanos.div_euclid(day);
    let years = days_from_civil(1900, 1, 1)..days_from_civil(2200, 1, 1);
    years
        .contains(&days)
        .then(|| Timestamp::from_local(days, nanos.rem_euclid(day)))
}

#[cfg(test)]
mod tests;
