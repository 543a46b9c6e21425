//! The topic layout of a pipeline, defined once: the five topics, their partition counts and
//! settings, and why. `chiso topics create|check`, `chiso run`'s start-up check, the scripts and
//! the tests all read it from here.
//!
//! - **events**: N partitions (the operator's choice), keyed by `agency_id`.
//! - **state**: the changelog of accepted events, as many partitions as events (partition p
//!   restores the engine of events partition p), never compacted (its records have no key:
//!   every event counts) and never expired (it *is* the state).
//! - **partials**: own figures per (agency, period), compacted; exactly one partition, so that
//!   exactly one instance owns the roll-up stage at a time.
//! - **results**: a latest-value table per (agency, period), compacted.
//! - **dead-letter**: rejects with their reason headers; low volume.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;

use super::config::Topics;
use super::error::{op, PipelineError};

/// How many partitions a topic of the layout has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// As many as the events topic.
    Events,
    /// Exactly this many.
    Exactly(i32),
    /// Any number; this many when created.
    AtLeastOne(i32),
}

/// One topic of the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: Count,
    /// Topic configs it is created with, and that `check` requires.
    pub configs: &'static [(&'static str, &'static str)],
}

const STATE: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("retention.ms", "-1"),
    ("retention.bytes", "-1"),
];
const COMPACT: &[(&str, &str)] = &[("cleanup.policy", "compact")];

/// The five topics of a pipeline with these names (events first).
pub fn layout(topics: &Topics) -> [TopicSpec; 5] {
    let spec = |name: &str, partitions, configs| TopicSpec {
        name: name.to_owned(),
        partitions,
        configs,
    };
    [
        spec(&topics.events, Count::Events, &[]),
        spec(&topics.state, Count::Events, STATE),
        spec(&topics.partials, Count::Exactly(1), COMPACT),
        spec(&topics.results, Count::AtLeastOne(1), COMPACT),
        spec(&topics.dead_letter, Count::AtLeastOne(1), &[]),
    ]
}

impl TopicSpec {
    /// Partitions to create it with, given the events topic's.
    pub fn create_count(&self, events: i32) -> i32 {
        match self.partitions {
            Count::Events => events,
            Count::Exactly(n) | Count::AtLeastOne(n) => n,
        }
    }

    /// What is wrong with `found` partitions, given the events topic's.
    pub fn partition_problem(&self, found: i32, events: i32) -> Option<String> {
        let ok = match self.partitions {
            Count::Events => found == events,
            Count::Exactly(n) => found == n,
            Count::AtLeastOne(_) => found >= 1,
        };
        (!ok).then(|| match self.partitions {
            Count::Events => format!(
                "topic `{}` has {found} partitions, the events topic {events}: they must match",
                self.name
            ),
            Count::Exactly(n) => format!(
                "topic `{}` has {found} partitions: it must have exactly {n}",
                self.name
            ),
            Count::AtLeastOne(_) => format!("topic `{}` has no partition", self.name),
        })
    }
}

/// The partition counts of the layout's topics in the cluster's metadata (`None`: absent).
pub fn partition_counts(md: &Metadata, topics: &Topics) -> Vec<(TopicSpec, Option<i32>)> {
    let found: HashMap<&str, i32> = md
        .topics()
        .iter()
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .map(|t| (t.name(), t.partitions().len() as i32))
        .collect();
    layout(topics)
        .into_iter()
        .map(|s| {
            let n = found.get(s.name.as_str()).copied();
            (s, n)
        })
        .collect()
}

/// Problems of a layout as found: missing topics and wrong partition counts.
pub fn partition_problems(found: &[(TopicSpec, Option<i32>)]) -> Vec<String> {
    let events = found.first().and_then(|(_, n)| *n).unwrap_or(0);
    found
        .iter()
        .filter_map(|(s, n)| match n {
            None => Some(format!(
                "topic `{}` does not exist (create it: chiso topics create)",
                s.name
            )),
            Some(n) => s.partition_problem(*n, events),
        })
        .collect()
}

fn admin(config: &ClientConfig) -> Result<AdminClient<DefaultClientContext>, PipelineError> {
    config.create().map_err(op("creating the admin client"))
}

/// Creates the topics of the layout that do not exist (`events` partitions for the events and
/// state topics, `replication` replicas each); existing ones are left as they are. Returns the
/// names created.
/// `config`: the client settings ([`crate::kafka::client::admin`]).
pub async fn create(
    config: &ClientConfig,
    topics: &Topics,
    events: i32,
    replication: i32,
) -> Result<Vec<String>, PipelineError> {
    let admin = admin(config)?;
    let specs = layout(topics);
    let new: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|s| {
            s.configs.iter().fold(
                NewTopic::new(
                    &s.name,
                    s.create_count(events),
                    TopicReplication::Fixed(replication),
                ),
                |t, (k, v)| t.set(k, v),
            )
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new, &opts)
        .await
        .map_err(op("creating topics"))?;
    let mut created = Vec::new();
    for r in results {
        match r {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(PipelineError::Topics(format!(
                    "cannot create topic `{name}`: {code}"
                )))
            }
        }
    }
    Ok(created)
}

/// Every problem of the cluster's topics against the layout: missing topics, partition counts,
/// and topic configs (cleanup policy, retention) that differ from the layout's.
pub async fn check(config: &ClientConfig, topics: &Topics) -> Result<Vec<String>, PipelineError> {
    let admin = admin(config)?;
    let md = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(op("fetching topic metadata"))?;
    let found = partition_counts(&md, topics);
    let mut problems = partition_problems(&found);
    let present: Vec<&TopicSpec> = found
        .iter()
        .filter(|(s, n)| n.is_some() && !s.configs.is_empty())
        .map(|(s, _)| s)
        .collect();
    let resources: Vec<ResourceSpecifier<'_>> = present
        .iter()
        .map(|s| ResourceSpecifier::Topic(&s.name))
        .collect();
    let described = admin
        .describe_configs(&resources, &AdminOptions::new())
        .await
        .map_err(op("describing topic configs"))?;
    for (spec, resource) in present.iter().zip(described) {
        let resource = resource.map_err(|code| {
            PipelineError::Topics(format!("cannot describe topic `{}`: {code}", spec.name))
        })?;
        for (key, want) in spec.configs {
            let got = resource.get(key).and_then(|e| e.value.as_deref());
            if got != Some(*want) {
                problems.push(format!(
                    "topic `{}` has {key}={}, the layout needs {key}={want}",
                    spec.name,
                    got.unwrap_or("(unset)")
                ));
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Topics {
        Topics {
            events: "e".into(),
            results: "r".into(),
            partials: "p".into(),
            state: "s".into(),
            dead_letter: "d".into(),
        }
    }

    #[test]
    fn the_rules_of_the_layout() {
        let found: Vec<(TopicSpec, Option<i32>)> = layout(&names())
            .into_iter()
            .zip([Some(4), Some(3), Some(2), Some(1), None])
            .collect();
        assert_eq!(
            partition_problems(&found),
            [
                "topic `s` has 3 partitions, the events topic 4: they must match",
                "topic `p` has 2 partitions: it must have exactly 1",
                "topic `d` does not exist (create it: chiso topics create)",
            ]
        );
        let good: Vec<(TopicSpec, Option<i32>)> = layout(&names())
            .into_iter()
            .zip([Some(6), Some(6), Some(1), Some(3), Some(1)])
            .collect();
        assert!(partition_problems(&good).is_empty());
        let counts: Vec<i32> = layout(&names()).iter().map(|s| s.create_count(6)).collect();
        assert_eq!(counts, [6, 6, 1, 1, 1]);
    }
}
