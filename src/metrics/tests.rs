//! The text writer gives the series `prometheus`' own encoder gives; labels stay bounded.

use std::collections::BTreeSet;
use std::sync::Arc;

use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};

use super::indicators::{agency_values, AGENCY_LABELS};
use super::sink::{Extra, Num, Sink};
use crate::core::{AgencyIdx, PeriodKind, Registry};

use super::*;
use crate::core::time::NANOS_PER_DAY;
use crate::core::{Engine, EngineSettings, Timestamp};
use crate::read_model::{publish_engine, ReadModel};
use crate::sim::{Generator, GeneratorConfig};
use crate::wire::event_json;

fn live_with_events() -> ReadModel {
    let registry = Arc::new(crate::wire::definitions::sample_registry());
    let model = Arc::new(crate::wire::definitions::builtin_scoring());
    let start = Timestamp::parse_rfc3339("2025-08-04T00:00:00+07:00").unwrap();
    let now = start.saturating_add(30 * NANOS_PER_DAY);
    let mut engine = Engine::new(
        registry.clone(),
        model.clone(),
        Arc::new(crate::wire::definitions::builtin_holidays()),
        EngineSettings::default(),
        now,
    );
    let mut g = Generator::new(
        registry.clone(),
        GeneratorConfig {
            start,
            until: Some(now),
            dossiers_per_working_day: 400.0,
            ..GeneratorConfig::new(Arc::new(crate::wire::definitions::builtin_holidays()))
        },
    );
    while let Some(line) = g.next_event() {
        engine.ingest(&event_json::decode(line.as_bytes(), &registry, 1 << 16).unwrap());
    }
    let live = ReadModel::new(registry, model);
    publish_engine(&live, 0, &mut engine);
    live.set_ready(true);
    live
}

/// `name{labels sorted} value` lines, values normalised through f64.
fn series_of_text(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (head, value) = l.rsplit_once(' ').unwrap();
            let (name, labels) = match head.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (head, ""),
            };
            let mut labels: Vec<&str> = if labels.is_empty() {
                vec![]
            } else {
                // Label values here never contain `",`.
                labels.split("\",").collect()
            };
            labels.iter_mut().for_each(|l| *l = l.trim_end_matches('"'));
            labels.sort();
            format!(
                "{name}{{{}}} {}",
                labels.join(","),
                value.parse::<f64>().unwrap()
            )
        })
        .collect()
}

#[test]
fn text_writer_and_prometheus_encoder_agree() {
    let live = live_with_events();
    let metrics = Metrics::new(live).unwrap();
    let mut text = String::new();
    metrics.indicators().write_text(&mut text);
    let mut model = ModelSink::new(metrics.indicators().live.registry());
    metrics.indicators().emit(&mut model);
    let mut model_text = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(&model.into_families(), &mut model_text)
        .unwrap();
    let a = series_of_text(&text);
    let b = series_of_text(&model_text);
    assert_eq!(a.len(), b.len());
    assert_eq!(a, b);
}

#[test]
fn scrape_has_every_family_and_no_dossier_id() {
    let live = live_with_events();
    let metrics = Metrics::new(live.clone()).unwrap();
    let text = metrics.encode();
    for family in indicators::FAMILIES {
        let name = family.name;
        assert!(
            text.contains(&format!("\n{name}{{")) || text.contains(&format!("\n{name} ")),
            "{name}"
        );
        // Each series of the family carries its own labels.
        let series = text.lines().find(|l| l.starts_with(&format!("{name}{{")));
        for label in family.labels {
            let series = series.unwrap_or_else(|| panic!("{name} has labels but no series"));
            assert!(
                series.contains(&format!("{label}=\"")),
                "{name}: {label} in {series}"
            );
        }
    }
    for name in [
        "chiso_events_consumed_total",
        "chiso_events_rejected_total{reason=\"not_json\"} 0",
        "chiso_build_info{version=",
        "chiso_commit_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name}");
    }
    assert!(!text.contains("H56."), "a dossier id leaked into metrics");
    assert!(text.contains(
        "chiso_dossiers{agency=\"TQ\",name=\"Ủy ban nhân dân tỉnh Tuyên Quang\",level=\"province\",parent=\"\",period=\"month\",count=\"open_overdue\"}"
    ));
    // A withdrawn source stops being exported.
    live.withdraw(0);
    let text = metrics.encode();
    assert!(!text.contains("chiso_dossiers{"));
    assert!(text.contains("chiso_ready 1"));
}

#[test]
fn decimals_are_exact() {
    let mut s = String::new();
    for n in [
        sink::Num::Hundredths(1234),
        sink::Num::Hundredths(-5),
        sink::Num::Tenths(1000),
        sink::Num::Millionths(333_333),
        sink::Num::Millionths(1_722_470_400_000_000),
    ] {
        n.write_for_test(&mut s);
        s.push(' ');
    }
    assert_eq!(s, "12.34 -0.05 100 0.333333 1722470400 ");
}

/// Builds the `prometheus` plain model from the same walk, to compare with its own encoder.
pub(crate) struct ModelSink<'a> {
    registry: &'a Arc<Registry>,
    families: Vec<MetricFamily>,
}

impl<'a> ModelSink<'a> {
    pub(crate) fn new(registry: &'a Arc<Registry>) -> Self {
        ModelSink {
            registry,
            families: Vec::new(),
        }
    }

    /// The families written, without the empty ones (as `Registry::gather` leaves them out).
    pub(crate) fn into_families(self) -> Vec<MetricFamily> {
        self.families
            .into_iter()
            .filter(|f| !f.get_metric().is_empty())
            .collect()
    }
}

fn pair(name: &str, value: &str) -> LabelPair {
    let mut p = LabelPair::default();
    p.set_name(name.to_owned());
    p.set_value(value.to_owned());
    p
}

impl Sink for ModelSink<'_> {
    fn family(&mut self, name: &'static str, help: &'static str) {
        let mut f = MetricFamily::default();
        f.set_name(name.to_owned());
        f.set_help(help.to_owned());
        f.set_field_type(MetricType::GAUGE);
        self.families.push(f);
    }

    fn sample(
        &mut self,
        agency: Option<AgencyIdx>,
        period: Option<PeriodKind>,
        extra: Extra<'_>,
        value: Num,
    ) {
        let mut labels = Vec::with_capacity(8);
        if let Some(a) = agency {
            for (name, value) in AGENCY_LABELS.iter().zip(agency_values(self.registry, a)) {
                labels.push(pair(name, value));
            }
        }
        if let Some(k) = period {
            labels.push(pair("period", k.as_str()));
        }
        for (k, v) in extra.labels {
            labels.push(pair(k, v));
        }
        let mut g = Gauge::default();
        g.set_value(value.as_f64());
        let mut m = Metric::from_label(labels);
        m.set_gauge(g);
        self.families
            .last_mut()
            .expect("a family before its samples")
            .mut_metric()
            .push(m);
    }
}
