//! `tracecheck suggest --data GOOD [--data-bad BAD] [-o FILE]`: candidate models mined from traces
//! known to be good, as a model file. Exit 0, or 2 on an error.

use std::path::PathBuf;

use tracecheck::suggest::{mine_in_passes, rank, render, Options};
use tracecheck::{engine, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Traces of the system working as it should: a dataset folder, or trace files / folders.
    /// Repeatable. Every suggestion holds on every trace of it.
    #[arg(short, long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Traces of an incident (same forms as --data): the suggestions it violates come first.
    #[arg(long, num_args = 1..)]
    data_bad: Vec<PathBuf>,
    /// Write the model file here (atomically) instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Fewest applications (spans, sibling pairs or traces a rule was tested on) for a suggestion.
    #[arg(long, default_value_t = 5, value_name = "N")]
    min_support: u64,
    /// Most suggestions in the file.
    #[arg(long, default_value_t = 40, value_name = "N")]
    max: usize,
    /// Most suggestions per template (not counting those the bad data violates).
    #[arg(long, default_value_t = 6, value_name = "N")]
    per_template: usize,
    /// Thresholds are the observed value (longest duration, p99, error rate) times this.
    #[arg(long, default_value_t = 1.5)]
    margin: f64,
    /// Mining runs over a dataset in passes of about this many spans, each over one range of
    /// trace ids (the suggestions are the same; memory holds one pass's traces).
    #[arg(long, default_value_t = DEFAULT_PASS_SPANS, value_name = "N")]
    pass_spans: u64,
}

/// Mining's joins relate every pair of names in a trace, which costs more than a model's: at 1M
/// spans in one pass they peaked at 0.6 GiB, at 10M at 4.3 GiB and 40x the time (BENCHMARKS.md).
const DEFAULT_PASS_SPANS: u64 = 1_000_000;

pub async fn run(a: Args) -> Result<u8> {
    let options = Options::default()
        .with_min_support(a.min_support)
        .with_max(a.max)
        .with_per_template(a.per_template)
        .with_margin(a.margin);
    let good = engine::open(&a.data).await?;
    let passes = engine::pass_sessions(&good, &a.data, a.pass_spans).await?;
    let candidates = mine_in_passes(&good, &passes, &options).await?;
    let bad = match a.data_bad.is_empty() {
        true => None,
        false => Some(engine::open(&a.data_bad).await?),
    };
    let ranked = rank(candidates, bad.as_ref(), &options).await?;
    let label: Vec<String> = a.data.iter().map(|p| p.display().to_string()).collect();
    let text = render(&ranked.kept, &label.join(" "))?;
    match &a.output {
        Some(path) => super::atomic::write_bytes(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    let mut summary = format!(
        "suggest: {} of {} candidates kept ({} implied by others",
        ranked.kept.len(),
        ranked.candidates,
        ranked.implied
    );
    if bad.is_some() {
        summary.push_str(&format!("; {} violated by the bad data", ranked.caught));
    }
    summary.push(')');
    if let Some(path) = &a.output {
        summary.push_str(&format!(", written to {}", path.display()));
    }
    eprintln!("{summary}");
    Ok(0)
}
