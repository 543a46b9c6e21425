//! The national portal's dossier sync records (Cổng DVCQG "đồng bộ hồ sơ", format `dvcqg`) read
//! as [`Snapshot`]s through a mapping file, for [`crate::core::feed::derive`].
//!
//! A record is `{"service": "DongBoHoSoMC" | "CapNhatTienDoHoSoMC", "data": [...]}`: dossier
//! upserts, or processing-log steps. The field names of the portal are fixed; what differs per
//! province is in the [`Mapping`]: where the agency code is, how it maps to registry ids, and
//! which field orders the records (the portal's records carry no time of change: the job that
//! tees them into Kafka adds one). Dates are `yyyyMMddHHmmss`, local time (+07:00).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::core::event::{Channel, PaymentMethod};
use crate::core::feed::{Intake, Round, Snapshot, Status};
use crate::core::time::{days_from_civil, days_in_month, NANOS_PER_SEC};
use crate::core::{Registry, Timestamp};

/// A feed's mapping file (TOML), validated when read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// `dvcqg`: the only format this version reads.
    pub format: String,
    pub order: Order,
    pub agency: AgencyRule,
}

/// The field that orders a dossier's records and dates the changes they report without a date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// Looked up in the dossier's entry first, then in the record around it.
    pub field: String,
}

/// Where a dossier's agency is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyRule {
    pub field: String,
    /// Keep the text before the first occurrence of this (e.g. `-`: `000.00.12.H56-250901-0001`
    /// → `000.00.12.H56`).
    #[serde(default)]
    pub prefix_until: Option<String>,
    /// Source code → registry id; empty: the code is the registry id.
    #[serde(default)]
    pub lookup: BTreeMap<String, String>,
}

/// Why a mapping file is refused.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("key `format`: `{0}` is not a format this version reads (dvcqg)")]
    Format(String),
    #[error("key `agency.lookup.{code}`: `{id}` is not in the agency registry")]
    UnknownAgency { code: String, id: String },
}

impl Mapping {
    pub fn parse(text: &str, registry: &Registry) -> Result<Mapping, MappingError> {
        let m: Mapping = toml::from_str(text)?;
        if m.format != "dvcqg" {
            return Err(MappingError::Format(m.format));
        }
        for (code, id) in &m.agency.lookup {
            if registry.lookup(id).is_none() {
                return Err(MappingError::UnknownAgency {
                    code: code.clone(),
                    id: id.clone(),
                });
            }
        }
        Ok(m)
    }
}

/// A record, or one dossier entry of it, that the mapping cannot read: a stable reason code
/// (a metric label, like the event contract's) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct FeedReject {
    pub code: &'static str,
    pub detail: String,
}

fn reject(code: &'static str, detail: impl Into<String>) -> FeedReject {
    FeedReject {
        code,
        detail: detail.into(),
    }
}

/// Reads one record: a snapshot or a reject for each dossier entry, in order.
pub fn decode(
    bytes: &[u8],
    mapping: &Mapping,
    registry: &Registry,
) -> Result<Vec<Result<Snapshot<'static>, FeedReject>>, FeedReject> {
    let record: Value =
        serde_json::from_slice(bytes).map_err(|e| reject("not_json", e.to_string()))?;
    let Value::Object(outer) = &record else {
        return Err(reject("not_object", "a record is a JSON object"));
    };
    let log = match outer.get("service").and_then(Value::as_str) {
        Some("DongBoHoSoMC") => false,
        Some("CapNhatTienDoHoSoMC") => true,
        _ => return Err(reject("unknown_service", "`service` is not a dossier sync")),
    };
    let Some(Value::Array(data)) = outer.get("data") else {
        return Err(reject("missing_field", "`data`"));
    };
    Ok(data
        .iter()
        .map(|entry| entry_snapshot(entry, &record, log, mapping, registry))
        .collect())
}

/// One dossier entry (or log step) as a snapshot.
///
/// Long because it is one read of the portal's fields in the record's order, each field's
/// reject decided where it is read.
fn entry_snapshot(
    entry: &Value,
    record: &Value,
    log: bool,
    mapping: &Mapping,
    registry: &Registry,
) -> Result<Snapshot<'static>, FeedReject> {
    let Value::Object(_) = entry else {
        return Err(reject("not_object", "a `data` entry is a JSON object"));
    };
    let dossier = text(entry, "MaHoSo")?.ok_or_else(|| reject("missing_field", "`MaHoSo`"))?;
    if dossier.is_empty() || dossier.chars().count() > 64 {
        return Err(reject("bad_length", "`MaHoSo` must be 1 to 64 characters"));
    }
    let agency = agency(entry, mapping, registry)?;
    let order = &mapping.order.field;
    let changed_at = match entry.get(order).filter(|v| !v.is_null()) {
        Some(v) => date_value(order, v)?,
        None => date(record, order)?,
    }
    .ok_or_else(|| reject("missing_field", format!("`{order}`")))?;
    let position = changed_at.as_nanos();
    let status_field = if log { "TrangThai" } else { "TrangThaiHoSo" };
    let status = status(entry, status_field)?;
    let mut s = Snapshot {
        dossier: Cow::Owned(dossier),
        agency: Some(agency),
        procedure: text(entry, "MaTTHC")?.map(Cow::Owned),
        position,
        changed_at,
        status,
        synced: true,
        ..Snapshot::default()
    };
    if log {
        // A log step dates its own status; a 9 is left undated (sources squash 5, 6, 8 into it).
        let at = date(entry, "ThoiDiemXuLy")?;
        match status {
            Status::Withdrawn => s.withdrawn_at = at,
            Status::Refused => s.refused_at = at,
            Status::Stopped => s.processed_at = at,
            Status::Returned => s.returned_at = at,
            _ => {}
        }
        // The step says nothing of the intake: `received` comes from the dossier records.
        s.status = match status {
            Status::Received | Status::Processed => Status::Processing,
            other => other,
        };
        return Ok(s);
    }
    s.received_at = date(entry, "NgayTiepNhan")?;
    s.processed_at = date(entry, "NgayKetThucXuLy")?;
    s.returned_at = date(entry, "NgayTra")?;
    s.refused_at = date(entry, "NgayTuChoi")?;
    s.rounds = rounds(entry)?;
    // The due time set at receipt: the first round's previous one, when rounds moved it since.
    let first_due = match list(entry, "DanhSachHoSoBoSung").first() {
        Some(first) => date(first, "NgayHenTraTruoc")?,
        None => None,
    };
    let papers = list(entry, "TaiLieuNop");
    s.intake = Intake {
        due_at: first_due.or(date(entry, "NgayHenTra")?),
        channel: match code(entry, "KenhThucHien")? {
            None | Some(1) => Channel::Direct,
            Some(2) => Channel::Online,
            Some(3) => Channel::Postal,
            Some(c) => return Err(reject("invalid_value", format!("`KenhThucHien` {c}"))),
        },
        via_national_portal: false,
        fee_required: !list(entry, "DanhSachLePhi").is_empty(),
        digitized: any_truthy(papers, "DuocSoHoa"),
        reused_data: any_truthy(papers, "DuocTaiSuDung"),
        citizen_storage: any_truthy(papers, "DuocLayTuKhoDMQG"),
    };
    s.electronic_result = list(entry, "DanhSachGiayToKetQua").iter().any(|g| {
        g.get("DuongDanTepTinKetQua")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty())
    });
    s.paid_online = match code(entry, "DuocThanhToanTrucTuyen")? {
        Some(1) => Some(PaymentMethod::NationalPortal),
        Some(2) => Some(PaymentMethod::ProvincialGateway),
        _ => None,
    };
    Ok(s)
}

fn agency(
    entry: &Value,
    mapping: &Mapping,
    registry: &Registry,
) -> Result<crate::core::AgencyIdx, FeedReject> {
    let rule = &mapping.agency;
    let value = text(entry, &rule.field)?
        .ok_or_else(|| reject("missing_field", format!("`{}`", rule.field)))?;
    let code = match &rule.prefix_until {
        Some(sep) => value.split(sep.as_str()).next().unwrap_or_default(),
        None => value.as_str(),
    };
    let id = rule.lookup.get(code).map_or(code, String::as_str);
    registry
        .lookup(id)
        .ok_or_else(|| reject("unknown_agency", format!("agency code `{code}`")))
}

fn rounds(entry: &Value) -> Result<Vec<Round>, FeedReject> {
    let mut out = Vec::new();
    for (i, r) in list(entry, "DanhSachHoSoBoSung").iter().enumerate() {
        let number = u8::try_from(i + 1)
            .map_err(|_| reject("invalid_value", "over 255 supplement rounds"))?;
        out.push(Round {
            number,
            requested_at: date(r, "NgayBoSung")?,
            received_at: date(r, "NgayTiepNhanBoSung")?,
            new_due_at: date(r, "NgayHenTraMoi")?,
        });
    }
    Ok(out)
}

fn status(entry: &Value, field: &str) -> Result<Status, FeedReject> {
    let c = code(entry, field)?.ok_or_else(|| reject("missing_field", format!("`{field}`")))?;
    usize::try_from(c)
        .ok()
        .and_then(|c| c.checked_sub(1))
        .and_then(|i| Status::NAMES.get(i))
        .map(|(_, s)| *s)
        .ok_or_else(|| reject("unknown_status", format!("`{field}` {c}")))
}

fn list<'v>(entry: &'v Value, field: &str) -> &'v [Value] {
    match entry.get(field) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.as_str(), "1" | "true"),
        _ => false,
    }
}

fn any_truthy(items: &[Value], field: &str) -> bool {
    items.iter().any(|i| i.get(field).is_some_and(truthy))
}

fn text(entry: &Value, field: &str) -> Result<Option<String>, FeedReject> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(reject("invalid_type", format!("`{field}` is not text"))),
    }
}

/// A code given as a number or as digits in a string (sources do both).
fn code(entry: &Value, field: &str) -> Result<Option<i64>, FeedReject> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| reject("invalid_value", format!("`{field}` `{s}` is not a code"))),
        Some(_) => Err(reject("invalid_type", format!("`{field}` is not a code"))),
    }
}

fn date(entry: &Value, field: &str) -> Result<Option<Timestamp>, FeedReject> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => date_value(field, v),
    }
}

/// `yyyyMMddHHmmss` at +07:00 (Asia/Ho_Chi_Minh); an empty string is absent.
fn date_value(field: &str, v: &Value) -> Result<Option<Timestamp>, FeedReject> {
    let bad = || {
        reject(
            "invalid_timestamp",
            format!("`{field}` is not yyyyMMddHHmmss"),
        )
    };
    let s = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => s.as_str(),
        _ => return Err(bad()),
    };
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().expect("digits");
    let (y, mo, d, h, mi, se) = (n(0..4), n(4..6), n(6..8), n(8..10), n(10..12), n(12..14));
    let valid = y >= 1
        && (1..=12).contains(&mo)
        && (1..=days_in_month(y, mo)).contains(&d)
        && h < 24
        && mi < 60
        && se < 60;
    if !valid {
        return Err(bad());
    }
    let secs = h * 3600 + mi * 60 + se;
    Ok(Some(Timestamp::from_local(
        days_from_civil(y, mo, d),
        secs * NANOS_PER_SEC,
    )))
}
