//! Hostile clients against a running `chiso demo` (loopback only, bounded in count and time):
//! 300 connections that send half a request and hold on, and 50 concurrent scrapes of a
//! 2,000-agency registry. The health probe keeps answering within a second throughout, no
//! legitimate request fails, and the process's memory stays bounded.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");

/// Kills the demo when the test ends, whatever happens.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(url: &str, timeout: Duration) -> Result<(u16, usize), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, body.len()))
}

/// Peak resident memory of a running process, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// A registry of a province with `n` communes (synthetic ids and names).
fn big_registry(n: usize) -> String {
    let mut s = String::from("[[agency]]\nid = \"P\"\nname = \"Tỉnh thử\"\nlevel = \"province\"\n");
    for i in 0..n {
        s.push_str(&format!(
            "\n[[agency]]\nid = \"P.X{i:04}\"\nname = \"Xã thử {i}\"\nlevel = \"commune\"\nparent = \"P\"\n"
        ));
    }
    s
}

#[test]
fn half_open_connections_and_scrape_storms_do_not_starve_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("agencies.toml");
    std::fs::write(&registry, big_registry(2_000)).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let demo = Demo(
        Command::new(CHISO)
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--agencies")
            .arg(&registry)
            .args(["--backlog-days", "2", "--dossiers-per-day", "4000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chiso demo"),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while get(&format!("{base}/readyz"), Duration::from_secs(2)).map(|r| r.0) != Ok(200) {
        assert!(Instant::now() < deadline, "the demo never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, scrape_bytes) = get(&format!("{base}/metrics"), Duration::from_secs(30)).unwrap();
    let rss_before = peak_rss_kb(demo.0.id());

    // 300 connections that send half a request line and then nothing.
    let mut half_open = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
        half_open.push(s);
    }

    // A probe every 100 ms, measured, while 50 scrapes run at once.
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (stop, url) = (stop.clone(), format!("{base}/healthz"));
        std::thread::spawn(move || {
            let mut worst = Duration::ZERO;
            let mut failures = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match get(&url, Duration::from_secs(5)) {
                    Ok((200, _)) => {}
                    other => failures.push(format!("{other:?}")),
                }
                worst = worst.max(t.elapsed());
                n += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            (n, worst, failures)
        })
    };
    let scrapes: Vec<_> = (0..50)
        .map(|_| {
            let url = format!("{base}/metrics");
            std::thread::spawn(move || {
                let t = Instant::now();
                (get(&url, Duration::from_secs(30)), t.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for s in scrapes {
        let (r, took) = s.join().unwrap();
        let (status, len) = r.expect("every scrape answers");
        assert_eq!(status, 200);
        assert!(len > scrape_bytes / 2, "a whole scrape ({len} bytes)");
        slowest = slowest.max(took);
    }
    // Hold the half-open sockets past the header timeout: the server closes them.
    std::thread::sleep(Duration::from_secs(6));
    stop.store(true, Ordering::Relaxed);
    let (probes, worst, failures) = probe.join().unwrap();
    let peak = peak_rss_kb(demo.0.id());
    let closed = half_open
        .iter_mut()
        .filter(|s| {
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut b = [0u8; 256];
            matches!(std::io::Read::read(&mut &**s, &mut b), Ok(_))
        })
        .count();
    eprintln!(
        "{probes} probes, worst {worst:?}; 50 scrapes of {scrape_bytes} bytes, slowest {slowest:?}; \
         peak RSS {} MB (after start {} MB); {closed} of 300 half-open connections closed by the server",
        peak / 1024,
        rss_before / 1024
    );
    assert!(failures.is_empty(), "failed probes: {failures:?}");
    assert!(worst < Duration::from_secs(1), "a probe took {worst:?}");
    assert!(
        slowest < Duration::from_secs(10),
        "a scrape took {slowest:?}"
    );
    assert!(
        peak < rss_before + 400 * 1024,
        "peak RSS {peak} kB, {rss_before} kB before the storm"
    );
    assert_eq!(
        closed, 300,
        "half-open connections are closed after the header timeout"
    );
}
