//! Where complete traces go: the [`TraceSink`] trait, and [`DatasetSink`], which writes them to a
//! dataset (`collect`; `watch --output` wraps it).

use std::future::Future;
use std::time::{Duration, Instant};

use super::writer::{DatasetWriter, Written};
use crate::error::{Error, Result};
use crate::ingest::Span;
use crate::store::Dataset;

/// Where complete traces go: the dataset writer (`collect`), the live checker (`watch`).
pub trait TraceSink: Send + 'static {
    /// Takes the spans of traces that just completed (whole, as far as the collector knows).
    fn add(&mut self, spans: Vec<Span>);
    /// Does the sink's work (called every tick, and once with `last` at shutdown, after the
    /// remaining spans were added); returns how many spans it no longer holds.
    fn tick(&mut self, last: bool) -> impl Future<Output = Result<usize>> + Send;
    /// Spans still held.
    fn held(&self) -> usize;
    /// How many more spans the sink would take now. Complete traces beyond it wait in the buffer,
    /// where they are packed: a writer holds its next part's spans in Arrow builders, which for a
    /// span with ten attributes take more than the packed form.
    fn room(&self) -> usize {
        usize::MAX
    }
    /// The dataset the sink stores spans in, if any: the collector then keeps a write-ahead log
    /// there, so that acknowledged spans survive a crash.
    fn dataset_path(&self) -> Option<&std::path::Path> {
        None
    }
    /// Spans handed over that are not yet in a manifest-listed part (the log keeps them until
    /// this is zero).
    fn unstored(&self) -> usize {
        self.held()
    }
}

/// Writes complete traces to a dataset, rolling files by size and time.
pub struct DatasetSink {
    writer: Option<DatasetWriter>,
    roll_interval: Duration,
    /// Spans dropped on arrival as stored already, not yet reported as released.
    dropped: usize,
}

impl DatasetSink {
    pub(crate) fn new(writer: DatasetWriter, roll_interval: Duration) -> DatasetSink {
        DatasetSink {
            writer: Some(writer),
            roll_interval,
            dropped: 0,
        }
    }

    /// Opens (or creates) the dataset at `path`.
    pub fn open(path: &std::path::Path, roll_spans: usize, roll_interval: Duration) -> Result<DatasetSink> {
        let dataset = Dataset::create_or_open(path)?;
        Ok(DatasetSink::new(
            DatasetWriter::new(dataset, roll_spans.max(1)),
            roll_interval,
        ))
    }

    /// Totals written so far.
    pub fn written(&self) -> Written {
        self.writer.as_ref().map(|w| w.stats).unwrap_or_default()
    }
}

impl TraceSink for DatasetSink {
    fn add(&mut self, spans: Vec<Span>) {
        if let Some(w) = &mut self.writer {
            self.dropped += w.add(spans);
        }
    }

    async fn tick(&mut self, last: bool) -> Result<usize> {
        let due = self
            .writer
            .as_ref()
            .is_some_and(|w| last || w.due(self.roll_interval, Instant::now()));
        // Spans dropped as already stored are released with the next tick.
        let dropped = std::mem::take(&mut self.dropped);
        if !due {
            return Ok(dropped);
        }
        // Parquet encoding is CPU work: off the async workers.
        let mut writer = self.writer.take().expect("writer present");
        let (writer, result) = tokio::task::spawn_blocking(move || {
            let r = writer.write();
            (writer, r)
        })
        .await
        .map_err(|e| Error::Bug(format!("writer thread failed: {e}")))?;
        self.writer = Some(writer);
        match result {
            Ok(n) => Ok(n + dropped),
            Err(e) => {
                self.dropped += dropped;
                Err(e)
            }
        }
    }

    fn held(&self) -> usize {
        self.writer.as_ref().map_or(0, DatasetWriter::pending_spans)
    }

    fn room(&self) -> usize {
        self.writer.as_ref().map_or(0, DatasetWriter::room)
    }

    fn dataset_path(&self) -> Option<&std::path::Path> {
        self.writer.as_ref().map(DatasetWriter::dataset_path)
    }
}
