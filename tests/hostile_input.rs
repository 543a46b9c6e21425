//! Input that tries to exhaust the process: `chiso replay` keeps its memory bounded whatever a
//! line's length, and still counts the line as a reject in its place.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chiso::app::config::RunSettings;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Peak resident memory of a running process, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// A 300 MB line (and a 100 MB one ending the input with no newline) between valid events: the
/// process never holds more than a bounded prefix of a line.
#[test]
fn a_huge_line_is_rejected_with_bounded_memory() {
    let mut child = Command::new(CHISO)
        .args(["replay", "--events", "-", "--agencies"])
        .arg(format!("{ROOT}/config/agencies/tuyen-quang.toml"))
        .args(["--at", "2025-09-30T17:00:00+07:00"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chiso replay");
    let pid = child.id();
    let good = |id: &str| {
        format!(
            r#"{{"event_id":"{id}","type":"received","occurred_at":"2025-09-02T08:00:00+07:00","agency_id":"TQ.SNV","dossier_id":"d-{id}","due_at":"2025-09-09T17:00:00+07:00"}}"#
        )
    };
    let t0 = Instant::now();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", good("g1")).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..300 {
        stdin.write_all(&chunk).unwrap();
    }
    writeln!(stdin).unwrap();
    writeln!(stdin, "{}", good("g2")).unwrap();
    for _ in 0..100 {
        stdin.write_all(&chunk).unwrap();
    }
    stdin.flush().unwrap();
    // Still running (the last line has not ended): its memory so far.
    std::thread::sleep(Duration::from_millis(200));
    let peak = peak_rss_kb(pid);
    drop(stdin);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{err}");
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} kB while reading a 300 MB line (bound: 64 MB)"
    );
    assert!(
        err.contains("4 events read, 2 applied, 0 duplicates, 2 rejected"),
        "{err}"
    );
    assert!(
        err.contains("rejected too_large: 2 (first on line 2:"),
        "{err}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t0.elapsed()
    );
    eprintln!("peak RSS {peak} kB for 400 MB of over-long lines");
}

/// A byte order mark before the first event is not part of it.
#[test]
fn a_byte_order_mark_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    std::fs::write(
        &file,
        "\u{feff}{\"event_id\":\"e1\",\"type\":\"received\",\"occurred_at\":\"2025-09-02T08:00:00+07:00\",\"agency_id\":\"TQ.SNV\",\"dossier_id\":\"d1\",\"due_at\":\"2025-09-09T17:00:00+07:00\"}\r\n",
    )
    .unwrap();
    let out = Command::new(CHISO)
        .args(["replay", "--events"])
        .arg(&file)
        .arg("--agencies")
        .arg(format!("{ROOT}/config/agencies/tuyen-quang.toml"))
        .args(["--at", "2025-09-30T17:00:00+07:00"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("1 event read, 1 applied"), "{err}");
}

/// Options outside what chiso can answer are refused with exit status 2 and a message.
#[test]
fn options_out_of_range_are_refused() {
    let registry = format!("{ROOT}/config/agencies/tuyen-quang.toml");
    let replay = |extra: &[&str]| {
        Command::new(CHISO)
            .args(["replay", "--events", "/dev/null", "--agencies", &registry])
            .args(extra)
            .output()
            .unwrap()
    };
    for (args, needle) in [
        (&["--at", "0001-01-01T00:00:00Z"][..], "outside the years"),
        (
            &["--at", "2025-09-30T17:00:00+07:00", "--period", "1600"][..],
            "outside the years",
        ),
        (
            &["--at", "2025-09-30T17:00:00+07:00", "--period", "2025-10"][..],
            "starts at or after --at",
        ),
        (
            &[
                "--at",
                "2025-09-30T17:00:00+07:00",
                "--max-event-bytes",
                "0",
            ][..],
            "size limit",
        ),
        (
            &["--at", "2025-09-30T17:00:00+07:00", "--due-soon-hours=-5"][..],
            "due-soon horizon",
        ),
    ] {
        let out = replay(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    for (args, needle) in [
        (&["--speed", "1e12"][..], "not a speed"),
        (&["--backlog-days", "100000"][..], "100000"),
        (&["--dossiers-per-day", "0"][..], "dossiers a day"),
        (&["--token", ""][..], "token"),
        (&["--token", " "][..], "token"),
    ] {
        let out = Command::new(CHISO)
            .args(["demo", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// A reader that goes away is no error: the command stops quietly.
#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        &["generate", "--dossiers", "20000"][..],
        &["run", "--check"][..],
        &[
            "replay",
            "--events",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config/samples/tuyen-quang-events.jsonl"
            ),
            "--agencies",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config/agencies/tuyen-quang.toml"
            ),
            "--at",
            "2025-09-30T17:00:00+07:00",
        ][..],
    ] {
        let mut child = Command::new(CHISO)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then hang up.
        let mut one = [0u8; 1];
        child.stdout.take().unwrap().read_exact(&mut one).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
}

/// `chiso run` with no broker to reach says so in a few clear lines, not a flood: the same
/// client error is logged once a minute at most, "all brokers down" once.
#[test]
fn run_without_a_broker_does_not_flood_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chiso.toml");
    let mut s = RunSettings::defaults();
    s.kafka.bootstrap_servers = "127.0.0.1:9".into();
    s.http.bind = String::new();
    s.shutdown.timeout_ms = 5000;
    std::fs::write(&config, s.to_toml()).unwrap();
    let child = Command::new(CHISO)
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(10));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    assert!(
        warnings.len() <= 20,
        "{} warnings in 10 s:\n{}",
        warnings.len(),
        warnings.join("\n")
    );
    let down = log.matches("Kafka unreachable").count();
    assert!(down <= 1, "'Kafka unreachable' {down} times:\n{log}");
}

/// Reported values pooled over a very wide tree stay exact (was: 10,000 agencies each reporting
/// 1.1 at 2^53 made the root's sums saturate at different widths, 0.5 instead of 1.0, 3.0 points
/// instead of 6.0); a value over the documented bound is a clear reject.
#[test]
fn reported_values_pooled_over_ten_thousand_agencies_stay_exact() {
    const N: usize = 10_000;
    const MAX: u64 = 100_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let mut registry =
        String::from("[[agency]]\nid = \"R\"\nname = \"Tỉnh\"\nlevel = \"province\"\n");
    let mut events = String::new();
    for i in 0..N {
        registry.push_str(&format!(
            "[[agency]]\nid = \"C{i}\"\nname = \"Xã {i}\"\nlevel = \"commune\"\nparent = \"R\"\n"
        ));
        events.push_str(&format!(
            r#"{{"event_id":"r{i}","type":"indicator_reported","occurred_at":"2025-09-02T08:00:00+07:00","agency_id":"C{i}","indicator":"1.1","period":"2025-08","numerator":{MAX},"denominator":{MAX}}}"#
        ));
        events.push('\n');
    }
    // Over the bound: rejected, with the bound in the message.
    events.push_str(&format!(
        r#"{{"event_id":"big","type":"indicator_reported","occurred_at":"2025-09-02T08:00:00+07:00","agency_id":"C0","indicator":"1.2","period":"2025-08","numerator":{},"denominator":{}}}"#,
        1u64 << 53,
        1u64 << 53
    ));
    events.push('\n');
    let (reg, ev) = (
        dir.path().join("agencies.toml"),
        dir.path().join("events.jsonl"),
    );
    std::fs::write(&reg, registry).unwrap();
    std::fs::write(&ev, events).unwrap();
    let out = Command::new(CHISO)
        .args(["replay", "--events"])
        .arg(&ev)
        .arg("--agencies")
        .arg(&reg)
        .args(["--at", "2025-09-30T17:00:00+07:00", "--period", "2025-08"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 rejected") && stderr.contains("must be at most 100000000000"),
        "{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let root: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["agency_id"] == "R")
        .unwrap();
    let ind = &root["indicators"]["1.1"];
    assert_eq!(ind["numerator"].as_u64(), Some(MAX * N as u64), "{ind}");
    assert_eq!(ind["denominator"].as_u64(), Some(MAX * N as u64), "{ind}");
    assert_eq!(ind["value"].as_f64(), Some(1.0), "{ind}");
    assert_eq!(ind["points"].as_f64(), Some(6.0), "{ind}");
    assert_eq!(root["score"].as_f64(), Some(100.0), "{root}");
}
