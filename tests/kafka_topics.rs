//! `chiso topics create|check` against a real Apache Kafka: the one topic layout of
//! `chiso::kafka::layout` is created (idempotently), checked, and every difference of a topic
//! made by hand is named.

mod support_kafka;

use std::process::{Command, Output};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use support_kafka::*;

fn topics(cluster: &Cluster, prefix: &str, args: &[&str]) -> Output {
    let t = Topics::named(prefix);
    Command::new(CHISO)
        .arg("topics")
        .args(args)
        .env("CHISO_KAFKA__BOOTSTRAP_SERVERS", &cluster.bootstrap)
        .env("CHISO_KAFKA__TOPICS__EVENTS", &t.events)
        .env("CHISO_KAFKA__TOPICS__STATE", &t.state)
        .env("CHISO_KAFKA__TOPICS__PARTIALS", &t.partials)
        .env("CHISO_KAFKA__TOPICS__RESULTS", &t.results)
        .env("CHISO_KAFKA__TOPICS__DEAD_LETTER", &t.dead_letter)
        .output()
        .expect("chiso topics")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn create_is_idempotent_and_check_names_every_difference() {
    let cluster = Cluster::shared();
    let first = topics(cluster, "tops", &["create", "--partitions", "3"]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(
        text(&first).matches(" created").count(),
        5,
        "{}",
        text(&first)
    );
    let again = topics(cluster, "tops", &["create", "--partitions", "3"]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        text(&again).matches(" exists").count(),
        5,
        "{}",
        text(&again)
    );
    let check = topics(cluster, "tops", &["check"]);
    assert!(check.status.success(), "{}", text(&check));

    // Made by hand: a compacted state topic with too few partitions, a partials topic with
    // two, no dead-letter topic.
    let t = Topics::named("hand");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cluster.bootstrap)
        .create()
        .unwrap();
    let one = || TopicReplication::Fixed(1);
    let specs = [
        NewTopic::new(&t.events, 3, one()),
        NewTopic::new(&t.state, 2, one()).set("cleanup.policy", "compact"),
        NewTopic::new(&t.partials, 2, one()).set("cleanup.policy", "compact"),
        NewTopic::new(&t.results, 1, one()).set("cleanup.policy", "compact"),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for r in rt
        .block_on(admin.create_topics(&specs, &AdminOptions::new()))
        .unwrap()
    {
        r.unwrap();
    }
    let check = topics(cluster, "hand", &["check"]);
    let out = text(&check);
    assert!(!check.status.success(), "{out}");
    for want in [
        "topic `hand.state` has 2 partitions, the events topic 3: they must match",
        "topic `hand.partials` has 2 partitions: it must have exactly 1",
        "topic `hand.dead-letter` does not exist",
        "topic `hand.state` has cleanup.policy=compact, the layout needs cleanup.policy=delete",
        "topic `hand.state` has retention.ms=604800000, the layout needs retention.ms=-1",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
