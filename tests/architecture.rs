//! Tidy checks that keep the layering honest: the core stays pure.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The core does no I/O, never reads the clock, and knows nothing of async, Kafka, metrics or HTTP.
#[test]
fn core_is_pure() {
    const FORBIDDEN: &[&str] = &[
        "tokio",
        "rdkafka",
        "prometheus",
        "axum",
        "dashmap",
        "tracing",
        "std::fs",
        "std::io",
        "std::net",
        "std::thread",
        "std::env",
        "SystemTime",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "crate::app",
        "crate::wire",
        "crate::read_model",
        "crate::app::files",
        "println!",
        "eprintln!",
    ];
    let mut files = Vec::new();
    rust_files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/core")),
        &mut files,
    );
    assert!(files.len() >= 8, "the core moved? found {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    problems.push(format!(
                        "{}:{}: `{word}` in the core: {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the core must stay pure:\n{}",
        problems.join("\n")
    );
}

/// Adapters depend on the core, never the other way round; `main.rs` stays thin.
#[test]
fn main_is_thin() {
    let main = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/main.rs")).unwrap();
    assert!(
        main.lines().count() < 200,
        "src/main.rs grew past 200 lines: move logic into src/app"
    );
    assert!(
        !main.contains("rdkafka") && !main.contains("axum"),
        "main.rs wires commands; adapters live in the library"
    );
}
