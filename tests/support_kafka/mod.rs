//! Shared helpers of the Kafka end-to-end tests: a real broker started by `scripts/kafka`,
//! per-test topics, event generation, the `chiso run` process, and reading topics back.
//!
//! Every test binary that needs a broker starts its own on free ports in its own directory
//! (cargo runs test binaries one after another, but other people may run tests at the same time
//! on the machine), and a watcher process stops it when the test binary exits, even on a panic
//! or a kill. Tests in one binary share that broker and use topics named after the test.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use chiso::app::config::{FinalsKept, RunSettings, Scalar};
use chiso::core::{Registry, Timestamp};
use chiso::sim::{Generator, GeneratorConfig};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const CHISO: &str = env!("CARGO_BIN_EXE_chiso");

/// A Kafka cluster started by `scripts/kafka` in a directory of its own.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    pub nodes: u8,
    pub bootstrap: String,
}

/// Runs `stop` (a shell command) once this test process is gone, then removes `dir`.
pub fn watch(stop: &str, dir: &Path) {
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    // Never waited for: it outlives this process on purpose.
    #[allow(clippy::zombie_processes)]
    Command::new("setsid")
        .args(["sh", "-c", &watcher])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting a watcher");
}

fn port_free(p: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// A base port with `n` free broker ports and `n` free controller ports (base + 100 …).
fn free_base(n: u16) -> u16 {
    let seed = std::process::id() as u64 ^ (Instant::now().elapsed().as_nanos() as u64);
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    loop {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let base = 20000 + ((x >> 33) % 15000) as u16;
        if (0..n).all(|i| port_free(base + i) && port_free(base + 100 + i)) {
            return base;
        }
    }
}

fn script(args: &[&str], dir: &Path, port: u16) -> std::process::Output {
    let out = Command::new(format!("{ROOT}/scripts/kafka"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("CHISO_KAFKA_PORT", port.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("running scripts/kafka");
    assert!(
        out.status.success(),
        "scripts/kafka {args:?} failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

impl Cluster {
    /// Starts a cluster of `nodes` (1 or 3) that is stopped when this test process exits.
    pub fn start(name: &str, nodes: u8) -> Cluster {
        let port = free_base(nodes as u16);
        let dir = std::env::temp_dir().join(format!("chiso-test-{name}-{}", std::process::id()));
        let out = script(&["start", "--nodes", &nodes.to_string()], &dir, port);
        let bootstrap = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("bootstrap line")
            .trim()
            .to_owned();
        // The watcher: stops the cluster and removes its data once this process is gone.
        watch(
            &format!(
                "CHISO_KAFKA_PORT={port} '{ROOT}/scripts/kafka' stop --dir '{}'",
                dir.display()
            ),
            &dir,
        );
        Cluster {
            dir,
            port,
            nodes,
            bootstrap,
        }
    }

    /// The single-node broker shared by the tests of this binary.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let name = exe
                .file_stem()
                .map(|s| {
                    s.to_string_lossy()
                        .split('-')
                        .next()
                        .unwrap_or("t")
                        .to_owned()
                })
                .unwrap_or_else(|| "t".into());
            Cluster::start(&name, 1)
        })
    }

    pub fn stop_node(&self, i: u8) {
        script(&["stop-node", &i.to_string()], &self.dir, self.port);
    }

    /// `kill -9` of node `i` (its data stays; `start_node` brings it back).
    pub fn kill_node(&self, i: u8) {
        let pidfile = self.dir.join(format!("node-{i}/kafka.pid"));
        let pid = std::fs::read_to_string(&pidfile).expect("node pid file");
        let status = Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -9 of node {i}");
    }

    pub fn start_node(&self, i: u8) {
        script(&["start-node", &i.to_string()], &self.dir, self.port);
    }

    /// Creates the five topics of a pipeline, named after `prefix`, with the layout that
    /// `chiso topics create` uses.
    pub fn topics(&self, prefix: &str, partitions: i32) -> Topics {
        let t = Topics::named(prefix);
        let rf = if self.nodes >= 3 { 3 } else { 1 };
        let mut admin = ClientConfig::new();
        admin.set("bootstrap.servers", &self.bootstrap);
        let names = chiso::kafka::Topics {
            events: t.events.clone(),
            results: t.results.clone(),
            partials: t.partials.clone(),
            state: t.state.clone(),
            dead_letter: t.dead_letter.clone(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let created = rt
            .block_on(chiso::kafka::layout::create(&admin, &names, partitions, rf))
            .expect("create topics");
        assert_eq!(created.len(), 5, "fresh topics: {created:?}");
        t
    }
}

/// The topic names of one test.
#[derive(Debug, Clone)]
pub struct Topics {
    pub prefix: String,
    pub events: String,
    pub state: String,
    pub partials: String,
    pub results: String,
    pub dead_letter: String,
}

impl Topics {
    pub fn named(prefix: &str) -> Topics {
        Topics {
            prefix: prefix.to_owned(),
            events: format!("{prefix}.events"),
            state: format!("{prefix}.state"),
            partials: format!("{prefix}.partials"),
            results: format!("{prefix}.results"),
            dead_letter: format!("{prefix}.dead-letter"),
        }
    }
}

/// `engine.finals_kept` publishing no closed month, quarter or year.
pub const NO_FINALS: FinalsKept = FinalsKept {
    month: 0,
    quarter: 0,
    year: 0,
};

/// The checked-in defaults pointed at `bootstrap` and `topics`, in the group named after the
/// topics' prefix, as instance `instance`.
pub fn run_settings(bootstrap: &str, topics: &Topics, instance: &str) -> RunSettings {
    let mut s = RunSettings::defaults();
    s.kafka.bootstrap_servers = bootstrap.to_owned();
    s.kafka.group_id = topics.prefix.clone();
    s.kafka.instance_id = instance.to_owned();
    s.kafka.topics = chiso::kafka::Topics {
        events: topics.events.clone(),
        results: topics.results.clone(),
        partials: topics.partials.clone(),
        state: topics.state.clone(),
        dead_letter: topics.dead_letter.clone(),
    };
    s
}

pub fn registry() -> Arc<Registry> {
    Arc::new(chiso::app::files::parse_registry(chiso::app::files::SAMPLE_AGENCIES, false).unwrap())
}

/// Generated events (JSON lines) for the sample province, from `start`, `dossiers` of them.
pub fn generate(seed: u64, start: &str, dossiers: u64, per_day: f64) -> Vec<String> {
    let mut g = Generator::new(
        registry(),
        GeneratorConfig {
            seed,
            start: Timestamp::parse_rfc3339(start).unwrap(),
            max_dossiers: Some(dossiers),
            dossiers_per_working_day: per_day,
            ..GeneratorConfig::new(Arc::new(chiso::app::files::load_holidays(None).unwrap()))
        },
    );
    let mut out = Vec::new();
    while let Some(l) = g.next_event() {
        out.push(l);
    }
    out
}

/// The `agency_id` of an event line, the message key (`None` when there is none).
pub fn agency_of(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct A {
        agency_id: Option<Value>,
    }
    match serde_json::from_slice::<A>(line).ok()?.agency_id? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

pub fn producer(bootstrap: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .set("message.timeout.ms", "120000")
        .create()
        .expect("producer")
}

/// Sends messages keyed by their agency (waiting while librdkafka's queue is full).
pub fn send_all<'a>(
    p: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    lines: impl IntoIterator<Item = &'a [u8]>,
) {
    for line in lines {
        let key = agency_of(line);
        let mut rec = BaseRecord::to(topic).payload(line);
        if let Some(k) = &key {
            rec = rec.key(k.as_bytes());
        }
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((
                    KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                    r,
                )) => {
                    rec = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => panic!("produce: {e}"),
            }
        }
    }
}

pub fn flush(p: &ThreadedProducer<DefaultProducerContext>) {
    p.flush(Duration::from_secs(120)).expect("flush");
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: BTreeMap<String, String>,
    /// The record's timestamp (ms since the epoch), when it has one.
    pub timestamp: Option<i64>,
}

/// Every committed record of a topic, from the beginning to the current end.
pub fn read_all(bootstrap: &str, topic: &str) -> Vec<Record> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "chiso-test-reader")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let parts = md.topics()[0].partitions().len() as i32;
    let mut tpl = TopicPartitionList::new();
    for p in 0..parts {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut open: std::collections::HashSet<i32> = (0..parts).collect();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !open.is_empty() {
        assert!(Instant::now() < deadline, "reading {topic} takes too long");
        match c.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(m)) => {
                let mut headers = BTreeMap::new();
                if let Some(h) = m.headers() {
                    for i in 0..h.count() {
                        let hd = h.get(i);
                        headers.insert(
                            hd.key.to_owned(),
                            String::from_utf8_lossy(hd.value.unwrap_or_default()).into_owned(),
                        );
                    }
                }
                out.push(Record {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers,
                    timestamp: m.timestamp().to_millis(),
                });
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                open.remove(&p);
            }
            Some(Err(e)) => eprintln!("reader {topic}: {e}"),
        }
    }
    out
}

/// The latest committed value of every key of the results topic, `revision` removed.
pub fn latest_results(bootstrap: &str, topic: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for r in read_all(bootstrap, topic) {
        let key = String::from_utf8(r.key.expect("results are keyed")).unwrap();
        match r.value {
            None => {
                out.remove(&key);
            }
            Some(v) => {
                let mut v: Value = serde_json::from_slice(&v).expect("results are JSON");
                v.as_object_mut().unwrap().remove("revision");
                out.insert(key, v);
            }
        }
    }
    out
}

/// What `chiso replay` prints for these events at `at`, by key, `revision` removed.
pub fn replay(events: &Path, at: &str) -> BTreeMap<String, Value> {
    let out = Command::new(CHISO)
        .args(["replay", "--events"])
        .arg(events)
        .args([
            "--agencies",
            &format!("{ROOT}/config/agencies/tuyen-quang.toml"),
        ])
        .args(["--at", at])
        .stderr(Stdio::inherit())
        .output()
        .expect("chiso replay");
    assert!(out.status.success(), "chiso replay failed");
    let mut map = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("revision");
        let key = format!(
            "{}|{}",
            o["agency_id"].as_str().unwrap(),
            o["period"]["label"].as_str().unwrap()
        );
        map.insert(key, v);
    }
    map
}

/// A short description of how two result maps differ ("" when equal).
pub fn diff(got: &BTreeMap<String, Value>, want: &BTreeMap<String, Value>) -> String {
    let mut out = String::new();
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .collect();
    if !missing.is_empty() {
        out += &format!(
            "{} keys missing (e.g. {:?}); ",
            missing.len(),
            &missing[..missing.len().min(3)]
        );
    }
    if !extra.is_empty() {
        out += &format!(
            "{} extra keys (e.g. {:?}); ",
            extra.len(),
            &extra[..extra.len().min(3)]
        );
    }
    if let Some(k) = differ.first() {
        out += &format!(
            "{} keys differ, e.g. {k}:\n got  {}\n want {}",
            differ.len(),
            got[*k],
            want[*k]
        );
    }
    out
}

/// Waits until the results topic equals `want`; panics with the difference after `timeout`.
pub fn await_results(
    bootstrap: &str,
    topic: &str,
    want: &BTreeMap<String, Value>,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = latest_results(bootstrap, topic);
        let d = diff(&got, want);
        if d.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("results topic does not equal replay after {timeout:?}: {d}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// [`await_results`], showing the last lines of `engine`'s log when it fails (the log lives in
/// the cluster's directory, removed when the test process ends).
pub fn await_results_of(
    engine: &EngineProcess,
    bootstrap: &str,
    topic: &str,
    want: &BTreeMap<String, Value>,
    timeout: Duration,
) {
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        await_results(bootstrap, topic, want, timeout)
    }));
    if let Err(e) = waited {
        let log = engine.log_text();
        let tail: Vec<&str> = log.lines().rev().take(120).collect();
        eprintln!(
            "last lines of the engine's log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        std::panic::resume_unwind(e);
    }
}

/// Settings of one `chiso run` instance in a test.
#[derive(Debug, Clone)]
pub struct EngineSetup {
    pub bootstrap: String,
    /// Where the instance's configuration and log go: inside the cluster's directory, which is
    /// removed with the cluster when the test process ends.
    pub run_root: PathBuf,
    pub topics: Topics,
    pub instance: String,
    pub clock: String,
    pub static_membership: bool,
    /// Serve the HTTP API on this loopback port (`None`: no HTTP server).
    pub http_port: Option<u16>,
}

impl EngineSetup {
    pub fn new(cluster: &Cluster, topics: &Topics, instance: &str, clock: &str) -> EngineSetup {
        EngineSetup {
            bootstrap: cluster.bootstrap.clone(),
            run_root: cluster.dir.clone(),
            topics: topics.clone(),
            instance: instance.to_owned(),
            clock: clock.to_owned(),
            static_membership: false,
            http_port: None,
        }
    }

    /// This setup's configuration: the checked-in defaults with short intervals (for tests) and
    /// no closed periods kept.
    pub fn settings(&self) -> RunSettings {
        let mut s = run_settings(&self.bootstrap, &self.topics, &self.instance);
        s.kafka.static_membership = self.static_membership;
        let librdkafka = &mut s.kafka.librdkafka;
        librdkafka.insert("session.timeout.ms".into(), Scalar::Int(6000));
        librdkafka.insert("heartbeat.interval.ms".into(), Scalar::Int(500));
        let p = &mut s.pipeline;
        p.commit_interval_ms = 300;
        p.publish_interval_ms = 300;
        p.rollup_interval_ms = 100;
        p.clock = self.clock.clone();
        p.transaction_timeout_ms = 10000;
        s.engine.finals_kept = NO_FINALS;
        s.http.bind = self
            .http_port
            .map_or(String::new(), |p| format!("127.0.0.1:{p}"));
        s.shutdown.timeout_ms = 20000;
        s
    }

    fn config(&self) -> String {
        self.settings().to_toml()
    }

    /// This setup's configuration, loaded as `chiso run` would (for in-process checks).
    pub fn load(&self) -> Arc<chiso::kafka::KafkaConfig> {
        let dir = tempdir();
        let path = dir.path().join("chiso.toml");
        std::fs::write(&path, self.config()).unwrap();
        Arc::new(
            chiso::app::config::load(Some(&path))
                .expect("test configuration")
                .kafka(),
        )
    }

    /// Writes this setup's configuration file (as `chiso run --config` reads it).
    pub fn write_config(&self, path: &Path) {
        std::fs::write(path, self.config()).unwrap();
    }

    /// Starts `chiso run` with this setup; its log goes to a file next to the config.
    pub fn spawn(&self) -> EngineProcess {
        let dir = self.run_root.join(format!("run-{}", self.instance));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("chiso.toml");
        self.write_config(&cfg);
        let log_path = dir.join("run.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let child = Command::new(CHISO)
            .args(["run", "--config"])
            .arg(&cfg)
            // CHISO_TEST_RUST_LOG overrides the engine's log filter when debugging a test.
            .env(
                "RUST_LOG",
                std::env::var("CHISO_TEST_RUST_LOG").unwrap_or_else(|_| "info,chiso=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("chiso run");
        EngineProcess {
            child: Some(child),
            log: log_path,
        }
    }
}

/// A free loopback port (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The HTTP status of `/readyz` on a local engine, `None` if it does not answer.
pub fn readyz(port: u16) -> Option<u16> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    agent
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .call()
        .ok()
        .map(|r| r.status().as_u16())
}

/// Polls `/readyz` until it answers `status`; false if it does not within `within`.
pub fn await_readyz(port: u16, status: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if readyz(port) == Some(status) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A running `chiso run`; killed when dropped.
pub struct EngineProcess {
    child: Option<Child>,
    pub log: PathBuf,
}

impl EngineProcess {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then the exit status (panics if it takes longer than `within`).
    pub fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                if !s.success() {
                    // The log lives in the cluster directory, removed when the test ends: show
                    // its end now.
                    let log = self.log_text();
                    let tail: Vec<&str> = log.lines().rev().take(60).collect();
                    eprintln!(
                        "chiso run exited with {s}; last lines of its log:\n{}",
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
                return s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "chiso run did not stop within {within:?} of SIGTERM; log {}",
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(s) = self.child.as_mut().unwrap().try_wait().unwrap() {
            panic!("chiso run exited ({s}); log:\n{}", self.log_text());
        }
    }
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Writes lines to a file (the input of `chiso replay`).
pub fn write_lines(path: &Path, lines: &[impl AsRef<[u8]>]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for l in lines {
        f.write_all(l.as_ref()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    f.flush().unwrap();
}

/// A directory removed at the end of the test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Produces `lines` at about `per_second` on a thread; the handle returns when all are flushed.
pub fn produce_steadily(
    bootstrap: &str,
    topic: &str,
    lines: Vec<String>,
    per_second: usize,
) -> std::thread::JoinHandle<()> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    std::thread::spawn(move || {
        let p = producer(&bootstrap);
        let t0 = Instant::now();
        let chunk = (per_second / 4).max(1);
        for (i, c) in lines.chunks(chunk).enumerate() {
            send_all(&p, &topic, c.iter().map(|l| l.as_bytes()));
            let due = Duration::from_millis(250 * (i as u64 + 1));
            if let Some(wait) = due.checked_sub(t0.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        flush(&p);
    })
}

/// One instance's ownership intervals read from its log: (what, from, to) with times in
/// microseconds since the epoch; `what` is `p<N>` for event partition N, `rollup` for stage 2.
pub fn ownership(log: &str) -> Vec<(String, i64, i64)> {
    fn micros(line: &str) -> Option<i64> {
        let ts = line.split_whitespace().next()?;
        chrono::DateTime::parse_from_rfc3339(ts)
            .ok()
            .map(|t| t.timestamp_micros())
    }
    fn parts(line: &str) -> Vec<String> {
        let Some(i) = line.find("partitions=[") else {
            return vec![];
        };
        let rest = &line[i + 12..];
        rest[..rest.find(']').unwrap_or(0)]
            .split(',')
            .filter_map(|p| p.trim().parse::<i32>().ok())
            .map(|p| format!("p{p}"))
            .collect()
    }
    let mut open: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = Vec::new();
    let mut last = 0;
    for line in log.lines() {
        let Some(t) = micros(line) else { continue };
        last = t;
        fn close(
            open: &mut BTreeMap<String, i64>,
            what: String,
            t: i64,
            out: &mut Vec<(String, i64, i64)>,
        ) {
            if let Some(from) = open.remove(&what) {
                out.push((what, from, t));
            }
        }
        if line.contains("event partitions assigned") {
            for p in parts(line) {
                open.entry(p).or_insert(t);
            }
        } else if line.contains("event partitions released") {
            for p in parts(line) {
                close(&mut open, p, t, &mut out);
            }
        } else if line.contains("roll-up partition assigned") {
            open.entry("rollup".into()).or_insert(t);
        } else if line.contains("roll-up partition released") {
            close(&mut open, "rollup".into(), t, &mut out);
        } else if line.contains("session ended") {
            // A stage's session ended (its consumer closed, its workers dropped): what that
            // stage owned ended with it.
            let all: Vec<String> = open
                .keys()
                .filter(|w| (*w == "rollup") == line.contains("stage 2"))
                .cloned()
                .collect();
            for w in all {
                close(&mut open, w, t, &mut out);
            }
        } else if line.contains("chiso run starting") || line.contains("chiso run stopped") {
            // A new process (or the end of one): whatever was open ended with it.
            let all: Vec<String> = open.keys().cloned().collect();
            for w in all {
                close(&mut open, w, t, &mut out);
            }
        }
    }
    out.extend(open.into_iter().map(|(w, from)| (w, from, last)));
    out
}

/// Panics if two instances owned the same thing at the same time; the message has both logs'
/// ownership and session lines.
pub fn assert_exclusive(a_log: &str, b_log: &str) {
    let (a, b) = (ownership(a_log), ownership(b_log));
    for (w, f1, t1) in &a {
        for (w2, f2, t2) in &b {
            if w == w2 && f1 < t2 && f2 < t1 {
                let lines = |log: &str| {
                    log.lines()
                        .filter(|l| {
                            ["partition", "session", "chiso run", "ERROR", "WARN"]
                                .iter()
                                .any(|k| l.contains(k))
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                panic!(
                    "{w} owned by two instances at once: {f1}..{t1} and {f2}..{t2}\n\
                     first instance:\n{}\nsecond instance:\n{}",
                    lines(a_log),
                    lines(b_log)
                );
            }
        }
    }
}

/// A validator for one of the published schemas (`deploy/schema/<name>.schema.json`), with
/// format assertion on.
pub fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{ROOT}/deploy/schema/{name}.schema.json");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&s)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every record's value (JSON) of `topic` is valid for `validator`; the number checked.
pub fn assert_topic_valid(
    bootstrap: &str,
    topic: &str,
    validator: &jsonschema::Validator,
) -> usize {
    let records = read_all(bootstrap, topic);
    for r in &records {
        let Some(v) = &r.value else { continue };
        let v: Value = serde_json::from_slice(v).expect("JSON");
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{topic} offset {}: {errors:?}\n{v}",
            r.offset
        );
    }
    records.len()
}

/// The headers of a dead-letter record are valid for the published headers schema.
pub fn assert_headers_valid(r: &Record, validator: &jsonschema::Validator) {
    let v = serde_json::to_value(&r.headers).unwrap();
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "dead-letter headers {v}: {errors:?}");
}

/// The sum of a group's committed offsets (the group of the consumer `c`) over every partition of `topic`.
pub fn committed_total(c: &BaseConsumer, topic: &str) -> i64 {
    let Ok(meta) = c.fetch_metadata(Some(topic), Duration::from_secs(5)) else {
        return 0;
    };
    let mut tpl = TopicPartitionList::new();
    for t in meta.topics() {
        for p in t.partitions() {
            tpl.add_partition(topic, p.id());
        }
    }
    c.committed_offsets(tpl, Duration::from_secs(5))
        .map(|got| {
            got.elements()
                .iter()
                .map(|e| match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
