//! `tracecheck ingest FILES... -o DATASET`

use std::path::PathBuf;
use std::time::Instant;

use tracecheck::pipeline::{decode_paths, DecodeOptions};
use tracecheck::store::{assemble, Dataset};
use tracecheck::Result;

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
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    let started = Instant::now();
    let options = DecodeOptions::default()
        .with_keep_going(a.keep_going)
        .with_progress(!a.quiet);
    let decoded = decode_paths(&a.inputs, &options)?;
    let rejected = decoded.tables.rejected_count();
    let messages: Vec<String> = decoded.tables.rejected().iter().map(|e| e.to_string()).collect();
    let (parts, stats) = assemble(decoded.tables, a.spans_per_file.max(1))?;
    let mut dataset = Dataset::create_or_open(&a.output)?;
    let mut written = 0;
    for p in &parts {
        written += dataset.write_part(p)?;
    }
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "ingested {} spans in {} traces from {} services ({} files, {} bytes in, {} bytes of Parquet) in {:.2} s ({:.0} spans/s)",
            stats.spans,
            stats.traces,
            stats.services,
            decoded.files.len(),
            decoded.bytes,
            written,
            secs,
            stats.spans as f64 / secs.max(1e-9)
        );
        if stats.duplicates_dropped > 0 || stats.ids_renamed > 0 {
            eprintln!(
                "duplicate span ids: {} exact duplicates dropped, {} spans given fresh ids (see docs/SCHEMA.md)",
                stats.duplicates_dropped, stats.ids_renamed
            );
        }
        if rejected > 0 {
            eprintln!("skipped {rejected} bad records (--keep-going); the first ones:");
            for m in messages {
                eprintln!("  {m}");
            }
        }
    }
    Ok(0)
}
