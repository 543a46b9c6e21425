//! The alert rules are valid and every alert is tested firing and not firing with promtool.
//!
//! promtool comes with Debian's `prometheus` package (`scripts/prometheus install`, which the test
//! command runs); without it these tests say SKIPPED, except in the suite, where they fail.

mod support_tools;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// promtool's output for `args` in `dir`; `None` without promtool (see the module doc).
fn run(args: &[&str], dir: &Path) -> Option<String> {
    let promtool = support_tools::tool(
        "promtool",
        "scripts/prometheus install",
        "the alert rules and the example Prometheus configuration",
    )?;
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    Some(text)
}

fn alert_names(rules: &str) -> BTreeSet<String> {
    rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(|n| n.trim().to_owned())
        .collect()
}

fn test_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/alerts"))
        .expect("tests/alerts exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yml"))
        .collect();
    files.sort();
    files
}

/// (alert, firing?) pairs of the `alert_rule_test` cases of one promtool test file.
fn cases(text: &str) -> Vec<(String, bool)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.split("alertname:").nth(1) else {
            continue;
        };
        let name: String = rest
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // The case's `exp_alerts` is on this line (inline form) or on one of the next.
        let exp = std::iter::once(*line)
            .chain(lines[i + 1..].iter().copied().take_while(|l| {
                !l.contains("alertname:") && !l.trim_start().starts_with("- eval_time")
            }))
            .find(|l| l.contains("exp_alerts:"))
            .unwrap_or_else(|| panic!("case for {name} has no exp_alerts"));
        let empty = exp
            .split("exp_alerts:")
            .nth(1)
            .unwrap()
            .trim_start()
            .starts_with("[]");
        out.push((name, !empty));
    }
    out
}

#[test]
fn rules_are_valid_and_every_alert_is_tested_firing_and_not_firing() {
    let rules_path = root().join("deploy/prometheus/alerts.yml");
    let rules = std::fs::read_to_string(&rules_path).unwrap();
    let Some(check) = run(&["check", "rules", rules_path.to_str().unwrap()], &root()) else {
        return;
    };
    assert!(check.contains("SUCCESS"), "{check}");

    let files = test_files();
    assert!(!files.is_empty(), "no tests/alerts/*.test.yml");
    let dir = root().join("tests/alerts");
    let mut covered: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let out = run(&["test", "rules", name], &dir).expect("promtool was there a moment ago");
        assert!(out.contains("SUCCESS"), "{name}: {out}");
        for (alert, firing) in cases(&std::fs::read_to_string(f).unwrap()) {
            let e = covered.entry(alert).or_default();
            if firing {
                e.0 = true;
            } else {
                e.1 = true;
            }
        }
    }
    let alerts = alert_names(&rules);
    assert!(alerts.len() >= 10, "{alerts:?}");
    for alert in &alerts {
        let (firing, quiet) = covered.get(alert).copied().unwrap_or_default();
        assert!(firing, "{alert} has no firing test case in tests/alerts");
        assert!(quiet, "{alert} has no not-firing test case in tests/alerts");
    }
    for tested in covered.keys() {
        assert!(
            alerts.contains(tested),
            "tests/alerts names unknown alert {tested}"
        );
    }
}

#[test]
fn the_example_prometheus_config_is_valid() {
    let config = root().join("deploy/prometheus/prometheus.yml");
    let Some(out) = run(
        &["check", "config", config.to_str().unwrap()],
        &root().join("deploy/prometheus"),
    ) else {
        return;
    };
    assert!(out.contains("SUCCESS"), "{out}");
}

/// Every `[section] key` of the run configuration that the shipped Prometheus configuration
/// names exists in the configuration (it once named `[http] listen`, which `chiso run` refuses).
#[test]
fn the_example_prometheus_config_names_real_settings() {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/deploy/prometheus/prometheus.yml")).unwrap();
    let defaults: toml::Table =
        toml::from_str(&std::fs::read_to_string(format!("{root}/config/chiso.toml")).unwrap())
            .unwrap();
    let mut named = 0;
    for part in text.split('`').skip(1).step_by(2) {
        let Some(rest) = part.strip_prefix('[') else {
            continue;
        };
        let Some((section, key)) = rest.split_once("] ") else {
            continue;
        };
        named += 1;
        let key = key.split_whitespace().next().unwrap();
        assert!(
            defaults.get(section).and_then(|s| s.get(key)).is_some(),
            "deploy/prometheus/prometheus.yml names `[{section}] {key}`, which is not a setting"
        );
    }
    assert!(named > 0, "the file names the HTTP setting it scrapes");
}
