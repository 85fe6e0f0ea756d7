//! What the receivers count, readable while the collector runs, and what a run did.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Shared;

/// The receivers' counters, updated without a lock.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) spans_accepted: AtomicU64,
    pub(crate) spans_invalid: AtomicU64,
    pub(crate) requests_refused: AtomicU64,
    pub(crate) log_failures: AtomicU64,
    pub(crate) last_log_error: Mutex<Option<String>>,
}

/// What a collector run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectStats {
    /// Export requests whose spans were taken.
    pub requests: u64,
    /// Spans acknowledged (taken into the buffer).
    pub spans_accepted: u64,
    /// Spans rejected as invalid (reported as OTLP partial success).
    pub spans_invalid: u64,
    /// Requests refused because the buffer was full.
    pub requests_refused: u64,
    /// Spans written to the dataset.
    pub spans_written: u64,
    /// Traces written (a trace written in two pieces counts twice).
    pub traces_written: u64,
    /// Parts (one Parquet file per table) written.
    pub files_written: u64,
    /// Spans replayed from the log at start (acknowledged by an earlier run that did not finish).
    pub spans_replayed: u64,
}

/// Counters of the receivers, readable while the collector runs.
#[derive(Clone)]
pub struct Intake(pub(crate) Arc<Shared>);

/// A snapshot of the intake counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntakeStats {
    /// Export requests whose spans were taken.
    pub requests: u64,
    /// Spans acknowledged.
    pub spans_accepted: u64,
    /// Spans rejected as invalid (partial success).
    pub spans_invalid: u64,
    /// Requests refused (buffer full).
    pub requests_refused: u64,
    /// Spans held (buffered, or handed on and not yet finished with).
    pub held_spans: u64,
    /// Traces still receiving spans.
    pub open_traces: u64,
    /// Spans replayed from the log at start.
    pub spans_replayed: u64,
    /// Requests refused because the log could not be written.
    pub log_failures: u64,
}

impl Intake {
    /// The counters now.
    pub fn stats(&self) -> IntakeStats {
        let c = &self.0.stats;
        let (held, open) = {
            let b = self.0.buffer.lock().expect("buffer lock");
            (b.held_spans() as u64, b.open_traces() as u64)
        };
        IntakeStats {
            requests: c.requests.load(Ordering::Relaxed),
            spans_accepted: c.spans_accepted.load(Ordering::Relaxed),
            spans_invalid: c.spans_invalid.load(Ordering::Relaxed),
            requests_refused: c.requests_refused.load(Ordering::Relaxed),
            held_spans: held,
            open_traces: open,
            spans_replayed: 0,
            log_failures: c.log_failures.load(Ordering::Relaxed),
        }
    }
}
