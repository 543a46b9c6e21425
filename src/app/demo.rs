//! `chiso demo`: the sample province with a built-in event generator, no Kafka (being built).

/// Arguments of `chiso demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {}

pub fn main(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("`chiso demo` is not implemented yet")
}
