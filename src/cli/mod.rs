//! Command definitions (clap) and dispatch.

mod atomic;
mod check_cmd;
mod collect_cmd;
mod compact_cmd;
mod duration;
mod engine_arg;
mod explain_cmd;
mod fetch_cmd;
mod flags;
mod fmt_cmd;
mod gen_cmd;
mod ingest_cmd;
mod output;
mod progress;
mod query_cmd;
mod receiver;
mod show_cmd;
mod size;
mod sql_cmd;
mod suggest_cmd;
mod upgrade_cmd;
mod watch_cmd;

use clap::{Parser, Subcommand};
use tracecheck::{Error, Result};

/// Trace driven testing: check rules against distributed-tracing data with SQL.
#[derive(Parser, Debug)]
#[command(name = "tracecheck", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode trace files (OTLP protobuf/JSON, Tempo, Jaeger, Zipkin; JSON lines; gzip or not) into a dataset.
    Ingest(ingest_cmd::Args),
    /// Run SQL over a dataset or raw trace files; with no query, an interactive prompt.
    Sql(sql_cmd::Args),
    /// Run a TraceQL query (Grafana Tempo's query language): the matching spans, or metrics series.
    Query(query_cmd::Args),
    /// Generate a synthetic workload with known, injected faults.
    Gen(gen_cmd::Args),
    /// Check models against a dataset or trace files: exit 0 if all hold, 1 on violations, 2 on error.
    Check(check_cmd::Args),
    /// Receive OTLP (gRPC and HTTP) and write whole traces to a dataset until SIGINT/SIGTERM.
    Collect(collect_cmd::Args),
    /// Receive OTLP like `collect` and check every complete trace live: violations as JSON lines,
    /// a webhook, Prometheus /metrics; exit 1 if any violation was reported.
    Watch(watch_cmd::Args),
    /// Pull traces of a service from Jaeger or Tempo into a dataset (resumable; retries; paged by time).
    Fetch(fetch_cmd::Args),
    /// Merge a dataset's small parts (e.g. the collector's) into larger ones, atomically.
    Compact(compact_cmd::Args),
    /// Rewrite a dataset of an older schema version in the current layout, atomically.
    Upgrade(upgrade_cmd::Args),
    /// Print the SQL that models compile to.
    Explain(explain_cmd::Args),
    /// Print model files in canonical form (or rewrite them with --write, or --check them).
    Fmt(fmt_cmd::Args),
    /// Propose models mined from traces known to be good (and, with --data-bad, those an incident
    /// breaks first), as a model file `check` runs as it is.
    Suggest(suggest_cmd::Args),
    /// Draw one trace as a waterfall in the terminal: exit 0, or 2 if the trace is not in the data.
    Show(show_cmd::Args),
}

/// Runs a command; the `u8` is the process exit code. Errors about a setting's value name the flag
/// that gave it.
pub async fn run(cli: Cli) -> Result<u8> {
    tracecheck::engine::check_env()?;
    dispatch(cli).await.map_err(flags::name_flags)
}

async fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Ingest(a) => ingest_cmd::run(a).await,
        Command::Sql(a) => sql_cmd::run(a).await,
        Command::Query(a) => query_cmd::run(a).await,
        Command::Gen(a) => gen_cmd::run(a).await,
        Command::Fmt(a) => fmt_cmd::run(a).await,
        Command::Check(a) => check_cmd::run(a).await,
        Command::Explain(a) => explain_cmd::run(a).await,
        Command::Collect(a) => collect_cmd::run(a).await,
        Command::Compact(a) => compact_cmd::run(a).await,
        Command::Upgrade(a) => upgrade_cmd::run(a).await,
        Command::Watch(a) => watch_cmd::run(a).await,
        Command::Fetch(a) => fetch_cmd::run(a).await,
        Command::Suggest(a) => suggest_cmd::run(a).await,
        Command::Show(a) => show_cmd::run(a).await,
    }
}

/// Runs a job that rewrites a dataset (`compact`, `upgrade`) on a blocking thread, after checking
/// that `dataset` is one.
async fn on_dataset<T: Send + 'static>(
    dataset: &std::path::Path,
    job: impl FnOnce(&std::path::Path) -> Result<T> + Send + 'static,
) -> Result<T> {
    if !tracecheck::store::is_dataset(dataset) {
        return Err(Error::Usage(format!(
            "{} is not a tracecheck dataset",
            dataset.display()
        )));
    }
    let dataset = dataset.to_path_buf();
    tokio::task::spawn_blocking(move || job(&dataset))
        .await
        .map_err(|e| Error::Bug(format!("the dataset thread failed: {e}")))?
}

/// A closed stdout (`tracecheck sql ... | head`) is not an error.
pub fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}
