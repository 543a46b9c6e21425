//! The national portal's dossier sync records (Cổng DVCQG "đồng bộ hồ sơ", format `dvcqg`).
//!
//! A record is `{"service": "DongBoHoSoMC" | "CapNhatTienDoHoSoMC", "data": [...]}`: dossier
//! upserts, or processing-log steps. The portal's field names are fixed; what differs per
//! province is in the [`Mapping`]: where the agency code is, how it maps to registry ids, and
//! which field of the record orders a dossier's records and dates the changes they report (the
//! portal's records carry no time of change: the job that tees them into Kafka adds one).
//! Dates are `yyyyMMddHHmmss` of the local wall clock (Asia/Ho_Chi_Minh, +07:00).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{compact_local, reject, text_time, Decoded, FeedReject, Mapping, Scalar};
use crate::core::event::Channel;
use crate::core::feed::{Intake, Round, Snapshot, Status};
use crate::core::{Registry, Timestamp};

/// Reads one record: a snapshot or a reject for each dossier entry, in order.
pub fn decode<'a>(bytes: &'a [u8], mapping: &Mapping, registry: &Registry) -> Decoded<'a> {
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
        })?;
    let Some(record) = record else {
        return Err(reject("not_object", "a record is a JSON object"));
    };
    let log = match record.service.text("service")?.as_deref() {
        Some("DongBoHoSoMC") => false,
        Some("CapNhatTienDoHoSoMC") => true,
        _ => return Err(reject("unknown_service", "`service` is not a dossier sync")),
    };
    let order = &mapping.order;
    let changed_at =
        date(order, &record.order)?.ok_or_else(|| reject("missing_field", format!("`{order}`")))?;
    let Some(data) = record.data else {
        return Err(reject("missing_field", "`data`"));
    };
    Ok(data
        .into_iter()
        .map(|entry| snapshot(entry?, log, changed_at, mapping, registry))
        .collect())
}

/// The fields of a record this reader keeps.
struct Record<'a> {
    service: Scalar<'a>,
    order: Scalar<'a>,
    data: Option<Vec<Result<Entry<'a>, FeedReject>>>,
}

/// The fields of one dossier entry (or log step) this reader keeps.
#[derive(Default)]
struct Entry<'a> {
    dossier: Scalar<'a>,
    agency: Scalar<'a>,
    procedure: Scalar<'a>,
    status: Scalar<'a>,
    step_status: Scalar<'a>,
    step_at: Scalar<'a>,
    received: Scalar<'a>,
    due: Scalar<'a>,
    processed: Scalar<'a>,
    returned: Scalar<'a>,
    refused: Scalar<'a>,
    channel: Scalar<'a>,
    paid: Scalar<'a>,
    papers: Vec<Paper<'a>>,
    fees: usize,
    rounds: Vec<RoundRecord<'a>>,
    results: Vec<ResultPaper<'a>>,
}

impl<'a> Entry<'a> {
    /// Where the scalar field `key` of the portal goes.
    fn slot(&mut self, key: &str) -> Option<&mut Scalar<'a>> {
        Some(match key {
            "MaHoSo" => &mut self.dossier,
            "MaTTHC" => &mut self.procedure,
            "TrangThaiHoSo" => &mut self.status,
            "TrangThai" => &mut self.step_status,
            "ThoiDiemXuLy" => &mut self.step_at,
            "NgayTiepNhan" => &mut self.received,
            "NgayHenTra" => &mut self.due,
            "NgayKetThucXuLy" => &mut self.processed,
            "NgayTra" => &mut self.returned,
            "NgayTuChoi" => &mut self.refused,
            "KenhThucHien" => &mut self.channel,
            "DuocThanhToanTrucTuyen" => &mut self.paid,
            _ => return None,
        })
    }
}

/// `TaiLieuNop[]`: a paper handed in, and how it came.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Paper<'a> {
    #[serde(rename = "DuocSoHoa", borrow)]
    digitized: Scalar<'a>,
    #[serde(rename = "DuocTaiSuDung", borrow)]
    reused: Scalar<'a>,
    #[serde(rename = "DuocLayTuKhoDMQG", borrow)]
    from_storage: Scalar<'a>,
}

/// `DanhSachHoSoBoSung[]`: one supplement round.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RoundRecord<'a> {
    #[serde(rename = "NgayBoSung", borrow)]
    requested: Scalar<'a>,
    #[serde(rename = "NgayTiepNhanBoSung", borrow)]
    received: Scalar<'a>,
    #[serde(rename = "NgayHenTraTruoc", borrow)]
    due_before: Scalar<'a>,
    #[serde(rename = "NgayHenTraMoi", borrow)]
    due_after: Scalar<'a>,
}

/// `DanhSachGiayToKetQua[]`: a result paper; a file path means an electronic result.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ResultPaper<'a> {
    #[serde(rename = "DuongDanTepTinKetQua", borrow)]
    path: Scalar<'a>,
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
        f.write_str("a sync record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut r = Record {
            service: Scalar::Null,
            order: Scalar::Null,
            data: None,
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "service" => r.service = map.next_value()?,
                "data" => r.data = map.next_value_seed(EntriesSeed(self.0))?,
                k if k == self.0.order => r.order = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(r))
    }
    only_objects!(None);
}

struct EntriesSeed<'m>(&'m Mapping);

impl<'de, 'm> DeserializeSeed<'de> for EntriesSeed<'m> {
    type Value = Option<Vec<Result<Entry<'de>, FeedReject>>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'm> Visitor<'de> for EntriesSeed<'m> {
    type Value = Option<Vec<Result<Entry<'de>, FeedReject>>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of dossier entries")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(e) = seq.next_element_seed(EntrySeed(self.0))? {
            out.push(e);
        }
        Ok(Some(out))
    }
}

struct EntrySeed<'m>(&'m Mapping);

impl<'de, 'm> DeserializeSeed<'de> for EntrySeed<'m> {
    type Value = Result<Entry<'de>, FeedReject>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn not_an_entry<'de>() -> Result<Entry<'de>, FeedReject> {
    Err(reject("not_object", "a `data` entry is a JSON object"))
}

impl<'de, 'm> Visitor<'de> for EntrySeed<'m> {
    type Value = Result<Entry<'de>, FeedReject>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a dossier entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut e = Entry::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "TaiLieuNop" => e.papers = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "DanhSachLePhi" => {
                    let fees: Option<Vec<IgnoredAny>> = map.next_value()?;
                    e.fees = fees.map_or(0, |f| f.len());
                }
                "DanhSachHoSoBoSung" => {
                    e.rounds = map.next_value::<Option<_>>()?.unwrap_or_default();
                }
                "DanhSachGiayToKetQua" => {
                    e.results = map.next_value::<Option<_>>()?.unwrap_or_default();
                }
                k => {
                    let agency = k == self.0.agency_field;
                    match (e.slot(k), agency) {
                        (None, false) => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        (None, true) => e.agency = map.next_value()?,
                        (Some(slot), agency) => {
                            *slot = map.next_value()?;
                            if agency {
                                e.agency = slot.clone();
                            }
                        }
                    }
                }
            }
        }
        Ok(Ok(e))
    }
    only_objects!(not_an_entry());
}

/// One entry as a snapshot.
///
/// Long because it is one read of the portal's fields, each field's reject decided where it
/// is read.
fn snapshot<'a>(
    e: Entry<'a>,
    log: bool,
    changed_at: Timestamp,
    mapping: &Mapping,
    registry: &Registry,
) -> Result<Snapshot<'a>, FeedReject> {
    let dossier = e
        .dossier
        .text("MaHoSo")?
        .ok_or_else(|| reject("missing_field", "`MaHoSo`"))?;
    if dossier.is_empty() || dossier.chars().count() > 64 {
        return Err(reject("bad_length", "`MaHoSo` must be 1 to 64 characters"));
    }
    let field = &mapping.agency_field;
    let value = e
        .agency
        .text(field)?
        .ok_or_else(|| reject("missing_field", format!("`{field}`")))?;
    let agency = mapping
        .agency(&value, registry)
        .map_err(|d| reject("unknown_agency", d))?;
    let (status_field, status_value) = if log {
        ("TrangThai", &e.step_status)
    } else {
        ("TrangThaiHoSo", &e.status)
    };
    let status = status_of(status_field, status_value, mapping)?;
    let mut s = Snapshot {
        dossier,
        agency: Some(agency),
        procedure: e.procedure.text("MaTTHC")?,
        position: changed_at.as_nanos(),
        changed_at,
        status,
        // A dossier in the portal's own feed is synced from its first record.
        synced: true,
        ..Snapshot::default()
    };
    if log {
        // A log step dates its own status; a 9 is left undated (sources squash 5, 6, 8 into it).
        let at = date("ThoiDiemXuLy", &e.step_at)?;
        match status {
            Status::Withdrawn => s.withdrawn_at = at,
            Status::Refused => s.refused_at = at,
            Status::Stopped => s.processed_at = at,
            Status::Returned => s.returned_at = at,
            _ => {}
        }
        // A step says nothing of the intake: `received` comes from the dossier records.
        s.status = match status {
            Status::Received | Status::Processed => Status::Processing,
            other => other,
        };
        return Ok(s);
    }
    s.received_at = date("NgayTiepNhan", &e.received)?;
    s.processed_at = date("NgayKetThucXuLy", &e.processed)?;
    s.returned_at = date("NgayTra", &e.returned)?;
    s.refused_at = date("NgayTuChoi", &e.refused)?;
    for (i, r) in e.rounds.iter().enumerate() {
        let number = u8::try_from(i + 1)
            .map_err(|_| reject("invalid_value", "over 255 supplement rounds"))?;
        s.rounds.push(Round {
            number,
            requested_at: date("NgayBoSung", &r.requested)?,
            received_at: date("NgayTiepNhanBoSung", &r.received)?,
            new_due_at: date("NgayHenTraMoi", &r.due_after)?,
        });
    }
    // The due time set at receipt: the first round's previous one, once rounds moved it.
    let first_due = match e.rounds.first() {
        Some(first) => date("NgayHenTraTruoc", &first.due_before)?,
        None => None,
    };
    s.intake = Intake {
        due_at: first_due.or(date("NgayHenTra", &e.due)?),
        channel: channel_of("KenhThucHien", &e.channel, mapping)?,
        via_national_portal: false,
        fee_required: e.fees > 0,
        digitized: e.papers.iter().any(|p| p.digitized.flag()),
        reused_data: e.papers.iter().any(|p| p.reused.flag()),
        citizen_storage: e.papers.iter().any(|p| p.from_storage.flag()),
    };
    s.electronic_result = e
        .results
        .iter()
        .any(|g| matches!(&g.path, Scalar::Str(p) if !p.trim().is_empty()));
    s.paid_online = match e.paid.code("DuocThanhToanTrucTuyen")? {
        Some(c) => mapping.paid_online.get(c.as_ref()).copied(),
        None => None,
    };
    Ok(s)
}

/// A status code through the mapping's `[values.status]`.
pub(super) fn status_of(
    field: &str,
    v: &Scalar<'_>,
    mapping: &Mapping,
) -> Result<Status, FeedReject> {
    let c = v
        .code(field)?
        .ok_or_else(|| reject("missing_field", format!("`{field}`")))?;
    mapping
        .status
        .get(c.as_ref())
        .copied()
        .ok_or_else(|| reject("unknown_status", format!("`{field}` {c}")))
}

/// A channel code through the mapping's `[values.channel]`; absent is direct.
pub(super) fn channel_of(
    field: &str,
    v: &Scalar<'_>,
    mapping: &Mapping,
) -> Result<Channel, FeedReject> {
    match v.code(field)? {
        None => Ok(Channel::Direct),
        Some(c) => mapping
            .channel
            .get(c.as_ref())
            .copied()
            .ok_or_else(|| reject("invalid_value", format!("`{field}` {c} is not a channel"))),
    }
}

/// A portal date, `yyyyMMddHHmmss` of the local wall clock; an empty string is absent. The
/// order field may also be RFC 3339 (a time the tee adds).
fn date(field: &str, v: &Scalar<'_>) -> Result<Option<Timestamp>, FeedReject> {
    let bad = || {
        reject(
            "invalid_timestamp",
            format!("`{field}` is not yyyyMMddHHmmss"),
        )
    };
    match v {
        Scalar::Null => Ok(None),
        Scalar::Str(s) if s.is_empty() => Ok(None),
        Scalar::Str(s) => compact_local(s)
            .or_else(|| text_time(s))
            .map(Some)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}
