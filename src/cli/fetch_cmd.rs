//! `tracecheck fetch (--jaeger URL | --tempo URL) --service S -o DATASET`: pull an archive of traces
//! from a trace backend into a dataset, resumably.

use std::path::PathBuf;
use std::time::Duration;

use datafusion::arrow::compute::kernels::cast_utils::string_to_timestamp_nanos;
use datafusion::arrow::temporal_conversions::timestamp_ns_to_datetime;
use tracecheck::fetch::{now_ns, Backend, Fetch, FetchStats, Paging, RetryPolicy};
use tracecheck::Result;

use super::duration::parse_duration;

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT), after writing what it fetched.
const INTERRUPTED: u8 = 130;

/// `--paging`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagingArg {
    /// By time for Jaeger, bisect for Tempo.
    Auto,
    /// The next search ends at the earliest trace of a full page (backends answering newest first).
    Time,
    /// A full window is halved and both halves searched (backends answering in any order).
    Bisect,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("backend").required(true).args(["jaeger", "tempo"])))]
pub struct Args {
    /// Jaeger query service URL (the UI's address, e.g. http://localhost:16686).
    #[arg(long, value_name = "URL")]
    jaeger: Option<String>,
    /// Grafana Tempo query frontend URL (e.g. http://localhost:3200).
    #[arg(long, value_name = "URL")]
    tempo: Option<String>,
    /// The service whose traces to fetch.
    #[arg(long)]
    service: String,
    /// Only traces with a span of this operation (span name) of the service.
    #[arg(long)]
    operation: Option<String>,
    /// The window's length, ending at --end (default: now) [default: 1h].
    #[arg(long, value_parser = parse_duration, conflicts_with = "start")]
    since: Option<Duration>,
    /// The window's start: RFC 3339 (2024-05-01T10:00:00Z; no zone means UTC) or Unix seconds.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    start: Option<i64>,
    /// The window's end (same forms as --start) [default: now].
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    end: Option<i64>,
    /// Traces per search request (a full page is followed up, see --paging).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    page_limit: u32,
    /// How a full page is followed up (see docs/FETCH.md).
    #[arg(long, value_enum, default_value_t = PagingArg::Auto)]
    paging: PagingArg,
    /// Send `Authorization: Bearer TOKEN` with every request.
    #[arg(long, env = "TRACECHECK_FETCH_TOKEN", hide_env_values = true)]
    auth_token: Option<String>,
    /// A PEM file of CA certificates trusted besides the system's (https to a backend whose
    /// certificate a private CA signed).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// The dataset folder to create or append to (traces it holds are not fetched again).
    #[arg(short, long)]
    output: PathBuf,
    /// Retries of a request after a connection error, timeout, 429 or 5xx (backoff 100 ms, doubling to 800 ms).
    #[arg(long, default_value_t = 4)]
    retries: u32,
    /// Time limit of each request.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Trace requests in flight at once (Tempo fetches traces one by one).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Fetched spans are written as a part (visible at once) every this many.
    #[arg(long, default_value_t = 5_000)]
    flush_spans: usize,
    /// Skip spans that cannot be decoded (and count them) instead of failing.
    #[arg(long)]
    keep_going: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

pub async fn run(a: Args) -> Result<u8> {
    let (backend, url) = match (&a.jaeger, &a.tempo) {
        (Some(url), _) => (Backend::Jaeger, url.clone()),
        (None, Some(url)) => (Backend::Tempo, url.clone()),
        (None, None) => unreachable!("clap requires --jaeger or --tempo"),
    };
    let end = a.end.unwrap_or_else(now_ns);
    let start = match (a.start, a.since) {
        (Some(start), _) => start,
        (None, since) => {
            let since = since.unwrap_or(Duration::from_secs(3600));
            end.saturating_sub(i64::try_from(since.as_nanos()).unwrap_or(i64::MAX))
        }
    };
    let retry = RetryPolicy {
        retries: a.retries,
        timeout: a.timeout,
        ..RetryPolicy::default()
    };
    let fetch = Fetch::new(backend, &url, &a.service, &a.output)
        .with_operation(a.operation.clone())
        .with_window(start, end)
        .with_page_limit(a.page_limit as usize)
        .with_paging(match a.paging {
            PagingArg::Auto => None,
            PagingArg::Time => Some(Paging::ByTime),
            PagingArg::Bisect => Some(Paging::Bisect),
        })
        .with_auth_token(a.auth_token.clone())
        .with_ca_cert(a.ca_cert.clone())
        .with_retry_policy(retry)
        .with_concurrency(a.concurrency)
        .with_flush_spans(a.flush_spans)
        .with_keep_going(a.keep_going);
    let (fetch, bar) = match a.quiet {
        true => (fetch, None),
        false => {
            let (observer, bar) = super::progress::fetch();
            (fetch.with_progress(observer), Some(bar))
        }
    };
    let stats = fetch
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let stats = stats?;
    if !a.quiet {
        report(&a, backend, &url, (start, end), &stats);
    }
    Ok(if stats.interrupted { INTERRUPTED } else { 0 })
}

/// The summary line, then warnings.
fn report(a: &Args, backend: Backend, url: &str, (start, end): (i64, i64), s: &FetchStats) {
    let out = a.output.display();
    let found = s.traces_fetched + s.traces_skipped + s.traces_missing;
    let requests = format!(
        "{} {}, {} {}",
        s.pages,
        plural(s.pages, "page", "pages"),
        s.retries,
        plural(s.retries, "retry", "retries")
    );
    if s.interrupted {
        eprintln!(
            "interrupted: fetched {} {} ({} spans) into {out} before stopping; run the same command \
             again to continue ({requests})",
            s.traces_fetched,
            plural(s.traces_fetched, "trace", "traces"),
            s.spans
        );
    } else if found == 0 {
        eprintln!(
            "no traces of service {:?}{} in {} between {} and {} ({requests})",
            a.service,
            a.operation
                .as_ref()
                .map(|o| format!(" with operation {o:?}"))
                .unwrap_or_default(),
            backend.name(),
            time(start),
            time(end)
        );
    } else if s.traces_fetched == 0 {
        eprintln!(
            "nothing new: the {} {} found {} already in {out}{} ({requests})",
            s.traces_skipped,
            plural(s.traces_skipped, "trace", "traces"),
            plural(s.traces_skipped, "is", "are"),
            missing(s)
        );
    } else {
        eprintln!(
            "fetched {} {} ({} spans) from {} {url}: {} skipped (already in the dataset){}; {requests}; \
             wrote {} {} ({} bytes of Parquet) to {out} in {:.2} s",
            s.traces_fetched,
            plural(s.traces_fetched, "trace", "traces"),
            s.spans,
            backend.name(),
            s.traces_skipped,
            missing(s),
            s.parts,
            plural(s.parts, "part", "parts"),
            s.bytes,
            s.seconds
        );
    }
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    if let Some((first, _)) = s.truncated.first() {
        eprintln!(
            "warning: {} {} (the first at {}) held more traces than --page-limit {} that the search \
             cannot tell apart by time: some there may be missing; raise --page-limit",
            s.truncated.len(),
            plural(s.truncated.len() as u64, "instant", "instants"),
            time(*first),
            a.page_limit
        );
    }
    if s.rejected > 0 {
        eprintln!("skipped {} bad records (--keep-going); the first ones:", s.rejected);
        for m in &s.rejected_messages {
            eprintln!("  {m}");
        }
    }
}

fn missing(s: &FetchStats) -> String {
    match s.traces_missing {
        0 => String::new(),
        n => format!(", {n} listed but no longer found"),
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A time for messages: RFC 3339 in UTC.
fn time(ns: i64) -> String {
    match timestamp_ns_to_datetime(ns) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        None => format!("{ns} ns"),
    }
}

/// Parses RFC 3339 / ISO 8601 date-times (UTC when no zone is given) or Unix seconds.
fn parse_time(text: &str) -> std::result::Result<i64, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = t.parse().map_err(|e| format!("{text:?}: {e}"))?;
        return secs
            .checked_mul(1_000_000_000)
            .ok_or_else(|| format!("{text:?} is too far in the future"));
    }
    string_to_timestamp_nanos(t)
        .map_err(|_| format!("{text:?} is not a time; expected e.g. 2024-05-01T10:00:00Z or Unix seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse_time("2023-11-14T23:13:20+01:00"), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse_time("2023-11-14 22:13:20"), Ok(1_700_000_000_000_000_000));
        assert!(parse_time("yesterday").unwrap_err().contains("not a time"));
        assert_eq!(time(1_700_000_000_000_000_000), "2023-11-14T22:13:20Z");
    }
}
