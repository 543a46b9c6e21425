//! Prometheus metrics: one owned [`Registry`] (never the default one) for engine health, and a
//! scrape-time collector for the indicator series (see [`indicators`]).
//!
//! `/metrics` is [`Metrics::encode`]: the registry's families, then the indicator families
//! written straight from the live snapshots. The indicator collector is deliberately not
//! registered in the registry: going through the `prometheus` plain model costs an allocation
//! per label of every series, several times the 100 ms budget at 5,000 agencies × 3 periods;
//! the [`prometheus::core::Collector`] impl stays available and is checked to give the same
//! series.

mod health;
pub mod indicators;
mod sink;

use std::sync::Arc;

use prometheus::{Registry, TextEncoder};

pub use health::HealthCollector;
pub use indicators::IndicatorWriter;

use crate::read_model::ReadModel;

/// Every metric of one process.
pub struct Metrics {
    registry: Registry,
    indicators: IndicatorWriter,
}

impl Metrics {
    /// Creates the registry, registers the health series and prepares the indicator collector.
    pub fn new(live: ReadModel) -> prometheus::Result<Self> {
        let registry = Registry::new();
        registry.register(Box::new(HealthCollector::new(live.health().clone())?))?;
        let indicators = IndicatorWriter::new(live)?;
        Ok(Metrics {
            registry,
            indicators,
        })
    }

    /// The owned registry (health series); register further process-level collectors here.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn indicators(&self) -> &IndicatorWriter {
        &self.indicators
    }

    /// [`Metrics::encode`] as the HTTP adapter takes it.
    pub fn scrape(self: &Arc<Self>) -> Arc<dyn Fn() -> String + Send + Sync> {
        let me = self.clone();
        Arc::new(move || me.encode())
    }

    /// The whole scrape in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(1 << 16);
        TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .expect("encoding into a String cannot fail");
        self.indicators.write_text(&mut out);
        out
    }
}

#[cfg(test)]
mod tests;
