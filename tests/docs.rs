//! The project's documents stand alone: they cite the project's own files, never one outside it.

use std::path::Path;

fn markdown(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy();
            if !name.starts_with('.') && name != "target" {
                markdown(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn documents_cite_only_the_project() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    markdown(root, &mut files);
    assert!(files.len() >= 8, "the documents moved? {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut fenced = false;
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            // A file named in prose (`name.md`, or a path with `../`) exists in the project.
            for token in line.split(|c: char| c.is_whitespace() || "`()[],;".contains(c)) {
                let token = token.split('#').next().unwrap_or("");
                let token =
                    token.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != '/');
                let named_md = token.ends_with(".md") && !token.contains("://");
                if (named_md || token.contains("../")) && !fenced {
                    let here = file.parent().unwrap().join(token);
                    let found = here.exists()
                        || root.join(token).exists()
                        || (named_md
                            && !token.contains('/')
                            && files.iter().any(|f| f.ends_with(token)));
                    if !found {
                        problems.push(format!(
                            "{}:{}: names `{token}`, not a file of the project",
                            file.display(),
                            n + 1
                        ));
                    }
                }
            }
            // Relative links must resolve inside the project (code spans are not links).
            let prose: String = line
                .split('`')
                .enumerate()
                .filter(|(k, _)| k % 2 == 0)
                .map(|(_, part)| part)
                .collect();
            for (i, _) in prose.match_indices("](").filter(|_| !fenced) {
                let target = prose[i + 2..].split(')').next().unwrap_or("");
                let target = target.split('#').next().unwrap_or("");
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let resolved = file.parent().unwrap().join(target);
                match resolved.canonicalize() {
                    Ok(p) if p.starts_with(root) => {}
                    _ => problems.push(format!(
                        "{}:{}: link to `{target}` does not resolve inside the project",
                        file.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The top-level places of the project a document may cite a path under.
const PLACES: [&str; 8] = [
    "src/", "tests/", "scripts/", "config/", "deploy/", "docs/", "benches/", ".ci/",
];

/// The project's documents for people (Markdown) and for contributors (the module docs).
fn documents(root: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    markdown(root, &mut files);
    let mut sources = Vec::new();
    rust_sources(&root.join("src"), &mut sources);
    let mut out: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.clone(), std::fs::read_to_string(f).unwrap()))
        .chain(sources.iter().map(|f| {
            // Only the doc comments of a source file are its document.
            let text = std::fs::read_to_string(f).unwrap();
            let docs = text
                .lines()
                .map(|l| {
                    let t = l.trim_start();
                    if t.starts_with("//!") || t.starts_with("///") {
                        t
                    } else {
                        ""
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            (f.clone(), docs)
        }))
        .map(|(f, t)| {
            (
                f.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                t,
            )
        })
        .collect();
    out.sort();
    out
}

fn rust_sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A path of the project cited in `line`: tokens that start with one of [`PLACES`] (or are
/// `Cargo.toml` / `README.md`), placeholders and globs left out.
fn cited_paths(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "`()[],;\"'|=".contains(c))
        .map(|t| t.trim_end_matches(['.', ':']))
        // `path:12` and `path#anchor` cite the file.
        .map(|t| t.split(['#']).next().unwrap_or(""))
        .map(|t| t.split("::").next().unwrap_or(""))
        .map(|t| match t.rfind(':') {
            Some(i) if t[i + 1..].chars().all(|c| c.is_ascii_digit()) => &t[..i],
            _ => t,
        })
        .filter(|t| PLACES.iter().any(|p| t.starts_with(p)))
        .filter(|t| !t.contains(['*', '<', '>', '{', '}', '$', '…']) && !t.contains("..."))
        .map(str::to_owned)
        .collect()
}

/// Every file or folder a document or a module doc names under the project's places exists.
#[test]
fn documents_cite_files_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for (file, text) in documents(root) {
        for (line, piece) in pieces(&text) {
            for path in cited_paths(&piece) {
                if !root.join(&path).exists() {
                    problems.push(format!(
                        "{file}:{line}: cites `{path}`, which does not exist"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What of `text` is commands and paths, by line: the code spans of prose lines, and whole lines
/// of fenced blocks that are shell or configuration (a bare fence is output, e.g. an error
/// message's example, and is left out). Continued shell lines are joined.
fn pieces(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<bool> = None; // Some(checked) inside a fenced block
    let mut joined = String::new();
    let mut first = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = raw
            .trim_start()
            .trim_start_matches("//!")
            .trim_start_matches("///");
        let line = line.strip_prefix(' ').unwrap_or(line);
        if let Some(info) = line.trim_start().strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => {
                    Some(["sh", "bash", "console", "shell", "toml", "yaml"].contains(&info.trim()))
                }
            };
            continue;
        }
        match fence {
            Some(false) => {}
            Some(true) => {
                if joined.is_empty() {
                    first = n + 1;
                }
                if let Some(cont) = line.trim_end().strip_suffix('\\') {
                    joined.push_str(cont);
                    joined.push(' ');
                } else {
                    joined.push_str(line);
                    out.push((first, std::mem::take(&mut joined)));
                }
            }
            None => {
                for span in line.split('`').skip(1).step_by(2) {
                    out.push((n + 1, span.to_owned()));
                }
            }
        }
    }
    out
}

/// The subcommand and flags of each `chiso SUB --flag …` (or `cargo run … -- SUB --flag`)
/// command in `text`.
fn commands(text: &str) -> Vec<(usize, String, Vec<String>)> {
    let mut out = Vec::new();
    for (line, piece) in pieces(text) {
        let words: Vec<&str> = piece.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let is_chiso = *w == "chiso" || w.ends_with("/chiso") || *w == "--";
            let Some(sub) = words.get(i + 1) else {
                continue;
            };
            if !is_chiso || !SUBCOMMANDS.contains(sub) {
                continue;
            }
            if *w == "--" && !words[..i].contains(&"run") {
                continue;
            }
            // `chiso topics create|check`: the flags are the inner command's.
            let (sub, rest) = match words.get(i + 2) {
                Some(inner) if *sub == "topics" && ["create", "check"].contains(inner) => {
                    (format!("topics {inner}"), i + 3)
                }
                _ => (sub.to_string(), i + 2),
            };
            let flags: Vec<String> = words[rest..]
                .iter()
                .take_while(|w| !["|", "&&", ";", "&", ">", "2>"].contains(w) && **w != "chiso")
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(|w| {
                    w.split('=')
                        .next()
                        .unwrap()
                        .trim_end_matches([',', '.', ')'])
                        .to_owned()
                })
                .collect();
            out.push((line, sub, flags));
        }
    }
    out
}

const SUBCOMMANDS: [&str; 7] = [
    "run", "replay", "demo", "generate", "report", "produce", "topics",
];

/// Every flag a document gives a `chiso` command is one that command takes (`chiso SUB --help`).
#[test]
fn documents_give_commands_flags_they_take() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut help = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (file, text) in documents(root) {
        for (line, sub, flags) in commands(&text) {
            let known: &String = help.entry(sub.clone()).or_insert_with(|| {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_chiso"))
                    .args(sub.split(' '))
                    .arg("--help")
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).into_owned()
            });
            for flag in flags {
                checked += 1;
                let taken = ["--help", "--version"].contains(&flag.as_str())
                    || known
                        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
                        .any(|w| w == flag);
                if !taken {
                    problems.push(format!("{file}:{line}: `chiso {sub}` has no flag `{flag}`"));
                }
            }
        }
    }
    assert!(
        checked > 30,
        "the commands were not found: {checked} flags checked"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks read what they should: code spans and shell blocks, not prose or output.
#[test]
fn the_checks_read_spans_and_shell_blocks() {
    let doc = "Run `chiso replay --events F --at T` (see `docs/nowhere.md:3`).\n\
               Prose chiso run --nothing and src/gone.rs are not read.\n\
               ```sh\n\
               cargo run --release -- report --period 2025-08 \\\n  --format csv\n\
               ```\n\
               ```\n\
               Error: config/missing.toml chiso run --bad\n\
               ```\n\
               /// `chiso topics check --config C`\n";
    let cmds = commands(doc);
    let flags = |sub: &str| {
        cmds.iter()
            .filter(|(_, s, _)| s == sub)
            .flat_map(|(_, _, f)| f.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(flags("replay"), ["--events", "--at"]);
    assert_eq!(flags("report"), ["--period", "--format"]);
    assert_eq!(flags("topics check"), ["--config"]);
    assert!(flags("run").is_empty(), "{cmds:?}");
    let paths: Vec<String> = pieces(doc)
        .iter()
        .flat_map(|(_, p)| cited_paths(p))
        .collect();
    assert_eq!(paths, ["docs/nowhere.md"]);
}
