//! `chiso topics create|check`: the pipeline's five topics from the one layout of
//! [`crate::kafka::layout`], named, reached and authenticated as the run configuration says.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::kafka::layout;

/// Arguments of `chiso topics`.
#[derive(clap::Args, Debug)]
pub struct TopicsArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create the topics that do not exist yet; existing ones are left as they are (`check`
    /// says whether they differ from the layout).
    Create {
        /// The run configuration (TOML; brokers, topic names, TLS/SASL), layered as `chiso run`
        /// does with the CHISO_* variables.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Partitions of the events topic (and so of the state topic), from 1 to 10000.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(i32).range(1..=10_000))]
        partitions: i32,
        /// Replicas of every topic (3 in production, 1 on a single broker), from 1 to 16.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=16))]
        replication: i32,
    },
    /// Check that the topics exist with the layout's partition counts and settings; exits with
    /// status 1 and names every difference otherwise.
    Check {
        /// The run configuration, as for `create`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn main(args: TopicsArgs) -> Result<()> {
    let config = match &args.action {
        Action::Create { config, .. } | Action::Check { config } => config.as_deref(),
    };
    let cfg = super::config::load(config)?.kafka();
    let admin = crate::kafka::client::admin(&cfg);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let on = &cfg.bootstrap_servers;
    match args.action {
        Action::Create {
            partitions,
            replication,
            ..
        } => {
            let created = runtime
                .block_on(layout::create(&admin, &cfg.topics, partitions, replication))
                .with_context(|| format!("creating the topics on {on}"))?;
            for spec in layout::layout(&cfg.topics) {
                let what = if created.contains(&spec.name) {
                    "created"
                } else {
                    "exists"
                };
                println!("{} {what}", spec.name);
            }
            let problems = runtime
                .block_on(layout::check(&admin, &cfg.topics))
                .with_context(|| format!("checking the topics on {on}"))?;
            report(problems)
        }
        Action::Check { .. } => {
            let problems = runtime
                .block_on(layout::check(&admin, &cfg.topics))
                .with_context(|| format!("checking the topics on {on}"))?;
            if problems.is_empty() {
                println!("the five topics match the layout");
            }
            report(problems)
        }
    }
}

fn report(problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    for p in &problems {
        eprintln!("  {p}");
    }
    bail!(
        "{} difference(s) from the topic layout (docs/kafka.md, section Topics)",
        problems.len()
    )
}
