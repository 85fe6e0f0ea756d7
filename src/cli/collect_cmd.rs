//! `tracecheck collect -o DATASET`: receive OTLP over gRPC and HTTP and write whole traces.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tracecheck::collect::Collector;
use tracecheck::Result;

use super::duration::parse_duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dataset folder to create or append to.
    #[arg(short, long)]
    output: PathBuf,
    /// Address of the OTLP/gRPC receiver (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:4317")]
    grpc: SocketAddr,
    /// Address of the OTLP/HTTP receiver (`POST /v1/traces`).
    #[arg(long, default_value = "127.0.0.1:4318")]
    http: SocketAddr,
    /// Do not receive OTLP/gRPC.
    #[arg(long)]
    no_grpc: bool,
    /// Do not receive OTLP/HTTP.
    #[arg(long)]
    no_http: bool,
    /// A trace is complete (and written) when no span arrived for this long.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    trace_idle: Duration,
    /// A trace still receiving spans this long after its first is written anyway.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    trace_max_age: Duration,
    /// Spans held in memory above which exports are refused with a retryable answer.
    #[arg(long, default_value_t = 1_000_000)]
    max_buffered_spans: usize,
    /// Largest export request accepted, in bytes (after gzip inflation).
    #[arg(long, default_value_t = 16 << 20)]
    max_message_bytes: usize,
    /// Spans per Parquet file: complete traces are written once this many wait.
    #[arg(long, default_value_t = 250_000)]
    roll_spans: usize,
    /// The longest a complete trace waits before it is written.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    roll_interval: Duration,
    /// Require `Authorization: Bearer TOKEN` on every export.
    #[arg(long, env = "TRACECHECK_AUTH_TOKEN", hide_env_values = true)]
    auth_token: Option<String>,
    /// No summary at exit.
    #[arg(short, long)]
    quiet: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    let mut collector = Collector::new(&a.output)
        .with_grpc(a.grpc)
        .with_http(a.http)
        .with_trace_idle(a.trace_idle)
        .with_trace_max_age(a.trace_max_age)
        .with_max_buffered_spans(a.max_buffered_spans)
        .with_max_message_bytes(a.max_message_bytes)
        .with_roll_spans(a.roll_spans)
        .with_roll_interval(a.roll_interval)
        .with_auth_token(a.auth_token);
    if a.no_grpc {
        collector = collector.without_grpc();
    }
    if a.no_http {
        collector = collector.without_http();
    }
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
    let stats = running.run_until(shutdown_signal()).await?;
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

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
