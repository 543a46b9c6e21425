//! The container image (`Containerfile`, built by `scripts/image`): it holds the binary and what
//! it loads, nothing else (no shell), runs as a non-root user, carries the OCI labels, and its
//! entrypoint, run as the image says, joins a real Kafka and answers `/healthz` and `/readyz`.
//!
//! `podman run` cannot start containers in the sandbox the suite runs in (crun's `setrlimit`
//! is refused), so the running test takes the image's root file system out with `podman export`
//! and starts the image's entrypoint and command in it with `chroot`, as the image's user, with
//! only the image's environment and the variables a deployment would pass. The image is built
//! from the binary the suite has just built (the `prebuilt` target); the default target compiles
//! the same binary in the image.

mod support_kafka;
mod support_tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use support_kafka::*;
use support_tools::tool;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The image's user and group (deploy/image/passwd).
const USER: &str = "10001:10001";

/// Whether a program is on PATH.
/// Runs `scripts/image` with `args`; its standard output.
fn image_script(args: &[&str]) -> String {
    let out = Command::new(Path::new(ROOT).join("scripts/image"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/image");
    assert!(
        out.status.success(),
        "scripts/image {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The image built once for this test binary, from the binary just built, and removed when the
/// process ends; `None` (and a SKIPPED line) where podman is not installed.
fn image() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            tool("podman", "scripts/image install", "the container image")?;
            image_script(&["base"]);
            let tag = format!("localhost/chiso-test:{}", std::process::id());
            let id = image_script(&["build", "--binary", CHISO, "--tag", &tag])
                .trim()
                .to_owned();
            // The tag is removed with the process (podman keeps the layers for the next build):
            // the watcher outlives this process, so it is never waited for.
            let watcher = format!(
                "while kill -0 {pid} 2>/dev/null; do sleep 1; done; podman rmi --force {tag} >/dev/null 2>&1",
                pid = std::process::id()
            );
            #[allow(clippy::zombie_processes)]
            Command::new("setsid")
                .args(["sh", "-c", &watcher])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting the image watcher");
            let out = Command::new("podman")
                .args(["image", "inspect", &id])
                .output()
                .expect("podman image inspect");
            assert!(out.status.success(), "podman image inspect {id}");
            let inspect: Value = serde_json::from_slice(&out.stdout).unwrap();
            Some(Built {
                tag,
                inspect: inspect[0].clone(),
            })
        })
        .as_ref()
}

struct Built {
    tag: String,
    /// `podman image inspect`'s object for the image.
    inspect: Value,
}

impl Built {
    fn config(&self) -> &Value {
        &self.inspect["Config"]
    }

    fn strings(&self, key: &str) -> Vec<String> {
        self.config()[key]
            .as_array()
            .unwrap_or_else(|| panic!("image config {key}: {}", self.config()))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// The image's root file system, extracted into a fresh directory.
    fn rootfs(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempdir();
        let root = dir.path().join("rootfs");
        image_script(&["rootfs", &self.tag, root.to_str().unwrap()]);
        (dir, root)
    }
}

/// Every path under `root` (files, links and directories), relative, with `/` in front.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.insert(format!("/{}", path.strip_prefix(root).unwrap().display()));
            if path.is_dir() && !path.is_symlink() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn the_image_holds_the_binary_and_its_libraries_only_and_runs_as_a_user() {
    let Some(image) = image() else { return };
    let config = image.config();
    assert_eq!(config["User"], USER, "the image's user");
    assert_eq!(image.strings("Entrypoint"), ["/usr/local/bin/chiso"]);
    assert_eq!(
        image.strings("Cmd"),
        ["run", "--config", "/etc/chiso/chiso.toml"]
    );
    assert!(
        config["ExposedPorts"].get("8766/tcp").is_some(),
        "exposed ports: {}",
        config["ExposedPorts"]
    );
    // Probe-friendly, no HEALTHCHECK: there is nothing in the image to run one with.
    assert!(
        config["Healthcheck"].is_null(),
        "healthcheck: {}",
        config["Healthcheck"]
    );

    // The OCI labels, with the version of Cargo.toml and the checkout's revision.
    let labels = &config["Labels"];
    let label = |k: &str| {
        labels[format!("org.opencontainers.image.{k}")]
            .as_str()
            .unwrap_or_else(|| panic!("label {k} missing: {labels}"))
            .to_owned()
    };
    assert_eq!(label("title"), "chiso");
    assert_eq!(label("version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(label("licenses"), env!("CARGO_PKG_LICENSE"));
    assert_eq!(label("description"), env!("CARGO_PKG_DESCRIPTION"));
    let revision = label("revision");
    assert!(
        revision == "unknown"
            || (revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())),
        "revision label {revision}"
    );

    // Exactly these files: no shell, no package manager, no tool to live off.
    let (_dir, root) = image.rootfs();
    let files: BTreeSet<String> = tree(&root)
        .into_iter()
        .filter(|p| !root.join(&p[1..]).is_dir())
        .collect();
    let libs = "/usr/lib/x86_64-linux-gnu";
    let want: BTreeSet<String> = [
        "/etc/chiso/chiso.toml",
        "/etc/group",
        "/etc/passwd",
        "/etc/ssl/certs/ca-certificates.crt",
        "/lib64/ld-linux-x86-64.so.2",
        "/usr/local/bin/chiso",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(
        [
            "libc.so.6",
            "libcrypto.so.3",
            "libgcc_s.so.1",
            "libm.so.6",
            "libssl.so.3",
            "libz.so.1",
        ]
        .iter()
        .map(|l| format!("{libs}/{l}")),
    )
    .collect();
    assert_eq!(files, want, "the image's files");
    assert_eq!(
        std::fs::read(root.join("usr/local/bin/chiso")).unwrap(),
        std::fs::read(CHISO).unwrap(),
        "the image's binary is not the one built"
    );

    // Nothing in it is writable by the user it runs as (files are root's, not world-writable).
    use std::os::unix::fs::MetadataExt;
    for f in &files {
        let m = std::fs::symlink_metadata(root.join(&f[1..])).unwrap();
        assert_eq!(m.uid(), 0, "{f} is owned by uid {}", m.uid());
        assert_eq!(m.mode() & 0o002, 0, "{f} is world-writable");
    }
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("chiso:x:10001:10001:")),
        "{passwd}"
    );

    // What it weighs: the layers, as podman counts them.
    let size = image.inspect["Size"].as_u64().unwrap();
    let binary = std::fs::metadata(CHISO).unwrap().len();
    eprintln!(
        "image size: {:.1} MB (binary {:.1} MB)",
        size as f64 / 1e6,
        binary as f64 / 1e6
    );
    assert!(
        size < binary + 20_000_000,
        "the image is {size} bytes for a {binary}-byte binary"
    );
}

/// The image's environment (`Env`), as `KEY=value` pairs.
fn image_env(image: &Built) -> Vec<(String, String)> {
    image
        .config()
        .get("Env")
        .and_then(Value::as_array)
        .map(|env| {
            env.iter()
                .filter_map(|v| v.as_str()?.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// GETs `path` on a local port; the status and body, `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut r = agent
        .get(format!("http://127.0.0.1:{port}{path}"))
        .call()
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.body_mut().read_to_string().unwrap_or_default()))
}

#[test]
fn the_entrypoint_joins_kafka_and_answers_the_probes_as_its_user() {
    let Some(image) = image() else { return };
    if uid_of("self").as_deref() != Some("0") {
        eprintln!("SKIPPED: running the image's root file system needs root (chroot)");
        return;
    }
    let cluster = Cluster::shared();
    let topics = cluster.topics("image", 2);
    let (_dir, root) = image.rootfs();
    // A deployment mounts its agency registry; here it is copied where the mount would be.
    std::fs::copy(
        Path::new(ROOT).join("config/agencies/tuyen-quang.toml"),
        root.join("etc/chiso/agencies.toml"),
    )
    .unwrap();

    // The image's entrypoint and command, as the image's user, with the image's environment
    // and what a deployment passes: the broker, the topics, the registry, and (as a port
    // mapping would) where the HTTP server listens.
    let port = free_port();
    let mut argv = image.strings("Entrypoint");
    argv.extend(image.strings("Cmd"));
    let log_path = root.parent().unwrap().join("chiso.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new("chroot")
        .arg(format!("--userspec={USER}"))
        .arg(&root)
        .args(&argv)
        .env_clear()
        .envs(image_env(image))
        .env("CHISO_KAFKA__BOOTSTRAP_SERVERS", &cluster.bootstrap)
        .env("CHISO_KAFKA__GROUP_ID", &topics.prefix)
        .env("CHISO_KAFKA__TOPICS__EVENTS", &topics.events)
        .env("CHISO_KAFKA__TOPICS__STATE", &topics.state)
        .env("CHISO_KAFKA__TOPICS__PARTIALS", &topics.partials)
        .env("CHISO_KAFKA__TOPICS__RESULTS", &topics.results)
        .env("CHISO_KAFKA__TOPICS__DEAD_LETTER", &topics.dead_letter)
        .env("CHISO_ENGINE__AGENCIES", "/etc/chiso/agencies.toml")
        .env("CHISO_HTTP__BIND", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("chroot");
    let log_text = || std::fs::read_to_string(&log_path).unwrap_or_default();

    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the image's entrypoint exited ({status}):\n{}", log_text());
        }
        if readyz(port) == Some(200) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !ready {
        let _ = child.kill();
        panic!("/readyz did not answer 200 within 60 s:\n{}", log_text());
    }
    let (status, _) = get(port, "/healthz").expect("/healthz");
    assert_eq!(status, 200);
    let (status, metrics) = get(port, "/metrics").expect("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("chiso_"),
        "no chiso metric in /metrics:\n{}",
        &metrics[..metrics.len().min(2000)]
    );

    // It runs as the image's user, not root (`chroot` execs the entrypoint: the child is chiso).
    assert_eq!(
        uid_of(&child.id().to_string()).as_deref(),
        Some("10001"),
        "the process's uid"
    );

    // SIGTERM, the container runtime's stop signal: a clean exit well within the grace period.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(25);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit within 25 s of SIGTERM:\n{}", log_text());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit {status}:\n{}", log_text());
}

/// The real uid of process `pid` (`self`: this one).
fn uid_of(pid: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1).map(str::to_owned)
}
