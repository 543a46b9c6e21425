//! End to end with a real Prometheus: `chiso demo` is scraped, every PromQL expression of every
//! Grafana panel returns data, every metric an alert rule refers to exists in the live scrape,
//! and every exported family is documented. Then alerts reach a person: the shipped rules and
//! the shipped Alertmanager routing deliver the demo's overdue dossiers to a webhook.
//!
//! Needs the `prometheus` and `prometheus-alertmanager` binaries (Debian packages, installed by
//! `scripts/test`). The tests fail with that hint when they are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the demo when the test ends, whatever happens.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stops the Prometheus started from `dir` when the test ends.
struct Prometheus {
    dir: PathBuf,
    base: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/prometheus"))
            .args(["stop", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn http_get(url: &str) -> Result<String, String> {
    ureq::get(url)
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .with_config()
        .limit(512 << 20)
        .read_to_string()
        .map_err(|e| e.to_string())
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn start_demo() -> (Demo, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_chiso"))
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--speed",
            "1200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the chiso binary starts");
    let demo = Demo(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_until("chiso demo to be ready", Duration::from_secs(60), || {
        http_get(&format!("{base}/readyz")).is_ok()
    });
    (demo, base)
}

/// Prometheus scraping `target` every second with the rules of `rules`, sending alerts to the
/// Alertmanager at `alertmanager` (host:port) if any.
fn start_prometheus(
    target: &str,
    dir: &Path,
    rules: &Path,
    alertmanager: Option<&str>,
) -> Prometheus {
    assert!(
        Command::new("sh")
            .args(["-c", "command -v prometheus && command -v promtool"])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success(),
        "prometheus/promtool not found in PATH: install them with `scripts/prometheus install` \
         (or `apt-get install prometheus`); this test needs a real Prometheus"
    );
    let config = dir.join("prometheus.yml");
    let alerting = alertmanager.map_or(String::new(), |am| {
        format!("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am}']\n")
    });
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n{alerting}\
             scrape_configs:\n  - job_name: chiso\n    static_configs:\n      - targets: ['{}']\n",
            rules.display(),
            target.trim_start_matches("http://")
        ),
    )
    .unwrap();
    let port = free_port();
    let out = Command::new(root().join("scripts/prometheus"))
        .args(["start", "--config"])
        .arg(&config)
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir)
        .output()
        .expect("scripts/prometheus runs");
    let prom = Prometheus {
        dir: dir.to_owned(),
        base: format!("http://127.0.0.1:{port}"),
    };
    assert!(
        out.status.success(),
        "scripts/prometheus start failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    prom
}

fn query(prom: &Prometheus, expr: &str) -> Result<Vec<Value>, String> {
    let text = ureq::get(format!("{}/api/v1/query", prom.base))
        .query("query", expr)
        .call()
        .map_err(|e| format!("{expr}: {e}"))?
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if v["status"] != "success" {
        return Err(format!("{expr}: {v}"));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// Metric names of a text-format scrape.
fn scraped_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_owned())
        .collect()
}

/// Family names of a scrape (from `# TYPE`), for the documentation check.
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

/// Every `chiso_…` / `chiso:…` identifier in a PromQL expression (outside string literals).
fn metric_refs(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = expr.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == b'"' || c == b'\'' || c == b'`' {
            quote = Some(c);
            i += 1;
            continue;
        }
        if (i == 0 || !ident(b[i - 1]))
            && (expr[i..].starts_with("chiso_") || expr[i..].starts_with("chiso:"))
        {
            let end = (i..b.len()).find(|&j| !ident(b[j])).unwrap_or(b.len());
            out.insert(expr[i..end].to_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The value each dashboard variable takes in the test: its current value, or its "All" value.
fn variables(dashboard: &Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for v in dashboard["templating"]["list"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap().to_owned();
        let current = v["current"]["value"].as_str().unwrap_or_default();
        let value = if current == "$__all" {
            v["allValue"].as_str().unwrap_or(".*").to_owned()
        } else {
            current.to_owned()
        };
        assert!(!value.is_empty(), "variable {name} has no default value");
        vars.insert(name, value);
    }
    vars
}

fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut s = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m");
    // Longest names first, so that `$agency` does not eat a prefix of a longer name.
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names {
        let value = &vars[name];
        s = s
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("[[{name}]]"), value)
            .replace(&format!("${name}"), value);
    }
    assert!(!s.contains('$'), "unsubstituted variable in {s}");
    s
}

fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().unwrap() {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

#[test]
fn dashboards_and_alerts_work_against_a_real_prometheus_scraping_the_demo() {
    let (_demo, demo_url) = start_demo();
    let dir = tempfile::tempdir().unwrap();
    let prom = start_prometheus(
        &demo_url,
        dir.path(),
        &root().join("deploy/prometheus/alerts.yml"),
        None,
    );

    // Enough scrapes for rate() over one minute, and the rules evaluated.
    wait_until(
        "Prometheus to scrape the demo",
        Duration::from_secs(120),
        || {
            query(&prom, "count_over_time(chiso_build_info[1m])")
                .ok()
                .and_then(|r| r.first().cloned())
                .and_then(|s| {
                    s["value"][1]
                        .as_str()
                        .map(|v| v.parse::<f64>().unwrap_or(0.0) >= 20.0)
                })
                .unwrap_or(false)
        },
    );
    wait_until("the recording rule", Duration::from_secs(30), || {
        query(&prom, "chiso:target:on_time_ratio").is_ok_and(|r| !r.is_empty())
    });

    let scrape = http_get(&format!("{demo_url}/metrics")).unwrap();
    let names = scraped_names(&scrape);
    assert!(names.contains("chiso_score") && names.contains("chiso_events_consumed_total"));

    // Every panel expression of every dashboard returns data.
    let mut checked = 0;
    let mut failures = Vec::new();
    let dash_dir = root().join("deploy/grafana/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dash_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let mut uids = BTreeSet::new();
    for file in &files {
        let d: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let fname = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_owned()),
            "duplicate uid in {fname}"
        );
        assert!(
            d["description"].as_str().is_some_and(|s| !s.is_empty()),
            "{fname}: no description"
        );
        let vars = variables(&d);
        assert!(
            vars.contains_key("datasource"),
            "{fname}: the datasource must be a variable"
        );
        // Query variables resolve to something.
        for v in d["templating"]["list"].as_array().unwrap() {
            if let Some(def) = v["definition"].as_str() {
                let inner = def
                    .trim_start_matches("label_values(")
                    .trim_end_matches(')');
                let (metric, label) = inner.split_once(',').expect("label_values(metric, label)");
                let r = query(
                    &prom,
                    &format!("count by ({}) ({})", label.trim(), metric.trim()),
                )
                .unwrap();
                assert!(
                    !r.is_empty(),
                    "{fname}: variable {} has no values",
                    v["name"]
                );
            }
        }
        for p in panels(&d) {
            let title = p["title"].as_str().unwrap_or_default();
            assert!(
                p["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{fname}/{title}: no description"
            );
            for t in p["targets"].as_array().into_iter().flatten() {
                let Some(expr) = t["expr"].as_str() else {
                    continue;
                };
                let e = substitute(expr, &vars);
                checked += 1;
                match query(&prom, &e) {
                    Ok(r) if !r.is_empty() => {}
                    Ok(_) => failures.push(format!("{fname} / {title}: no data for `{e}`")),
                    Err(err) => failures.push(format!("{fname} / {title}: error {err}")),
                }
                for m in metric_refs(&e) {
                    if !m.contains(':') {
                        assert!(
                            names.contains(&m),
                            "{fname} / {title}: {m} is not in the scrape"
                        );
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} panel queries failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 40, "only {checked} panel queries found");

    // Every alert is loaded, healthy, and refers only to metrics that exist.
    let rules: Value =
        serde_json::from_str(&http_get(&format!("{}/api/v1/rules", prom.base)).unwrap()).unwrap();
    let mut alerts = 0;
    for group in rules["data"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let name = rule["name"].as_str().unwrap();
            assert_eq!(rule["health"], "ok", "rule {name}: {rule}");
            if rule["type"] != "alerting" {
                continue;
            }
            alerts += 1;
            let expr = rule["query"].as_str().unwrap();
            let refs = metric_refs(expr);
            let uses_up = expr.contains("up{");
            assert!(
                !refs.is_empty() || uses_up,
                "alert {name} refers to no chiso metric: {expr}"
            );
            for m in refs {
                if m.contains(':') {
                    assert!(
                        !query(&prom, &m).unwrap().is_empty(),
                        "alert {name}: recording rule {m} has no data"
                    );
                } else {
                    assert!(
                        names.contains(&m),
                        "alert {name} refers to {m}, which is not in the live scrape"
                    );
                }
            }
            if uses_up {
                assert!(!query(&prom, "up{job=\"chiso\"}").unwrap().is_empty());
            }
        }
    }
    assert!(alerts >= 10, "only {alerts} alerts loaded");

    // Every exported family is documented in docs/metrics.md.
    let docs = std::fs::read_to_string(root().join("docs/metrics.md")).unwrap();
    for f in families(&scrape) {
        assert!(
            docs.contains(&format!("`{f}`")),
            "{f} is not documented in docs/metrics.md"
        );
    }
}

/// Kills the Alertmanager when the test ends.
struct Alertmanager(Child);

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A webhook receiver: answers 200 to every POST and hands over (path, body).
fn webhook() -> (String, std::sync::mpsc::Receiver<(String, Value)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
            let mut length = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Ok(v) = serde_json::from_slice(&body) {
                let _ = tx.send((path, v));
            }
        }
    });
    (url, rx)
}

#[test]
fn overdue_dossiers_reach_a_webhook_through_the_shipped_routing() {
    assert!(
        Command::new("sh")
            .args([
                "-c",
                "command -v prometheus-alertmanager && command -v amtool"
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success(),
        "prometheus-alertmanager/amtool not found in PATH: `scripts/test` installs them \
         (apt-get install prometheus-alertmanager); this test needs a real Alertmanager"
    );
    let dir = tempfile::tempdir().unwrap();
    // The shipped routing, with the receivers' URLs pointed at this test's webhook and the group
    // wait shortened from 30 s to 2 s; nothing else changed.
    let (hook, received) = webhook();
    let shipped =
        std::fs::read_to_string(root().join("deploy/alertmanager/alertmanager.yml")).unwrap();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        shipped
            .replace("http://127.0.0.1:5001", &hook)
            .replace("group_wait: 30s", "group_wait: 2s"),
    )
    .unwrap();
    let check = Command::new("amtool")
        .args(["check-config"])
        .arg(&am_config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let am_port = free_port();
    let _am = Alertmanager(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("am-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager starts"),
    );
    wait_until("Alertmanager to be ready", Duration::from_secs(30), || {
        http_get(&format!("http://127.0.0.1:{am_port}/-/ready")).is_ok()
    });
    // The shipped rules with their `for:` durations (10 min to 1 h) set to 0 s: a test cannot
    // wait for them; the expressions, labels and annotations are those shipped.
    let rules = dir.path().join("alerts.yml");
    let shipped_rules =
        std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let rewritten: String = shipped_rules
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("for:") {
                format!("{}for: 0s", &l[..l.len() - l.trim_start().len()])
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&rules, rewritten).unwrap();
    let (_demo, demo_url) = start_demo();
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let _prom = start_prometheus(
        &demo_url,
        &prom_dir,
        &rules,
        Some(&format!("127.0.0.1:{am_port}")),
    );

    // The demo's province has agencies with open overdue dossiers from the national portal.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut notifications: Vec<(String, Value)> = Vec::new();
    let portal = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no overdue alert reached the webhook: {notifications:?}"
        );
        if let Ok(n) = received.recv_timeout(left.min(Duration::from_secs(1))) {
            notifications.push(n);
        }
        if let Some(n) = notifications.iter().find(|(_, v)| {
            v["groupLabels"]["alertname"] == "ChisoOverdueNationalPortalDossiers"
                && v["status"] == "firing"
        }) {
            break n.clone();
        }
    };
    let (path, body) = portal;
    assert_eq!(
        path, "/chiso/operators",
        "operator alerts go to the operators' receiver"
    );
    let alerts = body["alerts"].as_array().unwrap();
    assert!(
        alerts.len() > 1,
        "one message for every agency concerned: {body}"
    );
    let mut agencies = BTreeSet::new();
    for a in alerts {
        let agency = a["labels"]["agency"].as_str().expect("an agency label");
        agencies.insert(agency.to_owned());
        assert_eq!(a["labels"]["audience"], "operator");
        let summary = a["annotations"]["summary"].as_str().unwrap();
        assert!(summary.contains("quá hạn"), "{summary}");
        let runbook = a["annotations"]["runbook"].as_str().unwrap();
        assert!(
            runbook.contains(&format!("/api/v1/agencies/{agency}/")),
            "{runbook}"
        );
        // No dossier or event ids in what is sent out.
        assert!(!a.to_string().contains("H56."), "{a}");
    }
    assert_eq!(agencies.len(), alerts.len(), "one alert per agency");
    // Grouped: within the group wait, exactly one message for this alert, however many
    // agencies it names.
    std::thread::sleep(Duration::from_secs(3));
    while let Ok(n) = received.try_recv() {
        notifications.push(n);
    }
    let messages = notifications
        .iter()
        .filter(|(_, v)| v["groupLabels"]["alertname"] == "ChisoOverdueNationalPortalDossiers")
        .count();
    assert_eq!(
        messages,
        1,
        "{} agencies, {messages} messages",
        agencies.len()
    );
    eprintln!(
        "ChisoOverdueNationalPortalDossiers: one message naming {} agencies; {} messages in all",
        agencies.len(),
        notifications.len()
    );
}
