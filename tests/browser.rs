//! The web pages in a real headless Chromium (Debian's `chromium`, installed by `scripts/test`)
//! against a running `chiso demo`: every page loads without console errors, the numbers in the
//! DOM are the JSON API's, and the layout holds at phone and desktop widths (screenshots under
//! `target/screenshots/`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

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

fn get_json(url: &str) -> Value {
    let text = ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn chromium() -> &'static str {
    assert!(
        Command::new("sh")
            .args(["-c", "command -v chromium"])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success(),
        "chromium not found in PATH: `scripts/test` installs it (apt-get install chromium)"
    );
    "chromium"
}

/// Runs headless Chromium on `url` with `args`; its stdout, and its stderr (console messages).
fn run_chromium(url: &str, width: u32, args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},1000"))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pages_render_in_chromium_with_the_api_numbers() {
    const TOKEN: &str = "browser-test-token";
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _demo = Demo(
        Command::new(CHISO)
            .args([
                "demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                // The slowest clock: the results stay those of the backlog while they are read.
                "--speed",
                "0.001",
                "--token",
                TOKEN,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chiso demo"),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while ureq::get(format!("{base}/readyz")).call().is_err() {
        assert!(Instant::now() < deadline, "the demo never became ready");
        std::thread::sleep(Duration::from_millis(250));
    }
    let shots = PathBuf::from(ROOT).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let results = get_json(&format!("{base}/api/v1/results?period=month"));
    let province = get_json(&format!("{base}/api/v1/agencies/TQ"));
    for (name, path) in [
        ("ranking", "/"),
        ("agency", "/agency/TQ"),
        ("ranking-en", "/?lang=en&period=quarter"),
        ("ranking-previous", "/?period=month&view=previous"),
    ] {
        let url = format!("{base}{path}");
        let (dom, log) = run_chromium(&url, 1440, &["--dump-dom"]);
        assert!(dom.contains("</html>"), "{name}: no page\n{log}");
        assert!(
            !log.lines()
                .any(|l| l.contains("CONSOLE") && l.to_lowercase().contains("error")),
            "{name}: console errors\n{log}"
        );
        if name == "ranking" {
            // Every agency's score in the DOM is the API's (the page refreshes the same
            // second's results: compare each row).
            assert_scores(&dom, &scores(&results["results"]));
        }
        if name == "ranking-previous" {
            // The previous month, final, as the API's agency answers hold it.
            let previous: Vec<Value> = results["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| {
                    let id = r["agency_id"].as_str().unwrap();
                    let a = get_json(&format!("{base}/api/v1/agencies/{id}"));
                    a["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["period"]["kind"] == "month" && x["final"] == true)
                        .cloned()
                })
                .collect();
            assert!(previous.len() > 100, "the demo keeps the previous month");
            assert_scores(&dom, &scores(&Value::Array(previous)));
            assert!(dom.contains("class=\"summary\""));
        }
        if name == "agency" {
            let month = province["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["period"]["kind"] == "month")
                .unwrap();
            assert!(dom.contains(month["agency_name"].as_str().unwrap()));
            assert!(dom.contains("data-indicator=\"2.1\""));
        }
        for width in [390, 1440] {
            let file = shots.join(format!("{name}-{width}.png"));
            let _ = std::fs::remove_file(&file);
            let (_, log) =
                run_chromium(&url, width, &[&format!("--screenshot={}", file.display())]);
            let size = std::fs::metadata(&file)
                .unwrap_or_else(|_| panic!("{name} at {width}px: no screenshot\n{log}"))
                .len();
            assert!(size > 10_000, "{name} at {width}px: a blank screenshot?");
        }
    }
    // The live refresh: with 40 s of virtual time the page fetched itself again and swapped its
    // body in (every 15 s), and still shows the ranking.
    let (dom, log) = run_chromium(
        &format!("{base}/?period=month"),
        1440,
        &["--virtual-time-budget=40000", "--dump-dom"],
    );
    assert!(dom.contains("data-refreshed=\""), "no live refresh\n{log}");
    assert!(!dom.contains("data-stale"), "a refresh failed\n{log}");
    assert!(dom.contains("data-agency=\"TQ\""));
    // The phone layout: the page is as wide as the window, the tables scroll inside it.
    let (dom, _) = run_chromium(&format!("{base}/agency/TQ"), 390, &["--dump-dom"]);
    assert!(dom.contains("width=device-width"));
    assert!(dom.contains("class=\"scroll\""));
    // The public pages never carry dossier ids.
    assert!(!dom.contains("H56."), "a dossier id on a public page");
    // The worklist refuses a browser without the token, and shows the dossiers with it (the
    // browser's Basic credentials: any user, the token as the password).
    let (dom, _) = run_chromium(&format!("{base}/agency/TQ/worklist"), 1440, &["--dump-dom"]);
    assert!(
        !dom.contains("H56."),
        "the worklist without the token: {dom}"
    );
    let host = base.trim_start_matches("http://");
    let worklist = format!("http://operator:{TOKEN}@{host}/agency/TQ/worklist");
    let (dom, log) = run_chromium(&worklist, 1440, &["--dump-dom"]);
    assert!(
        dom.contains("H56."),
        "the worklist with the token shows dossiers\n{log}"
    );
    for width in [390, 1440] {
        let file = shots.join(format!("worklist-{width}.png"));
        let _ = std::fs::remove_file(&file);
        run_chromium(
            &worklist,
            width,
            &[&format!("--screenshot={}", file.display())],
        );
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "worklist at {width}px: no screenshot");
    }
}

/// (agency id, score) of results objects.
fn scores(results: &Value) -> Vec<(String, Option<f64>)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["agency_id"].as_str().unwrap().to_owned(),
                r["score"].as_f64(),
            )
        })
        .collect()
}

/// Every agency's row in a ranking page shows the given score.
fn assert_scores(dom: &str, want: &[(String, Option<f64>)]) {
    for (id, score) in want {
        let row = dom
            .split(&format!("data-agency=\"{id}\""))
            .nth(1)
            .unwrap_or_else(|| panic!("no row for {id}"));
        let cell = row
            .split("data-score=\"\">")
            .nth(1)
            .or_else(|| row.split("data-score>").nth(1))
            .unwrap();
        let shown = cell.split('<').next().unwrap();
        if let Some(x) = score {
            let shown: f64 = shown.parse().unwrap_or_else(|_| panic!("{id}: {shown}"));
            assert!((shown - x).abs() < 0.05, "{id}: DOM {shown}, API {x}");
        }
    }
}

/// The report's HTML printed to PDF by Chromium has its title, the province and a level table
/// (read back with `pdftotext`, from Debian's poppler-utils, installed by `scripts/test`).
#[test]
fn the_report_prints_to_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let status = Command::new(CHISO)
        .args([
            "report", "--period", "2025-08", "--format", "html", "--out", out,
        ])
        .arg("--events")
        .arg(format!("{ROOT}/config/samples/tuyen-quang-events.jsonl"))
        .arg("--agencies")
        .arg(format!("{ROOT}/config/agencies/tuyen-quang.toml"))
        .status()
        .unwrap();
    assert!(status.success());
    let html = dir.path().join("report-2025-08.html");
    let pdf = dir.path().join("report.pdf");
    run_chromium(
        &format!("file://{}", html.display()),
        1000,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    assert!(pdf.exists(), "no PDF printed");
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (scripts/test installs poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    // The Vietnamese notice (the default) heads its level tables with the levels' names.
    for needle in [
        "2025-08",
        "Tuyên Quang",
        "Cấp sở, ban, ngành",
        "Cấp xã",
        "Đánh giá tại",
    ] {
        assert!(text.contains(needle), "{needle} not in the PDF text");
    }
    let pages = text.matches('\u{c}').count();
    assert!(pages >= 3, "a summary and a page per level: {pages} pages");
}
