//! The three systems as processes: the raw consumer (this binary again), `chiso run` and the
//! Kafka Streams peer; what one pass of each measured.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

use crate::support_kafka::*;
use crate::COMMIT_MS;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");

/// What one pass of one system measured.
#[derive(Clone, Debug)]
pub(crate) struct Measured {
    pub(crate) events_per_s: f64,
    pub(crate) cpu_s: f64,
    pub(crate) peak_rss_mb: f64,
    /// From start to the first record on the output topic (None for the raw consumer).
    pub(crate) first_result_s: Option<f64>,
}

/// CPU-seconds (user + system) and peak RSS (MB) of a live process, from /proc.
pub(crate) fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let cpu = (ticks(11) + ticks(12)) / clock_ticks();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, hwm_kb / 1024.0)
}

/// Clock ticks per second of `/proc/<pid>/stat`, asked of `getconf` once.
pub(crate) fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output();
        out.ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A process's log file, opened for appending (a restarted process writes after the first).
fn append_log(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// `kill -9`, and waits for the exit.
fn kill9(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Polls until `group` has committed `n` offsets of `topic`; panics after 30 minutes.
pub(crate) fn await_committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    n: usize,
    child: &mut Child,
) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offsets reader");
    let deadline = Instant::now() + Duration::from_secs(1800);
    while committed_total(&c, topic) < n as i64 {
        if let Some(s) = child.try_wait().unwrap() {
            panic!("{group}: exited ({s}) before committing every event");
        }
        assert!(Instant::now() < deadline, "{group}: not done in 30 minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, and waits for the exit.
pub(crate) fn terminate(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// The earliest record timestamp (ms since the epoch) of a topic.
pub(crate) fn first_record_ms(bootstrap: &str, topic: &str) -> Option<i64> {
    read_all(bootstrap, topic)
        .iter()
        .filter_map(|r| r.timestamp)
        .min()
}

/// The baseline in a process of its own: this binary again, as CHISO_PEERS_ROLE=raw.
pub(crate) fn run_raw(cluster: &Cluster, topic: &str, n: usize, group: &str) -> Measured {
    let started = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .env("CHISO_PEERS_ROLE", "raw")
        .env("CHISO_PEERS_BOOTSTRAP", &cluster.bootstrap)
        .env("CHISO_PEERS_TOPIC", topic)
        .env("CHISO_PEERS_GROUP", group)
        .env("CHISO_PEERS_N", n.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("raw consumer");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "raw consumer failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let (cpu, rss) = text
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("raw: ")?;
            let mut it = rest.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            Some((it.next()?, it.next()?))
        })
        .expect("the raw consumer's usage line");
    Measured {
        events_per_s: n as f64 / secs,
        cpu_s: cpu,
        peak_rss_mb: rss,
        first_result_s: None,
    }
}

/// CHISO_PEERS_ROLE=raw: a plain group consumer that polls every message of the topic and
/// touches its payload, then prints its own CPU and peak RSS.
pub(crate) fn raw_consumer() {
    let var = |k: &str| std::env::var(k).unwrap();
    let n: usize = var("CHISO_PEERS_N").parse().unwrap();
    let raw: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", var("CHISO_PEERS_BOOTSTRAP"))
        .set("group.id", var("CHISO_PEERS_GROUP"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    raw.subscribe(&[&var("CHISO_PEERS_TOPIC")]).unwrap();
    let (mut seen, mut bytes) = (0usize, 0usize);
    while seen < n {
        if let Some(Ok(m)) = raw.poll(Duration::from_millis(100)) {
            bytes += m.payload().map_or(0, |p| p.len());
            seen += 1;
        }
    }
    std::hint::black_box(bytes);
    let (cpu, rss) = usage(std::process::id());
    println!("raw: {cpu} {rss}");
}

/// When a system was started, to measure its pass.
pub(crate) struct Started {
    pub(crate) at: Instant,
    pub(crate) epoch_ms: i64,
}

impl Started {
    pub(crate) fn now() -> Started {
        Started {
            at: Instant::now(),
            epoch_ms: now_ms(),
        }
    }

    /// Waits until `group` has committed all `n` events of `events`, then measures the process;
    /// and, three commit intervals later (both publish the results of their last events a moment
    /// after that commit), the time to the first record on `output`.
    pub(crate) fn measure(
        &self,
        bootstrap: &str,
        group: &str,
        events: &str,
        output: &str,
        n: usize,
        child: &mut Child,
    ) -> Measured {
        await_committed(bootstrap, group, events, n, child);
        let secs = self.at.elapsed().as_secs_f64();
        let (cpu, rss) = usage(child.id());
        std::thread::sleep(Duration::from_millis(3 * COMMIT_MS));
        let first =
            first_record_ms(bootstrap, output).map(|ms| (ms - self.epoch_ms) as f64 / 1000.0);
        Measured {
            events_per_s: n as f64 / secs,
            cpu_s: cpu,
            peak_rss_mb: rss,
            first_result_s: first,
        }
    }
}

/// One `chiso run` pass: its own group, output topics and HTTP port, the shared events topic.
pub(crate) struct ChisoRun {
    pub(crate) bootstrap: String,
    pub(crate) topics: Topics,
    pub(crate) config: PathBuf,
    pub(crate) port: u16,
    pub(crate) log: PathBuf,
}

impl ChisoRun {
    pub(crate) fn new(
        cluster: &Cluster,
        events: &str,
        tag: &str,
        clock: &str,
        agencies: &Path,
    ) -> ChisoRun {
        let topics = Topics {
            events: events.to_owned(),
            ..cluster.topics(&format!("c{tag}"), 4)
        };
        let dir = cluster.dir.join(format!("chiso-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("chiso.toml");
        let port = free_port();
        let mut s = run_settings(&cluster.bootstrap, &topics, &topics.prefix);
        s.kafka.static_membership = true;
        s.pipeline.clock = clock.to_owned();
        s.pipeline.commit_interval_ms = COMMIT_MS;
        s.engine.agencies = agencies.display().to_string();
        s.engine.finals_kept = NO_FINALS;
        s.http.bind = format!("127.0.0.1:{port}");
        std::fs::write(&config, s.to_toml()).unwrap();
        ChisoRun {
            bootstrap: cluster.bootstrap.clone(),
            log: dir.join("run.log"),
            topics,
            config,
            port,
        }
    }

    pub(crate) fn spawn(&self) -> Child {
        let log = append_log(&self.log);
        Command::new(CHISO)
            .args(["run", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("chiso run")
    }

    /// Consumes the whole topic; the measurement and the still running process.
    pub(crate) fn consume(&self, n: usize) -> (Measured, Child) {
        let started = Started::now();
        let mut child = self.spawn();
        let t = &self.topics;
        let m = started.measure(
            &self.bootstrap,
            &t.prefix,
            &t.events,
            &t.results,
            n,
            &mut child,
        );
        (m, child)
    }

    /// `kill -9`, then the seconds from the new start to `/readyz` 200 (state restored), and the
    /// new process, still running.
    pub(crate) fn restart_after_kill(&self, child: Child) -> (f64, Child) {
        kill9(child);
        let started = Instant::now();
        let child = self.spawn();
        assert!(
            await_readyz(self.port, 200, Duration::from_secs(600)),
            "chiso not ready after its restart; log {}",
            self.log.display()
        );
        (started.elapsed().as_secs_f64(), child)
    }
}

/// One pass of the Kafka Streams peer: its own application id (group), state directory and
/// output topic.
pub(crate) struct PeerRun {
    pub(crate) bootstrap: String,
    pub(crate) jar: PathBuf,
    pub(crate) app_id: String,
    pub(crate) events: String,
    pub(crate) output: String,
    pub(crate) state_dir: PathBuf,
    pub(crate) clock: String,
    pub(crate) log: PathBuf,
    pub(crate) profile: PeerProfile,
}

impl PeerRun {
    pub(crate) fn new(
        cluster: &Cluster,
        jar: &Path,
        events: &str,
        tag: &str,
        clock: &str,
        profile: &PeerProfile,
    ) -> PeerRun {
        let topics = cluster.topics(&format!("k{tag}"), 4);
        let dir = cluster.dir.join(format!("peer-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        PeerRun {
            bootstrap: cluster.bootstrap.clone(),
            jar: jar.to_owned(),
            app_id: topics.prefix.clone(),
            events: events.to_owned(),
            output: topics.results,
            state_dir: dir.join("state"),
            clock: clock.to_owned(),
            log: dir.join("peer.log"),
            profile: profile.clone(),
        }
    }

    /// Starts the peer; a thread copies its standard output to the log and reports when it
    /// says it is running.
    pub(crate) fn spawn(&self) -> (Child, std::sync::mpsc::Receiver<()>) {
        let log = append_log(&self.log);
        let mut child = Command::new("java")
            .args(self.profile.jvm_options())
            .arg("-jar")
            .arg(&self.jar)
            .args(["--bootstrap", &self.bootstrap])
            .args(["--input", &self.events])
            .args(["--output", &self.output])
            .args(["--app-id", &self.app_id])
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(["--clock", &self.clock])
            .args(["--commit-interval-ms", &COMMIT_MS.to_string()])
            .args(self.profile.peer_options())
            // Static membership, as chiso is run here: a restarted instance takes its tasks
            // back at once instead of waiting for its predecessor's session to time out.
            .arg("--config")
            .arg(format!("group.instance.id={}-1", self.app_id))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .expect("java -jar (the Kafka Streams peer)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut log = log;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                use std::io::Write;
                let _ = writeln!(log, "{line}");
                if line.trim() == "peer: running" {
                    let _ = tx.send(());
                }
            }
        });
        (child, rx)
    }

    pub(crate) fn consume(&self, n: usize) -> (Measured, Child) {
        let started = Started::now();
        let (mut child, _running) = self.spawn();
        let m = started.measure(
            &self.bootstrap,
            &self.app_id,
            &self.events,
            &self.output,
            n,
            &mut child,
        );
        (m, child)
    }

    /// `kill -9`, then the seconds from the new start to Kafka Streams' RUNNING state (its
    /// stores restored from their changelogs: under exactly-once an unclean stop leaves no
    /// checkpoint to start from), and the new process, still running.
    pub(crate) fn restart_after_kill(&self, child: Child) -> (f64, Child) {
        kill9(child);
        let started = Instant::now();
        let (child, running) = self.spawn();
        running
            .recv_timeout(Duration::from_secs(600))
            .unwrap_or_else(|_| panic!("the peer never ran again; log {}", self.log.display()));
        (started.elapsed().as_secs_f64(), child)
    }
}

/// How the peer is configured (CHISO_BENCH_PEER_PROFILE): `defaults`, Kafka Streams' own
/// RocksDB settings (a block cache and write buffers per store); or `bounded`, as a team would
/// configure it when memory matters: one RocksDB budget for all stores (the peer's
/// `--rocksdb-memory-mb`, CHISO_BENCH_PEER_ROCKSDB_MB, default 64) and a smaller heap. Either
/// way the JVM runs G1 with a maximum heap (CHISO_BENCH_PEER_HEAP, default 1g, or 384m when
/// bounded) and no minimum, so that its resident memory follows what it uses rather than what
/// it is allowed.
#[derive(Clone, Debug)]
pub(crate) struct PeerProfile {
    heap: String,
    /// Some for `bounded`.
    rocksdb_mb: Option<u64>,
}

impl PeerProfile {
    pub(crate) fn from_env() -> PeerProfile {
        let var = |k: &str| std::env::var(k).ok();
        let mb = var("CHISO_BENCH_PEER_ROCKSDB_MB");
        let rocksdb_mb = match var("CHISO_BENCH_PEER_PROFILE").as_deref() {
            None | Some("defaults") => {
                assert!(
                    mb.is_none(),
                    "CHISO_BENCH_PEER_ROCKSDB_MB applies to CHISO_BENCH_PEER_PROFILE=bounded only"
                );
                None
            }
            Some("bounded") => Some(mb.map_or(64, |v| {
                v.parse()
                    .expect("CHISO_BENCH_PEER_ROCKSDB_MB: a number of megabytes")
            })),
            Some(other) => panic!("CHISO_BENCH_PEER_PROFILE: defaults or bounded, not {other:?}"),
        };
        let heap = var("CHISO_BENCH_PEER_HEAP")
            .unwrap_or_else(|| if rocksdb_mb.is_some() { "384m" } else { "1g" }.into());
        PeerProfile { heap, rocksdb_mb }
    }

    /// The JVM's options.
    fn jvm_options(&self) -> Vec<String> {
        vec![format!("-Xmx{}", self.heap), "-XX:+UseG1GC".into()]
    }

    /// The peer's own options.
    fn peer_options(&self) -> Vec<String> {
        self.rocksdb_mb
            .map(|mb| vec!["--rocksdb-memory-mb".into(), mb.to_string()])
            .unwrap_or_default()
    }
}

impl std::fmt::Display for PeerProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rocksdb_mb {
            Some(mb) => write!(
                f,
                "bounded (heap -Xmx{}; RocksDB {mb} MB for all stores: one block cache, charged for index and filter blocks and memtables)",
                self.heap
            ),
            None => write!(
                f,
                "defaults (heap -Xmx{}; RocksDB's block cache and write buffers per store)",
                self.heap
            ),
        }
    }
}
