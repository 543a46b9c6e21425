//! `chiso produce`: load a file of events (JSON lines) into the events topic, keyed by
//! `agency_id` — the backfill tool and the quick start's producer.
//!
//! Only the key is checked here; the pipeline validates every event as it does any other (one
//! accept path). A line that cannot be keyed (too large, not UTF-8, not a JSON object, no valid
//! `agency_id`) goes to the dead-letter topic with the pipeline's reason codes, the file and the
//! line number, and is counted in the summary: nothing is dropped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::kafka::backfill::Backfill;
use crate::wire::dead_letter::{H_FILE, H_LINE, H_REASON, H_REASON_TEXT};
use crate::wire::event_json::agency_key;

use super::files::Role;
use super::lines::{open_events, Lines};

/// Arguments of `chiso produce`.
#[derive(clap::Args, Debug)]
pub struct ProduceArgs {
    /// Events, one JSON object per line; `-` for standard input.
    #[arg(long)]
    pub events: PathBuf,
    /// The run configuration (TOML; brokers, topics, TLS/SASL), layered as `chiso run` does
    /// with the CHISO_* variables.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// How often progress is written to stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Longest the last acknowledgements are waited for.
const FLUSH_WITHIN: Duration = Duration::from_secs(120);

pub fn main(args: ProduceArgs) -> Result<()> {
    let cfg = super::config::load(args.config.as_deref())?;
    let kafka = cfg.kafka();
    let input = open_events(&args.events)?;
    let source = args.events.display().to_string();
    let out = Backfill::new(&kafka).context("connecting to Kafka")?;
    let t0 = Instant::now();
    let mut last_progress = t0;
    let mut lines = Lines::new(input, kafka.max_event_bytes);
    let mut buf = Vec::with_capacity(1 << 16);
    let (mut sent, mut dead) = (0u64, 0u64);
    // Per reason: count, and the first line with it.
    let mut unkeyed: BTreeMap<&'static str, (u64, u64, String)> = BTreeMap::new();
    while let Some((span, line_no)) = lines
        .next_into(&mut buf)
        .with_context(|| format!("reading {} {source}", Role::Events))?
    {
        let line = &buf[span];
        match agency_key(line, kafka.max_event_bytes) {
            Ok(key) => {
                out.event(&key, line).context("sending an event")?;
                sent += 1;
            }
            Err(reject) => {
                let text = reject.to_string();
                let value = &line[..line.len().min(kafka.max_event_bytes)];
                out.dead_letter(
                    value,
                    &[
                        (H_REASON, reject.code().as_bytes()),
                        (H_REASON_TEXT, text.as_bytes()),
                        (H_FILE, source.as_bytes()),
                        (H_LINE, line_no.to_string().as_bytes()),
                    ],
                )
                .context("sending a dead-letter record")?;
                dead += 1;
                unkeyed
                    .entry(reject.code())
                    .or_insert_with(|| (0, line_no, text))
                    .0 += 1;
            }
        }
        buf.clear();
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let p = out.progress();
            eprintln!(
                "chiso produce: {} lines read, {} acknowledged, {:.0} lines/s",
                sent + dead,
                p.delivered,
                (sent + dead) as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    let p = out
        .flush(FLUSH_WITHIN)
        .context("waiting for the brokers' acknowledgements")?;
    eprintln!(
        "chiso produce: {sent} events sent to `{}` (keyed by agency_id), {dead} lines that cannot \
         be keyed sent to `{}`; {} acknowledged, {} failed, in {:.1} s",
        kafka.topics.events,
        kafka.topics.dead_letter,
        p.delivered,
        p.failed,
        t0.elapsed().as_secs_f64()
    );
    for (code, (n, line, text)) in &unkeyed {
        eprintln!("  cannot be keyed, {code}: {n} (first on line {line}: {text})");
    }
    if p.failed > 0 || p.delivered != sent + dead {
        bail!(
            "{} of {} records were not acknowledged: run the load again (the pipeline counts \
             every event once)",
            sent + dead - p.delivered.min(sent + dead),
            sent + dead
        );
    }
    Ok(())
}
