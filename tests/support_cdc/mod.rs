//! Shared helpers of the change-data-capture tests: a throwaway PostgreSQL started by
//! `scripts/postgres` and a Kafka Connect worker with Debezium's PostgreSQL connector started by
//! `scripts/connect` against a `support_kafka::Cluster`.
//!
//! Each handle stops what it started when dropped, and a watcher process stops it when the test
//! binary exits without dropping it (a kill). Ports are free ones picked at random, directories
//! are named after the test and the process, so that several runs on one machine do not meet.
//!
//! PostgreSQL's server and psql are Debian's packages (`scripts/postgres install`); Connect's
//! jars come from Maven Central into the cache (`scripts/connect install`, also run on first
//! use like `scripts/kafka`), it needs java, curl and jq. A missing program is a SKIPPED line,
//! or a failure under `CHISO_TEST_TOOLS=required`, as in `support_tools`.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::support_kafka::{watch, Cluster};
use crate::support_tools::tool;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The PostgreSQL major version `scripts/postgres` runs, and where Debian puts its server.
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn required() -> bool {
    std::env::var("CHISO_TEST_TOOLS").is_ok_and(|v| v == "required")
}

/// True when PostgreSQL 15 (server and psql) is installed; otherwise a SKIPPED line (or a
/// failure when the suite requires every tool).
pub fn postgres_available(unchecked: &str) -> bool {
    let psql = tool("psql", "scripts/postgres install", unchecked).is_some();
    let server = Path::new(PG_BIN).join("postgres").is_file();
    if psql && !server {
        assert!(
            !required(),
            "PostgreSQL's server ({PG_BIN}/postgres) is not installed, so {unchecked} cannot be \
             checked: install it with `scripts/postgres install` (scripts/test does)"
        );
        eprintln!(
            "SKIPPED: PostgreSQL's server is not installed (`scripts/postgres install`), so \
             {unchecked} was not checked"
        );
    }
    psql && server
}

/// True when what `scripts/connect` runs is there (java; curl and jq for its REST calls).
pub fn connect_available(unchecked: &str) -> bool {
    [
        ("java", "apt-get install -y openjdk-17-jre-headless"),
        ("curl", "scripts/connect install"),
        ("jq", "scripts/connect install"),
    ]
    .iter()
    .all(|(program, install)| tool(program, install, unchecked).is_some())
}

fn port_free(p: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// A free port on 127.0.0.1 in 36000..50000, picked at random.
pub fn free_port() -> u16 {
    let mut x = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64;
    loop {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let p = 36000 + ((x >> 33) % 14000) as u16;
        if port_free(p) {
            return p;
        }
    }
}

/// Runs `scripts/NAME ARGS` with `envs`, stderr shown; panics with its stdout when it fails.
fn script(name: &str, args: &[&str], envs: &[(&str, String)]) -> Output {
    let out = Command::new(format!("{ROOT}/scripts/{name}"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{name}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn last_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("a last stdout line")
        .trim()
        .to_owned()
}

/// What a handle does when dropped: `scripts/NAME stop --dir DIR`, then removes `dir`.
fn stop(name: &str, dir: &Path) {
    let _ = Command::new(format!("{ROOT}/scripts/{name}"))
        .args(["stop", "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(dir);
}

/// A throwaway PostgreSQL cluster (database `onestop`, the Debezium user with REPLICATION),
/// stopped and removed on drop.
pub struct Postgres {
    pub dir: PathBuf,
    pub port: u16,
    /// `postgresql://USER:PASSWORD@127.0.0.1:PORT/onestop`
    pub uri: String,
}

impl Postgres {
    /// Starts a fresh cluster; `None` (after a SKIPPED line) when PostgreSQL is not installed
    /// and the suite does not require it.
    pub fn start(name: &str) -> Option<Postgres> {
        if !postgres_available("the change-data-capture chain") {
            return None;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("chiso-test-pg-{name}-{}", std::process::id()));
        let d = dir.to_string_lossy().into_owned();
        let out = script(
            "postgres",
            &["start", "--dir", &d, "--port", &port.to_string()],
            &[],
        );
        watch(&format!("'{ROOT}/scripts/postgres' stop --dir '{d}'"), &dir);
        Some(Postgres {
            uri: last_line(&out),
            dir,
            port,
        })
    }

    /// Runs `sql` through psql as one script: each statement is its own transaction (psql's
    /// autocommit), the first error fails the call. Returns what psql printed.
    pub fn psql(&self, sql: &str) -> String {
        let mut child = Command::new(format!("{ROOT}/scripts/postgres"))
            .args(["psql", "--dir"])
            .arg(&self.dir)
            .args(["-q", "-At", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("running scripts/postgres psql");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .expect("writing to psql");
        let out = child.wait_with_output().expect("psql");
        assert!(out.status.success(), "psql failed on:\n{sql}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the SQL file at `path` (relative to the repository) through `psql`.
    pub fn psql_file(&self, path: &str) -> String {
        let sql = std::fs::read_to_string(Path::new(ROOT).join(path))
            .unwrap_or_else(|e| panic!("reading {path}: {e}"));
        self.psql(&sql)
    }

    /// Waits until replication slot `slot` exists and a client streams from it: once Debezium
    /// streams, every later statement is one change record (none folded into its snapshot).
    pub fn wait_slot(&self, slot: &str) {
        let d = self.dir.to_string_lossy().into_owned();
        script("postgres", &["wait-slot", slot, "--dir", &d], &[]);
    }

    /// The environment `scripts/connect register` fills a connector file's placeholders from.
    pub fn connector_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CHISO_PG_HOST", "127.0.0.1".to_owned()),
            ("CHISO_PG_PORT", self.port.to_string()),
        ]
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        stop("postgres", &self.dir);
    }
}

/// A Kafka Connect worker (distributed mode, its own group and internal topics) on a cluster,
/// with Debezium's PostgreSQL connector installed; stopped on drop.
pub struct Connect {
    pub dir: PathBuf,
    pub port: u16,
    /// `http://127.0.0.1:PORT`, its REST API.
    pub url: String,
    pub group: String,
}

impl Connect {
    /// Starts a worker on `cluster`; `None` (after a SKIPPED line) when java, curl or jq is
    /// missing and the suite does not require them.
    pub fn start(cluster: &Cluster, name: &str) -> Option<Connect> {
        if !connect_available("the change-data-capture chain") {
            return None;
        }
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("chiso-test-connect-{name}-{}", std::process::id()));
        let d = dir.to_string_lossy().into_owned();
        let group = format!("chiso-test-{name}-{}", std::process::id());
        let out = script(
            "connect",
            &[
                "start",
                "--bootstrap",
                &cluster.bootstrap,
                "--dir",
                &d,
                "--port",
                &port.to_string(),
                "--group",
                &group,
            ],
            &[],
        );
        watch(&format!("'{ROOT}/scripts/connect' stop --dir '{d}'"), &dir);
        Some(Connect {
            url: last_line(&out),
            dir,
            port,
            group,
        })
    }

    /// Registers the connector of `file` (relative to the repository, e.g.
    /// `deploy/debezium/onestop-postgres.json`) against `pg`, its records going to
    /// `TOPIC_PREFIX.public.<table>`; returns once the connector and its task are RUNNING.
    /// Returns the connector's name.
    pub fn register(&self, file: &str, pg: &Postgres, topic_prefix: &str) -> String {
        let mut env = pg.connector_env();
        env.push(("CHISO_CDC_TOPIC_PREFIX", topic_prefix.to_owned()));
        let d = self.dir.to_string_lossy().into_owned();
        let path = format!("{ROOT}/{file}");
        last_line(&script("connect", &["register", &path, "--dir", &d], &env))
    }
}

impl Drop for Connect {
    fn drop(&mut self) {
        stop("connect", &self.dir);
    }
}
