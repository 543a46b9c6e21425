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
            for outside in ["DOMAIN.md", "DOMAIN §", "../shared", "STYLE.md"] {
                if line.contains(outside) {
                    problems.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
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
