//! The Helm chart (`deploy/helm/chiso/`): `helm lint` passes, `helm template` renders objects
//! that the Kubernetes API's schemas accept strictly (and the Prometheus Operator's models), and
//! what the objects tell chiso and the kubelet fits chiso: the configuration `chiso run --check`
//! accepts, a stable instance id per pod, the probes on chiso's health paths and port, a grace
//! period longer than the shutdown timeout, secrets from Secrets only, the image's user, and the
//! shipped alert rules. Helm and the validators come from `scripts/helm install`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_norway::Value;
use support_check::{effective, run_check};

mod support_check;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The release name of every rendering: objects are named `rel-chiso`, pods `rel-chiso-N`.
const RELEASE: &str = "rel";
/// The Kubernetes version `helm template` assumes (a built helm defaults to an old one).
const KUBE_VERSION: &str = "1.33.0";

fn chart() -> PathBuf {
    Path::new(ROOT).join("deploy/helm/chiso")
}

/// `scripts/helm ARGS` (installing the tools once per test process); its output.
fn helm_script(args: &[&str]) -> Output {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let script = Path::new(ROOT).join("scripts/helm");
    INSTALLED.get_or_init(|| {
        let out = Command::new(&script)
            .arg("install")
            .stdin(Stdio::null())
            .output()
            .expect("running scripts/helm install");
        assert!(
            out.status.success(),
            "scripts/helm install failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    Command::new(&script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/helm")
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `helm template` of the chart with `sets` (`key=value`, as `--set`); the output.
fn template(sets: &[&str]) -> Output {
    let chart = chart();
    let mut args = vec![
        "run",
        "template",
        RELEASE,
        chart.to_str().unwrap(),
        "--kube-version",
        KUBE_VERSION,
    ];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    helm_script(&args)
}

/// The bootstrap servers every rendering must be given.
const BOOTSTRAP: &str = "config.kafka.bootstrap_servers=kafka-0.kafka:9092\\,kafka-1.kafka:9092";

/// Every option of the chart turned on: monitoring objects, secrets, TLS, an inline registry.
fn everything_on() -> Vec<String> {
    let registry =
        std::fs::read_to_string(Path::new(ROOT).join("config/agencies/tuyen-quang.toml")).unwrap();
    vec![
        BOOTSTRAP.into(),
        "serviceMonitor.enabled=true".into(),
        "prometheusRule.enabled=true".into(),
        "apiToken.existingSecret=chiso-api".into(),
        "kafkaSecret.existingSecret=chiso-kafka".into(),
        "kafkaSecret.keys.sasl\\.password=password".into(),
        "tls.existingSecret=chiso-tls".into(),
        "config.kafka.librdkafka.security\\.protocol=SASL_SSL".into(),
        "config.kafka.librdkafka.sasl\\.mechanisms=SCRAM-SHA-512".into(),
        "config.kafka.librdkafka.sasl\\.username=chiso".into(),
        "config.kafka.librdkafka.ssl\\.ca\\.location=/etc/chiso/tls/ca.crt".into(),
        // --set-file would read it; --set needs its commas escaped.
        format!("agencies.inline={}", registry.replace(',', "\\,")),
    ]
}

/// The objects of a rendering, by `Kind/name`.
fn objects(out: &Output) -> BTreeMap<String, Value> {
    assert!(out.status.success(), "helm template failed:\n{}", said(out));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut objects = BTreeMap::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc).expect("helm template's YAML");
        if v.is_null() {
            continue;
        }
        let key = format!(
            "{}/{}",
            v["kind"].as_str().unwrap(),
            v["metadata"]["name"].as_str().unwrap()
        );
        assert!(objects.insert(key.clone(), v).is_none(), "{key} twice");
    }
    objects
}

use serde::Deserialize;

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v:?}"))
}

/// Writes a rendering to a file and validates it with `scripts/helm validate`.
fn validate(rendered: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, rendered).unwrap();
    helm_script(&["validate", file.to_str().unwrap()])
}

#[test]
fn helm_lint_passes_and_the_brokers_are_required() {
    let chart = chart();
    let out = helm_script(&[
        "run",
        "lint",
        "--strict",
        chart.to_str().unwrap(),
        "--set",
        BOOTSTRAP,
    ]);
    assert!(out.status.success(), "helm lint:\n{}", said(&out));
    assert!(said(&out).contains("0 chart(s) failed"), "{}", said(&out));

    // Without brokers the chart refuses to render, and says what is missing.
    let out = template(&[]);
    assert!(!out.status.success(), "rendered without brokers");
    assert!(
        said(&out).contains("config.kafka.bootstrap_servers is required"),
        "{}",
        said(&out)
    );
}

#[test]
fn every_rendered_object_is_valid_for_kubernetes() {
    let on = everything_on();
    let on: Vec<&str> = on.iter().map(String::as_str).collect();
    for (what, sets) in [("defaults", vec![BOOTSTRAP]), ("everything on", on)] {
        let out = template(&sets);
        let kinds: Vec<String> = objects(&out).into_keys().collect();
        let checked = validate(&out.stdout);
        let text = said(&checked);
        assert!(checked.status.success(), "{what}:\n{text}");
        // Every object was checked, by both Kubernetes versions where it is Kubernetes'.
        for kind in &kinds {
            assert!(
                text.contains(&format!("valid: {kind} (")),
                "{what}: {kind} not checked:\n{text}"
            );
        }
        eprintln!(
            "{what}: {} objects valid ({})",
            kinds.len(),
            kinds.join(", ")
        );
    }
    let all: Vec<String> = objects(&template(
        &everything_on()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ))
    .into_keys()
    .collect();
    for kind in [
        "StatefulSet/rel-chiso",
        "Service/rel-chiso",
        "Service/rel-chiso-pods",
        "PodDisruptionBudget/rel-chiso",
        "ConfigMap/rel-chiso",
        "ConfigMap/rel-chiso-agencies",
        "ServiceAccount/rel-chiso",
        "ServiceMonitor/rel-chiso",
        "PrometheusRule/rel-chiso",
        "Job/rel-chiso-topics",
        "ConfigMap/rel-chiso-topics",
    ] {
        assert!(
            all.iter().any(|k| k == kind),
            "{kind} not rendered: {all:?}"
        );
    }
}

#[test]
fn the_validation_catches_an_unknown_field_and_a_wrong_type() {
    let out = template(&[BOOTSTRAP]);
    assert!(out.status.success(), "{}", said(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    // A misspelt key in the pod template, and a port given as a word.
    let misspelt = text.replacen(
        "terminationGracePeriodSeconds:",
        "terminationGracePeriodSecond:",
        1,
    );
    assert_ne!(misspelt, text);
    let checked = validate(misspelt.as_bytes());
    assert!(
        !checked.status.success(),
        "a misspelt field passed:\n{}",
        said(&checked)
    );
    assert!(
        said(&checked).contains("terminationGracePeriodSecond"),
        "{}",
        said(&checked)
    );
    let typed = text.replacen("containerPort: 8766", "containerPort: http-port", 1);
    assert_ne!(typed, text);
    let checked = validate(typed.as_bytes());
    assert!(
        !checked.status.success(),
        "a string port passed:\n{}",
        said(&checked)
    );
}

/// The StatefulSet's pod template, container and the container's environment by name.
struct Pod {
    spec: Value,
    container: Value,
    env: BTreeMap<String, Value>,
}

fn pod(objects: &BTreeMap<String, Value>) -> Pod {
    let sts = &objects["StatefulSet/rel-chiso"];
    let spec = sts["spec"]["template"]["spec"].clone();
    let containers = spec["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 1);
    let container = containers[0].clone();
    let env = container["env"]
        .as_sequence()
        .map(|env| {
            env.iter()
                .map(|e| (str_of(&e["name"], "env name").to_owned(), e.clone()))
                .collect()
        })
        .unwrap_or_default();
    Pod {
        spec,
        container,
        env,
    }
}

#[test]
fn chiso_accepts_the_configuration_and_variables_the_pods_get() {
    let objects = objects(&template(
        &everything_on()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ));
    let pod = pod(&objects);
    assert_eq!(
        pod.container["args"],
        serde_norway::from_str::<Value>("[run, --config, /etc/chiso/chiso.toml]").unwrap()
    );

    // The files as mounted: the configuration, and the registry where the pod sees it.
    let dir = tempfile::tempdir().unwrap();
    let mounted = |mount_path: &str| -> String {
        let mounts = pod.container["volumeMounts"].as_sequence().unwrap();
        let m = mounts
            .iter()
            .find(|m| m["mountPath"].as_str() == Some(mount_path))
            .unwrap_or_else(|| panic!("nothing mounted at {mount_path}"));
        let volume = pod.spec["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == m["name"])
            .unwrap();
        str_of(&volume["configMap"]["name"], "the volume's ConfigMap").to_owned()
    };
    let config_map = &objects[&format!("ConfigMap/{}", mounted("/etc/chiso/chiso.toml"))];
    let registry_map = &objects[&format!("ConfigMap/{}", mounted("/etc/chiso/agencies"))];
    let registry_dir = dir.path().join("agencies");
    std::fs::create_dir(&registry_dir).unwrap();
    for (key, text) in registry_map["data"].as_mapping().unwrap() {
        std::fs::write(registry_dir.join(str_of(key, "key")), str_of(text, "data")).unwrap();
    }
    let toml_text = str_of(&config_map["data"]["chiso.toml"], "chiso.toml").replace(
        "/etc/chiso/agencies/",
        &format!("{}/", registry_dir.display()),
    );
    let config = dir.path().join("chiso.toml");
    std::fs::write(&config, &toml_text).unwrap();

    // The variables: the pod's name (of the first pod), and the Secrets' values.
    let mut vars = Vec::new();
    let mut from_secrets = Vec::new();
    for (name, e) in &pod.env {
        let from = &e["valueFrom"];
        let value = if from["fieldRef"]["fieldPath"].as_str() == Some("metadata.name") {
            format!("{RELEASE}-chiso-0")
        } else if from["secretKeyRef"].is_mapping() {
            from_secrets.push(name.clone());
            "s3cret-from-a-secret".to_owned()
        } else {
            panic!("{name}: neither the pod's name nor a Secret: {e:?}")
        };
        vars.push((name.clone(), value));
    }
    from_secrets.sort();
    assert_eq!(
        from_secrets,
        [
            "CHISO_HTTP__TOKEN",
            "CHISO_KAFKA__LIBRDKAFKA__SASL_PASSWORD"
        ]
    );
    let effective = effective(
        &run_check(&config, dir.path(), vars.iter().cloned()),
        "the chart's configuration",
    );
    let kafka = &effective["kafka"];
    assert_eq!(
        kafka["instance_id"].as_str(),
        Some("rel-chiso-0"),
        "the instance id is the pod's name"
    );
    assert_eq!(kafka["static_membership"].as_bool(), Some(true));
    assert_eq!(
        kafka["bootstrap_servers"].as_str(),
        Some("kafka-0.kafka:9092,kafka-1.kafka:9092")
    );
    assert_eq!(
        kafka["librdkafka"]["sasl.mechanisms"].as_str(),
        Some("SCRAM-SHA-512")
    );
    // Secrets reach chiso, masked in what it prints, and never sit in the ConfigMap.
    // (`--check` prints a variable's librdkafka key as written, `_` for `.`.)
    assert_eq!(kafka["librdkafka"]["sasl_password"].as_str(), Some("***"));
    assert_eq!(effective["http"]["token"].as_str(), Some("***"));
    assert!(
        !toml_text.contains("password") && !toml_text.contains("token"),
        "{toml_text}"
    );

    // HTTP listens on the port the probes, the container and the Services use.
    let port: u16 = effective["http"]["bind"]
        .as_str()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    let ports = pod.container["ports"].as_sequence().unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0]["name"].as_str(), Some("http"));
    assert_eq!(ports[0]["containerPort"].as_u64(), Some(u64::from(port)));
    assert!(effective["http"]["bind"]
        .as_str()
        .unwrap()
        .starts_with("0.0.0.0:"));
    for (probe, path) in [
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ] {
        let get = &pod.container[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe}");
        assert_eq!(get["port"].as_str(), Some("http"), "{probe}");
    }
    for service in ["Service/rel-chiso", "Service/rel-chiso-pods"] {
        let ports = objects[service]["spec"]["ports"].as_sequence().unwrap();
        assert_eq!(ports[0]["targetPort"].as_str(), Some("http"), "{service}");
    }

    // The kubelet waits longer than chiso's own shutdown before SIGKILL.
    let timeout =
        Duration::from_millis(effective["shutdown"]["timeout_ms"].as_integer().unwrap() as u64);
    let grace = Duration::from_secs(pod.spec["terminationGracePeriodSeconds"].as_u64().unwrap());
    assert!(
        grace >= timeout + Duration::from_secs(5),
        "grace {grace:?} for a {timeout:?} shutdown"
    );
}

/// The topics Job runs `chiso topics create` before the pods start (a hook), with the pods'
/// Kafka settings and secrets, on a configuration chiso accepts.
#[test]
fn the_topics_job_creates_the_layout_with_the_pods_kafka_settings() {
    let sets = everything_on();
    let mut sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    sets.extend(["topics.partitions=6", "topics.replication=3"]);
    let rendered = objects(&template(&sets));
    let job = &rendered["Job/rel-chiso-topics"];
    let hooks = str_of(&job["metadata"]["annotations"]["helm.sh/hook"], "hook");
    assert_eq!(hooks, "pre-install,pre-upgrade");
    let spec = &job["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| str_of(a, "arg"))
        .collect();
    assert_eq!(
        args,
        [
            "topics",
            "create",
            "--config",
            "/etc/chiso/chiso.toml",
            "--partitions",
            "6",
            "--replication",
            "3"
        ]
    );
    // The pods' image and librdkafka secrets.
    let pod = pod(&rendered);
    assert_eq!(container["image"], pod.container["image"]);
    let secret_env = |env: &Value| -> Vec<Value> {
        env.as_sequence()
            .unwrap()
            .iter()
            .filter(|e| str_of(&e["name"], "name").starts_with("CHISO_KAFKA__LIBRDKAFKA__"))
            .cloned()
            .collect()
    };
    assert_eq!(
        secret_env(&container["env"]),
        secret_env(&pod.container["env"])
    );
    // Its configuration (a hook ConfigMap: the release's does not exist yet) is the pods'
    // Kafka part, accepted by chiso.
    let config_map = &rendered["ConfigMap/rel-chiso-topics"];
    assert_eq!(
        str_of(
            &config_map["metadata"]["annotations"]["helm.sh/hook"],
            "hook"
        ),
        "pre-install,pre-upgrade"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chiso.toml");
    std::fs::write(
        &config,
        str_of(&config_map["data"]["chiso.toml"], "chiso.toml"),
    )
    .unwrap();
    let effective = effective(
        &run_check(&config, dir.path(), std::iter::empty::<(String, String)>()),
        "the topics Job's configuration",
    );
    assert_eq!(
        effective["kafka"]["bootstrap_servers"].as_str(),
        Some("kafka-0.kafka:9092,kafka-1.kafka:9092")
    );
    assert_eq!(
        effective["kafka"]["librdkafka"]["security.protocol"].as_str(),
        Some("SASL_SSL")
    );
    assert_eq!(
        effective["kafka"]["topics"]["state"].as_str(),
        Some("chiso.state")
    );
    let off = objects(&template(&[BOOTSTRAP, "topics.create=false"]));
    assert!(!off.contains_key("Job/rel-chiso-topics"));
}

#[test]
fn the_pods_are_named_stably_run_as_the_images_user_and_are_bounded() {
    let objects = objects(&template(&[BOOTSTRAP]));
    let sts = &objects["StatefulSet/rel-chiso"];
    // A StatefulSet: pod names (the instance ids) survive restarts.
    assert_eq!(sts["spec"]["serviceName"].as_str(), Some("rel-chiso-pods"));
    assert_eq!(
        sts["spec"]["podManagementPolicy"].as_str(),
        Some("Parallel")
    );
    assert!(
        sts["spec"]["volumeClaimTemplates"].is_null(),
        "chiso keeps its state in Kafka"
    );
    let pod = pod(&objects);
    assert_eq!(
        pod.env["CHISO_KAFKA__INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.name")
    );

    // The image's user (deploy/image/passwd), no privilege, a read-only root.
    let passwd = std::fs::read_to_string(Path::new(ROOT).join("deploy/image/passwd")).unwrap();
    let uid: u64 = passwd
        .lines()
        .find_map(|l| l.strip_prefix("chiso:x:"))
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .parse()
        .unwrap();
    let pod_sc = &pod.spec["securityContext"];
    assert_eq!(pod_sc["runAsUser"].as_u64(), Some(uid));
    assert_eq!(pod_sc["runAsNonRoot"].as_bool(), Some(true));
    let sc = &pod.container["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(
        pod.spec["automountServiceAccountToken"].as_bool(),
        Some(false)
    );

    // Requests and a memory limit.
    let res = &pod.container["resources"];
    for (what, v) in [
        ("cpu request", &res["requests"]["cpu"]),
        ("memory request", &res["requests"]["memory"]),
        ("memory limit", &res["limits"]["memory"]),
    ] {
        assert!(v.is_string(), "{what}: {v:?}");
    }

    // A drain takes one pod at a time, of this release's pods.
    let pdb = &objects["PodDisruptionBudget/rel-chiso"];
    assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1));
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        sts["spec"]["selector"]["matchLabels"]
    );
    // Without their CRDs in mind, the monitoring objects are off by default.
    assert!(!objects
        .keys()
        .any(|k| k.starts_with("ServiceMonitor/") || k.starts_with("PrometheusRule/")));
}

#[test]
fn the_monitoring_objects_scrape_every_pod_once_with_the_shipped_rules() {
    let objects = objects(&template(&[
        BOOTSTRAP,
        "serviceMonitor.enabled=true",
        "prometheusRule.enabled=true",
    ]));
    // The ServiceMonitor selects the per-pod Service only (each pod scraped once), by a port
    // it has, and names the job "chiso", which the rules select (`up{job=~"chiso.*"}`).
    let sm = &objects["ServiceMonitor/rel-chiso"];
    let selector = sm["spec"]["selector"]["matchLabels"].as_mapping().unwrap();
    let selected: Vec<&String> = objects
        .iter()
        .filter(|(k, _)| k.starts_with("Service/"))
        .filter(|(_, s)| {
            let labels = s["metadata"]["labels"].as_mapping().unwrap();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .map(|(k, _)| k)
        .collect();
    assert_eq!(selected, ["Service/rel-chiso-pods"]);
    let endpoint = &sm["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"].as_str(), Some("http"));
    assert_eq!(endpoint["path"].as_str(), Some("/metrics"));
    let job_label = str_of(&sm["spec"]["jobLabel"], "jobLabel");
    assert_eq!(
        objects["Service/rel-chiso-pods"]["metadata"]["labels"][job_label].as_str(),
        Some("chiso")
    );

    // The PrometheusRule carries deploy/prometheus/alerts.yml (tested by promtool in
    // tests/alerts.rs), and the chart's copy of it is the same file.
    let shipped = std::fs::read(Path::new(ROOT).join("deploy/prometheus/alerts.yml")).unwrap();
    let copy = std::fs::read(chart().join("files/alerts.yml")).unwrap();
    assert!(shipped == copy, "deploy/helm/chiso/files/alerts.yml differs from deploy/prometheus/alerts.yml: copy it again");
    let shipped: Value = serde_norway::from_slice(&shipped).unwrap();
    assert_eq!(
        objects["PrometheusRule/rel-chiso"]["spec"]["groups"],
        shipped["groups"]
    );
}
