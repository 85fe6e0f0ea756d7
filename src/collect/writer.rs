//! Complete traces → dataset parts. Traces wait until enough spans are pending or the oldest has
//! waited the roll interval, so a steady stream makes files of about `roll_spans` spans and a
//! trickle still reaches the disk within the interval.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::ingest::{RawTables, Span, SpanSink};
use crate::store::{assemble, Dataset, Part};

/// After a failed write, the next attempt waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Totals of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Spans written.
    pub spans: u64,
    /// Traces written (a trace written in two pieces counts twice).
    pub traces: u64,
    /// Parts written.
    pub files: u64,
}

pub(crate) struct DatasetWriter {
    dataset: Dataset,
    roll_spans: usize,
    pending: Vec<Span>,
    /// Assembled parts whose write failed, oldest first.
    unwritten: VecDeque<Part>,
    /// When the oldest pending span was handed over.
    since: Option<Instant>,
    retry_at: Option<Instant>,
    pub stats: Written,
}

impl DatasetWriter {
    pub fn new(dataset: Dataset, roll_spans: usize) -> DatasetWriter {
        DatasetWriter {
            dataset,
            roll_spans,
            pending: Vec::new(),
            unwritten: VecDeque::new(),
            since: None,
            retry_at: None,
            stats: Written::default(),
        }
    }

    /// Takes the spans of complete traces.
    pub fn add(&mut self, spans: Vec<Span>) {
        if spans.is_empty() {
            return;
        }
        self.since.get_or_insert_with(Instant::now);
        self.pending.extend(spans);
    }

    /// Spans not yet on disk.
    pub fn pending_spans(&self) -> usize {
        self.pending.len() + self.unwritten.iter().map(|p| p.spans.num_rows()).sum::<usize>()
    }

    /// Whether a write is due: enough spans, or the oldest waited `interval`.
    pub fn due(&self, interval: Duration, now: Instant) -> bool {
        if self.pending_spans() == 0 || self.retry_at.is_some_and(|t| now < t) {
            return false;
        }
        !self.unwritten.is_empty()
            || self.pending.len() >= self.roll_spans
            || self.since.is_some_and(|t| now.duration_since(t) >= interval)
    }

    /// Writes everything pending as parts of at most `roll_spans` spans (whole traces); returns the
    /// number of spans no longer held (on disk, or dropped as exact duplicates). On error nothing is
    /// lost: parts not yet written are kept and written first next time.
    pub fn write(&mut self) -> Result<usize> {
        let mut released = 0;
        if !self.pending.is_empty() {
            let n = self.pending.len();
            let mut raw = RawTables::new(false);
            for span in self.pending.drain(..) {
                raw.push(span)?;
            }
            self.since = None;
            let (parts, stats) = assemble(raw, self.roll_spans)?;
            released += n - stats.spans;
            self.stats.traces += stats.traces as u64;
            self.unwritten.extend(parts);
        }
        while let Some(part) = self.unwritten.front() {
            if let Err(e) = self.dataset.write_part(part) {
                self.retry_at = Some(Instant::now() + RETRY_AFTER);
                return Err(e);
            }
            let rows = part.spans.num_rows();
            self.unwritten.pop_front();
            released += rows;
            self.stats.spans += rows as u64;
            self.stats.files += 1;
        }
        self.retry_at = None;
        Ok(released)
    }
}
