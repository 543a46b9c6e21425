//! Debezium change records of a one-stop system's dossier table (format `debezium`): the
//! change-event envelope `{before, after, source{lsn, ts_ms, …}, op, ts_ms}` (with or without
//! the JSON converter's `schema`/`payload` wrapper), or the row flattened by
//! `ExtractNewRecordState` with its `__op`, `__deleted`, `__lsn`, `__source_ts_ms` fields.
//!
//! The mapping's `[columns]` name the table's columns; the record is read once and only those
//! columns are kept. An integer in a date column counts the local wall clock since 1970 (a naive
//! `timestamp` column; [`super::mapping::Epoch`] says in which unit), a text date without an
//! offset is local too, one with an offset is that instant. `op: d` (or `__deleted: "true"`) is
//! a delete; a tombstone (a null value), a truncate and a logical message report no dossier.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::dvcqg::{channel_of, status_of};
use super::mapping::{col, Mapping, AGENCY_SLOT, ORDER_SLOT, SLOTS};
use super::{compact_local, epoch_local, reject, text_time, Decoded, FeedReject, Scalar};
use crate::core::feed::{Intake, Round, Snapshot};
use crate::core::{Registry, Timestamp};

/// Reads one change record: one snapshot, none (a tombstone, a truncate), or a reject.
pub fn decode<'a>(bytes: &'a [u8], mapping: &Mapping, registry: &Registry) -> Decoded<'a> {
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" {
        return Ok(Vec::new());
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let record = RecordSeed(mapping)
        .deserialize(&mut de)
        .and_then(|r| de.end().map(|()| r))
        .map_err(|e| {
            let code = if e.is_data() {
                "invalid_type"
            } else {
                "not_json"
            };
            reject(code, e.to_string())
        })?
        .ok_or_else(|| reject("not_object", "a change record is a JSON object"))?;
    let record = match record.payload {
        Some(inner) => *inner,
        None => record,
    };
    let envelope = record.after.is_some() || record.before.is_some() || !record.op.is_null();
    let (op, lsn, ts_ms) = if envelope {
        (&record.op, &record.source.lsn, &record.source.ts_ms)
    } else {
        (&record.flat_op, &record.flat_lsn, &record.flat_ts_ms)
    };
    let op = op.text("op")?;
    let deleted = op.as_deref() == Some("d") || record.flat_deleted.flag();
    let row = match (op.as_deref(), envelope) {
        (Some("t" | "m"), _) => return Ok(Vec::new()),
        (Some("d"), true) => record.before.flatten(),
        (_, true) => record.after.flatten(),
        (_, false) => Some(record.row),
    };
    let Some(row) = row else {
        let side = if deleted { "before" } else { "after" };
        return Err(reject("missing_field", format!("`{side}`")));
    };
    let position = match mapping.order.as_str() {
        "lsn" => lsn.int("lsn")?,
        "ts_ms" => ts_ms.int("ts_ms")?,
        field => position_of(field, &row[ORDER_SLOT], mapping)?,
    }
    .ok_or_else(|| reject("missing_field", format!("`{}`", mapping.order)))?;
    let source_time = ts_ms
        .int("ts_ms")?
        .and_then(|ms| ms.checked_mul(1_000_000))
        .map(Timestamp::from_nanos);
    Ok(vec![snapshot(
        row,
        deleted,
        position,
        source_time,
        mapping,
        registry,
    )])
}

type Row<'a> = [Scalar<'a>; SLOTS];

/// What this reader keeps of a record: the envelope's fields, and the row's columns when the
/// record is a flattened row.
struct Record<'a> {
    before: Option<Option<Row<'a>>>,
    after: Option<Option<Row<'a>>>,
    op: Scalar<'a>,
    source: Source<'a>,
    payload: Option<Box<Record<'a>>>,
    row: Row<'a>,
    flat_op: Scalar<'a>,
    flat_deleted: Scalar<'a>,
    flat_lsn: Scalar<'a>,
    flat_ts_ms: Scalar<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Source<'a> {
    #[serde(borrow)]
    lsn: Scalar<'a>,
    #[serde(borrow)]
    ts_ms: Scalar<'a>,
}

fn empty_row<'a>() -> Row<'a> {
    std::array::from_fn(|_| Scalar::Null)
}

struct RecordSeed<'m>(&'m Mapping);

impl<'de, 'm> DeserializeSeed<'de> for RecordSeed<'m> {
    /// `None`: not an object.
    type Value = Option<Record<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'm> Visitor<'de> for RecordSeed<'m> {
    type Value = Option<Record<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a change record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut r = Record {
            before: None,
            after: None,
            op: Scalar::Null,
            source: Source::default(),
            payload: None,
            row: empty_row(),
            flat_op: Scalar::Null,
            flat_deleted: Scalar::Null,
            flat_lsn: Scalar::Null,
            flat_ts_ms: Scalar::Null,
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if let Some(slots) = self.0.slots.get(key.as_ref()) {
                fill(&mut r.row, slots, map.next_value()?);
                continue;
            }
            match key.as_ref() {
                "before" => r.before = Some(map.next_value_seed(RowSeed(self.0))?),
                "after" => r.after = Some(map.next_value_seed(RowSeed(self.0))?),
                "op" => r.op = map.next_value()?,
                "source" => r.source = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "payload" => r.payload = map.next_value_seed(RecordSeed(self.0))?.map(Box::new),
                "__op" => r.flat_op = map.next_value()?,
                "__deleted" => r.flat_deleted = map.next_value()?,
                "__lsn" => r.flat_lsn = map.next_value()?,
                "__source_ts_ms" => r.flat_ts_ms = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(r))
    }
    only_objects!(None);
}

/// `before` or `after`: the row's mapped columns, or `None` for `null`.
struct RowSeed<'m>(&'m Mapping);

impl<'de, 'm> DeserializeSeed<'de> for RowSeed<'m> {
    type Value = Option<Row<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, 'm> Visitor<'de> for RowSeed<'m> {
    type Value = Option<Row<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object or null")
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut row = empty_row();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.0.slots.get(key.as_ref()) {
                Some(slots) => fill(&mut row, slots, map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(row))
    }
}

/// A column's value into every slot it fills.
fn fill<'a>(row: &mut Row<'a>, slots: &[usize], v: Scalar<'a>) {
    for &s in slots {
        row[s] = v.clone();
    }
}

/// The order column's value as a position: an integer as it is, a date as its nanoseconds.
fn position_of(field: &str, v: &Scalar<'_>, mapping: &Mapping) -> Result<Option<i64>, FeedReject> {
    match v {
        Scalar::Str(_) => Ok(date(field, v, mapping)?.map(Timestamp::as_nanos)),
        other => other.int(field),
    }
}

/// A date column: an integer of the mapping's epoch unit, or text.
fn date(field: &str, v: &Scalar<'_>, mapping: &Mapping) -> Result<Option<Timestamp>, FeedReject> {
    let bad = || {
        reject(
            "invalid_timestamp",
            format!("`{field}` is not a date chiso reads"),
        )
    };
    match v {
        Scalar::Null => Ok(None),
        Scalar::Int(n) => mapping
            .epoch
            .nanos(*n)
            .and_then(epoch_local)
            .map(Some)
            .ok_or_else(bad),
        Scalar::Str(s) if s.trim().is_empty() => Ok(None),
        Scalar::Str(s) => text_time(s.trim())
            .or_else(|| compact_local(s.trim()))
            .map(Some)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// The row as a snapshot.
///
/// Long because it reads the mapped columns in [`COLUMNS`] order, each reject decided where
/// its column is read.
fn snapshot<'a>(
    mut row: Row<'a>,
    deleted: bool,
    position: i64,
    source_time: Option<Timestamp>,
    mapping: &Mapping,
    registry: &Registry,
) -> Result<Snapshot<'a>, FeedReject> {
    let name = |slot: usize| column_name(mapping, slot);
    let at = |row: &Row<'a>, slot: usize| date(name(slot), &row[slot], mapping);
    let dossier = std::mem::take(&mut row[col!("dossier")])
        .text(name(col!("dossier")))?
        .ok_or_else(|| reject("missing_field", format!("`{}`", name(col!("dossier")))))?;
    if dossier.is_empty() || dossier.chars().count() > 64 {
        return Err(reject(
            "bad_length",
            format!("`{}` must be 1 to 64 characters", name(col!("dossier"))),
        ));
    }
    let field = &mapping.agency_field;
    let value = row[AGENCY_SLOT]
        .text(field)?
        .ok_or_else(|| reject("missing_field", format!("`{field}`")))?;
    let agency = mapping
        .agency(&value, registry)
        .map_err(|d| reject("unknown_agency", d))?;
    let changed_at = match at(&row, col!("changed_at"))?.or(source_time) {
        Some(t) => t,
        None => return Err(reject("missing_field", "`changed_at` (or `source.ts_ms`)")),
    };
    let procedure = std::mem::take(&mut row[col!("procedure")]).text(name(col!("procedure")))?;
    let flag = |slot: usize| row[slot].flag();
    let paid = row[col!("paid_online")].code(name(col!("paid_online")))?;
    let s = Snapshot {
        procedure,
        agency: Some(agency),
        position,
        changed_at,
        deleted,
        status: status_of(name(col!("status")), &row[col!("status")], mapping)?,
        received_at: at(&row, col!("received_at"))?,
        intake: Intake {
            due_at: at(&row, col!("due_at"))?,
            channel: channel_of(name(col!("channel")), &row[col!("channel")], mapping)?,
            via_national_portal: flag(col!("via_national_portal")),
            fee_required: flag(col!("fee_required")),
            digitized: flag(col!("digitized")),
            reused_data: flag(col!("reused_data")),
            citizen_storage: flag(col!("citizen_storage")),
        },
        rounds: round(&row, mapping)?.into_iter().collect(),
        processed_at: at(&row, col!("processed_at"))?,
        returned_at: at(&row, col!("returned_at"))?,
        refused_at: at(&row, col!("refused_at"))?,
        withdrawn_at: at(&row, col!("withdrawn_at"))?,
        electronic_result: flag(col!("electronic_result")),
        paid_online: paid.and_then(|c| mapping.paid_online.get(c.as_ref()).copied()),
        synced: false,
        dossier,
    };
    Ok(s)
}

/// A table keeps the latest supplement round: its request, its receipt, the new due time and
/// the number of rounds answered. The round is pending while its receipt is missing or older
/// than its request; a pending round is the one after those answered.
fn round(row: &Row<'_>, mapping: &Mapping) -> Result<Option<Round>, FeedReject> {
    let name = |slot: usize| column_name(mapping, slot);
    let at = |slot: usize| date(name(slot), &row[slot], mapping);
    let requested = at(col!("supplement_requested_at"))?;
    let received = at(col!("supplement_received_at"))?;
    if requested.is_none() && received.is_none() {
        return Ok(None);
    }
    let answered = row[col!("supplement_rounds")]
        .int(name(col!("supplement_rounds")))?
        .unwrap_or(0);
    let pending = match (requested, received) {
        (Some(q), Some(a)) => a < q,
        (_, None) => true,
        (None, Some(_)) => false,
    };
    let number = if pending {
        answered.saturating_add(1)
    } else {
        answered.max(1)
    };
    let number = u8::try_from(number).map_err(|_| {
        reject(
            "invalid_value",
            format!("`{}` is not 0 to 254", name(col!("supplement_rounds"))),
        )
    })?;
    Ok(Some(Round {
        number,
        requested_at: requested,
        received_at: if pending { None } else { received },
        new_due_at: if pending {
            None
        } else {
            at(col!("supplement_due_at"))?
        },
    }))
}

/// The table's column that a `[columns]` key names (for messages).
fn column_name(mapping: &Mapping, slot: usize) -> &str {
    &mapping.names[slot]
}
