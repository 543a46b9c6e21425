//! Tidy checks that keep the layering honest, in the style of rust-analyzer's
//! `xtask/src/tidy.rs`: plain text scans of `src/`, no parser, no dependencies.
//!
//! The layering of the library's top-level modules (`src/lib.rs`), arrows meaning "may import":
//!
//! ```text
//!  main.rs, app ───────────────► everything           the wiring: the one place that knows it all
//!  kafka, http, metrics, sim ──► core, read_model, wire, accept, render
//!  accept ─────────────────────► core, wire            decode → ingest → outcome
//!  read_model, wire, render ───► core                  render: what people read
//!  core ───────────────────────► nothing of the crate  pure: no I/O, no clock, no async
//! ```
//!
//! Why: the core is the deterministic part the property tests pin down, so it must not reach the
//! outside world. Adapters are edges: they meet only through the core and the shared seams
//! (`read_model`, `wire`, `accept`), and never depend on the app that wires them — otherwise a
//! change to `chiso run`'s configuration ripples into Kafka code and `replay` or `demo` cannot
//! reuse an adapter. Hence also: nothing under `src/kafka/` names the app's configuration type,
//! and no two top-level modules import each other (a cycle means the layers are fused).
//!
//! How: a reference is `crate::NAME`, `crate::{NAME, ..}`, or a `super::` path climbing to the
//! crate root, where NAME is a top-level module; comments (doc comments too) and string literals
//! are blanked first. Test code — `tests.rs` files and items under `#[cfg(test)]` — is exempt
//! from the cross-module rules (tests may load the app's sample files); the core's forbidden
//! words apply to all of its non-test code. A new top-level module must be placed in `LAYERS`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// What an adapter may import besides itself.
const ADAPTER: &[&str] = &["core", "read_model", "wire", "accept", "render"];
/// Each top-level module and what it may import besides itself (`*`: everything).
const LAYERS: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("wire", &["core"]),
    ("read_model", &["core"]),
    ("render", &["core"]),
    ("accept", &["core", "wire"]),
    ("kafka", ADAPTER),
    ("http", ADAPTER),
    ("metrics", ADAPTER),
    ("sim", ADAPTER),
    ("app", &["*"]),
];
/// The adapters: they never import the app, nor each other (`wire` excepted).
const ADAPTERS: &[&str] = &["kafka", "http", "metrics", "wire", "sim"];
/// Never in the core's non-test code: I/O, the clock, async, logging, adapter crates.
const CORE_FORBIDDEN: &str = "tokio rdkafka prometheus axum dashmap tracing std::fs std::io \
    std::net std::thread std::env SystemTime Instant::now Utc::now Local::now println! eprintln!";
/// The app's configuration, which the Kafka adapter never names (it takes its own settings).
const APP_CONFIG: &[&str] = &["RunConfig", "RunSettings", "app::config"];

/// Every rule broken by `files` (paths relative to `src/`, with `/`), as `path:line: rule: line`.
fn violations(files: &[(String, String)]) -> Vec<String> {
    fn top_of(path: &str) -> String {
        path.split(['/', '.']).next().unwrap().to_string() // `kafka/mod.rs`, `wire.rs`
    }
    let mut tops: BTreeSet<String> = LAYERS.iter().map(|l| l.0.to_string()).collect();
    tops.extend(files.iter().map(|f| top_of(&f.0)));
    tops.retain(|t| t != "lib" && t != "main");
    let (mut out, mut unplaced) = (Vec::new(), BTreeSet::new());
    // The first non-test site of each edge `from → to` between top-level modules.
    let mut edges: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for (path, text) in files {
        let from = top_of(path);
        let root = from == "lib" || from == "main"; // the crate root and the binary see all
        let allowed = LAYERS.iter().find(|l| l.0 == from).map(|l| l.1);
        let (code, lines) = (strip(text), text.lines().collect::<Vec<_>>());
        let test = test_lines(path, &code);
        let shown = |n: usize| lines.get(n).unwrap_or(&"").trim().to_string();
        let mut found = Vec::new(); // (line, rule), reported in line order
        let mut report = |n: usize, rule: String| found.push((n, rule));
        if allowed.is_none() && !root && unplaced.insert(from.clone()) {
            report(
                0,
                format!("top-level module `{from}` has no place in LAYERS"),
            );
        }
        for (n, line) in code.lines().enumerate().filter(|&(n, _)| !test[n]) {
            let mut words = CORE_FORBIDDEN.split_whitespace().filter(|_| from == "core");
            if let Some(word) = words.find(|w| line.contains(w)) {
                report(n, format!("the core is not pure: `{word}`"));
            }
            let mut words = APP_CONFIG.iter().filter(|_| from == "kafka");
            if let Some(word) = words.find(|w| has_word(line, w)) {
                report(n, format!("kafka names the app's configuration `{word}`"));
            }
        }
        for (n, to) in references(path, &code, &tops) {
            // Test code may reach across the layers, but never up into the app: what a test
            // below the app needs (the built-in definitions, say) lives below the app.
            let app_from_below = to == "app" && from != "app";
            if (test[n] && !app_from_below) || to == from || root {
                continue;
            }
            if !test[n] {
                let site = (format!("{path}:{}", n + 1), shown(n));
                edges.entry((from.clone(), to.clone())).or_insert(site);
            }
            if let Some(allowed) = allowed.filter(|a| !a.contains(&"*") && !a.contains(&&*to)) {
                report(n, rule(&from, &to, allowed));
            }
        }
        found.sort_by_key(|f| f.0);
        let found = found
            .into_iter()
            .map(|(n, r)| format!("{path}:{}: {r}: {}", n + 1, shown(n)));
        out.extend(found);
    }
    for ((a, b), (site, line)) in &edges {
        if let Some((back, _)) = edges.get(&(b.clone(), a.clone())).filter(|_| a < b) {
            out.push(format!(
                "{site}: import cycle between {a} and {b} ({b} imports {a} at {back}): {line}"
            ));
        }
    }
    out
}

/// Names the rule that `from` importing `to` breaks.
fn rule(from: &str, to: &str, allowed: &[&str]) -> String {
    if from == "core" {
        format!("the core imports {to} (it imports nothing outside the core)")
    } else if to == "app" && ADAPTERS.contains(&from) {
        format!("adapter {from} imports the app")
    } else if ADAPTERS.contains(&from) && ADAPTERS.contains(&to) {
        format!("adapter {from} imports adapter {to}")
    } else {
        let only = allowed.join(", ");
        format!("{from} imports {to} (it may import only {only})")
    }
}

/// `word` occurs in `line` not as part of a longer identifier.
fn has_word(line: &str, word: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    line.match_indices(word).any(|(i, _)| {
        !ident(line[..i].chars().next_back()) && !ident(line[i + word.len()..].chars().next())
    })
}

/// `text` with comments, string and char literals blanked (newlines kept, so lines still match).
/// Rough on purpose: no nested block comments, no byte-raw strings.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let find = |from: usize, pat: &str| {
        let pat: Vec<char> = pat.chars().collect();
        let found = (from..c.len()).find(|&j| c[j..].starts_with(&pat));
        found.map_or(c.len(), |j| j + pat.len())
    };
    let (mut out, mut i) = (c.clone(), 0);
    while i < c.len() {
        let hashes = (i + 1..c.len()).take_while(|&j| c[j] == '#').count();
        let after_ident = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        let raw = c[i] == 'r' && !after_ident && at(i + 1 + hashes) == '"';
        let end = match (c[i], at(i + 1), at(i + 2)) {
            ('/', '/', _) => find(i, "\n"),
            ('/', '*', _) => find(i + 2, "*/"),
            _ if raw => find(i + 2 + hashes, &format!("\"{}", "#".repeat(hashes))),
            ('"', ..) => {
                let mut j = i + 1;
                while j < c.len() && c[j] != '"' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                j + 1
            }
            ('\'', '\\', _) => find(i + 3, "'"),
            ('\'', _, '\'') => i + 3,
            _ => {
                i += 1; // code, or the quote of a lifetime: kept
                continue;
            }
        };
        let end = end.min(c.len());
        for ch in out[i..end].iter_mut().filter(|ch| **ch != '\n') {
            *ch = ' ';
        }
        i = end;
    }
    out.into_iter().collect()
}

/// Per line of `code`: whether it is test code (a `tests.rs` file, or an item under `#[cfg(test)]`).
fn test_lines(path: &str, code: &str) -> Vec<bool> {
    let line_of = |pos: usize| code[..pos].matches('\n').count();
    let in_tests = path.split('/').any(|p| p == "tests.rs" || p == "tests");
    let mut test = vec![in_tests; code.lines().count() + 1];
    for (start, attr) in code.match_indices("#[cfg(test)]") {
        // The item runs to its first `;` outside brackets, or to the `}` closing its first `{`.
        let (mut brackets, mut braces, mut end) = (0, 0, code.len());
        for (j, ch) in code[start + attr.len()..].char_indices() {
            match ch {
                '(' | '[' => brackets += 1,
                ')' | ']' => brackets -= 1,
                '{' => braces += 1,
                '}' => braces -= 1,
                ';' => {}
                _ => continue,
            }
            // A negative depth: the attribute was on a field or an arm; its parent ends here.
            let closed = braces == 0 && brackets == 0 && matches!(ch, ';' | '}');
            if closed || braces < 0 || brackets < 0 {
                end = start + attr.len() + j;
                break;
            }
        }
        test[line_of(start)..=line_of(end)].fill(true);
    }
    test
}

/// The top-level modules that `code` (the stripped file at `path`) refers to, by line.
fn references(path: &str, code: &str, tops: &BTreeSet<String>) -> BTreeSet<(usize, String)> {
    // Depth of the file's module: `kafka/ingest/mod.rs` is `kafka::ingest` (2), `lib.rs` 0.
    let parts = path.trim_end_matches(".rs").split('/');
    let depth = parts
        .filter(|p| !["mod", "lib", "main"].contains(p))
        .count();
    let b = code.as_bytes();
    let ident = |j: usize| matches!(b.get(j), Some(c) if c.is_ascii_alphanumeric() || *c == b'_');
    let starts = |j: usize, with: &[u8]| b.get(j..).is_some_and(|s| s.starts_with(with));
    let mut out = BTreeSet::new();
    let mut push = |j: usize| {
        let len = (j..b.len()).take_while(|&k| ident(k)).count();
        let name = code.get(j..j + len).unwrap_or_default(); // an ASCII identifier, or ""
        if tops.contains(name) {
            out.insert((code[..j].matches('\n').count(), name.to_string()));
        }
    };
    for i in (0..b.len()).filter(|&i| i == 0 || !(ident(i - 1) || b[i - 1] == b':')) {
        let supers = (0..).take_while(|k| starts(i + 7 * k, b"super::")).count();
        let root = if starts(i, b"crate::") {
            i + 7
        } else if supers > 0 && supers == depth {
            i + 7 * supers // `super::` climbing exactly to the crate root
        } else {
            continue;
        };
        if b.get(root) != Some(&b'{') {
            push(root);
            continue;
        }
        // `crate::{a::x, b}`: the name starting each item of the group.
        let (mut level, mut item_start) = (0, true);
        for (j, &byte) in b.iter().enumerate().skip(root) {
            match byte {
                b'{' => (level, item_start) = (level + 1, true),
                b'}' if level == 1 => break,
                b'}' => level -= 1,
                b',' if level == 1 => item_start = true,
                c if c.is_ascii_whitespace() => {}
                _ if item_start && level == 1 => {
                    push(j);
                    item_start = false;
                }
                _ => item_start = false,
            }
        }
    }
    out
}

/// Every `.rs` file under `src/`, as (path relative to `src/`, text), sorted by path.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<(String, String)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().to_string_lossy();
                let rel = rel.replace('\\', "/");
                out.push((rel, fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    walk(src, src, &mut files);
    files.sort();
    files
}

/// The core does no I/O, never reads the clock, knows nothing of async, Kafka, metrics or HTTP,
/// and imports nothing of the crate outside `crate::core`.
#[test]
fn core_is_pure() {
    let files = sources();
    let core = files.iter().filter(|f| f.0.starts_with("core/")).count();
    assert!(core >= 8, "the core moved? {core} files in src/core");
    let mut bad = violations(&files);
    bad.retain(|v| v.starts_with("core/"));
    assert!(
        bad.is_empty(),
        "the core must stay pure:\n{}",
        bad.join("\n")
    );
}

/// Every "never" of the layering (see the module doc) holds over `src/`.
#[test]
fn layering_holds() {
    let bad = violations(&sources());
    let shown: String = bad.iter().map(|v| format!("\nsrc/{v}")).collect();
    assert!(bad.is_empty(), "{} layering violations:{shown}", bad.len());
}

/// The checker is not vacuous: each rule fires on a small fake tree, and allowed imports do not.
#[test]
fn the_checker_catches_each_kind_of_violation() {
    const FAKE: &str = r#"
=== core/engine.rs
use crate::wire::event_json;
fn t() { SystemTime::now(); }
=== core/time.rs
use crate::core::x; // crate::wire, std::fs in a comment
/// tokio, in a doc comment
=== kafka/mod.rs
use crate::app::run;
use crate::read_model::ReadModel;
use crate::{accept, wire::x};
=== kafka/client.rs
pub fn reader(cfg: &RunConfig, s: RunConfigured) {}
=== kafka/ingest/mod.rs
use super::client;
const S: &str = "crate::http";
=== http/mod.rs
use crate::{
    kafka::Progress,
    read_model::ReadModel,
};
=== read_model.rs
use super::kafka::Progress;
=== accept.rs
use crate::{core::Engine, wire::event_json};
=== sim/mod.rs
use crate::wire::x;
#[cfg(test)]
#[allow(unused)]
fn helper() { crate::app::files::load(); }
#[cfg(test)]
mod tests {
    use crate::app::files;
}
=== sim/tests.rs
use crate::app::files;
use crate::kafka::Pipeline;
=== app/mod.rs
use crate::kafka::Pipeline;
use crate::{http, sim};
=== lib.rs
pub use crate::kafka::Pipeline;
=== extra.rs
"#;
    let mut files = Vec::new();
    for f in FAKE.split("=== ").skip(1) {
        let (path, text) = f.split_once('\n').unwrap();
        files.push((path.to_string(), text.to_string()));
    }
    let bad = violations(&files);
    // Exactly these: the allowed imports (kafka → read_model, wire, accept; http → read_model;
    // sim → wire; accept → core, wire; app → all; test code reaching across the layers, but not
    // up into the app; comments; strings) report nothing.
    let expected = [
        "core/engine.rs:1: the core imports wire",
        "core/engine.rs:2: the core is not pure: `SystemTime`",
        "kafka/mod.rs:1: adapter kafka imports the app",
        "kafka/client.rs:1: kafka names the app's configuration `RunConfig`",
        "http/mod.rs:2: adapter http imports adapter kafka",
        "read_model.rs:1: read_model imports kafka (it may import only core)",
        "sim/mod.rs:4: adapter sim imports the app",
        "sim/mod.rs:7: adapter sim imports the app",
        "sim/tests.rs:1: adapter sim imports the app",
        "app/mod.rs:1: import cycle between app and kafka (kafka imports app at kafka/mod.rs:1)",
        "kafka/mod.rs:2: import cycle between kafka and read_model",
        "extra.rs:1: top-level module `extra` has no place in LAYERS",
    ];
    for e in expected {
        assert!(
            bad.iter().any(|p| p.starts_with(e)),
            "missed `{e}`: {bad:#?}"
        );
    }
    assert_eq!(bad.len(), expected.len(), "unexpected reports: {bad:#?}");
}

/// `main.rs` stays thin: it wires commands; adapters live in the library.
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

/// The route table of `src/http/mod.rs`'s module doc names every route the router serves.
#[test]
fn the_route_table_names_every_route() {
    let text = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs")).unwrap();
    let table: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("//! | `GET "))
        .collect();
    let routes: Vec<&str> = text
        .split(".route(\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .collect();
    assert!(routes.len() >= 11, "{routes:?}");
    for route in routes {
        assert!(
            table
                .iter()
                .any(|row| row.starts_with(&format!("//! | `GET {route}`"))
                    || row.starts_with(&format!("//! | `GET {route}?"))),
            "route {route} is not in the route table of src/http/mod.rs"
        );
    }
}

/// The modules of the crate, two levels deep: (top, its submodules), from the files under `src/`
/// (`x.rs` or `x/`; `mod.rs` and `tests.rs` are not modules of their own).
fn modules() -> Vec<(String, Vec<String>)> {
    let src = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let names = |dir: &std::path::Path| -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .filter(|n| !["mod", "tests", "lib", "main"].contains(&n.as_str()))
            .collect()
    };
    names(src)
        .into_iter()
        .map(|top| {
            let dir = src.join(&top);
            let subs = if dir.is_dir() {
                names(&dir).into_iter().collect()
            } else {
                Vec::new()
            };
            (top, subs)
        })
        .collect()
}

/// The code map in `src/lib.rs` has an entry for every top-level module, and each entry names
/// every one of its submodules (as `` `sub` `` or `` `top::sub` ``).
#[test]
fn the_code_map_names_every_module() {
    let lib = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let map: Vec<&str> = lib
        .lines()
        .skip_while(|l| *l != "//! ## Code map")
        .skip(1)
        .take_while(|l| !l.starts_with("//! ## "))
        .collect();
    assert!(!map.is_empty(), "src/lib.rs has no `## Code map` section");
    // The entry of each top-level module: its bullet and the lines nested under it.
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    let mut current = None;
    for line in &map {
        if let Some(rest) = line.strip_prefix("//! - [`") {
            let top = rest.split('`').next().unwrap().to_owned();
            current = Some(top.clone());
            entries.insert(top, String::new());
        }
        if let Some(top) = &current {
            let entry = entries.get_mut(top).unwrap();
            entry.push_str(line);
            entry.push('\n');
        }
    }
    let mut missing = Vec::new();
    for (top, subs) in modules() {
        let Some(entry) = entries.get(&top) else {
            missing.push(format!("module `{top}` has no entry"));
            continue;
        };
        for sub in subs {
            if !entry.contains(&format!("`{sub}`")) && !entry.contains(&format!("{top}::{sub}`")) {
                missing.push(format!(
                    "`{top}::{sub}` is not named in the entry of `{top}`"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the code map of src/lib.rs is out of date:\n{}",
        missing.join("\n")
    );
}

/// Longest a source file may be, in lines.
const MAX_FILE_LINES: usize = 500;
/// Longest a function may be, in lines, unless a comment says why it must be longer.
const MAX_FN_LINES: usize = 80;
/// What that comment says, in the function's doc or its first lines.
const LONG_MARK: &str = "Long because";

/// Every function of `code` (a whole file): (name, first line, line count), 0-based lines.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let stripped = strip(code);
    let lines: Vec<&str> = stripped.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(at) = line.find("fn ") else { continue };
        let before = &line[..at];
        let word_start = before.is_empty() || before.ends_with([' ', '(', '\t']);
        let name: String = line[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !word_start || name.is_empty() {
            continue;
        }
        // The body: from the first `{` after the signature to the brace that closes it; a `;`
        // first means a declaration without a body.
        let (mut depth, mut end) = (0i32, None);
        'scan: for (k, l) in lines.iter().enumerate().skip(n) {
            let from = if k == n { at } else { 0 };
            for ch in l[from..].chars() {
                match ch {
                    ';' if depth == 0 => break 'scan,
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(k);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(end) = end {
            out.push((name, n, end - n + 1));
        }
    }
    out
}

/// No source file over [`MAX_FILE_LINES`] lines; no function over [`MAX_FN_LINES`] without a
/// comment saying why ([`LONG_MARK`] …) in its doc or its first three lines. Tests excepted.
#[test]
fn files_and_functions_stay_short() {
    let mut problems = Vec::new();
    let mut marked = 0;
    for (path, text) in sources() {
        let tests = test_lines(&path, &strip(&text));
        let raw: Vec<&str> = text.lines().collect();
        let code_lines = raw.len();
        if code_lines > MAX_FILE_LINES && !path.ends_with("tests.rs") {
            problems.push(format!(
                "src/{path}: {code_lines} lines (at most {MAX_FILE_LINES})"
            ));
        }
        for (name, first, len) in functions(&text) {
            if len <= MAX_FN_LINES || tests.get(first).copied().unwrap_or(false) {
                continue;
            }
            let doc_start = (0..first)
                .rev()
                .take_while(|&k| {
                    let t = raw[k].trim_start();
                    t.starts_with("///") || t.starts_with("#[") || t.starts_with("//")
                })
                .last()
                .unwrap_or(first);
            let says_why = raw[doc_start..(first + 4).min(raw.len())]
                .iter()
                .any(|l| l.contains(LONG_MARK));
            if says_why {
                marked += 1;
            } else {
                problems.push(format!(
                    "src/{path}:{}: fn {name} is {len} lines (at most {MAX_FN_LINES}, or say \
                     why in a `{LONG_MARK} …` comment)",
                    first + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        marked < 25,
        "{marked} functions say why they are long: split some"
    );
}

/// The function finder sees bodies, not declarations, strings or comments.
#[test]
fn the_function_finder_measures_bodies() {
    let code = "trait T { fn decl(&self); }\n\
                /// fn in a doc\n\
                pub(crate) fn one() {\n    let s = \"{ fn x() {\";\n}\n\
                fn two<T>(t: T)\nwhere\n    T: Copy,\n{\n    if true { }\n}\n";
    let found = functions(code);
    assert_eq!(
        found,
        [("one".to_owned(), 2, 3), ("two".to_owned(), 5, 6)],
        "{found:?}"
    );
}
