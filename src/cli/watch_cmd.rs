//! `tracecheck watch MODELS...`: receive OTLP like `collect` and check every complete trace live.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracecheck::check::compile_files;
use tracecheck::collect::DatasetSink;
use tracecheck::observe::Observer;
use tracecheck::watch::{serve_metrics, CheckSink, Emitter, Metrics, WebhookNotice};
use tracecheck::{Error, Result};

use super::duration::parse_duration;
use super::receiver::{shutdown_signal, ReceiverArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model files to check every complete trace against.
    #[arg(required = true)]
    models: Vec<PathBuf>,
    /// Also write the received traces to this dataset.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    receiver: ReceiverArgs,
    /// Address of the Prometheus `/metrics` endpoint.
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics: SocketAddr,
    /// No `/metrics` endpoint.
    #[arg(long)]
    no_metrics: bool,
    /// How long a checked trace is kept so that late spans re-check it whole.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    late_window: Duration,
    /// Rules of `check` blocks: a window is evaluated once the data's clock (the latest span end
    /// seen) is this far past its end.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    check_lateness: Duration,
    /// Rules of `check` blocks slide their windows by this much of data time (at most their
    /// `per`): a `per 1m` rule is evaluated over the last minute every 10 s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    check_every: Duration,
    /// The window of `check` rules written without `per` (a stream has no "all data").
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    check_window: Duration,
    /// At most this many spans are held for open check windows (memory stays bounded); beyond it
    /// the oldest windows are evaluated early, marked `"early": true`.
    #[arg(long, default_value_t = 1_000_000)]
    max_window_spans: usize,
    /// At most this many spans of checked traces are kept for re-checking on late spans (oldest
    /// forgotten first).
    #[arg(long, default_value_t = 1_000_000)]
    max_recent_spans: usize,
    /// Write the violation events (JSON lines) to this file instead of stdout (appended).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// POST each batch of events (a JSON array) to this URL; retried with backoff, never blocking.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
}

pub async fn run(a: Args) -> Result<u8> {
    // First: a SIGTERM from here on shuts down cleanly.
    let shutdown = shutdown_signal();
    for (flag, d) in [("--check-every", a.check_every), ("--check-window", a.check_window)] {
        if d.is_zero() {
            return Err(Error::Usage(format!("{flag} must be longer than 0")));
        }
    }
    // Every model is compiled before anything listens: a typo fails at once.
    let files = compile_files(&a.models)?;
    let dataset = match &a.output {
        Some(p) => Some(DatasetSink::open(
            p,
            tracecheck::collect::DEFAULT_ROLL_SPANS,
            Duration::from_secs(2),
        )?),
        None => None,
    };
    let out: Box<dyn Write + Send> = match &a.events {
        Some(p) => Box::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| Error::io(p, e))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let collector = a.receiver.collector(a.output.clone().unwrap_or_default());
    let running = collector.bind().await?;
    let metrics = Arc::new(Metrics::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut metrics_task = None;
    if !a.no_metrics {
        let listener = tokio::net::TcpListener::bind(a.metrics)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen for /metrics on {}: {e}", a.metrics)))?;
        eprintln!(
            "metrics listening on {}",
            listener.local_addr().map_err(|e| Error::io("<metrics>", e))?
        );
        let mut rx = stop_rx.clone();
        let stop = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        metrics_task = Some(tokio::spawn(serve_metrics(
            listener,
            metrics.clone(),
            running.intake(),
            stop,
        )));
    }
    // Addresses on stderr: stdout carries only the events.
    if let Some(addr) = running.grpc_addr() {
        eprintln!("otlp/grpc listening on {addr}");
    }
    if let Some(addr) = running.http_addr() {
        eprintln!("otlp/http listening on {addr}");
    }
    let emitter = Emitter::new(out, a.webhook.clone(), metrics.clone())
        .with_notices(Observer::new(|n: &WebhookNotice| eprintln!("tracecheck watch: {n}")));
    let sink = CheckSink::new(files, dataset, emitter, metrics.clone())
        .with_late_window(a.late_window)
        .with_check_lateness(a.check_lateness)
        .with_check_every(a.check_every)
        .with_check_window(a.check_window)
        .with_max_window_spans(a.max_window_spans)
        .with_max_recent_spans(a.max_recent_spans);
    let (intake, sink) = running.run_with(shutdown, sink).await?;
    let _ = stop_tx.send(true);
    if let Some(t) = metrics_task {
        let _ = t.await;
    }
    let violations: u64 = metrics.violations().values().sum::<u64>() + metrics.check_failures();
    eprintln!(
        "watched {} spans in {} requests; {} violations and {} failing check windows reported{}",
        intake.spans_accepted,
        intake.requests,
        violations - metrics.check_failures(),
        metrics.check_failures(),
        match sink.dataset() {
            Some(d) => format!(
                "; wrote {} spans to {}",
                d.written().spans,
                a.output.as_ref().unwrap().display()
            ),
            None => String::new(),
        }
    );
    Ok(if violations > 0 { 1 } else { 0 })
}
