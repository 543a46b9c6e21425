use super::*;

fn load_str(file: &str, vars: &[(&str, &str)]) -> Result<RunConfig, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chiso.toml");
    std::fs::write(&path, file).unwrap();
    // A fake environment: figment reads the process environment, so tests use a prefix of
    // their own and the same filtering. One prefix per call: tests run in parallel threads
    // of one process and would otherwise read each other's variables.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let prefix = format!("CHISO_TEST_{}_{call}_", std::process::id());
    for (k, v) in vars {
        std::env::set_var(format!("{prefix}{k}"), v);
    }
    let r = load_from(Some(&path), &prefix);
    for (k, _) in vars {
        std::env::remove_var(format!("{prefix}{k}"));
    }
    r
}

#[test]
fn defaults_load() {
    let c = load_str("", &[]).unwrap();
    assert_eq!(c.settings.kafka.topics.events, "chiso.events");
    assert_eq!(c.commit_interval(), Duration::from_secs(1));
    assert!(matches!(c.clock, Clock::Wall));
    assert!(!c.instance_id.is_empty());
}

#[test]
fn file_then_environment() {
    let c = load_str(
        "[kafka]\ngroup_id = \"from-file\"\ninstance_id = \"a\"\n[kafka.librdkafka]\n\"session.timeout.ms\" = 6000\n[pipeline]\nclock = \"2024-08-08T17:00:00+07:00\"\n",
        &[
            ("KAFKA__GROUP_ID", "from-env"),
            ("KAFKA__LIBRDKAFKA__SASL_PASSWORD", "s3cret"),
            ("CACHE", "/not/ours"),
        ],
    )
    .unwrap();
    assert_eq!(c.settings.kafka.group_id, "from-env");
    assert_eq!(c.instance_id, "a");
    assert_eq!(c.librdkafka["session.timeout.ms"], "6000");
    assert_eq!(c.librdkafka["sasl.password"], "s3cret");
    assert!(matches!(c.clock, Clock::Fixed(_)));
}

#[test]
fn problems_name_the_key_and_where_it_came_from() {
    let err = load_str(
        "[kafka]\nbootstrap_servers = 1\ngroup_id = true\n[pipeline]\ncommit_interval_ms = \"soon\"\n",
        &[("PIPELINE__PUBLISH_INTERVAL_MS", "often")],
    )
    .unwrap_err();
    let all = err.to_string();
    for needle in [
        "`kafka.bootstrap_servers` must be a string, not a number (in ",
        "`kafka.group_id` must be a string, not true or false (in ",
        "`pipeline.commit_interval_ms` must be a number, not a string (in ",
        "`pipeline.publish_interval_ms` must be a number, not a string (from the environment variable ",
        "PIPELINE__PUBLISH_INTERVAL_MS)",
    ] {
        assert!(all.contains(needle), "{needle} missing in:\n{all}");
    }
    assert!(!all.contains("TOML source string"), "{all}");
    // A syntax error is reported once, with its line.
    let err = load_str("[kafka\nbootstrap_servers = \"x\"\n", &[]).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{:?}", err.problems);
    let p = &err.problems[0];
    assert!(
        p.starts_with("invalid run configuration /")
            && p.ends_with("chiso.toml: line 1, column 7: invalid table header; expected `.`, `]`"),
        "{p}"
    );
}

#[test]
fn every_problem_is_reported() {
    let err = load_str(
        "bogus = 1\n[kafka]\ngroup_idd = \"x\"\n[kafka.librdkafka]\n\"group.id\" = \"x\"\n[pipeline]\ncommit_interval_ms = 0\nclock = \"yesterday\"\n[engine]\nagencies = \"/nonexistent.toml\"\n",
        &[("HTTP__BIND", "nowhere"), ("LOG__FORMATT", "json")],
    )
    .unwrap_err();
    let all = err.to_string();
    for needle in [
        "`bogus`",
        "`kafka.group_idd`",
        "`log.formatt`",
        "group.id",
        "commit_interval_ms",
        "pipeline.clock",
        "engine.agencies",
        "http.bind",
    ] {
        assert!(all.contains(needle), "{needle} missing in:\n{all}");
    }
    let err = load_str(
        "[pipeline]\ncommit_interval_ms = \"soon\"\n[shutdown]\ntimeout_ms = -1\n",
        &[],
    )
    .unwrap_err();
    let all = err.to_string();
    assert!(
        all.contains("commit_interval_ms") && all.contains("timeout_ms"),
        "{all}"
    );
}

#[test]
fn string_settings_from_the_environment_are_taken_as_written() {
    let c = load_str(
        "",
        &[
            ("KAFKA__LIBRDKAFKA__SASL_PASSWORD", "0123456"),
            ("KAFKA__INSTANCE_ID", "007"),
            ("KAFKA__GROUP_ID", "true"),
            ("HTTP__TOKEN", "\"quoted\""),
            ("PIPELINE__COMMIT_INTERVAL_MS", "250"),
        ],
    )
    .unwrap();
    assert_eq!(c.librdkafka["sasl.password"], "0123456");
    assert_eq!(c.instance_id, "007");
    assert_eq!(c.settings.kafka.group_id, "true");
    assert_eq!(c.settings.http.token, "\"quoted\"");
    // Numbers stay numbers.
    assert_eq!(c.commit_interval(), Duration::from_millis(250));
}

#[test]
fn settings_written_as_toml_load_back_equal() {
    let defaults = RunSettings::defaults();
    let loaded = load_str(&defaults.to_toml(), &[]).unwrap();
    assert_eq!(loaded.settings.to_toml(), defaults.to_toml());
    // …and equal to what the loader makes of the defaults alone (no file).
    let built_in = load_str("", &[]).unwrap().settings;
    assert_eq!(built_in.to_toml(), defaults.to_toml());
    // Changed values, a pass-through property and an empty string among them, too.
    let mut s = RunSettings::defaults();
    s.kafka.instance_id = "a".into();
    s.kafka.static_membership = true;
    s.kafka
        .librdkafka
        .insert("session.timeout.ms".into(), Scalar::Int(6000));
    s.kafka
        .librdkafka
        .insert("client.id".into(), Scalar::Str("t".into()));
    s.pipeline.clock = "2024-08-08T17:00:00+07:00".into();
    s.engine.finals_kept = FinalsKept {
        month: 0,
        quarter: 0,
        year: 0,
    };
    s.http.bind = String::new();
    let loaded = load_str(&s.to_toml(), &[]).unwrap();
    assert_eq!(loaded.settings.to_toml(), s.to_toml());
    assert_eq!(loaded.librdkafka["session.timeout.ms"], "6000");
}
