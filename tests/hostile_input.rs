//! Input that tries to exhaust the process: `chiso replay` keeps its memory bounded whatever a
//! line's length, and still counts the line as a reject in its place.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
