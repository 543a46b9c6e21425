//! The settings of `chiso run` as written (the sections of `config/chiso.toml`), before any
//! file they name is loaded or any value is checked.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::DEFAULTS;

/// Everything `chiso run` is configured with. Field docs are in `config/chiso.toml`.
///
/// No `deny_unknown_fields` here: unknown keys are found by comparing with the defaults, which
/// reports all of them where serde would stop at the first.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RunSettings {
    pub kafka: KafkaSection,
    pub pipeline: PipelineSection,
    pub engine: EngineSection,
    pub http: HttpSection,
    pub shutdown: ShutdownSection,
    pub log: LogSection,
}

impl RunSettings {
    /// The checked-in defaults ([`DEFAULTS`]) as settings: a start for a configuration built
    /// in code (tests, benchmarks), written out with [`RunSettings::to_toml`].
    pub fn defaults() -> RunSettings {
        crate::app::files::from_toml(DEFAULTS).unwrap_or_else(|e| {
            panic!("the built-in defaults (config/chiso.toml) are not valid settings: {e:#}")
        })
    }

    /// These settings as a configuration file that `chiso run --config` reads back.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the settings serialise as TOML")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct KafkaSection {
    pub bootstrap_servers: String,
    pub group_id: String,
    pub instance_id: String,
    pub static_membership: bool,
    pub topics: crate::kafka::Topics,
    pub librdkafka: BTreeMap<String, Scalar>,
}

/// A pass-through librdkafka value (librdkafka takes strings; TOML may write numbers or booleans).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => f.write_str(s),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PipelineSection {
    pub commit_interval_ms: u64,
    pub publish_interval_ms: u64,
    pub rollup_interval_ms: u64,
    pub clock: String,
    pub max_event_bytes: usize,
    pub catch_up_max_ms: u64,
    pub state_batch_bytes: usize,
    pub transaction_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EngineSection {
    pub agencies: String,
    pub scoring: String,
    pub holidays: String,
    pub due_soon_hours: f64,
    pub finals_kept: FinalsKept,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct FinalsKept {
    pub month: u32,
    pub quarter: u32,
    pub year: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HttpSection {
    pub bind: String,
    pub token: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ShutdownSection {
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LogSection {
    pub format: String,
    pub level: String,
}
