//! Decoding of input messages (event schema 1) into core events, or a typed reject.
//!
//! Each known field is first captured as raw JSON text (borrowed, no allocation), then checked
//! by hand, so that every way a message can break the contract gets its own reason, naming the
//! field. Unknown fields are skipped; a `null` field counts as absent.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::core::calendar::working_nanos_from_decimal_hours;
use crate::core::event::{
    Channel, DueSpec, Ending, Event, EventKind, PaymentMethod, Rating, Received, Reject, Reported,
};
use crate::core::{Period, Registry, Timestamp, MAX_REPORTED};

/// Default size limit of one message, in bytes.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;

/// The largest integer the contract accepts (2^53).
const MAX_INT: u64 = 1 << 53;

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    event_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    occurred_at: Option<&'a RawValue>,
    #[serde(borrow)]
    agency_id: Option<&'a RawValue>,
    #[serde(borrow)]
    dossier_id: Option<&'a RawValue>,
    #[serde(borrow)]
    procedure_id: Option<&'a RawValue>,
    #[serde(borrow)]
    due_at: Option<&'a RawValue>,
    #[serde(borrow)]
    time_limit_hours: Option<&'a RawValue>,
    #[serde(borrow)]
    channel: Option<&'a RawValue>,
    #[serde(borrow)]
    via_national_portal: Option<&'a RawValue>,
    #[serde(borrow)]
    fee_required: Option<&'a RawValue>,
    #[serde(borrow)]
    digitized: Option<&'a RawValue>,
    #[serde(borrow)]
    reused_data: Option<&'a RawValue>,
    #[serde(borrow)]
    citizen_storage: Option<&'a RawValue>,
    #[serde(borrow)]
    outcome: Option<&'a RawValue>,
    #[serde(borrow)]
    electronic_result: Option<&'a RawValue>,
    #[serde(borrow)]
    reason: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    rating: Option<&'a RawValue>,
    #[serde(borrow)]
    new_due_at: Option<&'a RawValue>,
    #[serde(borrow)]
    indicator: Option<&'a RawValue>,
    #[serde(borrow)]
    period: Option<&'a RawValue>,
    #[serde(borrow)]
    numerator: Option<&'a RawValue>,
    #[serde(borrow)]
    denominator: Option<&'a RawValue>,
}

/// A present field: JSON `null` counts as absent.
fn present(raw: Option<&RawValue>) -> Option<&str> {
    raw.map(RawValue::get).filter(|t| *t != "null")
}

fn string<'a>(
    field: &'static str,
    raw: Option<&'a RawValue>,
) -> Result<Option<Cow<'a, str>>, Reject> {
    let Some(text) = present(raw) else {
        return Ok(None);
    };
    if !text.starts_with('"') {
        return Err(Reject::InvalidType {
            field,
            expected: "a string",
        });
    }
    let inner = &text[1..text.len() - 1];
    if !inner.contains('\\') {
        return Ok(Some(Cow::Borrowed(inner)));
    }
    serde_json::from_str::<String>(text)
        .map(|s| Some(Cow::Owned(s)))
        .map_err(|e| Reject::InvalidValue {
            field,
            problem: e.to_string(),
        })
}

fn required<T>(field: &'static str, v: Option<T>) -> Result<T, Reject> {
    v.ok_or(Reject::MissingField(field))
}

fn id<'a>(
    field: &'static str,
    raw: Option<&'a RawValue>,
    max: usize,
) -> Result<Option<Cow<'a, str>>, Reject> {
    let s = string(field, raw)?;
    if let Some(s) = &s {
        // Length in code points; counting them is needed only when the bytes exceed the limit.
        if s.is_empty() || (s.len() > max && s.chars().count() > max) {
            return Err(Reject::BadLength { field, max });
        }
    }
    Ok(s)
}

fn timestamp(field: &'static str, raw: Option<&RawValue>) -> Result<Option<Timestamp>, Reject> {
    match string(field, raw).map_err(|_| Reject::InvalidTimestamp { field })? {
        None => Ok(None),
        Some(s) => Timestamp::parse_rfc3339(&s)
            .map(Some)
            .map_err(|_| Reject::InvalidTimestamp { field }),
    }
}

fn boolean(field: &'static str, raw: Option<&RawValue>) -> Result<bool, Reject> {
    match present(raw) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Reject::InvalidType {
            field,
            expected: "true or false",
        }),
    }
}

/// A reported numerator or denominator: an integer up to [`MAX_REPORTED`].
fn reported_value(field: &'static str, raw: Option<&RawValue>) -> Result<u64, Reject> {
    let v = required(field, integer(field, raw)?)?;
    if v > MAX_REPORTED {
        return Err(Reject::InvalidValue {
            field,
            problem: format!("must be at most {MAX_REPORTED} (10^11), got {v}"),
        });
    }
    Ok(v)
}

fn integer(field: &'static str, raw: Option<&RawValue>) -> Result<Option<u64>, Reject> {
    let Some(text) = present(raw) else {
        return Ok(None);
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::InvalidType {
            field,
            expected: "a JSON integer (no fraction, no exponent)",
        });
    }
    if text.starts_with('-') && digits.bytes().any(|b| b != b'0') {
        return Err(Reject::InvalidValue {
            field,
            problem: "must not be negative".into(),
        });
    }
    match digits.parse::<u64>() {
        Ok(v) if v <= MAX_INT => Ok(Some(v)),
        _ => Err(Reject::InvalidValue {
            field,
            problem: "must be at most 2^53".into(),
        }),
    }
}

fn one_of<T: Copy>(
    field: &'static str,
    raw: Option<&RawValue>,
    choices: &[(&str, T)],
    expected: &'static str,
) -> Result<Option<T>, Reject> {
    let Some(s) = string(field, raw)? else {
        return Ok(None);
    };
    choices
        .iter()
        .find(|(name, _)| *name == s)
        .map(|&(_, v)| Some(v))
        .ok_or_else(|| Reject::InvalidValue {
            field,
            problem: format!("must be {expected}"),
        })
}

/// Working time of a `time_limit_hours` literal: non-negative, exact, rounded up to the nanosecond.
fn working_hours(raw: Option<&RawValue>) -> Result<Option<DueSpec>, Reject> {
    const FIELD: &str = "time_limit_hours";
    let Some(text) = present(raw) else {
        return Ok(None);
    };
    let b = text.as_bytes();
    if !(b[0] == b'-' || b[0].is_ascii_digit()) {
        return Err(Reject::InvalidType {
            field: FIELD,
            expected: "a number",
        });
    }
    // The JSON grammar was checked by the parser: -?int(.frac)?([eE][+-]?exp)?
    let negative = b[0] == b'-';
    let body = if negative { &text[1..] } else { text };
    let (mantissa_part, exp_part) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = mantissa_part.split_once('.').unwrap_or((mantissa_part, ""));
    let mut exponent: i64 = -(frac_part.len() as i64);
    if let Some(e) = exp_part {
        let e = e.strip_prefix('+').unwrap_or(e);
        exponent += e.parse::<i64>().unwrap_or(if e.starts_with('-') {
            -100_000
        } else {
            100_000
        });
    }
    // Up to 30 significant digits are kept exactly; a non-zero digit beyond rounds up, which is
    // the direction the due time is rounded anyway.
    let mut mantissa: u128 = 0;
    let mut kept = 0;
    let mut dropped_nonzero = false;
    for d in int_part.bytes().chain(frac_part.bytes()).map(|c| c - b'0') {
        if mantissa == 0 && d == 0 {
            continue;
        }
        if kept < 30 {
            mantissa = mantissa * 10 + d as u128;
            kept += 1;
        } else {
            exponent += 1;
            dropped_nonzero |= d != 0;
        }
    }
    if dropped_nonzero {
        mantissa += 1;
    }
    if negative && mantissa != 0 {
        return Err(Reject::InvalidValue {
            field: FIELD,
            problem: "must not be negative".into(),
        });
    }
    let exponent = exponent.clamp(-1000, 1000) as i32;
    Ok(Some(DueSpec::WorkingNanos(if mantissa == 0 {
        Some(0)
    } else {
        working_nanos_from_decimal_hours(mantissa, exponent)
    })))
}

fn classify_parse_error(bytes: &str, e: serde_json::Error) -> Reject {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let msg = e.to_string();
            if let Some(rest) = msg.strip_prefix("duplicate field `") {
                Reject::DuplicateField(rest.split('`').next().unwrap_or_default().to_owned())
            } else if !bytes.trim_start().starts_with('{') {
                Reject::NotObject
            } else {
                Reject::NotJson(msg)
            }
        }
        _ => Reject::NotJson(e.to_string()),
    }
}

/// The checks every message passes first: its size, UTF-8, a JSON object without repeated
/// fields.
fn parse(bytes: &[u8], max_bytes: usize) -> Result<Wire<'_>, Reject> {
    if bytes.len() > max_bytes {
        return Err(Reject::TooLarge { limit: max_bytes });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Reject::InvalidUtf8)?;
    serde_json::from_str(text).map_err(|e| classify_parse_error(text, e))
}

/// The message's `agency_id`, its Kafka key, checked as [`decode`] checks it (size, UTF-8,
/// JSON object, a string of 1 to 64 characters); the rest of the message is left to `decode`.
/// What fails here cannot be keyed, and fails with `decode`'s reason.
pub fn agency_key(bytes: &[u8], max_bytes: usize) -> Result<Cow<'_, str>, Reject> {
    let w = parse(bytes, max_bytes)?;
    required("agency_id", id("agency_id", w.agency_id, 64)?)
}

/// Decodes one message. `max_bytes` is the size limit.
///
/// Long because it is one pass over the captured fields in the schema's order, the hot path of
/// every input, each reject decided where its field is read.
pub fn decode<'a>(
    bytes: &'a [u8],
    registry: &Registry,
    max_bytes: usize,
) -> Result<Event<'a>, Reject> {
    let w = parse(bytes, max_bytes)?;
    let event_id = required("event_id", id("event_id", w.event_id, 128)?)?;
    let kind_name = required("type", string("type", w.kind)?)?;
    let occurred_at = required("occurred_at", timestamp("occurred_at", w.occurred_at)?)?;
    let agency_name = required("agency_id", id("agency_id", w.agency_id, 64)?)?;
    let procedure = string("procedure_id", w.procedure_id)?;
    let reported = kind_name == "indicator_reported";
    let dossier = if reported {
        None
    } else {
        id("dossier_id", w.dossier_id, 64)?
    };
    let kind = match kind_name.as_ref() {
        "received" => {
            let due_at = timestamp("due_at", w.due_at)?;
            let hours = working_hours(w.time_limit_hours)?;
            let due = match (due_at, hours) {
                (Some(t), _) => DueSpec::At(t),
                (None, Some(h)) => h,
                (None, None) => return Err(Reject::MissingField("due_at")),
            };
            const CHANNELS: [(&str, Channel); 3] = [
                ("direct", Channel::Direct),
                ("online", Channel::Online),
                ("postal", Channel::Postal),
            ];
            EventKind::Received(Received {
                due,
                channel: one_of("channel", w.channel, &CHANNELS, "direct, online or postal")?
                    .unwrap_or_default(),
                via_national_portal: boolean("via_national_portal", w.via_national_portal)?,
                fee_required: boolean("fee_required", w.fee_required)?,
                digitized: boolean("digitized", w.digitized)?,
                reused_data: boolean("reused_data", w.reused_data)?,
                citizen_storage: boolean("citizen_storage", w.citizen_storage)?,
            })
        }
        "supplement_requested" => EventKind::SupplementRequested,
        "supplement_received" => EventKind::SupplementReceived {
            due_at: timestamp("due_at", w.due_at)?,
        },
        "processed" => {
            const ENDINGS: [(&str, Ending); 2] = [
                ("completed", Ending::Completed),
                ("stopped", Ending::Stopped),
            ];
            EventKind::Processed {
                outcome: one_of("outcome", w.outcome, &ENDINGS, "completed or stopped")?
                    .unwrap_or_default(),
                electronic_result: boolean("electronic_result", w.electronic_result)?,
            }
        }
        "returned" => EventKind::Returned,
        "withdrawn" => EventKind::Withdrawn,
        "overdue" => EventKind::Overdue,
        "rejected" => {
            required("reason", string("reason", w.reason)?)?;
            EventKind::Rejected
        }
        "payment" => {
            const METHODS: [(&str, PaymentMethod); 3] = [
                ("national_portal", PaymentMethod::NationalPortal),
                ("provincial_gateway", PaymentMethod::ProvincialGateway),
                ("offline", PaymentMethod::Offline),
            ];
            let method = one_of(
                "method",
                w.method,
                &METHODS,
                "national_portal, provincial_gateway or offline",
            )?;
            EventKind::Payment {
                method: required("method", method)?,
            }
        }
        "rated" => {
            const RATINGS: [(&str, Rating); 3] = [
                ("very_satisfied", Rating::VerySatisfied),
                ("satisfied", Rating::Satisfied),
                ("dissatisfied", Rating::Dissatisfied),
            ];
            let rating = one_of(
                "rating",
                w.rating,
                &RATINGS,
                "very_satisfied, satisfied or dissatisfied",
            )?;
            EventKind::Rated {
                rating: required("rating", rating)?,
            }
        }
        "synced" => EventKind::Synced,
        "apology" => EventKind::Apology {
            new_due_at: required("new_due_at", timestamp("new_due_at", w.new_due_at)?)?,
        },
        "indicator_reported" => {
            let indicator = required("indicator", string("indicator", w.indicator)?)?;
            let label = required("period", string("period", w.period)?)?;
            let period = Period::parse_label(&label).ok_or_else(|| Reject::InvalidValue {
                field: "period",
                problem: "must be a period label: YYYY-MM, YYYY-Qn or YYYY".into(),
            })?;
            EventKind::IndicatorReported(Reported {
                indicator,
                period,
                numerator: reported_value("numerator", w.numerator)?,
                denominator: reported_value("denominator", w.denominator)?,
            })
        }
        other => return Err(Reject::UnknownType(other.to_owned())),
    };
    let dossier = if reported {
        Cow::Borrowed("")
    } else {
        required("dossier_id", dossier)?
    };
    let agency = registry
        .lookup(&agency_name)
        .ok_or_else(|| Reject::UnknownAgency(agency_name.into_owned()))?;
    Ok(Event {
        id: event_id,
        occurred_at,
        agency,
        dossier,
        procedure,
        kind,
    })
}
