//! Complete traces → dataset parts. Traces wait until enough spans are pending or the oldest has
//! waited the roll interval, so a steady stream makes files of about `roll_spans` spans and a
//! trickle still reaches the disk within the interval.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::ingest::{RawTables, Span, SpanSink};
use crate::store::{assemble, part_span_keys, Dataset, Part};

/// How many recently written traces are remembered for dropping spans sent again.
const RECENT_TRACES: usize = 500_000;

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
    /// Spans dropped because an earlier write stored them already (a client sent them again).
    pub duplicates: u64,
}

pub(crate) struct DatasetWriter {
    dataset: Dataset,
    roll_spans: usize,
    /// Spans waiting for the next write, already in Arrow builders (compact, unlike `Span`s).
    pending: RawTables,
    /// An error from adding spans (only a span count past 4 billion can cause one), returned by
    /// the next write.
    add_error: Option<crate::error::Error>,
    /// Assembled parts whose write failed, oldest first, with the write they belong to.
    unwritten: VecDeque<(u64, Part)>,
    /// Traces written lately → the write (a number) whose parts hold them: a span that arrives
    /// again (a client retrying after its answer was lost) is looked up there and dropped.
    recent: HashMap<u128, u64>,
    /// Per write, oldest first: its number, the parts written, its traces (for forgetting them).
    writes: VecDeque<(u64, Vec<String>, Vec<u128>)>,
    next_write: u64,
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
            pending: RawTables::new(false),
            add_error: None,
            unwritten: VecDeque::new(),
            recent: HashMap::new(),
            writes: VecDeque::new(),
            next_write: 0,
            since: None,
            retry_at: None,
            stats: Written::default(),
        }
    }

    /// The dataset written to.
    pub fn dataset_path(&self) -> &std::path::Path {
        self.dataset.path()
    }

    /// Takes the spans of complete traces; returns how many were dropped at once because a
    /// recent write stored them already (a client sent them again).
    pub fn add(&mut self, mut spans: Vec<Span>) -> usize {
        if spans.is_empty() {
            return 0;
        }
        // If the parts to compare with cannot be read, the spans are kept: a span stored twice is
        // better than an acknowledged span lost.
        let dropped = self.drop_stored(&mut spans).unwrap_or(0);
        if !spans.is_empty() {
            self.since.get_or_insert_with(Instant::now);
        }
        for span in spans {
            if let Err(e) = self.pending.push(span) {
                self.add_error.get_or_insert(e);
            }
        }
        dropped
    }

    /// Spans not yet on disk.
    pub fn pending_spans(&self) -> usize {
        self.pending.span_count() + self.unwritten.iter().map(|(_, p)| p.spans.num_rows()).sum::<usize>()
    }

    /// Spans it takes before its next write: up to one part's worth pending at a time.
    pub fn room(&self) -> usize {
        self.roll_spans.saturating_sub(self.pending_spans())
    }

    /// Whether a write is due: enough spans, or the oldest waited `interval`.
    pub fn due(&self, interval: Duration, now: Instant) -> bool {
        if self.pending_spans() == 0 || self.retry_at.is_some_and(|t| now < t) {
            return false;
        }
        !self.unwritten.is_empty()
            || self.pending.span_count() >= self.roll_spans
            || self.since.is_some_and(|t| now.duration_since(t) >= interval)
    }

    /// Writes everything pending as parts of at most `roll_spans` spans (whole traces); returns the
    /// number of spans no longer held (on disk, or dropped as exact duplicates). On error nothing is
    /// lost: parts not yet written are kept and written first next time.
    pub fn write(&mut self) -> Result<usize> {
        let mut released = 0;
        if let Some(e) = self.add_error.take() {
            return Err(e);
        }
        if self.pending.span_count() > 0 {
            let n = self.pending.span_count();
            let traces: Vec<u128> = self
                .pending
                .trace_ids
                .iter()
                .copied()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let raw = std::mem::replace(&mut self.pending, RawTables::new(false));
            self.since = None;
            let (parts, stats) = assemble(raw, self.roll_spans)?;
            released += n - stats.spans;
            self.stats.traces += stats.traces as u64;
            let write = self.next_write;
            self.next_write += 1;
            self.remember(write, traces);
            self.unwritten.extend(parts.into_iter().map(|p| (write, p)));
        }
        while let Some((write, part)) = self.unwritten.front() {
            let name = match self.dataset.write_listed(part) {
                Ok((name, _)) => name,
                Err(e) => {
                    self.retry_at = Some(Instant::now() + RETRY_AFTER);
                    return Err(e);
                }
            };
            let (write, rows) = (*write, part.spans.num_rows());
            if let Some(w) = self.writes.iter_mut().find(|w| w.0 == write) {
                w.1.push(name);
            }
            self.unwritten.pop_front();
            released += rows;
            self.stats.spans += rows as u64;
            self.stats.files += 1;
        }
        self.retry_at = None;
        Ok(released)
    }

    /// Drops from `spans` those that a recent write stored already; returns how many.
    fn drop_stored(&mut self, spans: &mut Vec<Span>) -> Result<usize> {
        let hits: HashSet<u128> = spans
            .iter()
            .map(|s| s.trace_id)
            .filter(|t| self.recent.contains_key(t))
            .collect();
        if hits.is_empty() {
            return Ok(0);
        }
        let writes: HashSet<u64> = hits.iter().map(|t| self.recent[t]).collect();
        let parts: Vec<&str> = self
            .writes
            .iter()
            .filter(|w| writes.contains(&w.0))
            .flat_map(|w| w.1.iter().map(String::as_str))
            .collect();
        let mut stored = HashSet::new();
        part_span_keys(self.dataset.path(), &parts, &hits, &mut stored)?;
        let before = spans.len();
        spans.retain(|s| !stored.contains(&(s.trace_id, s.span_id, s.start_ns)));
        let dropped = before - spans.len();
        self.stats.duplicates += dropped as u64;
        Ok(dropped)
    }

    /// Remembers the traces of write `write`, forgetting the oldest writes past [`RECENT_TRACES`].
    fn remember(&mut self, write: u64, traces: Vec<u128>) {
        for t in &traces {
            self.recent.insert(*t, write);
        }
        self.writes.push_back((write, Vec::new(), traces));
        while self.recent.len() > RECENT_TRACES && self.writes.len() > 1 {
            let (old, _, traces) = self.writes.pop_front().expect("more than one");
            for t in traces {
                if self.recent.get(&t) == Some(&old) {
                    self.recent.remove(&t);
                }
            }
        }
    }
}
