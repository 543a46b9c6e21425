//! The built-in demo: a realistic event generator and the accelerated clock that feeds it to an
//! engine, so that the whole product (metrics, API, dashboards) runs without Kafka.

pub mod clock;
mod encode;
pub mod generator;
mod plan;
mod profile;
mod queue;
mod sample;

pub use generator::{Generator, GeneratorConfig};
pub use sample::{sample_config, sample_file, write_events};

#[cfg(test)]
mod tests;
