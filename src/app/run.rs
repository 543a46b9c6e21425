//! `chiso run`: the Kafka pipeline (being built).

use std::path::PathBuf;

/// Arguments of `chiso run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Configuration file (TOML), layered over the built-in defaults and under CHISO_* variables.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn main(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("`chiso run` is not implemented yet")
}
