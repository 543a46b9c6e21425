//! Hostile clients against a running `chiso demo` (loopback only, bounded in count and time):
//! 300 connections that send half a request and hold on, and 50 concurrent scrapes of a
//! 2,000-agency registry; clients that ask for a scrape and never read it; more idle sockets
//! than the connection cap. The health probe keeps answering within a second throughout, no
//! legitimate request fails, and the process's memory stays bounded.
//!
//! The tests run one at a time (they measure latencies on a shared machine).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chiso::http::server::MAX_CONNECTIONS;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");

/// One test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

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

/// Starts `chiso demo` on a free port (on `registry` if given, else the sample province) and
/// waits until it is ready; gives it with its base URL and port.
fn start_demo(registry: Option<&Path>, args: &[&str]) -> (Demo, String, u16) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(CHISO);
    cmd.args(["demo", "--listen", &format!("127.0.0.1:{port}")]);
    if let Some(r) = registry {
        cmd.arg("--agencies").arg(r);
    }
    let demo = Demo(
        cmd.args(args)
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
    (demo, base, port)
}

/// Sends `request` on a new connection and never reads the answer.
fn send_and_hold(port: u16, request: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request).unwrap();
    s
}

/// Whether the server closed `s` (after whatever it had sent), reading for at most `wait`.
fn closed_by_server(mut s: &TcpStream, wait: Duration) -> bool {
    let end = Instant::now() + wait;
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut b = vec![0u8; 1 << 16];
    while Instant::now() < end {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

/// Whether the server has closed `s` already (after whatever it had sent).
fn closed_already(mut s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut b = vec![0u8; 1 << 16];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn half_open_connections_and_scrape_storms_do_not_starve_the_probes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("agencies.toml");
    std::fs::write(&registry, big_registry(2_000)).unwrap();
    let (demo, base, port) = start_demo(
        Some(&registry),
        &["--backlog-days", "2", "--dossiers-per-day", "4000"],
    );
    let (_, scrape_bytes) = get(&format!("{base}/metrics"), Duration::from_secs(30)).unwrap();
    let rss_before = peak_rss_kb(demo.0.id());

    // 300 connections that send half a request line and then nothing.
    let mut half_open: Vec<_> = (0..300)
        .map(|_| send_and_hold(port, b"GET /healthz HTTP/1.1\r\nHo"))
        .collect();

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
            std::io::Read::read(&mut &**s, &mut b).is_ok()
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

/// Clients that ask for a scrape and never read it: they take every scrape turn, and used to
/// keep them for as long as they held the connection (every other scrape got 503 `busy`).
#[test]
fn clients_that_stop_reading_a_scrape_do_not_keep_its_turn() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("agencies.toml");
    // A scrape of tens of MB: far more than the socket buffers hold.
    std::fs::write(&registry, big_registry(2_000)).unwrap();
    let (_demo, base, port) = start_demo(
        Some(&registry),
        &["--backlog-days", "1", "--dossiers-per-day", "500"],
    );
    let (_, scrape_bytes) = get(&format!("{base}/metrics"), Duration::from_secs(30)).unwrap();
    let stalled: Vec<_> = (0..6)
        .map(|_| send_and_hold(port, b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let t = Instant::now();
    let fresh = get(&format!("{base}/metrics"), Duration::from_secs(30));
    let took = t.elapsed();
    let closed = stalled
        .iter()
        .filter(|s| closed_by_server(s, Duration::from_secs(3)))
        .count();
    eprintln!(
        "a fresh scrape behind 6 stalled readers: {fresh:?} in {took:?}; \
         {closed} of 6 stalled connections closed by the server"
    );
    let (status, len) = fresh.expect("the fresh scrape answers");
    assert_eq!(status, 200, "the fresh scrape gets a turn");
    assert!(len > scrape_bytes / 2, "a whole scrape ({len} bytes)");
    assert!(
        took < Duration::from_secs(8),
        "the fresh scrape took {took:?}"
    );
    assert!(
        closed >= 4,
        "the stalled readers that held the turns are closed"
    );
}

/// Raises this process's descriptor limit to at least `n` (the test opens that many sockets).
fn allow_descriptors(n: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        assert!(lim.rlim_max >= n, "the hard descriptor limit is below {n}");
        lim.rlim_cur = lim.rlim_cur.max(n);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

/// More sockets than the connection cap, each held without a request in progress: silent
/// ones, half-sent heads, kept-alive idle ones, and ones that stopped reading their answer.
/// A fresh probe still answers within a second, every time.
#[test]
fn idle_sockets_past_the_connection_cap_do_not_lock_out_the_probes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let n = MAX_CONNECTIONS + 100;
    allow_descriptors(n as u64 + 256);
    let (_demo, base, port) = start_demo(None, &["--backlog-days", "1"]);
    let opened = Instant::now();
    let held: Vec<TcpStream> = (0..n)
        .map(|i| match i % 4 {
            0 => TcpStream::connect(("127.0.0.1", port)).unwrap(),
            1 => send_and_hold(port, b"GET /healthz HTTP/1.1\r\nHo"),
            2 => {
                let mut s = send_and_hold(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let _ = s.read(&mut [0u8; 1024]);
                s
            }
            _ => send_and_hold(port, b"GET /api/v1/results HTTP/1.1\r\nHost: t\r\n\r\n"),
        })
        .collect();
    let opening = opened.elapsed();
    let (mut worst, mut failures) = (Duration::ZERO, Vec::new());
    let probes = 20;
    for _ in 0..probes {
        let t = Instant::now();
        match get(&format!("{base}/healthz"), Duration::from_secs(5)) {
            Ok((200, _)) => {}
            other => failures.push(format!("{other:?}")),
        }
        worst = worst.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = opened.elapsed();
    let closed = held.iter().filter(|s| closed_already(s)).count();
    eprintln!(
        "{n} idle sockets opened in {opening:?}; {probes} probes, worst {worst:?}, {} failed; \
         {closed} sockets closed by the server within {elapsed:?}",
        failures.len()
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "the probes ran before the idle timeout could close the sockets ({elapsed:?})"
    );
    assert!(failures.is_empty(), "failed probes: {failures:?}");
    assert!(worst < Duration::from_secs(1), "a probe took {worst:?}");
}
