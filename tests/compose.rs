//! The compose stack of `deploy/compose/`, checked without running a container: the services it
//! must have, every port published on loopback only, every mounted file present in the project,
//! every chiso setting accepted by the binary just built (`chiso run --check`, with each
//! service's variables and the mounted files in place), `kafka-init` running `chiso topics create`
//! with the services' configuration and the topic layout against the table of docs/kafka.md, and the Prometheus, Alertmanager and Grafana files against what
//! mounts them (`promtool check config`, `amtool check-config` when they are installed).

mod support_check;
mod support_tools;

use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support_check::{effective, run_check};
use support_tools::tool;

const KAFKA_IMAGE: &str = "apache/kafka:4.1.0";
const CHISO_SERVICES: [&str; 2] = ["chiso-1", "chiso-2"];
const SERVICES: [&str; 7] = [
    "kafka",
    "kafka-init",
    "chiso-1",
    "chiso-2",
    "prometheus",
    "alertmanager",
    "grafana",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compose_dir() -> PathBuf {
    root().join("deploy/compose")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(path: &Path) -> Value {
    serde_norway::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

/// compose.yaml as compose reads it: YAML with its merge keys (`<<: *chiso`) applied.
fn compose() -> Value {
    let mut c = yaml(&compose_dir().join("compose.yaml"));
    c.apply_merge().expect("compose.yaml: merge keys apply");
    c
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose["services"]
        .get(name)
        .unwrap_or_else(|| panic!("compose.yaml has no service `{name}`"))
}

/// A scalar as compose reads it in `environment` and similar places.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(s) => s.iter().map(scalar).collect(),
        Value::Null => Vec::new(),
        other => vec![scalar(other)],
    }
}

/// A service's `environment`, in either of compose's forms (a mapping or `KEY=value` items).
fn environment(svc: &Value) -> BTreeMap<String, String> {
    match svc.get("environment") {
        None => BTreeMap::new(),
        Some(Value::Mapping(m)) => m.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| {
                let i = scalar(i);
                let (k, v) = i.split_once('=').unwrap_or((&i, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        Some(other) => panic!("environment: {other:?}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// A path relative to deploy/compose/ (bind mount) or a volume name.
    source: String,
    target: String,
    bind: bool,
    read_only: bool,
}

impl Mount {
    fn host_path(&self) -> PathBuf {
        assert!(self.bind, "{self:?} is not a bind mount");
        compose_dir().join(&self.source)
    }
}

fn mounts(svc: &Value) -> Vec<Mount> {
    let Some(list) = svc.get("volumes") else {
        return Vec::new();
    };
    let list = list.as_sequence().expect("volumes is a list");
    list.iter()
        .map(|m| match m {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                assert!(
                    (2..=3).contains(&parts.len()),
                    "volume `{s}`: expected SOURCE:TARGET[:MODE]"
                );
                let source = parts[0].to_owned();
                let options: Vec<&str> = parts.get(2).map_or(vec![], |o| o.split(',').collect());
                Mount {
                    bind: source.starts_with('.') || source.starts_with('/'),
                    source,
                    target: parts[1].to_owned(),
                    read_only: options.contains(&"ro"),
                }
            }
            Value::Mapping(_) => Mount {
                source: scalar(&m["source"]),
                target: scalar(&m["target"]),
                bind: scalar(&m["type"]) == "bind",
                read_only: m.get("read_only").is_some_and(|r| r == &Value::Bool(true)),
            },
            other => panic!("volume {other:?}"),
        })
        .collect()
}

/// Where a path of the container comes from on the host, through the service's bind mounts.
fn host_path_of(svc: &Value, container_path: &str) -> Option<PathBuf> {
    mounts(svc)
        .into_iter()
        .filter(|m| m.bind)
        .filter_map(|m| {
            let rest = container_path.strip_prefix(m.target.as_str())?;
            let host = match rest.trim_start_matches('/') {
                "" => m.host_path(),
                rest => m.host_path().join(rest),
            };
            (rest.is_empty() || rest.starts_with('/')).then_some((m.target.len(), host))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, p)| p)
}

/// `text` with every container path of the service's bind mounts replaced by the project path
/// it is mounted from (absolute).
fn with_host_paths(svc: &Value, text: &str) -> String {
    let mut binds: Vec<Mount> = mounts(svc).into_iter().filter(|m| m.bind).collect();
    binds.sort_by_key(|m| std::cmp::Reverse(m.target.len()));
    let mut text = text.to_owned();
    for m in binds {
        let host = m.host_path().canonicalize().unwrap();
        text = text.replace(&m.target, host.to_str().unwrap());
    }
    text
}

#[derive(Debug)]
struct Published {
    host_ip: Option<String>,
    host_port: String,
    container_port: String,
}

fn published(svc: &Value) -> Vec<Published> {
    let Some(list) = svc.get("ports") else {
        return Vec::new();
    };
    list.as_sequence()
        .expect("ports is a list")
        .iter()
        .map(|p| match p {
            Value::Mapping(_) => Published {
                host_ip: p.get("host_ip").map(scalar),
                host_port: p.get("published").map(scalar).unwrap_or_default(),
                container_port: scalar(&p["target"]),
            },
            other => {
                let s = scalar(other);
                let s = s.split('/').next().unwrap().to_owned();
                let parts: Vec<&str> = s.split(':').collect();
                match parts[..] {
                    [ip, host, container] => Published {
                        host_ip: Some(ip.to_owned()),
                        host_port: host.to_owned(),
                        container_port: container.to_owned(),
                    },
                    [host, container] => Published {
                        host_ip: None,
                        host_port: host.to_owned(),
                        container_port: container.to_owned(),
                    },
                    [container] => Published {
                        host_ip: None,
                        host_port: String::new(),
                        container_port: container.to_owned(),
                    },
                    _ => panic!("port `{s}`"),
                }
            }
        })
        .collect()
}

/// A compose duration (`30s`, `1m30s`, `1500ms`).
fn duration(s: &str) -> Duration {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    assert!(!rest.is_empty(), "empty duration");
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest[..digits]
            .parse()
            .unwrap_or_else(|_| panic!("duration `{s}`"));
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += match &rest[..unit] {
            "h" => Duration::from_secs(n * 3600),
            "m" => Duration::from_secs(n * 60),
            "s" => Duration::from_secs(n),
            "ms" => Duration::from_millis(n),
            "us" => Duration::from_micros(n),
            other => panic!("duration `{s}`: unit `{other}`"),
        };
        rest = &rest[unit..];
    }
    total
}

/// `NAME://host:port,…` → name → (host, port).
fn listeners(list: &str) -> BTreeMap<String, (String, String)> {
    list.split(',')
        .map(|l| {
            let (name, addr) = l
                .trim()
                .split_once("://")
                .unwrap_or_else(|| panic!("listener `{l}`"));
            let (host, port) = addr
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("listener `{l}`"));
            (name.to_owned(), (host.to_owned(), port.to_owned()))
        })
        .collect()
}

/// The port of a `host:port` address.
fn port_of(addr: &str) -> &str {
    addr.rsplit_once(':')
        .unwrap_or_else(|| panic!("address `{addr}`"))
        .1
}

/// What `chiso run --check` printed for a chiso service: the effective configuration.
struct Checked {
    stdout: String,
    config: toml::Table,
}

impl Checked {
    fn get(&self, path: &str) -> &toml::Value {
        let mut v: Option<&toml::Value> = None;
        for (i, key) in path.split('.').enumerate() {
            v = if i == 0 {
                self.config.get(key)
            } else {
                v.and_then(|t| t.get(key))
            };
        }
        v.unwrap_or_else(|| panic!("the effective configuration has no `{path}`"))
    }

    fn str(&self, path: &str) -> &str {
        self.get(path)
            .as_str()
            .unwrap_or_else(|| panic!("`{path}` is not a string"))
    }
}

/// Runs `chiso run --check` as the service would run `chiso run`: its `--config` file (with the
/// container paths of its mounts rewritten to the project files they are mounted from) and its
/// environment variables, none of the test's own `CHISO_*` variables, in an empty directory.
fn check_service(compose: &Value, name: &str) -> Checked {
    let svc = service(compose, name);
    let command = strings(&svc["command"]);
    let config_in_container = match &command[..] {
        [run, flag, path] if run == "run" && flag == "--config" => path.clone(),
        other => panic!("{name}: command {other:?}, expected [run, --config, FILE]"),
    };
    let config_on_host = host_path_of(svc, &config_in_container)
        .unwrap_or_else(|| panic!("{name}: {config_in_container} is not mounted"));
    let text = with_host_paths(svc, &read(&config_on_host));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chiso.toml");
    std::fs::write(&config, &text).unwrap();

    let out = run_check(&config, dir.path(), environment(svc));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let config = effective(&out, &format!("{name}: the compose settings"));
    Checked { stdout, config }
}

#[test]
fn the_stack_has_its_services_and_publishes_on_loopback_only() {
    let c = compose();
    let top = c.as_mapping().expect("compose.yaml is a mapping");
    for key in top.keys() {
        let key = scalar(key);
        assert!(
            ["services", "volumes", "networks", "configs", "secrets", "name"]
                .contains(&key.as_str())
                || key.starts_with("x-"),
            "compose.yaml: top-level key `{key}` (the Compose Specification has no `version`)"
        );
    }
    assert!(top.get("version").is_none(), "compose.yaml has `version`");
    let names: BTreeSet<String> = c["services"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(scalar)
        .collect();
    let expected: BTreeSet<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    assert_eq!(names, expected, "the services of compose.yaml");

    let image = |name: &str| scalar(&service(&c, name)["image"]);
    assert_eq!(image("kafka"), KAFKA_IMAGE);
    assert_eq!(image("kafka-init"), "chiso:latest");
    for name in CHISO_SERVICES {
        assert_eq!(image(name), "chiso:latest");
    }
    for (name, repo) in [
        ("prometheus", "prom/prometheus"),
        ("alertmanager", "prom/alertmanager"),
        ("grafana", "grafana/grafana"),
    ] {
        let i = image(name);
        assert!(
            i == repo || i.starts_with(&format!("{repo}:")),
            "{name}: {i}"
        );
    }

    let mut host_ports = BTreeSet::new();
    for name in SERVICES {
        let svc = service(&c, name);
        assert!(
            svc.get("network_mode").is_none(),
            "{name}: network_mode bypasses the loopback-only ports"
        );
        for p in published(svc) {
            assert_eq!(
                p.host_ip.as_deref(),
                Some("127.0.0.1"),
                "{name}: port {p:?} must be published on 127.0.0.1 only"
            );
            assert!(
                !p.host_port.is_empty(),
                "{name}: port {p:?} has no host port"
            );
            assert!(
                host_ports.insert(p.host_port.clone()),
                "host port {} is published twice",
                p.host_port
            );
        }
    }
}

#[test]
fn every_mounted_file_is_in_the_project() {
    let c = compose();
    let root = root().canonicalize().unwrap();
    let declared: BTreeSet<String> = c
        .get("volumes")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().map(scalar).collect())
        .unwrap_or_default();
    let mut binds = 0;
    for name in SERVICES {
        for m in mounts(service(&c, name)) {
            if m.bind {
                let path = m.host_path();
                let real = path.canonicalize().unwrap_or_else(|e| {
                    panic!("{name}: mounts {} which does not exist: {e}", m.source)
                });
                assert!(
                    real.starts_with(&root),
                    "{name}: mounts {} from outside the project",
                    m.source
                );
                assert!(
                    m.read_only,
                    "{name}: {} is mounted writable; the containers must not write into the checkout",
                    m.source
                );
                binds += 1;
            } else {
                assert!(
                    declared.contains(&m.source),
                    "{name}: volume `{}` is not declared under the top-level `volumes`",
                    m.source
                );
            }
        }
    }
    assert!(binds >= 9, "only {binds} bind mounts: the file moved?");
}

#[test]
fn chiso_accepts_every_setting_the_stack_passes() {
    let c = compose();
    let kafka_env = environment(service(&c, "kafka"));
    let advertised = listeners(&kafka_env["KAFKA_ADVERTISED_LISTENERS"]);
    let prometheus = yaml(&compose_dir().join("prometheus.yml"));
    let targets: BTreeSet<String> = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|job| job["static_configs"].as_sequence().unwrap().iter())
        .flat_map(|sc| strings(&sc["targets"]))
        .collect();

    let mut groups = BTreeSet::new();
    let mut instances = BTreeSet::new();
    for name in CHISO_SERVICES {
        let svc = service(&c, name);
        let checked = check_service(&c, name);
        let env = environment(svc);
        let instance = env
            .get("CHISO_KAFKA__INSTANCE_ID")
            .unwrap_or_else(|| panic!("{name}: no CHISO_KAFKA__INSTANCE_ID"));
        let bootstrap = checked.str("kafka.bootstrap_servers");
        for (what, text) in [
            ("instance id", format!("instance_id = \"{instance}\"")),
            (
                "bootstrap servers",
                format!("bootstrap_servers = \"{bootstrap}\""),
            ),
        ] {
            assert!(
                checked.stdout.contains(&text),
                "{name}: the effective configuration lacks the {what} `{text}`:\n{}",
                checked.stdout
            );
        }
        assert_eq!(checked.str("kafka.instance_id"), instance);
        instances.insert(instance.clone());
        groups.insert(checked.str("kafka.group_id").to_owned());

        // The brokers are the broker's listener for containers.
        for server in bootstrap.split(',') {
            let (host, port) = server.rsplit_once(':').unwrap();
            assert!(
                advertised.get("PLAINTEXT") == Some(&(host.to_owned(), port.to_owned())),
                "{name}: bootstrap server {server} is not the advertised PLAINTEXT listener \
                 {advertised:?}"
            );
            assert_eq!(host, "kafka", "{name}: {server} is not the kafka service");
        }

        // Started after the topics exist.
        let after = &svc["depends_on"]["kafka-init"]["condition"];
        assert_eq!(scalar(after), "service_completed_successfully", "{name}");

        // Stopped after chiso's own shutdown deadline, with the signal it handles.
        let shutdown = Duration::from_millis(
            checked
                .get("shutdown.timeout_ms")
                .as_integer()
                .expect("shutdown.timeout_ms") as u64,
        );
        let grace = duration(&scalar(&svc["stop_grace_period"]));
        assert!(
            grace > shutdown,
            "{name}: stop_grace_period {grace:?} must exceed shutdown.timeout_ms {shutdown:?}"
        );
        if let Some(sig) = svc.get("stop_signal") {
            assert!(["SIGTERM", "SIGINT"].contains(&scalar(sig).as_str()));
        }

        // Its HTTP port: on every interface of the container, published, and scraped.
        let bind = checked.str("http.bind");
        assert!(
            bind.starts_with("0.0.0.0:") || bind.starts_with("[::]:"),
            "{name}: http.bind {bind} is not reachable from other containers"
        );
        let port = port_of(bind);
        let ports = published(svc);
        assert!(
            ports.iter().any(|p| p.container_port == port),
            "{name}: http port {port} is not published: {ports:?}"
        );
        let target = format!("{name}:{port}");
        assert!(
            targets.contains(&target),
            "prometheus.yml does not scrape {target}: {targets:?}"
        );
    }
    assert_eq!(groups.len(), 1, "the chiso services use groups {groups:?}");
    assert_eq!(
        instances.len(),
        CHISO_SERVICES.len(),
        "two chiso services share an instance id: {instances:?}"
    );
    let chiso_targets: BTreeSet<&String> =
        targets.iter().filter(|t| t.starts_with("chiso")).collect();
    assert_eq!(
        chiso_targets.len(),
        CHISO_SERVICES.len(),
        "prometheus.yml scrapes {targets:?}"
    );
}

#[test]
fn kafka_is_one_kraft_node_reachable_from_containers_and_the_host() {
    let c = compose();
    let kafka = service(&c, "kafka");
    let env = environment(kafka);
    let get = |k: &str| {
        env.get(k)
            .unwrap_or_else(|| panic!("kafka: {k} is not set"))
            .as_str()
    };
    assert_eq!(get("KAFKA_PROCESS_ROLES"), "broker,controller");
    let node = get("KAFKA_NODE_ID");
    assert!(!get("CLUSTER_ID").is_empty());
    for (k, v) in [
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"),
        ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1"),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1"),
        ("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false"),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT"),
    ] {
        assert_eq!(get(k), v, "kafka: {k}");
    }
    let bound = listeners(get("KAFKA_LISTENERS"));
    let advertised = listeners(get("KAFKA_ADVERTISED_LISTENERS"));
    let protocols: BTreeMap<&str, &str> = get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")
        .split(',')
        .map(|p| p.split_once(':').unwrap())
        .collect();
    for name in bound.keys() {
        assert!(
            protocols.contains_key(name.as_str()),
            "kafka: listener {name} has no security protocol"
        );
    }
    assert_eq!(bound["PLAINTEXT"].1, "9092");
    assert_eq!(bound["CONTROLLER"].1, "9093");
    assert_eq!(
        advertised["PLAINTEXT"],
        ("kafka".to_owned(), "9092".to_owned())
    );
    assert!(!advertised.contains_key("CONTROLLER"));
    assert_eq!(
        get("KAFKA_CONTROLLER_QUORUM_VOTERS"),
        format!("{node}@kafka:{}", bound["CONTROLLER"].1)
    );

    // The host's listener: published on loopback at the advertised port, and the broker of
    // config/quickstart.toml, which the README's `chiso produce` uses.
    let (ext_host, ext_port) = &advertised["EXTERNAL"];
    assert_eq!(bound["EXTERNAL"].1, *ext_port);
    assert!(
        published(kafka)
            .iter()
            .any(|p| p.host_port == *ext_port && p.container_port == *ext_port),
        "kafka: EXTERNAL port {ext_port} is not published as itself"
    );
    let quickstart: toml::Table = toml::from_str(&read(&root().join("config/quickstart.toml")))
        .expect("config/quickstart.toml");
    assert_eq!(
        quickstart["kafka"]["bootstrap_servers"].as_str(),
        Some(format!("{ext_host}:{ext_port}").as_str()),
        "the README loads the sample with config/quickstart.toml through the EXTERNAL listener"
    );

    // Data on a named volume.
    let data = get("KAFKA_LOG_DIRS");
    assert!(
        mounts(kafka).iter().any(|m| !m.bind && m.target == data),
        "kafka: KAFKA_LOG_DIRS {data} is not on a named volume"
    );

    // Healthy once the broker answers on its own PLAINTEXT listener.
    let health = strings(&kafka["healthcheck"]["test"]);
    assert_eq!(
        health,
        [
            "CMD",
            "/opt/kafka/bin/kafka-broker-api-versions.sh",
            "--bootstrap-server",
            &format!("localhost:{}", bound["PLAINTEXT"].1)
        ]
    );
}

/// kafka-init runs `chiso topics create` with the chiso services' image and configuration;
/// the partitions of the events topic it asks for.
fn init_partitions(c: &Value) -> u32 {
    let init = service(c, "kafka-init");
    assert_eq!(
        scalar(&init["depends_on"]["kafka"]["condition"]),
        "service_healthy"
    );
    let chiso = service(c, CHISO_SERVICES[0]);
    assert_eq!(
        scalar(&init["image"]),
        scalar(&chiso["image"]),
        "kafka-init runs the chiso image"
    );
    assert_eq!(
        mounts(init),
        mounts(chiso),
        "kafka-init reads the configuration of the chiso services"
    );
    let command = strings(&init["command"]);
    let config = &strings(&chiso["command"])[2];
    let [topics, create, flag, path, rest @ ..] = &command[..] else {
        panic!("kafka-init: command {command:?}")
    };
    assert_eq!(
        [topics, create, flag, path],
        ["topics", "create", "--config", config.as_str()]
    );
    let options: BTreeMap<&str, &str> = rest
        .chunks(2)
        .map(|kv| (kv[0].as_str(), kv[1].as_str()))
        .collect();
    assert_eq!(options.get("--replication"), Some(&"1"), "one broker");
    options["--partitions"].parse().unwrap()
}

/// What a row of the topic table of docs/kafka.md asks of a topic.
#[derive(Debug)]
struct Required {
    /// `None`: as many as the events topic.
    partitions: Option<std::ops::RangeInclusive<u32>>,
    configs: BTreeMap<String, String>,
}

/// The topic table of docs/kafka.md (section "Topics"): default topic name → what it requires.
fn documented_topics() -> BTreeMap<String, Required> {
    let doc = read(&root().join("docs/kafka.md"));
    let section = doc
        .split("\n## Topics\n")
        .nth(1)
        .expect("docs/kafka.md has a Topics section");
    let section = section.split("\n## ").next().unwrap();
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<String> = line
            .replace("\\|", "¦")
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        let topic = cells[1].trim_matches('`').to_owned();
        let partitions = cells[2].replace("**", "");
        let partitions = if partitions.contains("same as events") {
            None
        } else if let Ok(n) = partitions.parse::<u32>() {
            Some(n..=n)
        } else if partitions == "1 or more"
            || partitions == "any"
            || partitions.contains("your choice")
        {
            Some(1..=u32::MAX)
        } else {
            panic!("docs/kafka.md: partitions of {topic}: `{partitions}` not understood")
        };
        let mut configs = BTreeMap::new();
        if !cells[3].contains("your choice") {
            for token in cells[3].split('`').skip(1).step_by(2) {
                if let Some((k, v)) = token.split_once('=') {
                    configs.insert(k.to_owned(), v.to_owned());
                } else if ["delete", "compact"].contains(&token) {
                    configs.insert("cleanup.policy".to_owned(), token.to_owned());
                } else {
                    panic!("docs/kafka.md: cleanup of {topic}: `{token}` not understood");
                }
            }
        }
        rows.insert(
            topic,
            Required {
                partitions,
                configs,
            },
        );
    }
    rows
}

#[test]
fn kafka_init_creates_the_topics_of_docs_kafka_md() {
    let c = compose();
    let partitions = init_partitions(&c);
    let documented = documented_topics();

    // The table is read as meant (a parser gone blind would pass anything).
    assert_eq!(documented.len(), 5, "{documented:?}");
    let state = &documented["chiso.state"];
    assert!(state.partitions.is_none());
    assert_eq!(state.configs["retention.ms"], "-1");
    assert_eq!(state.configs["retention.bytes"], "-1");
    assert_eq!(state.configs["cleanup.policy"], "delete");
    assert_eq!(documented["chiso.partials"].partitions, Some(1..=1));
    assert_eq!(
        documented["chiso.partials"].configs["cleanup.policy"],
        "compact"
    );
    assert_eq!(
        documented["chiso.results"].configs["cleanup.policy"],
        "compact"
    );
    assert_eq!(partitions, 4, "the stack's event partitions");

    // The layout that `chiso topics create` makes, under the default names (the table's), is
    // the table's.
    let defaults: toml::Table = toml::from_str(&read(&root().join("config/chiso.toml"))).unwrap();
    let names: chiso::kafka::Topics = defaults["kafka"]["topics"].clone().try_into().unwrap();
    let layout = chiso::kafka::layout::layout(&names);
    assert_eq!(
        layout
            .iter()
            .map(|s| s.name.clone())
            .collect::<BTreeSet<_>>(),
        documented.keys().cloned().collect::<BTreeSet<_>>(),
        "the layout has the table's topics"
    );
    for spec in &layout {
        let required = &documented[&spec.name];
        let got = spec.create_count(partitions as i32) as u32;
        match &required.partitions {
            None => assert_eq!(
                spec.partitions,
                chiso::kafka::layout::Count::Events,
                "{}: as many partitions as the events topic",
                spec.name
            ),
            Some(range) => assert!(
                range.contains(&got),
                "{}: {got} partitions, docs/kafka.md: {range:?}",
                spec.name
            ),
        }
        let configs: BTreeMap<String, String> = spec
            .configs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            &configs, &required.configs,
            "{}: docs/kafka.md and the layout differ",
            spec.name
        );
    }
}

/// Whether a program is on PATH.
#[test]
fn prometheus_loads_the_shipped_rules_and_alerts_to_alertmanager() {
    let c = compose();
    let prom = service(&c, "prometheus");
    // The image reads /etc/prometheus/prometheus.yml.
    let config = host_path_of(prom, "/etc/prometheus/prometheus.yml")
        .expect("prometheus: /etc/prometheus/prometheus.yml is not mounted");
    assert_eq!(
        config.canonicalize().unwrap(),
        compose_dir().join("prometheus.yml").canonicalize().unwrap()
    );
    let text = read(&config);
    let parsed: Value = serde_norway::from_str(&text).expect("prometheus.yml");
    let rules = strings(&parsed["rule_files"]);
    assert!(!rules.is_empty(), "prometheus.yml loads no rules");
    for rule in &rules {
        let host = host_path_of(prom, rule)
            .unwrap_or_else(|| panic!("prometheus: rule file {rule} is not mounted"));
        assert_eq!(
            host.canonicalize().unwrap(),
            root()
                .join("deploy/prometheus/alerts.yml")
                .canonicalize()
                .unwrap(),
            "prometheus: {rule} is not the shipped alerts.yml"
        );
    }
    let alertmanagers: Vec<String> = parsed["alerting"]["alertmanagers"]
        .as_sequence()
        .expect("prometheus.yml sends alerts to an alertmanager")
        .iter()
        .flat_map(|a| a["static_configs"].as_sequence().unwrap().iter())
        .flat_map(|sc| strings(&sc["targets"]))
        .collect();
    let am = service(&c, "alertmanager");
    let am_ports: Vec<String> = published(am)
        .into_iter()
        .map(|p| p.container_port)
        .collect();
    assert_eq!(alertmanagers.len(), 1, "{alertmanagers:?}");
    let (host, port) = alertmanagers[0].rsplit_once(':').unwrap();
    assert_eq!(host, "alertmanager");
    assert!(
        am_ports.iter().any(|p| p == port),
        "alertmanager listens on {am_ports:?}"
    );

    // promtool checks the configuration and the rules it loads, from where they are mounted.
    let Some(promtool) = tool(
        "promtool",
        "scripts/prometheus install",
        "the compose file's Prometheus configuration",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("prometheus.yml");
    std::fs::write(&copy, with_host_paths(prom, &text)).unwrap();
    let out = Command::new(promtool)
        .args(["check", "config"])
        .arg(&copy)
        .output()
        .expect("running promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check config:\n{said}");
    assert!(
        said.contains("alerts.yml") && said.contains("SUCCESS"),
        "promtool did not check the rules:\n{said}"
    );
}

#[test]
fn alertmanager_config_is_valid() {
    let c = compose();
    let am = service(&c, "alertmanager");
    let config = host_path_of(am, "/etc/alertmanager/alertmanager.yml")
        .expect("alertmanager: /etc/alertmanager/alertmanager.yml is not mounted");
    let parsed = yaml(&config);
    let group_by = strings(&parsed["route"]["group_by"]);
    // Grouped per alert name, not per agency: one message names every agency concerned.
    assert!(
        group_by.iter().any(|l| l == "alertname"),
        "group_by {group_by:?}"
    );
    assert!(
        !group_by.iter().any(|l| l == "agency"),
        "group_by {group_by:?}"
    );
    let receiver = scalar(&parsed["route"]["receiver"]);
    let receivers: Vec<String> = parsed["receivers"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| scalar(&r["name"]))
        .collect();
    assert!(
        receivers.contains(&receiver),
        "receiver {receiver} in {receivers:?}"
    );

    let Some(amtool) = tool(
        "amtool",
        "apt-get install prometheus-alertmanager",
        "deploy/compose/alertmanager.yml (beyond parsing)",
    ) else {
        return;
    };
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(&config)
        .output()
        .expect("running amtool");
    assert!(
        out.status.success(),
        "amtool check-config:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn grafana_reads_the_shipped_dashboards_from_the_prometheus_service() {
    let c = compose();
    let grafana = service(&c, "grafana");
    let provisioning = |kind: &str| -> Vec<PathBuf> {
        let dir = format!("/etc/grafana/provisioning/{kind}/");
        mounts(grafana)
            .iter()
            .filter(|m| m.bind && m.target.starts_with(&dir) && m.target.ends_with(".yml"))
            .map(Mount::host_path)
            .collect()
    };

    // The datasource: the shipped one's uid (the dashboards' default), at the prometheus service.
    let shipped = yaml(&root().join("deploy/grafana/provisioning/datasources/chiso.yml"));
    let uid = scalar(&shipped["datasources"][0]["uid"]);
    let sources = provisioning("datasources");
    assert_eq!(sources.len(), 1, "grafana: datasource files {sources:?}");
    let source = yaml(&sources[0]);
    let ds = &source["datasources"][0];
    assert_eq!(scalar(&ds["uid"]), uid);
    assert_eq!(scalar(&ds["type"]), "prometheus");
    let prom_ports: Vec<String> = published(service(&c, "prometheus"))
        .into_iter()
        .map(|p| p.container_port)
        .collect();
    let url = scalar(&ds["url"]);
    assert!(
        prom_ports
            .iter()
            .any(|p| url == format!("http://prometheus:{p}")),
        "grafana: datasource url {url} is not the prometheus service ({prom_ports:?})"
    );

    // The dashboards: the shipped provider, reading the shipped JSON files where they are mounted.
    let providers = provisioning("dashboards");
    assert_eq!(
        providers.len(),
        1,
        "grafana: dashboard providers {providers:?}"
    );
    assert_eq!(
        providers[0].canonicalize().unwrap(),
        root()
            .join("deploy/grafana/provisioning/dashboards/chiso.yml")
            .canonicalize()
            .unwrap()
    );
    let provider = yaml(&providers[0]);
    let path = scalar(&provider["providers"][0]["options"]["path"]);
    let dashboards = host_path_of(grafana, &path)
        .unwrap_or_else(|| panic!("grafana: the provider's path {path} is not mounted"));
    assert_eq!(
        dashboards.canonicalize().unwrap(),
        root()
            .join("deploy/grafana/dashboards")
            .canonicalize()
            .unwrap()
    );
    if let Some(home) = environment(grafana).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH") {
        let file = host_path_of(grafana, home)
            .unwrap_or_else(|| panic!("grafana: home dashboard {home} is not mounted"));
        assert!(file.is_file(), "grafana: home dashboard {}", file.display());
    }
}

#[test]
fn durations_and_listeners_parse_as_compose_and_kafka_read_them() {
    assert_eq!(duration("30s"), Duration::from_secs(30));
    assert_eq!(duration("1m30s"), Duration::from_secs(90));
    assert_eq!(duration("1500ms"), Duration::from_millis(1500));
    let l = listeners("PLAINTEXT://:9092,EXTERNAL://127.0.0.1:19092");
    assert_eq!(l["PLAINTEXT"], (String::new(), "9092".to_owned()));
    assert_eq!(l["EXTERNAL"], ("127.0.0.1".to_owned(), "19092".to_owned()));
}
