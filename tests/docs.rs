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
