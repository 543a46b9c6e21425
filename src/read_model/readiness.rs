//! What this instance can answer now, and if not, why: readiness (`/readyz`, `chiso_ready`) and
//! the coverage of its data (results, lists of open dossiers).
//!
//! An instance is *ready* when it has been given its share of the work and has restored it:
//! its event partitions assigned in the current session and every one of them restored and
//! caught up, and its role in the roll-up stage known (serving the results, or standing by
//! while another instance serves them). Before the first assignment of a session, between a
//! revoke and the next assignment, while Kafka is unreachable and while shutting down, it is
//! not ready — never "ready with nothing".
//!
//! Ready is not the same as "can answer everything": in a group of several instances the
//! results are served by the one that owns the roll-up stage, and a list of open dossiers is
//! complete only on an instance that owns every event partition. A question this instance
//! cannot answer completely gets [`Unavailable`], never an empty or partial answer.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The event partitions of the current session, as stage 1 last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Partitions {
    /// No assignment yet in this session (joining the group), or a rebalance under way.
    #[default]
    Unassigned,
    /// `owned` of the topic's `total` partitions; `restored`: every owned one is restored and
    /// caught up.
    Assigned {
        owned: u32,
        total: u32,
        restored: bool,
    },
}

/// This instance's part in the roll-up stage, as stage 2 last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rollup {
    /// Not known yet in this session (joining the roll-up group, or a rebalance under way).
    #[default]
    Unknown,
    /// Owns the roll-up partition and rebuilds its view; no results published yet.
    Restoring,
    /// Owns the roll-up partition and serves the pooled results.
    Serving,
    /// Another instance owns the roll-up partition: results are not served here.
    Standby,
}

/// What a request needs from the read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Results of agencies (pooled through the tree).
    Results,
    /// Lists of open dossiers of any subtree.
    OpenDossiers,
    /// Both (points at stake, the worklist).
    Both,
}

/// Why a request cannot be answered here now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Joining the consumer groups: this instance does not know its partitions yet.
    Joining,
    /// Restoring the state of its partitions from Kafka, or catching up.
    Restoring,
    /// Kafka does not answer: the figures would stop moving without saying so.
    KafkaUnreachable,
    /// Shutting down.
    ShuttingDown,
    /// Ready, but another instance (the roll-up stage's owner) serves the results.
    ResultsElsewhere,
    /// Ready, but this instance owns `owned` of `total` event partitions: a list of open
    /// dossiers from here would miss those of the others.
    ListsIncomplete { owned: u32, total: u32 },
}

impl Unavailable {
    /// The stable code of the API's error body.
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::Joining
            | Unavailable::Restoring
            | Unavailable::KafkaUnreachable
            | Unavailable::ShuttingDown => "not_ready",
            Unavailable::ResultsElsewhere => "results_elsewhere",
            Unavailable::ListsIncomplete { .. } => "lists_incomplete",
        }
    }

    /// The stable reason of `/readyz` when not ready, `None` when this is a coverage answer.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Unavailable::Joining => Some("joining"),
            Unavailable::Restoring => Some("restoring"),
            Unavailable::KafkaUnreachable => Some("kafka_unreachable"),
            Unavailable::ShuttingDown => Some("shutting_down"),
            Unavailable::ResultsElsewhere | Unavailable::ListsIncomplete { .. } => None,
        }
    }

    /// Whether asking this instance again shortly may succeed.
    pub fn transient(self) -> bool {
        self.reason().is_some()
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::Joining => f.write_str(
                "this instance is joining its consumer group and has no partitions yet; retry \
                 shortly (see /readyz)",
            ),
            Unavailable::Restoring => f.write_str(
                "this instance is restoring the state of its partitions from Kafka; retry \
                 shortly (see /readyz)",
            ),
            Unavailable::KafkaUnreachable => f.write_str(
                "Kafka is unreachable: the figures here may be stale; retry once it answers \
                 (see /readyz)",
            ),
            Unavailable::ShuttingDown => f.write_str("this instance is shutting down"),
            Unavailable::ResultsElsewhere => f.write_str(
                "the results are served by the instance of the group that owns the roll-up \
                 stage, not by this one (they are also on the results topic)",
            ),
            Unavailable::ListsIncomplete { owned, total } => write!(
                f,
                "this instance owns {owned} of the {total} event partitions: its lists of open \
                 dossiers would miss those of the others; ask an instance that owns them all"
            ),
        }
    }
}

/// The owners' view of what this instance holds; read by the probes and the API.
#[derive(Debug, Default)]
pub struct Readiness {
    state: Mutex<(Partitions, Rollup)>,
    stopping: AtomicBool,
    unreachable: AtomicBool,
}

impl Readiness {
    pub fn set_partitions(&self, p: Partitions) {
        self.state.lock().expect("readiness lock").0 = p;
    }

    pub fn set_rollup(&self, r: Rollup) {
        self.state.lock().expect("readiness lock").1 = r;
    }

    pub fn partitions(&self) -> Partitions {
        self.state.lock().expect("readiness lock").0
    }

    pub fn rollup(&self) -> Rollup {
        self.state.lock().expect("readiness lock").1
    }

    /// From now on not ready, for good (the process is stopping).
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// `true` if it changed.
    pub fn set_kafka_reachable(&self, up: bool) -> bool {
        self.unreachable.swap(!up, Ordering::Relaxed) == up
    }

    pub fn kafka_reachable(&self) -> bool {
        !self.unreachable.load(Ordering::Relaxed)
    }

    /// `Ok` when ready, else why not.
    pub fn check_ready(&self) -> Result<(), Unavailable> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(Unavailable::ShuttingDown);
        }
        if !self.kafka_reachable() {
            return Err(Unavailable::KafkaUnreachable);
        }
        let (partitions, rollup) = *self.state.lock().expect("readiness lock");
        match (partitions, rollup) {
            (Partitions::Unassigned, _) | (_, Rollup::Unknown) => Err(Unavailable::Joining),
            (
                Partitions::Assigned {
                    restored: false, ..
                },
                _,
            )
            | (_, Rollup::Restoring) => Err(Unavailable::Restoring),
            _ => Ok(()),
        }
    }

    /// `Ok` when this instance can answer completely what `needs` asks, else why not.
    pub fn check(&self, needs: Needs) -> Result<(), Unavailable> {
        self.check_ready()?;
        let (partitions, rollup) = *self.state.lock().expect("readiness lock");
        if matches!(needs, Needs::Results | Needs::Both) && rollup != Rollup::Serving {
            return Err(Unavailable::ResultsElsewhere);
        }
        if let (Needs::OpenDossiers | Needs::Both, Partitions::Assigned { owned, total, .. }) =
            (needs, partitions)
        {
            if owned < total {
                return Err(Unavailable::ListsIncomplete { owned, total });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(owned: u32, total: u32, restored: bool) -> Partitions {
        Partitions::Assigned {
            owned,
            total,
            restored,
        }
    }

    #[test]
    fn a_new_instance_is_not_ready_until_it_knows_its_share() {
        let r = Readiness::default();
        assert_eq!(r.check_ready(), Err(Unavailable::Joining));
        r.set_partitions(assigned(0, 4, true));
        assert_eq!(
            r.check_ready(),
            Err(Unavailable::Joining),
            "roll-up role unknown"
        );
        r.set_rollup(Rollup::Restoring);
        assert_eq!(r.check_ready(), Err(Unavailable::Restoring));
        r.set_rollup(Rollup::Serving);
        assert_eq!(r.check_ready(), Ok(()));
        r.set_partitions(Partitions::Unassigned);
        assert_eq!(
            r.check_ready(),
            Err(Unavailable::Joining),
            "a rebalance under way"
        );
        r.set_partitions(assigned(4, 4, false));
        assert_eq!(r.check_ready(), Err(Unavailable::Restoring));
    }

    #[test]
    fn ready_is_not_the_same_as_holding_everything() {
        let r = Readiness::default();
        r.set_partitions(assigned(2, 4, true));
        r.set_rollup(Rollup::Standby);
        assert_eq!(r.check_ready(), Ok(()));
        assert_eq!(r.check(Needs::Results), Err(Unavailable::ResultsElsewhere));
        assert_eq!(
            r.check(Needs::OpenDossiers),
            Err(Unavailable::ListsIncomplete { owned: 2, total: 4 })
        );
        r.set_rollup(Rollup::Serving);
        assert_eq!(r.check(Needs::Results), Ok(()));
        assert!(r.check(Needs::Both).is_err());
        r.set_partitions(assigned(4, 4, true));
        assert_eq!(r.check(Needs::Both), Ok(()));
    }

    #[test]
    fn kafka_away_and_stopping_come_first() {
        let r = Readiness::default();
        r.set_partitions(assigned(1, 1, true));
        r.set_rollup(Rollup::Serving);
        assert!(r.set_kafka_reachable(false));
        assert!(!r.set_kafka_reachable(false));
        assert_eq!(r.check(Needs::Both), Err(Unavailable::KafkaUnreachable));
        assert!(r.set_kafka_reachable(true));
        r.set_stopping();
        assert_eq!(r.check_ready(), Err(Unavailable::ShuttingDown));
        assert_eq!(Unavailable::ShuttingDown.code(), "not_ready");
        assert!(Unavailable::Joining.transient());
        assert!(!Unavailable::ResultsElsewhere.transient());
    }
}
