//! The systemd unit and example environment file of `deploy/systemd/`: systemd accepts the unit
//! without a warning, it waits longer than chiso's own shutdown timeout before SIGKILL, and chiso
//! accepts and applies every variable of the example environment file, secrets masked.

mod support_check;
mod support_tools;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chiso::app::config::RunSettings;
use support_check::{effective, run_check};
use support_tools::tool;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
/// No variable for `run_check`.
const NO_VARS: [(&str, &str); 0] = [];
const UNIT: &str = include_str!("../deploy/systemd/chiso.service");
const ENV_EXAMPLE: &str = include_str!("../deploy/systemd/chiso.env.example");
/// The unit's command line, which the tests point at the binary just built.
const EXEC_START: &str = "ExecStart=/usr/local/bin/chiso run --config /etc/chiso/chiso.toml";

/// The unit as it would be installed, but running the binary just built (`systemd-analyze
/// verify` checks that the command exists and is executable).
fn unit_with_built_binary(unit: &str) -> String {
    let exec: Vec<&str> = unit
        .lines()
        .filter(|l| l.trim_start().starts_with("ExecStart="))
        .collect();
    assert_eq!(exec, [EXEC_START], "the unit's ExecStart changed");
    assert!(!CHISO.contains(char::is_whitespace), "binary path {CHISO}");
    unit.replace(
        EXEC_START,
        &format!("ExecStart={CHISO} run --config /etc/chiso/chiso.toml"),
    )
}

/// What `systemd-analyze verify` said about a unit.
struct Verified {
    /// Whether it exited with status 0.
    success: bool,
    /// Lines that name the unit (its file or its name): warnings and errors about it.
    about_unit: Vec<String>,
    /// Every other line (about other units of the host, which the unit's dependencies load).
    other: Vec<String>,
}

/// Runs `systemd-analyze verify` on `text` installed as `chiso.service` in a fresh directory;
/// `None` if systemd-analyze is not installed (and the suite does not require it).
fn verify(text: &str) -> Option<Verified> {
    let analyze = tool(
        "systemd-analyze",
        "apt-get install systemd",
        "the unit deploy/systemd/chiso.service",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chiso.service");
    std::fs::write(&path, text).unwrap();
    let run = |extra: &[&str]| {
        Command::new(&analyze)
            .arg("verify")
            .args(extra)
            .arg(&path)
            .env("SYSTEMD_LOG_COLOR", "0")
            .env("SYSTEMD_PAGER", "")
            .output()
    };
    // `--recursive-errors=no` (systemd ≥ 250): the exit status reflects this unit only, not
    // problems of the host's units it depends on (multi-user.target, network-online.target).
    let out = match run(&["--man=no", "--recursive-errors=no"]) {
        Err(e) => panic!("running systemd-analyze: {e}"),
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("recursive-errors") => {
            run(&["--man=no"]).unwrap()
        }
        Ok(out) => out,
    };
    let path = path.to_str().unwrap();
    let mut verified = Verified {
        success: out.status.success(),
        about_unit: Vec::new(),
        other: Vec::new(),
    };
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter(|l| !l.trim().is_empty())
    {
        if line.contains(path) || line.contains("chiso.service") {
            verified.about_unit.push(line.to_owned());
        } else {
            verified.other.push(line.to_owned());
        }
    }
    Some(verified)
}

#[test]
fn systemd_accepts_the_unit_without_a_warning() {
    let unit = unit_with_built_binary(UNIT);
    let Some(verified) = verify(&unit) else {
        return;
    };
    for line in &verified.other {
        eprintln!("systemd-analyze, not about chiso.service (ignored): {line}");
    }
    assert!(
        verified.about_unit.is_empty() && verified.success,
        "systemd-analyze verify deploy/systemd/chiso.service (exit {}):\n{}\n(other lines:\n{})",
        if verified.success { "0" } else { "non-zero" },
        verified.about_unit.join("\n"),
        verified.other.join("\n")
    );

    // The filter above is not blind: a misspelt key and a bad value are reported, by line.
    let broken = unit.replacen(
        "LockPersonality=yes",
        "LockPersonality=yes\nLockPersonalty=yes\nProtectClock=maybe",
        1,
    );
    let verified = verify(&broken).expect("systemd-analyze was there a moment ago");
    let said = verified.about_unit.join("\n");
    assert!(
        said.contains("LockPersonalty") && said.contains("maybe"),
        "systemd-analyze did not report a broken copy of the unit: {said:?} / {:?}",
        verified.other
    );
}

/// The value of the last `key=` line of the unit's `[Service]` section (the one systemd uses).
fn service_setting<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    let mut section = "";
    let mut found = None;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[Service]" {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    found = Some(v.trim());
                }
            }
        }
    }
    found
}

/// A systemd time span ("30s", "1min 30s", "90", "2m30s"; a bare number is seconds).
fn timespan(text: &str) -> Duration {
    assert_ne!(text, "infinity", "a stop must end: TimeoutStopSec=infinity");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        assert!(digits > 0, "not a systemd time span: {text:?}");
        let n: u64 = rest[..digits].parse().unwrap();
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        total += match unit {
            "" | "s" | "sec" | "second" | "seconds" => Duration::from_secs(n),
            "ms" | "msec" => Duration::from_millis(n),
            "us" | "usec" => Duration::from_micros(n),
            "m" | "min" | "minute" | "minutes" => Duration::from_secs(60 * n),
            "h" | "hr" | "hour" | "hours" => Duration::from_secs(3600 * n),
            _ => panic!("unknown time unit {unit:?} in {text:?}"),
        };
    }
    total
}

/// A configuration file as an office would start from: the defaults, with its brokers.
fn minimal_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("chiso.toml");
    let mut s = RunSettings::defaults();
    s.kafka.bootstrap_servers = "127.0.0.1:9092".into();
    s.kafka.group_id = "chiso".into();
    std::fs::write(&path, s.to_toml()).unwrap();
    path
}

#[test]
fn systemd_waits_longer_than_the_shutdown_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let printed = effective(
        &run_check(&minimal_config(dir.path()), dir.path(), NO_VARS),
        "a minimal configuration",
    );
    let default_ms = printed["shutdown"]["timeout_ms"]
        .as_integer()
        .expect("shutdown.timeout_ms in the effective configuration");
    let chiso = Duration::from_millis(default_ms.try_into().unwrap());
    let stop = timespan(service_setting(UNIT, "TimeoutStopSec").expect("TimeoutStopSec"));
    assert_eq!(
        service_setting(UNIT, "KillSignal"),
        Some("SIGTERM"),
        "chiso shuts down on SIGTERM"
    );
    // chiso's watchdog exits `shutdown.timeout_ms` after SIGTERM; systemd must not SIGKILL it
    // before, with a margin for the exit itself.
    assert!(
        stop >= chiso + Duration::from_secs(5),
        "TimeoutStopSec={stop:?} must exceed chiso's shutdown.timeout_ms ({chiso:?}) by 5 s or more"
    );
}

/// The example lines (`#CHISO_NAME=value`) of the environment file, uncommented, with the quotes
/// systemd removes removed.
fn example_variables(text: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let Some(assignment) = line.strip_prefix("#CHISO_") else {
            continue;
        };
        let (name, value) = assignment
            .split_once('=')
            .unwrap_or_else(|| panic!("not NAME=value: {line:?}"));
        let name = format!("CHISO_{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "{name}: environment variable names are upper case"
        );
        let value = value.trim();
        let value = [('\'', '\''), ('"', '"')]
            .iter()
            .find_map(|&(a, b)| value.strip_prefix(a)?.strip_suffix(b))
            .unwrap_or(value);
        assert!(
            !vars.iter().any(|(n, _)| *n == name),
            "{name} is given twice"
        );
        vars.push((name, value.to_owned()));
    }
    vars
}

/// Whether chiso's `--check` masks the variable's value.
fn is_secret(name: &str) -> bool {
    ["PASSWORD", "SECRET", "TOKEN"]
        .iter()
        .any(|w| name.contains(w))
}

#[test]
fn chiso_applies_every_variable_of_the_example_environment_file() {
    let vars = example_variables(ENV_EXAMPLE);
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "CHISO_KAFKA__BOOTSTRAP_SERVERS",
        "CHISO_KAFKA__INSTANCE_ID",
        "CHISO_KAFKA__LIBRDKAFKA__SASL_USERNAME",
        "CHISO_KAFKA__LIBRDKAFKA__SASL_PASSWORD",
        "CHISO_HTTP__TOKEN",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from the example");
    }
    assert!(vars.iter().any(|(n, _)| is_secret(n)));

    let dir = tempfile::tempdir().unwrap();
    let out = run_check(
        &minimal_config(dir.path()),
        dir.path(),
        vars.iter().cloned(),
    );
    let printed = effective(&out, "the example environment file");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (name, value) in &vars {
        // CHISO_KAFKA__LIBRDKAFKA__SASL_PASSWORD → kafka.librdkafka.sasl_password: a variable
        // chiso ignored (a misspelt section, one `_` where `__` belongs) is not there.
        let key: Vec<String> = name["CHISO_".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let mut at = &toml::Value::Table(printed.clone());
        for part in &key {
            at = at.get(part).unwrap_or_else(|| {
                panic!(
                    "{name} was not applied: no `{}` in the effective configuration:\n{stdout}",
                    key.join(".")
                )
            });
        }
        let shown = match at {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if is_secret(name) {
            assert_eq!(shown, "***", "{name} is not masked by --check");
            assert!(
                !stdout.contains(value.as_str()) && !stderr.contains(value.as_str()),
                "the value of {name} appears in chiso's output"
            );
        } else {
            assert_eq!(&shown, value, "{name} is not what chiso applied");
        }
    }
}
