//! Configuration of `chiso run`: checked-in defaults, then a file, then `CHISO_*` variables.
//!
//! The defaults (`config/chiso.toml`, built into the binary) list every key there is, so a key
//! that is not in them is an error (outside the `[kafka.librdkafka]` pass-through table). All
//! problems are gathered and reported together at start-up: unknown keys, values of the wrong
//! type, invalid values, unreadable registry/scoring/holiday files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use figment::providers::{Env, Format, Toml};
use figment::value::Dict;
use figment::Figment;

use crate::app::clock::Clock;
use crate::app::files::{read_text, Role};
use problems::{misnamed_variables, Origins};

use crate::core::{DueSoonHorizon, PeriodPolicy, Registry, ScoringModel, WorkCalendar};

/// The checked-in defaults.
pub const DEFAULTS: &str = include_str!("../../config/chiso.toml");

/// Top-level sections; environment variables naming anything else are not ours.
const SECTIONS: [&str; 6] = ["kafka", "pipeline", "engine", "http", "shutdown", "log"];

/// librdkafka properties the exactly-once design sets itself.
const OWNED_KEYS: [&str; 12] = [
    "bootstrap.servers",
    "group.id",
    "group.instance.id",
    "transactional.id",
    "enable.idempotence",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "isolation.level",
    "auto.offset.reset",
    "partition.assignment.strategy",
    "enable.partition.eof",
    "group.protocol",
];

/// RunSettings with every file loaded and every value checked: what the pipeline runs on.
#[derive(Clone)]
pub struct RunConfig {
    pub settings: RunSettings,
    pub registry: Arc<Registry>,
    pub model: Arc<ScoringModel>,
    pub calendar: Arc<WorkCalendar>,
    pub clock: Clock,
    /// The effective instance id (the host name when not configured).
    pub instance_id: String,
    /// librdkafka pass-through properties, keys normalised (`_` → `.`).
    pub librdkafka: BTreeMap<String, String>,
}

impl fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunConfig")
            .field("instance_id", &self.instance_id)
            .field("clock", &self.clock)
            .field("agencies", &self.registry.len())
            .finish_non_exhaustive()
    }
}

impl RunConfig {
    pub fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.settings.pipeline.commit_interval_ms)
    }
    pub fn publish_interval(&self) -> Duration {
        Duration::from_millis(self.settings.pipeline.publish_interval_ms)
    }
    pub fn rollup_interval(&self) -> Duration {
        Duration::from_millis(self.settings.pipeline.rollup_interval_ms)
    }
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.shutdown.timeout_ms)
    }
    pub fn topics(&self) -> &crate::kafka::Topics {
        &self.settings.kafka.topics
    }

    /// The Kafka adapter's own configuration.
    pub fn kafka(&self) -> crate::kafka::KafkaConfig {
        let (k, p) = (&self.settings.kafka, &self.settings.pipeline);
        let clock = self.clock;
        crate::kafka::KafkaConfig {
            bootstrap_servers: k.bootstrap_servers.clone(),
            group_id: k.group_id.clone(),
            instance_id: self.instance_id.clone(),
            static_membership: k.static_membership,
            topics: k.topics.clone(),
            librdkafka: self.librdkafka.clone(),
            commit_interval: self.commit_interval(),
            publish_interval: self.publish_interval(),
            rollup_interval: self.rollup_interval(),
            transaction_timeout: Duration::from_millis(p.transaction_timeout_ms),
            catch_up_max: Duration::from_millis(p.catch_up_max_ms),
            max_event_bytes: p.max_event_bytes,
            state_batch_bytes: p.state_batch_bytes,
            registry: self.registry.clone(),
            model: self.model.clone(),
            calendar: self.calendar.clone(),
            engine: self.engine_settings(),
            clock: Arc::new(move || clock.now()),
        }
    }
    /// The engine settings of every partition engine and of the roll-up stage.
    pub fn engine_settings(&self) -> crate::core::EngineSettings {
        let k = self.settings.engine.finals_kept;
        crate::core::EngineSettings {
            due_soon_horizon: DueSoonHorizon::from_hours(self.settings.engine.due_soon_hours)
                .expect("checked at load"),
            periods: PeriodPolicy::Rolling {
                finals_kept: [k.month, k.quarter, k.year],
            },
        }
    }
}

/// The value at a dotted path of a dictionary.
fn lookup<'a>(dict: &'a Dict, path: &str) -> Option<&'a figment::value::Value> {
    let (head, rest) = path
        .split_once('.')
        .map_or((path, None), |(h, r)| (h, Some(r)));
    let v = dict.get(head)?;
    match (rest, v) {
        (None, v) => Some(v),
        (Some(rest), figment::value::Value::Dict(_, d)) => lookup(d, rest),
        _ => None,
    }
}

/// Every problem found in the configuration, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// Loads the layered configuration; `file` is `--config`.
pub fn load(file: Option<&Path>) -> Result<RunConfig, ConfigError> {
    load_from(file, "CHISO_")
}

/// `prefix`: of the environment variables read (tests use their own).
///
/// Long because it is the one layering of defaults, file and variables, each section read in
/// turn and every problem gathered, so that start-up reports them all at once.
fn load_from(file: Option<&Path>, prefix: &str) -> Result<RunConfig, ConfigError> {
    let mut problems = Vec::new();
    let mut figment = Figment::from(Toml::string(DEFAULTS));
    if let Some(path) = file {
        // Checked here once, so that a syntax error is reported once and with its line.
        match read_text(path, Role::RunConfig) {
            Err(e) => problems.push(format!("{e:#}")),
            Ok(text) => match crate::app::files::from_toml::<toml::Table>(&text) {
                Ok(_) => figment = figment.merge(Toml::file(path)),
                Err(e) => problems.push(format!(
                    "invalid {} {}: {e:#}",
                    Role::RunConfig,
                    path.display()
                )),
            },
        }
    }
    // Unknown keys: anything the defaults do not have (outside the pass-through table).
    let known: Dict = Figment::from(Toml::string(DEFAULTS))
        .extract()
        .expect("built-in defaults parse");
    // `PREFIX<SECTION>__<KEY>` are settings, each named in messages by its variable; other
    // `PREFIX…` variables belong to other tools (the scripts' `CHISO_KAFKA_PORT`, …) unless
    // they spell a setting with single underscores.
    let origins = Origins::new(prefix, variables(prefix));
    misnamed_variables(&origins, &known, &mut problems);
    let env = Env::prefixed(prefix)
        .filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            SECTIONS.iter().any(|s| k.starts_with(&format!("{s}__")))
        })
        .split("__");
    // A variable for a string setting (a password, a token, a broker list) is taken as it is:
    // figment would read `123456` as a number and `"x"` as `x`.
    let is_string = {
        let known = known.clone();
        // (Keys reach a filter in the variable's case; lower-cased only when emitted.)
        move |key: &str| {
            let key = key.to_ascii_lowercase();
            key.starts_with("kafka.librdkafka.")
                || matches!(
                    lookup(&known, &key),
                    Some(figment::value::Value::String(..))
                )
        }
    };
    for (key, value) in env.iter().filter(|(k, _)| is_string(k.as_str())) {
        figment = figment.merge(figment::providers::Serialized::default(key.as_str(), value));
    }
    figment = figment.merge(env.filter(move |k| !is_string(k.as_str())));

    match figment.extract::<Dict>() {
        Ok(all) => {
            origins.unknown_keys(&figment, &known, &all, "", &mut problems);
            // Every value of the wrong type, each with where it came from: serde would stop at
            // the first one of a section.
            origins.wrong_types(&figment, &known, &all, "", &mut problems);
        }
        Err(e) => problems.extend(e.into_iter().map(|e| origins.describe(&e, ""))),
    }
    // Section by section so that one bad section does not hide the others; serde's errors on
    // keys the type check reported already would only repeat them, less clearly.
    let reported: Vec<String> = problems
        .iter()
        .filter_map(|p| {
            p.strip_prefix('`')?
                .split_once('`')
                .map(|(k, _)| k.to_owned())
        })
        .collect();
    fn section<T: serde::de::DeserializeOwned>(
        figment: &Figment,
        origins: &Origins,
        reported: &[String],
        name: &str,
        problems: &mut Vec<String>,
    ) -> Result<T, ()> {
        figment.extract_inner(name).map_err(|e: figment::Error| {
            for e in e {
                let message = origins.describe(&e, name);
                let key = message
                    .strip_prefix('`')
                    .and_then(|m| m.split_once('`'))
                    .map(|(k, _)| k);
                if !key.is_some_and(|k| reported.iter().any(|r| r == k)) {
                    problems.push(message);
                }
            }
        })
    }
    let kafka = section(&figment, &origins, &reported, "kafka", &mut problems);
    let pipeline = section(&figment, &origins, &reported, "pipeline", &mut problems);
    let engine = section(&figment, &origins, &reported, "engine", &mut problems);
    let http = section(&figment, &origins, &reported, "http", &mut problems);
    let shutdown = section(&figment, &origins, &reported, "shutdown", &mut problems);
    let log = section(&figment, &origins, &reported, "log", &mut problems);
    let (Ok(kafka), Ok(pipeline), Ok(engine), Ok(http), Ok(shutdown), Ok(log)) =
        (kafka, pipeline, engine, http, shutdown, log)
    else {
        problems.dedup();
        return Err(ConfigError { problems });
    };
    let settings = RunSettings {
        kafka,
        pipeline,
        engine,
        http,
        shutdown,
        log,
    };
    let config = resolve(settings, &mut problems);
    problems.dedup();
    match config {
        Some(c) if problems.is_empty() => Ok(c),
        _ => Err(ConfigError { problems }),
    }
}

/// The names of the environment variables that start with `prefix` (in any case, as figment
/// reads them), without it, as they are written.
fn variables(prefix: &str) -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter_map(|name| {
            let head = name.get(..prefix.len())?;
            head.eq_ignore_ascii_case(prefix)
                .then(|| name[prefix.len()..].to_owned())
        })
        .collect()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "chiso".to_owned())
}

fn optional_path(s: &str) -> Option<PathBuf> {
    (!s.trim().is_empty()).then(|| PathBuf::from(s))
}

/// Checks values and loads the files; `None` when something could not be loaded.
///
/// Long because every value is checked here, key by key in the file's order, and every named
/// file loaded, all problems gathered rather than stopping at the first.
fn resolve(settings: RunSettings, problems: &mut Vec<String>) -> Option<RunConfig> {
    let k = &settings.kafka;
    if k.bootstrap_servers.trim().is_empty() {
        problems.push("kafka.bootstrap_servers is empty".into());
    }
    if k.group_id.trim().is_empty() {
        problems.push("kafka.group_id is empty".into());
    }
    let t = &k.topics;
    let names = [
        ("events", &t.events),
        ("results", &t.results),
        ("partials", &t.partials),
        ("state", &t.state),
        ("dead_letter", &t.dead_letter),
    ];
    for (i, (key, name)) in names.iter().enumerate() {
        if name.trim().is_empty() {
            problems.push(format!("kafka.topics.{key} is empty"));
        }
        if let Some((other, _)) = names[..i].iter().find(|(_, n)| n == name) {
            problems.push(format!(
                "kafka.topics.{key} and kafka.topics.{other} are the same topic `{name}`"
            ));
        }
    }
    let mut librdkafka = BTreeMap::new();
    for (key, value) in &k.librdkafka {
        let key = key.replace('_', ".");
        if OWNED_KEYS.contains(&key.as_str()) {
            problems.push(format!(
                "kafka.librdkafka.\"{key}\" is set by chiso itself (see docs/kafka.md)"
            ));
        }
        librdkafka.insert(key, value.to_string());
    }
    let p = &settings.pipeline;
    for (key, v) in [
        ("commit_interval_ms", p.commit_interval_ms),
        ("publish_interval_ms", p.publish_interval_ms),
        ("rollup_interval_ms", p.rollup_interval_ms),
        ("transaction_timeout_ms", p.transaction_timeout_ms),
    ] {
        if v == 0 {
            problems.push(format!("pipeline.{key} must be positive"));
        }
    }
    if p.transaction_timeout_ms < 2 * p.commit_interval_ms.max(1000) {
        problems.push(
            "pipeline.transaction_timeout_ms must be at least twice the commit interval (and 2 s)"
                .into(),
        );
    }
    if !(256..=16 << 20).contains(&p.max_event_bytes) {
        problems.push("pipeline.max_event_bytes must be between 256 and 16777216".into());
    }
    if !(1024..=900 * 1024).contains(&p.state_batch_bytes) {
        problems.push("pipeline.state_batch_bytes must be between 1024 and 921600".into());
    }
    let clock = match Clock::parse(&p.clock) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.push(format!("pipeline.clock: {e}"));
            None
        }
    };
    let e = &settings.engine;
    if let Err(err) = DueSoonHorizon::from_hours(e.due_soon_hours) {
        problems.push(format!("engine.due_soon_hours: {err}"));
    }
    let registry = match optional_path(&e.agencies) {
        None => crate::app::files::parse_registry(crate::app::files::SAMPLE_AGENCIES, false),
        Some(path) => crate::app::files::load_registry(&path),
    }
    .map_err(|err| problems.push(format!("engine.agencies: {err:#}")))
    .ok();
    let model = crate::app::files::load_scoring(optional_path(&e.scoring).as_deref())
        .map_err(|err| problems.push(format!("engine.scoring: {err:#}")))
        .ok();
    let calendar = crate::app::files::load_holidays(optional_path(&e.holidays).as_deref())
        .map_err(|err| problems.push(format!("engine.holidays: {err:#}")))
        .ok();
    if !settings.http.bind.trim().is_empty()
        && settings.http.bind.parse::<std::net::SocketAddr>().is_err()
    {
        problems.push(format!(
            "http.bind `{}` is not an address like 127.0.0.1:8766",
            settings.http.bind
        ));
    }
    let token = &settings.http.token;
    if !token.is_empty() {
        if let Err(e) = crate::http::check_token(token) {
            problems.push(format!("http.token: {e}"));
        }
    }
    if settings.shutdown.timeout_ms < 1000 {
        problems.push("shutdown.timeout_ms must be at least 1000".into());
    }
    if !["text", "json"].contains(&settings.log.format.as_str()) {
        problems.push(format!(
            "log.format must be \"text\" or \"json\", not `{}`",
            settings.log.format
        ));
    }
    if let Err(err) = tracing_subscriber::EnvFilter::try_new(&settings.log.level) {
        problems.push(format!("log.level: {err}"));
    }
    let instance_id = if k.instance_id.trim().is_empty() {
        hostname()
    } else {
        k.instance_id.trim().to_owned()
    };
    Some(RunConfig {
        registry: Arc::new(registry?),
        model: Arc::new(model?),
        calendar: Arc::new(calendar?),
        clock: clock?,
        instance_id,
        librdkafka,
        settings,
    })
}

mod problems;
mod settings;

pub use settings::{
    EngineSection, FinalsKept, HttpSection, KafkaSection, LogSection, PipelineSection, RunSettings,
    Scalar, ShutdownSection,
};
#[cfg(test)]
mod tests;
