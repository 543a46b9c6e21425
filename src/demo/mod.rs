//! The built-in demo: a realistic event generator and the accelerated clock that feeds it to an
//! engine, so that the whole product (metrics, API, dashboards) runs without Kafka.

mod encode;
pub mod generator;
mod plan;
mod profile;
mod queue;

pub use generator::{sample_config, sample_file, write_events, Generator, GeneratorConfig};

#[cfg(test)]
mod tests;
