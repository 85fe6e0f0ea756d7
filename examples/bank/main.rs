//! The seed's bank as a real service: an HTTP API over a SQLite file, traced with the
//! OpenTelemetry SDK and exported over OTLP/gRPC, so `tracecheck collect` can record its traces
//! and `tracecheck check queries/bank.model` can check them.
//!
//! ```text
//! cargo run --example bank -- --db /tmp/bank.db [--listen 127.0.0.1:8080]
//!     [--otlp-endpoint http://127.0.0.1:4317] [--service-name bank] [--bug]
//! curl -X POST localhost:8080/accounts -d '{"id": "acct-1", "balance": 300}'
//! curl -X POST localhost:8080/acct-1/withdraw -d '{"amount": 600}'    # 500: insufficient funds
//! curl localhost:8080/acct-1/balance
//! ```
//!
//! After binding it prints one line, `bank listening on http://ADDR`. SIGINT or SIGTERM stops
//! it: the server finishes the requests in flight, then the tracer provider is shut down, which
//! exports every span still buffered; then it exits 0. Spans that cannot be exported (no
//! collector at the endpoint) are counted on stderr and do not change the exit status; errors
//! before serving (the database cannot be opened, the address is taken) exit 1.

mod logic;
mod routes;
mod sqlite;
mod telemetry;

use std::error::Error;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::TracerProvider;
use opentelemetry::InstrumentationScope;
use tokio::net::TcpListener;

use logic::Bank;
use sqlite::SqliteStore;

/// The bank service of the trace-driven-testing seed (examples/bank).
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real one is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// SQLite database file (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// OTLP/gRPC endpoint the spans are exported to.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    otlp_endpoint: String,
    /// `service.name` of the resource.
    #[arg(long, default_value = "bank")]
    service_name: String,
    /// The seed's bug: no balance check, so overdrafts are committed.
    #[arg(long)]
    bug: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bank: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn Error + Send + Sync>> {
    let store = SqliteStore::open(&args.db).map_err(|e| format!("cannot open {}: {e}", args.db.display()))?;
    let (provider, lost) = telemetry::provider(&args.otlp_endpoint, &args.service_name)?;
    let scope = InstrumentationScope::builder("bank-instrumentation")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let tracer = BoxedTracer::new(Box::new(provider.tracer_with_scope(scope)));
    let bank = Arc::new(Bank::new(store, tracer).with_balance_check(!args.bug));

    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    let stop = stop_signal().map_err(|e| format!("cannot handle SIGINT/SIGTERM: {e}"))?;
    // Whoever started the bank waits for this line to learn the port.
    let mut out = std::io::stdout().lock();
    writeln!(out, "bank listening on http://{addr}")?;
    out.flush()?;
    drop(out);

    let served = axum::serve(listener, routes::router(bank))
        .with_graceful_shutdown(stop)
        .await;
    // Export the buffered spans even when serving failed. Shutdown blocks until the exporter is
    // done, so it runs off the async workers (the gRPC client needs them to make progress).
    let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await?;
    served?;
    flushed.map_err(|e| format!("shutting down the tracer provider failed: {e}"))?;
    // Lost spans are reported, not fatal: the bank itself did its job (and each failed batch
    // was already printed).
    if lost.get() > 0 {
        eprintln!("bank: {} spans were not exported to {}", lost.get(), args.otlp_endpoint);
    }
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers now, before the ready line is printed (a signal
/// sent right after it must stop the bank gracefully, not kill it); the future resolves on the
/// first of them.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Ctrl-C only, where there is no SIGTERM.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
