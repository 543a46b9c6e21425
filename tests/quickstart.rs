//! The quick start (`docs/quickstart.md`) run as written: every `sh` block of the page, in
//! order, in one directory, against a broker, a Prometheus and a `chiso run` of its own. The
//! test moves only what would collide with other runs on this machine: the ports (broker,
//! controller, HTTP, Prometheus: free ones instead of the page's), the broker's and Prometheus's
//! directories (temporary ones) and, with them, the Prometheus configuration's target (a copy
//! with the HTTP port). The `chiso` on `PATH` is the one this test suite built.
//!
//! It ends with the results topic holding, for every agency and period that `chiso replay`
//! prints for the sample at the pinned clock, exactly what `chiso replay` prints.

mod support_kafka;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support_kafka::{free_port, latest_results, replay};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
/// The pinned clock of `config/quickstart.toml`.
const AT: &str = "2025-09-30T17:00:00+07:00";

/// The `sh` blocks of a Markdown page, in order.
fn sh_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Stops what the page started, whatever happens to the test.
struct Cleanup {
    env: Vec<(String, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let pid_file = Path::new(ROOT).join("target/chiso-run.pid");
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let _ = Command::new("kill").arg(pid.trim()).status();
            let _ = std::fs::remove_file(pid_file);
        }
        for script in ["scripts/prometheus", "scripts/kafka"] {
            let _ = Command::new(script)
                .arg("stop")
                .current_dir(ROOT)
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .status();
        }
    }
}

#[test]
fn the_quick_start_runs_as_written() {
    let page = std::fs::read_to_string(Path::new(ROOT).join("docs/quickstart.md")).unwrap();
    let blocks = sh_blocks(&page);
    assert!(blocks.len() >= 6, "the page has its steps");
    let dir = tempfile::tempdir().unwrap();
    let (kafka, controller, http, prom) = (free_port(), free_port(), free_port(), free_port());
    // Prometheus's configuration with the HTTP port moved (its rules next to it, as shipped).
    let prom_dir = dir.path().join("prometheus-config");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let shipped = Path::new(ROOT).join("deploy/prometheus");
    let yml = std::fs::read_to_string(shipped.join("prometheus.yml")).unwrap();
    std::fs::write(
        prom_dir.join("prometheus.yml"),
        yml.replace("127.0.0.1:8766", &format!("127.0.0.1:{http}")),
    )
    .unwrap();
    std::fs::copy(shipped.join("alerts.yml"), prom_dir.join("alerts.yml")).unwrap();
    let bin_dir = PathBuf::from(CHISO).parent().unwrap().to_owned();
    let env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        ),
        (
            "CHISO_RUN_DIR".into(),
            dir.path().join("kafka").display().to_string(),
        ),
        ("CHISO_KAFKA_PORT".into(), kafka.to_string()),
        ("CHISO_KAFKA_CONTROLLER_PORT".into(), controller.to_string()),
        (
            "CHISO_PROM_DIR".into(),
            dir.path().join("prometheus").display().to_string(),
        ),
        ("CHISO_PROM_PORT".into(), prom.to_string()),
        (
            "CHISO_KAFKA__BOOTSTRAP_SERVERS".into(),
            format!("127.0.0.1:{kafka}"),
        ),
        ("CHISO_HTTP__BIND".into(), format!("127.0.0.1:{http}")),
    ];
    let _cleanup = Cleanup { env: env.clone() };
    std::fs::create_dir_all(Path::new(ROOT).join("target")).unwrap();
    let _ = std::fs::remove_dir_all(Path::new(ROOT).join("target/reports"));
    let mut transcript = String::new();
    for block in &blocks {
        let script = block
            .replace("127.0.0.1:19092", &format!("127.0.0.1:{kafka}"))
            .replace("127.0.0.1:8766", &format!("127.0.0.1:{http}"))
            .replace("127.0.0.1:19090", &format!("127.0.0.1:{prom}"))
            .replace(
                "deploy/prometheus/prometheus.yml",
                &prom_dir.join("prometheus.yml").display().to_string(),
            );
        if script.contains("chiso report") {
            // The notice reads the results topic: wait until the sample's results are all in.
            await_replays_results(kafka, &mut transcript);
        }
        let out = Command::new("timeout")
            .args(["300", "bash", "-e", "-c", &script])
            .current_dir(ROOT)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("bash");
        transcript.push_str(&format!(
            "$ {script}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        assert!(
            out.status.success(),
            "a quick start block failed ({}):\n{transcript}",
            out.status
        );
    }
    eprintln!("{transcript}");
    // What the steps printed: the produce summary, the API's province, its score in the metrics
    // and in Prometheus, three results records, the notice.
    assert!(transcript.contains("0 failed"), "{transcript}");
    assert!(transcript.contains("\"agency_id\":\"TQ\""), "{transcript}");
    assert!(transcript.contains("chiso_score{"), "{transcript}");
    assert!(transcript.contains("TQ|"), "{transcript}");
    // The steps as written print no deprecation notices of the tools they run.
    for noise in ["deprecated", "DEPRECATED", "KIP-848"] {
        assert!(!transcript.contains(noise), "`{noise}` in:\n{transcript}");
    }
    let notice =
        std::fs::read_to_string(Path::new(ROOT).join("target/reports/report-2025-09.html"))
            .expect("the notice was written");
    assert!(notice.contains("Tuyên Quang"));
}

/// Waits (at most 120 s) until the results topic holds `chiso replay`'s results of the sample.
fn await_replays_results(kafka: u16, transcript: &mut String) {
    let want = replay(
        &Path::new(ROOT).join("config/samples/tuyen-quang-events.jsonl"),
        AT,
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = latest_results(&format!("127.0.0.1:{kafka}"), "chiso.results");
        let missing: Vec<&String> = want
            .keys()
            .filter(|k| got.get(*k) != want.get(*k))
            .collect();
        if missing.is_empty() {
            transcript.push_str(&format!(
                "# the results topic holds chiso replay's {} results\n",
                want.len()
            ));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} results differ from chiso replay's, e.g. {}\n{transcript}",
            missing.len(),
            want.len(),
            missing[0]
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}
