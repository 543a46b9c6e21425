//! Prometheus metrics: one owned [`Registry`] (never the default one) holding the engine
//! health collector (read from the owners' atomics at scrape time), and the indicator series
//! written at scrape time from the read model (see [`indicators`]).
//!
//! `/metrics` is [`Metrics::shared_encode`]: the registry's families, then the indicator families
//! written straight from the live snapshots, encoded once for concurrent scrapes. The indicator
//! series do not go through the registry: the `prometheus` plain model costs an allocation per
//! label of every series, several times the 100 ms budget at 5,000 agencies × 3 periods; the
//! tests feed the same walk into the plain model and check that its encoder gives the same
//! series.

mod health;
pub mod indicators;
mod sink;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use prometheus::{Registry, TextEncoder};

pub use health::HealthCollector;
pub use indicators::IndicatorWriter;

use crate::read_model::ReadModel;

/// Every metric of one process.
pub struct Metrics {
    registry: Registry,
    indicators: IndicatorWriter,
    /// The last scrape and when it was encoded.
    last: Mutex<Option<(Instant, Bytes)>>,
    /// Held while a scrape is encoded.
    encoding: Mutex<()>,
}

/// How long one encoded scrape answers other scrapes.
pub const SHARED_FOR: Duration = Duration::from_secs(1);

impl Metrics {
    /// Creates the registry, registers the health collector and prepares the indicator writer.
    pub fn new(live: ReadModel) -> prometheus::Result<Self> {
        let registry = Registry::new();
        registry.register(Box::new(HealthCollector::new(live.health().clone())?))?;
        let indicators = IndicatorWriter::new(live)?;
        Ok(Metrics {
            registry,
            indicators,
            last: Mutex::new(None),
            encoding: Mutex::new(()),
        })
    }

    /// The owned registry (health series); register further process-level collectors here.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn indicators(&self) -> &IndicatorWriter {
        &self.indicators
    }

    /// [`Metrics::shared_encode`] as the HTTP adapter takes it.
    pub fn scrape(self: &Arc<Self>) -> Arc<dyn Fn() -> Bytes + Send + Sync> {
        let me = self.clone();
        Arc::new(move || me.shared_encode())
    }

    /// The scrape, encoded at most once per [`SHARED_FOR`]: concurrent scrapes wait for the
    /// one encoding in progress and share its bytes, so memory and CPU stay those of one
    /// scrape however many clients ask at once (a province's registry encodes to tens of MB).
    pub fn shared_encode(&self) -> Bytes {
        let fresh = |cached: &Option<(Instant, Bytes)>| {
            cached
                .as_ref()
                .filter(|(at, _)| at.elapsed() < SHARED_FOR)
                .map(|(_, b)| b.clone())
        };
        if let Some(b) = fresh(&self.last.lock().expect("scrape cache lock")) {
            return b;
        }
        let _one_at_a_time = self.encoding.lock().expect("scrape lock");
        if let Some(b) = fresh(&self.last.lock().expect("scrape cache lock")) {
            return b;
        }
        let bytes = Bytes::from(self.encode());
        *self.last.lock().expect("scrape cache lock") = Some((Instant::now(), bytes.clone()));
        bytes
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
