//! A feed's mapping file (TOML): which format, which field orders a dossier's records, where
//! the agency is, the columns of a database table, and how the source's codes map onto
//! lifecycle states. Read once at start; every error names the key.

use std::collections::BTreeMap;

/// foldhash: a row's keys are looked up once each, on every record.
type HashMap<K, V> = foldhash::HashMap<K, V>;

use serde::Deserialize;

use crate::core::event::{Channel, PaymentMethod};
use crate::core::feed::Status;
use crate::core::{AgencyIdx, Registry};

/// The two source formats besides chiso's own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The national portal's dossier sync records (`DongBoHoSoMC`, `CapNhatTienDoHoSoMC`).
    Dvcqg,
    /// Debezium change records of a dossier table: the envelope or `ExtractNewRecordState`'s
    /// flattened row.
    Debezium,
}

impl Format {
    pub const NAMES: [&'static str; 2] = ["dvcqg", "debezium"];

    pub fn name(self) -> &'static str {
        match self {
            Format::Dvcqg => "dvcqg",
            Format::Debezium => "debezium",
        }
    }
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: Format,
    order: Order,
    agency: AgencyRule,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    values: Values,
    #[serde(default)]
    time: Time,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    field: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyRule {
    field: String,
    #[serde(default)]
    prefix_until: Option<String>,
    #[serde(default)]
    lookup: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Values {
    #[serde(default)]
    status: BTreeMap<String, String>,
    #[serde(default)]
    channel: BTreeMap<String, String>,
    #[serde(default)]
    paid_online: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Time {
    #[serde(default = "default_zone")]
    zone: String,
    #[serde(default)]
    epoch: Epoch,
}

impl Default for Time {
    fn default() -> Self {
        Time {
            zone: default_zone(),
            epoch: Epoch::default(),
        }
    }
}

fn default_zone() -> String {
    "Asia/Ho_Chi_Minh".into()
}

/// What an integer in a date column counts since 1970-01-01 00:00 of the local wall clock
/// (Debezium writes a naive `timestamp` so; `time.precision.mode=adaptive` gives microseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Epoch {
    Millis,
    #[default]
    Micros,
    Nanos,
}

impl Epoch {
    pub fn nanos(self, n: i64) -> Option<i64> {
        match self {
            Epoch::Millis => n.checked_mul(1_000_000),
            Epoch::Micros => n.checked_mul(1_000),
            Epoch::Nanos => Some(n),
        }
    }
}

/// A column of a dossier table the mapping can name (`[columns]`), in slot order.
pub const COLUMNS: [&str; 22] = [
    "dossier",
    "procedure",
    "status",
    "channel",
    "received_at",
    "due_at",
    "supplement_requested_at",
    "supplement_received_at",
    "supplement_due_at",
    "supplement_rounds",
    "processed_at",
    "returned_at",
    "refused_at",
    "withdrawn_at",
    "changed_at",
    "fee_required",
    "paid_online",
    "via_national_portal",
    "digitized",
    "reused_data",
    "citizen_storage",
    "electronic_result",
];

/// The slot of a `[columns]` key (a constant where the key is one: see [`col!`]).
pub const fn column(name: &str) -> usize {
    let mut i = 0;
    while i < COLUMNS.len() {
        if same(COLUMNS[i].as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("not a listed column")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The slot of a `[columns]` key, computed at compile time.
macro_rules! col {
    ($name:literal) => {{
        const SLOT: usize = $crate::wire::feed::mapping::column($name);
        SLOT
    }};
}
pub(crate) use col;

/// The slots past [`COLUMNS`]: the agency field and the order field.
pub const AGENCY_SLOT: usize = COLUMNS.len();
pub const ORDER_SLOT: usize = COLUMNS.len() + 1;
pub const SLOTS: usize = COLUMNS.len() + 2;

/// A mapping, validated and ready to read records with.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub format: Format,
    /// The field that orders a dossier's records; for `debezium`, `lsn` and `ts_ms` mean the
    /// source's log position and commit time (`source.lsn`/`__lsn`, `source.ts_ms`/
    /// `__source_ts_ms`).
    pub order: String,
    pub agency_field: String,
    pub prefix_until: Option<String>,
    /// Source agency code → registry index.
    lookup: HashMap<String, AgencyIdx>,
    /// `debezium`: a row's key → the slots it fills (a key can fill two: the agency and the
    /// dossier id can be one column).
    pub slots: HashMap<String, Vec<usize>>,
    /// `debezium`: the column each slot reads (the key itself when unmapped), for messages.
    pub names: Vec<String>,
    pub status: HashMap<String, Status>,
    pub channel: HashMap<String, Channel>,
    pub paid_online: HashMap<String, PaymentMethod>,
    pub epoch: Epoch,
}

/// Why a mapping file is refused; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("key `{key}`: {problem}")]
    Key { key: String, problem: String },
}

fn key_error(key: impl Into<String>, problem: impl Into<String>) -> MappingError {
    MappingError::Key {
        key: key.into(),
        problem: problem.into(),
    }
}

/// The portal's `TrangThaiHoSo`: 1 submitted … 10 returned; the default of both formats.
fn default_status() -> HashMap<String, Status> {
    (1..)
        .zip(Status::NAMES)
        .map(|(n, (_, s))| (n.to_string(), s))
        .collect()
}

/// The portal's `KenhThucHien`: 1 direct, 2 online, 3 postal.
fn default_channel() -> HashMap<String, Channel> {
    [
        ("1", Channel::Direct),
        ("2", Channel::Online),
        ("3", Channel::Postal),
    ]
    .map(|(k, c)| (k.to_string(), c))
    .into_iter()
    .collect()
}

/// The portal's `DuocThanhToanTrucTuyen`: 1 on the national portal, 2 on the province's.
fn default_paid() -> HashMap<String, PaymentMethod> {
    [
        ("1", PaymentMethod::NationalPortal),
        ("2", PaymentMethod::ProvincialGateway),
    ]
    .map(|(k, c)| (k.to_string(), c))
    .into_iter()
    .collect()
}

/// Reads a `[values.*]` table: source value → a name of `names`.
fn value_map<T: Copy>(
    table: &str,
    given: &BTreeMap<String, String>,
    names: &[(&str, T)],
    default: HashMap<String, T>,
) -> Result<HashMap<String, T>, MappingError> {
    if given.is_empty() {
        return Ok(default);
    }
    let mut out = HashMap::default();
    for (value, name) in given {
        let Some((_, t)) = names.iter().find(|(n, _)| n == name) else {
            let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            return Err(key_error(
                format!("values.{table}.{value}"),
                format!("`{name}` is not one of {}", known.join(", ")),
            ));
        };
        out.insert(value.trim().to_string(), *t);
    }
    Ok(out)
}

const CHANNELS: [(&str, Channel); 3] = [
    ("direct", Channel::Direct),
    ("online", Channel::Online),
    ("postal", Channel::Postal),
];

const PAYMENTS: [(&str, PaymentMethod); 2] = [
    ("national_portal", PaymentMethod::NationalPortal),
    ("provincial_gateway", PaymentMethod::ProvincialGateway),
];

impl Mapping {
    /// Reads and checks a mapping file's text against the agency registry.
    ///
    /// Long because it checks the file's sections in their order, each error naming its key.
    pub fn parse(text: &str, registry: &Registry) -> Result<Mapping, MappingError> {
        let f: File = toml::from_str(text)?;
        let mut lookup = HashMap::default();
        for (code, id) in &f.agency.lookup {
            let idx = registry.lookup(id).ok_or_else(|| {
                key_error(
                    format!("agency.lookup.{code}"),
                    format!("`{id}` is not in the agency registry"),
                )
            })?;
            lookup.insert(code.clone(), idx);
        }
        if f.time.zone != "Asia/Ho_Chi_Minh" && f.time.zone != "+07:00" {
            return Err(key_error(
                "time.zone",
                format!(
                    "`{}`: chiso counts in Vietnam's civil time, Asia/Ho_Chi_Minh (+07:00)",
                    f.time.zone
                ),
            ));
        }
        let mut slots: HashMap<String, Vec<usize>> = HashMap::default();
        match f.format {
            Format::Dvcqg if !f.columns.is_empty() => {
                return Err(key_error(
                    "columns",
                    "the portal's sync records have fixed field names: `columns` is for `debezium`",
                ))
            }
            Format::Dvcqg => {}
            Format::Debezium => {
                for (key, col) in &f.columns {
                    if !COLUMNS.contains(&key.as_str()) {
                        return Err(key_error(
                            format!("columns.{key}"),
                            format!("not a column chiso reads ({})", COLUMNS.join(", ")),
                        ));
                    }
                    slots.entry(col.clone()).or_default().push(column(key));
                }
                for required in ["dossier", "status"] {
                    if !f.columns.contains_key(required) {
                        return Err(key_error(
                            format!("columns.{required}"),
                            "missing: it is required",
                        ));
                    }
                }
                slots
                    .entry(f.agency.field.clone())
                    .or_default()
                    .push(AGENCY_SLOT);
                if !matches!(f.order.field.as_str(), "lsn" | "ts_ms") {
                    slots
                        .entry(f.order.field.clone())
                        .or_default()
                        .push(ORDER_SLOT);
                }
            }
        }
        let mut names: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
        names.push(f.agency.field.clone());
        names.push(f.order.field.clone());
        for (col, of) in &slots {
            for &s in of {
                names[s] = col.clone();
            }
        }
        Ok(Mapping {
            names,
            format: f.format,
            order: f.order.field,
            agency_field: f.agency.field,
            prefix_until: f.agency.prefix_until.filter(|s| !s.is_empty()),
            lookup,
            slots,
            status: value_map("status", &f.values.status, &Status::NAMES, default_status())?,
            channel: value_map("channel", &f.values.channel, &CHANNELS, default_channel())?,
            paid_online: value_map(
                "paid_online",
                &f.values.paid_online,
                &PAYMENTS,
                default_paid(),
            )?,
            epoch: f.time.epoch,
        })
    }

    /// The registry index of a source agency value: its prefix (when the mapping says so),
    /// then the lookup table, else the registry id itself.
    pub fn agency(&self, value: &str, registry: &Registry) -> Result<AgencyIdx, String> {
        let code = match &self.prefix_until {
            Some(sep) => value.split(sep.as_str()).next().unwrap_or_default(),
            None => value,
        };
        self.lookup
            .get(code)
            .copied()
            .or_else(|| registry.lookup(code))
            .ok_or_else(|| {
                format!(
                    "agency code `{code}` is neither in the mapping's lookup nor in the registry"
                )
            })
    }
}
