//! `tracecheck collect -o DATASET`: receive OTLP over gRPC and HTTP and write whole traces.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use tracecheck::Result;

use super::duration::parse_duration;
use super::receiver::{shutdown_signal, ReceiverArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset folder to create or append to.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    receiver: ReceiverArgs,
    /// Spans per Parquet file: complete traces are written once this many wait.
    #[arg(long, default_value_t = tracecheck::collect::DEFAULT_ROLL_SPANS)]
    roll_spans: usize,
    /// The longest a complete trace waits before it is written.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    roll_interval: Duration,
    /// No summary at exit.
    #[arg(short, long)]
    quiet: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    // First: a SIGTERM from here on shuts down cleanly.
    let shutdown = shutdown_signal();
    let collector = a
        .receiver
        .collector(a.output.clone())
        .with_roll_spans(a.roll_spans)
        .with_roll_interval(a.roll_interval);
    // A bad output folder fails before anything listens.
    tracecheck::store::Dataset::create_or_open(&a.output)?;
    let running = collector.bind().await?;
    {
        // One line per receiver, first on stdout: scripts and tests read the bound ports here.
        let mut out = std::io::stdout().lock();
        if let Some(addr) = running.grpc_addr() {
            let _ = writeln!(out, "otlp/grpc listening on {addr}");
        }
        if let Some(addr) = running.http_addr() {
            let _ = writeln!(out, "otlp/http listening on {addr}");
        }
        let _ = out.flush();
    }
    let stats = running.run_until(shutdown).await?;
    if !a.quiet {
        eprintln!(
            "collected {} spans in {} requests ({} invalid spans rejected, {} requests refused while full); \
             wrote {} spans in {} traces to {} files in {}",
            stats.spans_accepted,
            stats.requests,
            stats.spans_invalid,
            stats.requests_refused,
            stats.spans_written,
            stats.traces_written,
            stats.files_written,
            a.output.display()
        );
    }
    Ok(0)
}
