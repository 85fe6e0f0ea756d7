//! `tracecheck collect`: an OTLP receiver (gRPC and HTTP) that writes whole traces to a dataset.
//!
//! ```text
//! request ─▶ intake (decode, validate) ─▶ TraceBuffer (per trace, bounded) ─▶ writer (Parquet parts)
//!   gRPC  TraceService/Export               │ complete: idle for `trace_idle`, or older than
//!   HTTP  POST /v1/traces                   │ `trace_max_age`, or shutdown
//! ```
//!
//! A request is acknowledged only once its body is in the dataset's write-ahead log (fsynced, see
//! [`wal`]) and its spans are in the buffer, so an acknowledged span survives a kill -9 or a power
//! cut: the next start replays the log. A clean shutdown writes the buffer out and leaves the log
//! empty. A full
//! buffer refuses requests with OTLP's retryable answers (gRPC `RESOURCE_EXHAUSTED` with `RetryInfo`,
//! HTTP 503 with `Retry-After`) instead of growing.
//!
//! ```no_run
//! # async fn demo() -> tracecheck::Result<()> {
//! use std::time::Duration;
//! use tracecheck::collect::Collector;
//! let running = Collector::new("traces-ds")
//!     .with_grpc("127.0.0.1:0".parse().unwrap())
//!     .with_http("127.0.0.1:0".parse().unwrap())
//!     .with_trace_idle(Duration::from_secs(2))
//!     .bind()
//!     .await?;
//! println!("gRPC on {:?}", running.grpc_addr());
//! let stats = running.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await?;
//! println!("{} spans written", stats.spans_written);
//! # Ok(()) }
//! ```

mod buffer;
mod grpc;
mod http;
mod intake;
mod notice;
mod running;
mod sink;
mod stats;
pub mod wal;
mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

pub use buffer::{Full, TraceBuffer};
pub use intake::{gunzip, Accepted, BodyError};
pub use notice::Notice;
pub use running::Running;
pub use sink::{DatasetSink, TraceSink};
use stats::Counters;
pub use stats::{CollectStats, Intake, IntakeStats};
pub use writer::Written;

use crate::error::{Error, Result};
use crate::observe::Observer;
use wal::{Kind, Wal};

/// The default bound on the memory of held spans (their packed size, `packed.rs`).
pub const DEFAULT_MAX_BUFFER_BYTES: usize = 256 << 20;

/// Default spans per written part. Writing a part holds it in memory two to three times over
/// (assembled, clustered by name and key, encoded): about 4 KB per span of ten attributes. At
/// 250,000 spans the collector peaked at 1.4 GB, at 50,000 at 0.52-0.62 GiB with the same
/// throughput (BENCHMARKS.md); `compact` joins small parts later.
pub const DEFAULT_ROLL_SPANS: usize = 50_000;

/// A collector, configured with consuming `with_*` methods, then bound with [`Collector::bind`].
///
/// ```
/// use std::time::Duration;
/// let c = tracecheck::collect::Collector::new("out")
///     .with_trace_idle(Duration::from_millis(500))
///     .with_max_buffered_spans(10_000)
///     .with_auth_token(Some("s3cret".into()));
/// assert_eq!(c.trace_idle(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone)]
pub struct Collector {
    output: PathBuf,
    grpc: Option<SocketAddr>,
    http: Option<SocketAddr>,
    trace_idle: Duration,
    trace_max_age: Duration,
    max_buffered_spans: usize,
    max_buffer_bytes: usize,
    max_message_bytes: usize,
    roll_spans: usize,
    roll_interval: Duration,
    auth_token: Option<String>,
    notices: Option<Observer<Notice>>,
}

impl Collector {
    /// A collector writing to the dataset folder `output` (created if missing), listening on the
    /// OTLP default ports of 127.0.0.1 (gRPC 4317, HTTP 4318).
    pub fn new(output: impl Into<PathBuf>) -> Collector {
        Collector {
            output: output.into(),
            grpc: Some(SocketAddr::from(([127, 0, 0, 1], 4317))),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 4318))),
            trace_idle: Duration::from_secs(3),
            trace_max_age: Duration::from_secs(300),
            max_buffered_spans: 1_000_000,
            max_buffer_bytes: DEFAULT_MAX_BUFFER_BYTES,
            max_message_bytes: 16 << 20,
            roll_spans: DEFAULT_ROLL_SPANS,
            roll_interval: Duration::from_secs(2),
            auth_token: None,
            notices: None,
        }
    }

    /// Address of the OTLP/gRPC receiver (port 0: any free port).
    pub fn with_grpc(mut self, addr: SocketAddr) -> Self {
        self.grpc = Some(addr);
        self
    }

    /// No OTLP/gRPC receiver.
    pub fn without_grpc(mut self) -> Self {
        self.grpc = None;
        self
    }

    /// Address of the OTLP/HTTP receiver (port 0: any free port).
    pub fn with_http(mut self, addr: SocketAddr) -> Self {
        self.http = Some(addr);
        self
    }

    /// No OTLP/HTTP receiver.
    pub fn without_http(mut self) -> Self {
        self.http = None;
        self
    }

    /// A trace is complete when no span arrived for this long.
    pub fn with_trace_idle(mut self, idle: Duration) -> Self {
        self.trace_idle = idle;
        self
    }

    /// The idle time after which a trace counts as complete.
    pub fn trace_idle(&self) -> Duration {
        self.trace_idle
    }

    /// A trace still receiving spans this long after its first is written anyway (later spans go
    /// to a later file; `tracecheck compact` joins them).
    pub fn with_trace_max_age(mut self, age: Duration) -> Self {
        self.trace_max_age = age;
        self
    }

    /// Spans held in memory (received, not yet on disk) above which requests are refused.
    pub fn with_max_buffered_spans(mut self, spans: usize) -> Self {
        self.max_buffered_spans = spans;
        self
    }

    /// Memory of held spans (their packed size) above which requests are refused.
    pub fn with_max_buffer_bytes(mut self, bytes: usize) -> Self {
        self.max_buffer_bytes = bytes;
        self
    }

    /// Largest request accepted, in bytes (after gzip inflation for HTTP).
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Complete traces are written once this many spans wait, or [`Self::with_roll_interval`]
    /// after the first of them was completed; a file holds at most this many spans (whole traces).
    pub fn with_roll_spans(mut self, spans: usize) -> Self {
        self.roll_spans = spans.max(1);
        self
    }

    /// The longest a complete trace waits before it is written.
    pub fn with_roll_interval(mut self, interval: Duration) -> Self {
        self.roll_interval = interval;
        self
    }

    /// Exports must carry `Authorization: Bearer TOKEN` (gRPC metadata or HTTP header).
    pub fn with_auth_token(mut self, token: Option<String>) -> Self {
        self.auth_token = token.filter(|t| !t.is_empty());
        self
    }

    /// Tells `observer` what happens while serving besides the results: spans replayed from the
    /// log, a sink or the log failing (and retried), receivers that fail or do not stop (see
    /// [`Notice`]). Without an observer these go unreported.
    ///
    /// ```
    /// use tracecheck::collect::{Collector, Notice};
    /// use tracecheck::observe::Observer;
    /// let c = Collector::new("out").with_notices(Observer::new(|n: &Notice| eprintln!("collector: {n}")));
    /// # drop(c);
    /// ```
    pub fn with_notices(mut self, observer: Observer<Notice>) -> Self {
        self.notices = Some(observer);
        self
    }

    /// Opens (or creates) the dataset and binds the listeners; nothing is received until
    /// [`Running::run_until`].
    pub async fn bind(self) -> Result<Running> {
        let grpc = match self.grpc {
            Some(a) => Some(listen(a, "OTLP/gRPC").await?),
            None => None,
        };
        let http = match self.http {
            Some(a) => Some(listen(a, "OTLP/HTTP").await?),
            None => None,
        };
        if grpc.is_none() && http.is_none() {
            return Err(Error::Usage("the collector needs at least one of gRPC and HTTP".into()));
        }
        let shared = Arc::new(Shared {
            buffer: Mutex::new(TraceBuffer::new(self.max_buffered_spans).with_max_bytes(self.max_buffer_bytes)),
            auth: self.auth_token.clone().map(|t| format!("Bearer {t}")),
            max_message_bytes: self.max_message_bytes,
            accepting: AtomicBool::new(true),
            stats: Counters::default(),
            log: OnceLock::new(),
        });
        Ok(Running {
            config: self,
            grpc,
            http,
            shared,
        })
    }
}

async fn listen(addr: SocketAddr, what: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen for {what} on {addr}: {e}")))
}

/// State the receivers share.
pub(crate) struct Shared {
    buffer: Mutex<TraceBuffer>,
    /// The whole expected `Authorization` value.
    auth: Option<String>,
    max_message_bytes: usize,
    /// False once the buffer was drained for shutdown: later requests get a retryable
    /// "unavailable". Read and written only while holding `buffer`.
    accepting: AtomicBool,
    stats: Counters,
    /// The write-ahead log, when the sink stores spans in a dataset.
    log: OnceLock<Wal>,
}

/// Why a request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The buffer is full: retry later.
    Full,
    /// Shutting down: retry elsewhere or later.
    ShuttingDown,
    /// The log could not be written (disk full, ...): retry later.
    LogFailed,
}

impl Shared {
    /// Whether the `Authorization` value is the expected one (always, when no token is set).
    fn authorized(&self, header: Option<&[u8]>) -> bool {
        match &self.auth {
            None => true,
            Some(expected) => header.is_some_and(|h| constant_time_eq(h, expected.as_bytes())),
        }
    }

    /// Whether a request logs its body: only when spans are stored and it has spans to keep.
    fn logs(&self, acc: &Accepted) -> bool {
        self.log.get().is_some() && !acc.spans.is_empty()
    }

    /// Takes a request's valid spans: refuses while full or stopping; otherwise logs `body` (the
    /// request as decoded, encoded as `kind`) and waits for the fsync, then buffers the spans.
    /// Once logged, the spans are taken whatever happens meanwhile: they are acknowledged, and
    /// refusing them now would make the client send again what the log already holds.
    async fn admit(
        &self,
        acc: &mut Accepted,
        kind: Kind,
        body: impl FnOnce() -> Vec<u8>,
    ) -> std::result::Result<(), Refusal> {
        let n = acc.spans.len() as u64;
        {
            let buffer = self.buffer.lock().expect("buffer lock");
            // Read under the lock that shutdown takes to drain: see `run_until`.
            if !self.accepting.load(Ordering::SeqCst) {
                return Err(Refusal::ShuttingDown);
            }
            if !buffer.has_room() {
                self.stats.requests_refused.fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::Full);
            }
        }
        let segment = match self.log.get() {
            Some(log) if self.logs(acc) => match log.append(kind, body(), n).await {
                Ok(seg) => Some(seg),
                Err(e) => {
                    self.stats.log_failures.fetch_add(1, Ordering::Relaxed);
                    *self.stats.last_log_error.lock().expect("log error") = Some(e.to_string());
                    return Err(Refusal::LogFailed);
                }
            },
            _ => None,
        };
        let spans = std::mem::take(&mut acc.spans);
        self.buffer
            .lock()
            .expect("buffer lock")
            .insert(spans, segment, Instant::now());
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.stats.spans_accepted.fetch_add(n, Ordering::Relaxed);
        self.stats
            .spans_invalid
            .fetch_add(acc.rejected as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Compares without stopping at the first difference, so response time does not leak the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
