//! Writing a stream of spans whose traces arrive whole and one after another (a generator, a sorted
//! export) as parts, with memory bounded by the part size and the writing overlapped with the
//! production of the next part.
//!
//! The producer pushes spans into a [`RawTables`]; when it holds `part_spans` spans and the next
//! span starts a new trace, the tables go to a writer thread that assembles and writes them as one
//! part while the producer fills the next. The channel holds one part, so at most three parts'
//! spans are in memory (being filled, waiting, being written), whatever the total.

use std::collections::HashSet;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use super::dataset::Dataset;
use super::write::{write_raw, Written};
use crate::error::{Error, Result};
use crate::ingest::{RawTables, Span, SpanSink};

/// What a [`PartStream`] wrote (`assembled.services` counts distinct names over all parts).
pub type StreamStats = Written;

/// A [`SpanSink`] that writes whole traces to a dataset, one part per `part_spans` spans (see the
/// module docs). Spans of one trace must arrive together: a trace seen again after another one
/// started would be split across parts.
///
/// ```no_run
/// use tracecheck::workload::{generate_bank, BankOptions};
/// use tracecheck::store::{Dataset, PartStream};
/// let ds = Dataset::create_or_open("out".as_ref())?;
/// let mut stream = PartStream::new(ds, 1_000_000);
/// generate_bank(&BankOptions::new(10_000), &mut stream)?;
/// let stats = stream.finish()?;
/// println!("{} parts", stats.parts);
/// # Ok::<(), tracecheck::Error>(())
/// ```
pub struct PartStream {
    raw: RawTables,
    part_spans: usize,
    last_trace: Option<u128>,
    sender: Option<SyncSender<RawTables>>,
    writer: Option<JoinHandle<Result<StreamStats>>>,
}

impl PartStream {
    /// Starts the writer thread for `dataset`.
    pub fn new(mut dataset: Dataset, part_spans: usize) -> PartStream {
        let (sender, receiver) = sync_channel::<RawTables>(1);
        let writer = std::thread::spawn(move || {
            let mut stats = StreamStats::default();
            let mut services: HashSet<std::sync::Arc<str>> = HashSet::new();
            for raw in receiver {
                services.extend(raw.services.iter().cloned());
                stats.add(&write_raw(&mut dataset, raw, usize::MAX)?);
            }
            stats.assembled.services = services.len();
            Ok(stats)
        });
        PartStream {
            raw: RawTables::new(false),
            part_spans: part_spans.max(1),
            last_trace: None,
            sender: Some(sender),
            writer: Some(writer),
        }
    }

    fn send(&mut self) -> Result<()> {
        let raw = std::mem::replace(&mut self.raw, RawTables::new(false));
        let sender = self
            .sender
            .as_ref()
            .ok_or_else(|| Error::Bug("stream already finished".into()))?;
        if sender.send(raw).is_err() {
            // The writer stopped: its error says why.
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| Error::Bug("part writer stopped".into())));
        }
        Ok(())
    }

    fn join(&mut self) -> Result<StreamStats> {
        self.sender = None;
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::Bug("stream already finished".into()))?;
        writer
            .join()
            .map_err(|_| Error::Bug("the part writer thread panicked".into()))?
    }

    /// Writes what is left and waits for the writer.
    pub fn finish(mut self) -> Result<StreamStats> {
        if self.raw.span_count() > 0 {
            self.send()?;
        }
        self.join()
    }
}

impl SpanSink for PartStream {
    fn push(&mut self, span: Span) -> Result<()> {
        if self.last_trace != Some(span.trace_id) {
            if self.raw.span_count() >= self.part_spans {
                self.send()?;
            }
            self.last_trace = Some(span.trace_id);
        }
        self.raw.push(span)
    }

    fn reject(&mut self, err: Error) -> Result<()> {
        self.raw.reject(err)
    }
}
