//! Errors a new user meets name their place: the file and its role, the position, the
//! variable, the value and the limit — run through the built binary as a person would.

use std::path::Path;
use std::process::Command;

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What `chiso args…` prints on standard error, and whether it failed.
fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(CHISO)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(ROOT)
        .output()
        .expect("chiso");
    (
        !out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn replay_with(flag: &str, path: &Path) -> (bool, String) {
    let p = path.to_str().unwrap();
    let mut args = vec![
        "replay",
        "--events",
        "config/samples/tuyen-quang-events.jsonl",
        "--agencies",
        "config/agencies/tuyen-quang.toml",
        "--at",
        "2025-09-01T00:00:00+07:00",
    ];
    match flag {
        "--agencies" => args[4] = p,
        _ => args.extend([flag, p]),
    }
    run(&args, &[])
}

#[test]
fn a_registry_that_is_not_utf8_is_named_with_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agencies.toml");
    std::fs::write(&path, b"[[agency]]\nid = \"\xff\"\n").unwrap();
    let (failed, err) = replay_with("--agencies", &path);
    assert!(failed);
    assert!(err.contains("agency registry"), "{err}");
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    assert!(err.contains("line 2, column 7"), "{err}");
}

#[test]
fn a_directory_given_as_the_registry_says_so() {
    let (failed, err) = replay_with("--agencies", Path::new("config"));
    assert!(failed);
    assert!(
        err.contains("agency registry config is a directory, not a file"),
        "{err}"
    );
}

#[test]
fn a_misspelt_variable_is_named_with_its_right_spelling() {
    let (failed, err) = run(
        &["run", "--check", "--config", "config/quickstart.toml"],
        &[("CHISO_LOG_LEVEL", "debug"), ("CHISO_KAFKA__NOPE", "1")],
    );
    assert!(failed);
    assert!(
        err.contains("CHISO_LOG_LEVEL sets nothing: `log.level` is set by CHISO_LOG__LEVEL"),
        "{err}"
    );
    assert!(
        err.contains(
            "unknown setting `kafka.nope` (from the environment variable CHISO_KAFKA__NOPE)"
        ),
        "{err}"
    );
}

#[test]
fn an_out_of_range_maximum_says_what_is_wrong_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scoring.toml");
    let model = std::fs::read_to_string(Path::new(ROOT).join("config/scoring.toml")).unwrap();
    std::fs::write(&path, model.replacen("max = 18", "max = 1e15", 1)).unwrap();
    let (failed, err) = replay_with("--scoring", &path);
    assert!(failed);
    assert!(err.contains("scoring model"), "{err}");
    assert!(err.contains("is 1e15: over the largest value"), "{err}");
    assert!(!err.contains("at most 2 decimals"), "{err}");
}

/// The error example of docs/configuration.md is what the program prints for that registry.
#[test]
fn the_documented_error_example_is_what_chiso_prints() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/configuration.md")).unwrap();
    let shown = doc
        .lines()
        .find(|l| l.starts_with("Error: invalid agency registry"))
        .expect("docs/configuration.md shows an error");
    let path = "config/agencies/my-province.toml";
    assert!(shown.contains(path), "{shown}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my-province.toml");
    std::fs::write(
        &file,
        "[[agency]]\nid = \"TQ\"\nname = \"Tỉnh Tuyên Quang\"\nlevel = \"province\"\n\n\
         [[agency]]\nid = \"TQ.X.MINHXUAN\"\nname = \"Phường Minh Xuân\"\nlevel = \"commune\"\n\
         parent = \"TQ.H.TPTQ\"\n",
    )
    .unwrap();
    let (failed, err) = replay_with("--agencies", &file);
    assert!(failed);
    let printed = err
        .lines()
        .next()
        .unwrap()
        .replace(file.to_str().unwrap(), path);
    assert_eq!(printed, shown);
}
