//! Indicator series, built at scrape time from the snapshots in [`ReadModel`].
//!
//! Nothing is registered per agency: each scrape walks the current snapshots, so an agency whose
//! source was withdrawn (its partition moved to another instance) simply stops being exported.
//! Only the current month, quarter and year are exported, and no label ever carries a dossier or
//! event id.
//!
//! One walk (`IndicatorWriter::emit`) feeds a sink: the text writer of `/metrics` (pre-escaped
//! label prefixes, no allocation per series, so 5,000 agencies × 3 periods stay far under
//! 100 ms). The tests feed the same walk into the `prometheus` plain model and check that its
//! own encoder gives the same series.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::sink::{escape_label, Extra, Num, Sink, TextSink, NO_EXTRA};

use crate::core::time::NANOS_PER_SEC;
use crate::core::{AgencyIdx, AgencyResult, PeriodKind, Registry};
use crate::read_model::{current_results, ReadModel};
fn render(labels: &[(&'static str, &str)]) -> String {
    let mut s = String::new();
    for (k, v) in labels {
        s.push(',');
        s.push_str(k);
        s.push_str("=\"");
        escape_label(&mut s, v);
        s.push('"');
    }
    s
}

/// Pre-rendered extra labels of the model: per count, per indicator, per group.
struct Rendered {
    counts: Vec<(&'static str, String)>,
    indicators: Vec<[(&'static str, String); 2]>,
    indicator_text: Vec<String>,
    groups: Vec<String>,
}

/// One indicator family: its name, help text and the labels beyond the agency ones.
pub(crate) struct Family {
    pub name: &'static str,
    pub help: &'static str,
    /// Documentation for readers and the tests, which check it against the written series.
    #[cfg_attr(not(test), allow(dead_code))]
    pub labels: &'static [&'static str],
}

const DOSSIERS: Family = Family {
    name: "chiso_dossiers",
    help: "Dossier counts of the results contract (pooled over the agency's subtree) in the current period, by count.",
    labels: &["count"],
};
const INDICATOR_VALUE: Family = Family {
    name: "chiso_indicator_value_ratio",
    help: "Indicator value numerator/denominator (0–1 for most indicators); absent when the indicator is n/a or its denominator is 0.",
    labels: &["indicator", "group"],
};
const INDICATOR_POINTS: Family = Family {
    name: "chiso_indicator_points",
    help: "Points scored on an indicator; absent when the indicator is n/a.",
    labels: &["indicator", "group"],
};
const GROUP_POINTS: Family = Family {
    name: "chiso_group_points",
    help: "Points scored in an indicator group.",
    labels: &["group"],
};
const SCORE: Family = Family {
    name: "chiso_score",
    help:
        "Score 0–100 (total points over the measured maximum); absent when the agency has no score.",
    labels: &[],
};
const BAND: Family = Family {
    name: "chiso_band",
    help: "Score band as a number: 4 excellent, 3 good, 2 fair, 1 average, 0 weak; absent when there is no score.",
    labels: &[],
};
const EVALUATED: Family = Family {
    name: "chiso_results_evaluated_timestamp_seconds",
    help: "When the exported results were evaluated (engine time, Unix seconds).",
    labels: &[],
};
const OVERDUE_MAX_AGE: Family = Family {
    name: "chiso_open_overdue_max_age_seconds",
    help: "How long the most overdue open dossier of the agency's subtree has been overdue (0 if none).",
    labels: &[],
};
const INDICATOR_MAX: Family = Family {
    name: "chiso_indicator_max_points",
    help: "Maximum points of an indicator in the scoring model.",
    labels: &["indicator", "group"],
};
const GROUP_MAX: Family = Family {
    name: "chiso_group_max_points",
    help: "Maximum points of an indicator group in the scoring model.",
    labels: &["group"],
};
const READY: Family = Family {
    name: "chiso_ready",
    help: "1 when the engine state is restored and results are served, else 0.",
    labels: &[],
};

/// The families, in the order they are written (the tests check each is).
#[cfg(test)]
pub(crate) const FAMILIES: [&Family; 11] = [
    &DOSSIERS,
    &INDICATOR_VALUE,
    &INDICATOR_POINTS,
    &GROUP_POINTS,
    &SCORE,
    &BAND,
    &EVALUATED,
    &OVERDUE_MAX_AGE,
    &INDICATOR_MAX,
    &GROUP_MAX,
    &READY,
];

pub(crate) const AGENCY_LABELS: [&str; 4] = ["agency", "name", "level", "parent"];

/// Nanoseconds as seconds in millionths (microseconds).
fn nanos_to_secs(n: i64) -> Num {
    Num::Millionths(n / (NANOS_PER_SEC / 1_000_000))
}

/// Writes the indicator series at scrape time.
pub struct IndicatorWriter {
    pub(crate) live: ReadModel,
    /// Per agency: `agency="…",name="…",level="…",parent="…"`, escaped for the text format;
    /// then the same followed by `,period="…"` for each period kind.
    prefixes: Vec<(String, [String; 3])>,
    rendered: Rendered,
    /// Size of the last scrape, to allocate the next one at once.
    last_len: AtomicUsize,
}
pub(crate) fn agency_values(registry: &Registry, a: AgencyIdx) -> [&str; 4] {
    let def = registry.get(a);
    let parent = registry
        .parent(a)
        .map_or("", |p| registry.get(p).id.as_str());
    [&def.id, &def.name, &def.level, parent]
}

impl IndicatorWriter {
    pub fn new(live: ReadModel) -> prometheus::Result<Self> {
        let registry = live.registry().clone();
        let prefixes = (0..registry.len() as u32)
            .map(|i| {
                let mut s = String::new();
                for (k, (name, value)) in AGENCY_LABELS
                    .iter()
                    .zip(agency_values(&registry, AgencyIdx(i)))
                    .enumerate()
                {
                    if k > 0 {
                        s.push(',');
                    }
                    s.push_str(name);
                    s.push_str("=\"");
                    escape_label(&mut s, value);
                    s.push('"');
                }
                let with_period = PeriodKind::ALL.map(|k| format!("{s},period=\"{}\"", k.as_str()));
                (s, with_period)
            })
            .collect();
        let model = live.model().clone();
        let group_of = |i: usize| model.groups[model.indicators[i].group].id.clone();
        let rendered = Rendered {
            counts: crate::core::Count::ALL
                .iter()
                .map(|c| (c.name(), render(&[("count", c.name())])))
                .collect(),
            indicators: (0..model.indicators.len())
                .map(|i| {
                    [
                        ("indicator", model.indicators[i].id.clone()),
                        ("group", group_of(i)),
                    ]
                })
                .collect(),
            indicator_text: (0..model.indicators.len())
                .map(|i| {
                    render(&[
                        ("indicator", &model.indicators[i].id),
                        ("group", &group_of(i)),
                    ])
                })
                .collect(),
            groups: model
                .groups
                .iter()
                .map(|g| render(&[("group", &g.id)]))
                .collect(),
        };
        Ok(IndicatorWriter {
            live,
            prefixes,
            rendered,
            last_len: AtomicUsize::new(0),
        })
    }

    /// Walks the live state once, writing every family into `sink`.
    ///
    /// Long because every family is written in one walk over the snapshots (a province's scrape
    /// is one pass), in exposition order.
    pub(crate) fn emit(&self, sink: &mut impl Sink) {
        let registry = self.live.registry();
        let model = self.live.model();
        let rendered = &self.rendered;
        let snapshots = self.live.snapshots();
        let current = current_results(registry.len(), &snapshots);
        let each = |f: &mut dyn FnMut(AgencyIdx, PeriodKind, &AgencyResult)| {
            for (a, kinds) in current.iter().enumerate() {
                for (k, r) in PeriodKind::ALL.iter().zip(kinds) {
                    if let Some(r) = r {
                        f(AgencyIdx(a as u32), *k, r);
                    }
                }
            }
        };
        sink.family(DOSSIERS.name, DOSSIERS.help);
        each(&mut |a, k, r| {
            for ((_, v), (name, text)) in r.counts.iter().zip(&rendered.counts) {
                let extra = Extra {
                    labels: &[("count", name)],
                    rendered: text,
                };
                sink.sample(Some(a), Some(k), extra, Num::Int(v));
            }
        });
        sink.family(INDICATOR_VALUE.name, INDICATOR_VALUE.help);
        each(&mut |a, k, r| {
            for (i, v) in r.card.indicators.iter().enumerate() {
                if let Some(v) = v
                    .as_ref()
                    .filter(|v| v.value.is_some() && v.denominator > 0)
                {
                    let value = Num::ratio(v.numerator, v.denominator);
                    sink.sample(
                        Some(a),
                        Some(k),
                        self.indicator_extra(i, &mut [("", ""); 2]),
                        value,
                    );
                }
            }
        });
        sink.family(INDICATOR_POINTS.name, INDICATOR_POINTS.help);
        each(&mut |a, k, r| {
            for (i, v) in r.card.indicators.iter().enumerate() {
                if let Some(v) = v {
                    let value = Num::Hundredths(v.points_h);
                    sink.sample(
                        Some(a),
                        Some(k),
                        self.indicator_extra(i, &mut [("", ""); 2]),
                        value,
                    );
                }
            }
        });
        sink.family(GROUP_POINTS.name, GROUP_POINTS.help);
        each(&mut |a, k, r| {
            for ((g, &(points, _)), text) in model
                .groups
                .iter()
                .zip(&r.card.groups)
                .zip(&rendered.groups)
            {
                let extra = Extra {
                    labels: &[("group", &g.id)],
                    rendered: text,
                };
                sink.sample(Some(a), Some(k), extra, Num::Hundredths(points));
            }
        });
        sink.family(SCORE.name, SCORE.help);
        each(&mut |a, k, r| {
            if let Some(t) = r.card.score_tenths {
                sink.sample(Some(a), Some(k), NO_EXTRA, Num::Tenths(t));
            }
        });
        sink.family(BAND.name, BAND.help);
        let top = model.bands.len().saturating_sub(1) as u64;
        each(&mut |a, k, r| {
            if let Some(b) = r.card.band {
                sink.sample(
                    Some(a),
                    Some(k),
                    NO_EXTRA,
                    Num::Int(top.saturating_sub(b as u64)),
                );
            }
        });
        sink.family(EVALUATED.name, EVALUATED.help);
        each(&mut |a, k, r| {
            sink.sample(
                Some(a),
                Some(k),
                NO_EXTRA,
                nanos_to_secs(r.evaluated_at.as_nanos()),
            );
        });

        sink.family(OVERDUE_MAX_AGE.name, OVERDUE_MAX_AGE.help);
        let mut age = vec![0i64; registry.len()];
        for set in self.live.open_sets() {
            let set = set.read().expect("open set lock");
            let Some(now) = set.evaluated_at() else {
                continue;
            };
            for item in set.items().filter(|i| i.late) {
                let slot = &mut age[item.agency.index()];
                *slot = (*slot).max(now.nanos_since(item.due));
            }
        }
        registry.pool(&mut age, |p, c| *p = (*p).max(*c));
        for (a, kinds) in current.iter().enumerate() {
            if kinds.iter().any(Option::is_some) {
                sink.sample(
                    Some(AgencyIdx(a as u32)),
                    None,
                    NO_EXTRA,
                    nanos_to_secs(age[a]),
                );
            }
        }

        sink.family(INDICATOR_MAX.name, INDICATOR_MAX.help);
        for (i, def) in model.indicators.iter().enumerate() {
            sink.sample(
                None,
                None,
                self.indicator_extra(i, &mut [("", ""); 2]),
                Num::Hundredths(def.max_h),
            );
        }
        sink.family(GROUP_MAX.name, GROUP_MAX.help);
        for (g, text) in model.groups.iter().zip(&rendered.groups) {
            let extra = Extra {
                labels: &[("group", &g.id)],
                rendered: text,
            };
            sink.sample(None, None, extra, Num::Hundredths(g.max_h));
        }
        sink.family(READY.name, READY.help);
        sink.sample(
            None,
            None,
            NO_EXTRA,
            Num::Int(u64::from(self.live.is_ready())),
        );
    }

    /// The `indicator` and `group` labels of model indicator `i`.
    fn indicator_extra<'s>(
        &'s self,
        i: usize,
        pairs: &'s mut [(&'static str, &'s str); 2],
    ) -> Extra<'s> {
        let [(k1, v1), (k2, v2)] = &self.rendered.indicators[i];
        *pairs = [(k1, v1.as_str()), (k2, v2.as_str())];
        Extra {
            labels: &pairs[..],
            rendered: &self.rendered.indicator_text[i],
        }
    }

    /// Appends every indicator family to `out` in the Prometheus text format (0.0.4).
    pub fn write_text(&self, out: &mut String) {
        let last = self.last_len.load(Ordering::Relaxed);
        // Allocate once: from the last scrape, or at first from ~64 lines per agency and period.
        let estimate = if last > 0 {
            last + last / 8
        } else {
            self.prefixes
                .iter()
                .map(|(p, _)| (p.len() + 80) * 64 * 3)
                .sum()
        };
        out.reserve(estimate);
        let start = out.len();
        let mut sink = TextSink::new(&self.prefixes, out);
        self.emit(&mut sink);
        self.last_len.store(out.len() - start, Ordering::Relaxed);
    }
}
