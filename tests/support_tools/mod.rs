//! The outside programs some tests run (promtool, amtool, podman, systemd-analyze, …).
//!
//! `scripts/test` installs every one of them and sets `CHISO_TEST_TOOLS=required`: there, a
//! missing tool fails the test that needs it, with the command that installs it. Run on its own
//! (`cargo test --test NAME`), a test whose tool is missing prints a SKIPPED line and passes, so
//! a contributor without the tools can still run the rest.

use std::path::PathBuf;

/// `program` as found on `PATH`; `None` (after a SKIPPED line saying what is not checked) when
/// it is missing and the suite does not require it. `install` is the command that installs it.
pub fn tool(program: &str, install: &str, unchecked: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let required = std::env::var("CHISO_TEST_TOOLS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "{program} is not installed, so {unchecked} cannot be checked: install it with \
             `{install}` (scripts/test does)"
        );
        eprintln!(
            "SKIPPED: {program} is not installed (`{install}`), so {unchecked} was not checked"
        );
    }
    found
}
