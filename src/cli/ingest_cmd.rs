//! `tracecheck ingest FILES... -o DATASET`

use std::path::PathBuf;
use std::time::Instant;

use tracecheck::pipeline::{ingest_paths, DecodeOptions, IngestOptions};
use tracecheck::Result;

use super::size::parse_size;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trace files or folders of them (format detected from content; .gz accepted).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The dataset folder to create or append to.
    #[arg(short, long)]
    output: PathBuf,
    /// Skip records that cannot be decoded (and count them) instead of failing.
    #[arg(long)]
    keep_going: bool,
    /// Spans per Parquet file (whole traces are never split).
    #[arg(long, default_value_t = 1_000_000)]
    spans_per_file: usize,
    /// Memory the ingest may use (e.g. 512MB, 8GB). Inputs estimated to need more are sorted by
    /// trace-id range through spill files inside the dataset folder and written a range at a time
    /// (measured: this also takes less CPU than holding a large input whole).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    memory: usize,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    let started = Instant::now();
    let mut decode = DecodeOptions::default().with_keep_going(a.keep_going);
    if !a.quiet {
        decode = decode.with_progress(super::progress::steps());
    }
    let options = IngestOptions::default()
        .with_decode(decode)
        .with_spans_per_file(a.spans_per_file)
        .with_memory(a.memory as u64);
    let done = ingest_paths(&a.inputs, &a.output, &options)?;
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        let stats = &done.assembled;
        eprintln!(
            "ingested {} spans in {} traces from {} services ({} files, {} bytes in, {} bytes of Parquet) in {:.2} s ({:.0} spans/s)",
            stats.spans,
            stats.traces,
            stats.services,
            done.files.len(),
            done.input_bytes,
            done.written,
            secs,
            stats.spans as f64 / secs.max(1e-9)
        );
        if let Some((bytes, runs)) = done.spilled {
            eprintln!(
                "the input was larger than --memory {}: {bytes} bytes went through spill files, written in {runs} runs of trace-id ranges",
                a.memory
            );
        }
        if stats.duplicates_dropped > 0 || stats.ids_renamed > 0 {
            eprintln!(
                "duplicate span ids: {} exact duplicates dropped, {} spans given fresh ids (see docs/SCHEMA.md)",
                stats.duplicates_dropped, stats.ids_renamed
            );
        }
        if done.rejected_count > 0 {
            eprintln!(
                "skipped {} bad records (--keep-going); the first ones:",
                done.rejected_count
            );
            for m in &done.rejected {
                eprintln!("  {m}");
            }
        }
    }
    Ok(0)
}
