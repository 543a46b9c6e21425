//! The snapshot path: decoding the national portal's sync records and Debezium change records
//! through their mappings, and decoding + deriving the lifecycle events (the work `chiso replay
//! --mapping` does before the engine), against a `serde_json::Value` parse of the same records
//! measured in the same run; and the memory kept per dossier.
//!
//! `cargo bench --bench feeds` measures 20,000 copies of each sample (each copy other
//! dossiers); under `cargo test` the same code runs once on 20 copies, as a smoke test.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chiso::accept::feed::{FeedTally, Normalizer};
use chiso::app::files::{load_mapping, load_registry};
use chiso::core::Registry;
use chiso::wire::feed::{decode, Mapping};

#[path = "support/counting.rs"]
mod counting;

/// `copies` of a sample's records, each copy other dossiers (`marker` made unique).
fn records(lines: &[String], marker: &str, copies: usize) -> Vec<String> {
    (0..copies)
        .flat_map(|k| {
            let unique = format!("{marker}{k:06}");
            lines.iter().map(move |l| l.replace(marker, &unique))
        })
        .collect()
}

/// Best of three passes, in records per second.
fn rate(n: usize, mut pass: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            pass();
            n as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn measure(name: &str, records: &[String], mapping: &Mapping, registry: &Arc<Registry>) {
    let n = records.len();
    let bytes: usize = records.iter().map(String::len).sum();
    let value = rate(n, || {
        for r in records {
            black_box(serde_json::from_str::<serde_json::Value>(r).unwrap());
        }
    });
    let decoded = rate(n, || {
        for r in records {
            black_box(decode(r.as_bytes(), mapping, registry, usize::MAX).unwrap());
        }
    });
    let mut out = Vec::new();
    let mut memory = 0;
    let mut dossiers = 0;
    let derived = rate(n, || {
        let before = counting::live();
        let mut normalizer = Normalizer::new(mapping.clone(), registry.clone(), usize::MAX);
        let mut tally = FeedTally::default();
        for r in records {
            out.clear();
            normalizer.record(r.as_bytes(), &mut out, &mut tally, |r| panic!("{r}"));
        }
        memory = counting::live() - before;
        dossiers = normalizer.dossiers();
        black_box(&normalizer);
    });
    println!(
        "{name}: {n} records, mean {:.0} bytes; Value parse {:.0} records/s; decode {:.0}/s = {:.2}x; \
         decode + derive {:.0}/s = {:.2}x; kept per dossier {:.0} bytes ({dossiers} dossiers)",
        bytes as f64 / n as f64,
        value,
        decoded,
        decoded / value,
        derived,
        derived / value,
        memory as f64 / dossiers.max(1) as f64,
    );
}

fn main() {
    let copies = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        20
    };
    let registry = Arc::new(load_registry(Path::new("config/agencies/tuyen-quang.toml")).unwrap());
    let mapping = |p: &str| load_mapping(Path::new(p), &registry).unwrap();
    let lines = |p: &str, tsv: bool| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| match tsv {
                true => l.split_once('\t').unwrap().1.to_string(),
                false => l.to_string(),
            })
            .filter(|l| l != "null")
            .collect()
    };
    let sync = records(
        &lines("config/samples/dvcqg-sync.jsonl", false),
        "-2509",
        copies,
    );
    measure(
        "dvcqg sync records",
        &sync,
        &mapping("config/feeds/dvcqg.toml"),
        &registry,
    );
    let onestop = mapping("config/feeds/onestop.toml");
    for (name, file) in [
        (
            "debezium envelope",
            "tests/fixtures/debezium/onestop-envelope.tsv",
        ),
        (
            "debezium flattened",
            "tests/fixtures/debezium/onestop-flat.tsv",
        ),
    ] {
        let recs = records(&lines(file, true), "-2025-", copies);
        measure(name, &recs, &onestop, &registry);
    }
}
