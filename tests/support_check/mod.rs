//! `chiso run --check` as the deployment tests run it: with a configuration file and exactly the
//! `CHISO_*` variables a deployment passes (none inherited from the test's environment).

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

const CHISO: &str = env!("CARGO_BIN_EXE_chiso");

/// `chiso run --config FILE --check` in `dir` with exactly the variables `vars`.
pub fn run_check<K, V>(config: &Path, dir: &Path, vars: impl IntoIterator<Item = (K, V)>) -> Output
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut cmd = Command::new(CHISO);
    cmd.args(["run", "--config"])
        .arg(config)
        .arg("--check")
        .current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CHISO_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd.envs(vars);
    cmd.output().expect("running chiso run --check")
}

/// The effective configuration a successful `--check` printed; panics, with what chiso said
/// and `what` was checked, if it refused.
pub fn effective(out: &Output, what: &str) -> toml::Table {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: chiso run --check refused it ({}):\n{}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    toml::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what}: --check printed no TOML ({e}):\n{stdout}"))
}
