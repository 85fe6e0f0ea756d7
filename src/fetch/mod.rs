//! `tracecheck fetch`: archives pulled from trace backends into a dataset, through Jaeger's HTTP
//! query API or Grafana Tempo's search and trace-by-id API, for `tracecheck check` to audit.
//!
//! ```text
//! search a window ─▶ page: traces (≤ limit) ─▶ skip known ids ─▶ decode (ingest) ─▶ parts (store)
//!   ▲                   │                       (dataset + this run)
//!   └── next window ◀───┘ pager: end at the page's earliest trace, or split the window
//! ```
//!
//! - **Paging** ([`pager`]): search APIs return at most `limit` traces per request, so a window is
//!   walked backwards in time until a page is not full.
//! - **Resumable** ([`resume`]): trace ids already in the dataset are read first and never fetched
//!   again; spans are written as parts every few thousand spans, so an interrupted run keeps what it
//!   wrote and the same command continues.
//! - **Retries** ([`client`]): connection errors, timeouts, 429 and 5xx are retried with backoff;
//!   other statuses fail at once with the URL, the status and the start of the body.
//!
//! ```no_run
//! # async fn demo() -> tracecheck::Result<()> {
//! use tracecheck::fetch::{Backend, Fetch};
//! let now = tracecheck::fetch::now_ns();
//! let stats = Fetch::new(Backend::Jaeger, "http://localhost:16686", "bank", "archive")
//!     .with_window(now - 3_600_000_000_000, now)
//!     .with_page_limit(200)
//!     .run()
//!     .await?;
//! println!("{} traces fetched, {} already present", stats.traces_fetched, stats.traces_skipped);
//! # Ok(()) }
//! ```

mod archive;
mod client;
mod jaeger;
mod pager;
mod resume;
mod run;
mod tempo;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Url;

pub use client::RetryPolicy;
pub use pager::Paging;

use crate::error::Error;
use crate::observe::Observer;
use resume::Sighting;

/// Which API the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Jaeger's query service (`/api/services`, `/api/traces`), as its UI uses it.
    Jaeger,
    /// Grafana Tempo's query frontend (`/api/search`, `/api/traces/<id>`).
    Tempo,
}

impl Backend {
    /// The backend's name in messages.
    ///
    /// ```
    /// assert_eq!(tracecheck::fetch::Backend::Tempo.name(), "Tempo");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Backend::Jaeger => "Jaeger",
            Backend::Tempo => "Tempo",
        }
    }

    /// Nanoseconds per unit of the API's search times (µs for Jaeger, s for Tempo).
    fn unit_ns(self) -> i64 {
        match self {
            Backend::Jaeger => 1_000,
            Backend::Tempo => 1_000_000_000,
        }
    }
}

/// A fetch, configured with consuming `with_*` methods, then run with [`Fetch::run`].
///
/// ```
/// use tracecheck::fetch::{Backend, Fetch};
/// let f = Fetch::new(Backend::Tempo, "http://tempo:3200", "bank", "out")
///     .with_operation(Some("withdrawal".into()))
///     .with_page_limit(50)
///     .with_auth_token(Some("s3cret".into()));
/// assert_eq!(f.page_limit(), 50);
/// ```
#[derive(Debug, Clone)]
pub struct Fetch {
    backend: Backend,
    url: String,
    service: String,
    operation: Option<String>,
    start_ns: i64,
    end_ns: i64,
    page_limit: usize,
    paging: Option<Paging>,
    auth_token: Option<String>,
    ca_cert: Option<PathBuf>,
    retry: RetryPolicy,
    concurrency: usize,
    flush_spans: usize,
    keep_going: bool,
    progress: Option<Observer<FetchProgress>>,
    output: PathBuf,
}

/// How far a fetch has come: told to the observer of [`Fetch::with_progress`] before the first
/// search and after each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchProgress {
    /// How much of the window the searches have covered, of `total` (in the API's time units).
    pub covered: u64,
    /// The window's length in the API's time units.
    pub total: u64,
    /// New traces fetched so far.
    pub traces_fetched: u64,
    /// Spans fetched so far (written, or waiting to be written with the next part).
    pub spans: u64,
    /// Traces found that the dataset already held.
    pub traces_skipped: u64,
    /// Search requests (pages) so far.
    pub pages: u64,
    /// Requests retried so far.
    pub retries: u64,
}

/// What a fetch did.
#[derive(Debug, Clone, Default)]
pub struct FetchStats {
    /// New traces written to the dataset.
    pub traces_fetched: u64,
    /// Traces found by the search that the dataset already held.
    pub traces_skipped: u64,
    /// Traces the search listed but the backend no longer had (Tempo).
    pub traces_missing: u64,
    /// Spans written.
    pub spans: u64,
    /// Search requests (pages).
    pub pages: u64,
    /// Requests retried.
    pub retries: u64,
    /// Parts and bytes of Parquet written.
    pub parts: u64,
    /// Bytes of Parquet written.
    pub bytes: u64,
    /// Windows (start, end, in ns) of one search time unit that held a full page: more traces
    /// than `page_limit` share that instant, so some may be missing.
    pub truncated: Vec<(i64, i64)>,
    /// Records skipped with `keep_going`, and the first messages.
    pub rejected: usize,
    /// The first rejected records' messages.
    pub rejected_messages: Vec<String>,
    /// Non-fatal remarks (e.g. a service Tempo does not list).
    pub warnings: Vec<String>,
    /// Stopped early by the `stop` future of [`Fetch::run_until`]; what was fetched is written.
    pub interrupted: bool,
    /// Wall time.
    pub seconds: f64,
}

/// One search page's outcome.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// Traces the page held (full when it reaches the limit).
    traces: usize,
    /// Time key of each trace that has one (see `pager`).
    keys: Vec<i64>,
    /// Traces this run had not seen, new to the dataset.
    new: usize,
    /// Traces this run had not seen, already in the dataset.
    skipped: usize,
    /// New traces whose spans were written (fewer than `new` when some were missing).
    fetched: usize,
    /// Traces listed but not found.
    missing: usize,
}

impl Page {
    fn count(&mut self, s: Sighting) {
        match s {
            Sighting::New => self.new += 1,
            Sighting::Present => self.skipped += 1,
            Sighting::Again => {}
        }
    }
}

/// Nanoseconds since the Unix epoch, now.
///
/// ```
/// assert!(tracecheck::fetch::now_ns() > 1_600_000_000_000_000_000);
/// ```
pub fn now_ns() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Fetch {
    /// Fetches the traces of `service` from the backend at `url` (e.g. `http://localhost:16686`)
    /// into the dataset `output`, over the last hour unless [`Fetch::with_window`] says otherwise.
    pub fn new(
        backend: Backend,
        url: impl Into<String>,
        service: impl Into<String>,
        output: impl Into<PathBuf>,
    ) -> Fetch {
        let end_ns = now_ns();
        Fetch {
            backend,
            url: url.into(),
            service: service.into(),
            operation: None,
            start_ns: end_ns - 3_600_000_000_000,
            end_ns,
            page_limit: 100,
            paging: None,
            auth_token: None,
            ca_cert: None,
            retry: RetryPolicy::default(),
            concurrency: 4,
            flush_spans: 5_000,
            keep_going: false,
            progress: None,
            output: output.into(),
        }
    }

    /// Only traces with a span of this operation (span name).
    pub fn with_operation(mut self, operation: Option<String>) -> Self {
        self.operation = operation.filter(|o| !o.is_empty());
        self
    }

    /// The time window, in nanoseconds since the epoch, both ends included.
    pub fn with_window(mut self, start_ns: i64, end_ns: i64) -> Self {
        self.start_ns = start_ns;
        self.end_ns = end_ns;
        self
    }

    /// Traces per search request.
    pub fn with_page_limit(mut self, limit: usize) -> Self {
        self.page_limit = limit;
        self
    }

    /// How full pages are followed up; `None` (the default) picks by backend: by time for Jaeger
    /// (assuming its store answers the most recent traces first), bisection for Tempo, which
    /// answers the first traces it finds.
    pub fn with_paging(mut self, paging: Option<Paging>) -> Self {
        self.paging = paging;
        self
    }

    /// The paging used: the configured one, or the backend's default.
    ///
    /// ```
    /// use tracecheck::fetch::{Backend, Fetch, Paging};
    /// assert_eq!(Fetch::new(Backend::Tempo, "http://t", "s", "o").paging(), Paging::Bisect);
    /// assert_eq!(Fetch::new(Backend::Jaeger, "http://j", "s", "o").paging(), Paging::ByTime);
    /// ```
    pub fn paging(&self) -> Paging {
        self.paging.unwrap_or(match self.backend {
            Backend::Jaeger => Paging::ByTime,
            Backend::Tempo => Paging::Bisect,
        })
    }

    /// The configured traces per search request.
    pub fn page_limit(&self) -> usize {
        self.page_limit
    }

    /// Sends `Authorization: Bearer TOKEN` with every request.
    pub fn with_auth_token(mut self, token: Option<String>) -> Self {
        self.auth_token = token;
        self
    }

    /// Trusts the certificates of this PEM file besides the system's root certificates (https to a
    /// backend whose certificate a private CA signed).
    ///
    /// ```
    /// use tracecheck::fetch::{Backend, Fetch};
    /// let f = Fetch::new(Backend::Jaeger, "https://jaeger.internal:16686", "bank", "out")
    ///     .with_ca_cert(Some("/etc/ssl/private-ca.pem".into()));
    /// # drop(f);
    /// ```
    pub fn with_ca_cert(mut self, path: Option<PathBuf>) -> Self {
        self.ca_cert = path;
        self
    }

    /// Retries, backoff and the per-request timeout.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Trace requests in flight at once (Tempo fetches each trace by id).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Pending spans written as one part once there are this many.
    pub fn with_flush_spans(mut self, n: usize) -> Self {
        self.flush_spans = n.max(1);
        self
    }

    /// Skip (and count) spans that cannot be decoded instead of failing.
    pub fn with_keep_going(mut self, keep_going: bool) -> Self {
        self.keep_going = keep_going;
        self
    }

    /// Tells `observer` how far the fetch has come, before the first search and after each (no
    /// progress is reported unless asked for).
    ///
    /// ```
    /// use tracecheck::fetch::{Backend, Fetch, FetchProgress};
    /// use tracecheck::observe::Observer;
    /// let f = Fetch::new(Backend::Jaeger, "http://localhost:16686", "bank", "out")
    ///     .with_progress(Observer::new(|p: &FetchProgress| eprintln!("{} of {}", p.covered, p.total)));
    /// # drop(f);
    /// ```
    pub fn with_progress(mut self, observer: Observer<FetchProgress>) -> Self {
        self.progress = Some(observer);
        self
    }
}

/// `base` + `/a/b/c`, each segment percent-encoded.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// "Jaeger at URL has no service "x"; the closest: ..." (or the first names it has).
pub(crate) fn unknown_name(backend: &str, base: &Url, what: &str, name: &str, known: &[String]) -> Error {
    let close: Vec<String> = crate::diag::closest(name, known.iter().map(String::as_str))
        .into_iter()
        .map(|c| c.trim_matches('`').to_string())
        .collect();
    let hint = if !close.is_empty() {
        format!("did you mean {}?", quoted(&close))
    } else if known.is_empty() {
        format!("it knows no {what} at all")
    } else {
        let mut sorted: Vec<String> = known.to_vec();
        sorted.sort();
        let more = sorted.len().saturating_sub(10);
        sorted.truncate(10);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!("it has {}{tail}", quoted(&sorted))
    };
    Error::Usage(format!(
        "{backend} at {base} has no {what} {name:?} ({} known); {hint}",
        known.len()
    ))
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_base_path() {
        let base = Url::parse("http://h:1/jaeger/").unwrap();
        assert_eq!(
            endpoint(&base, &["api", "services"]).as_str(),
            "http://h:1/jaeger/api/services"
        );
        let root = Url::parse("http://h:1/").unwrap();
        assert_eq!(
            endpoint(&root, &["api", "traces", "a/b"]).as_str(),
            "http://h:1/api/traces/a%2Fb"
        );
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let base = Url::parse("http://h:1/").unwrap();
        let known = vec!["frontend".to_string(), "payments".to_string()];
        let e = unknown_name("Jaeger", &base, "service", "paymnets", &known).to_string();
        assert!(
            e.contains("has no service \"paymnets\" (2 known); did you mean \"payments\"?"),
            "{e}"
        );
        let e = unknown_name("Jaeger", &base, "service", "zzz", &known).to_string();
        assert!(e.contains("it has \"frontend\", \"payments\""), "{e}");
    }
}
