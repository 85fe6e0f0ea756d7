//! Ingest of inputs larger than memory: spans are sorted by trace-id range through spill files.
//!
//! Assembly needs every span of a trace at once (duplicates, structure), and the spans of one trace
//! may be anywhere in the input. So in a spilling ingest the decoded spans are not kept: each is
//! packed (`ingest::packed`) and appended to one of [`BUCKETS`] spill files chosen by the top bits
//! of its trace id. All spans of a trace land in one file, in input order. Once the input is read,
//! runs of adjacent buckets small enough for memory are read back one run at a time, assembled and
//! written as parts; the files of a run are removed as soon as it is written.
//!
//! Buckets are ranges of trace ids (not hashes), so each run's parts hold one contiguous range of
//! ids, as an ingest that fits in memory writes them: a check in passes over trace-id ranges
//! (`engine::passes`) then reads each part's files in one pass only.
//!
//! Memory: the packed buffers (flushed to the files at a set size) and the distinct resource and
//! scope attribute sets while reading; one run's spans, assembled and encoded, while writing.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dataset::Dataset;
use super::leftovers::SCRATCH_PREFIX;
use super::write::{write_raw, Written};
use crate::error::{Error, Result};
use crate::ingest::packed::{pack_traced, AttrSets, Unpacker};
use crate::ingest::rejects::Rejects;
use crate::ingest::{RawTables, Span, SpanSink};

/// Spill files, one per range of trace ids (the top ten bits of the id). With a run per bucket
/// at most, an input up to about a thousand times the memory given still writes each run within
/// it; beyond that a run is one bucket, however large.
pub const BUCKETS: usize = 1024;

/// The bucket of a trace id: its top ten bits, so buckets in order are trace ids in order.
fn bucket_of(trace_id: u128) -> usize {
    (trace_id >> (128 - BUCKETS.trailing_zeros())) as usize
}

/// A folder for temporary files inside a dataset, removed with everything in it when dropped (and,
/// after a crash, by the next writer that opens the dataset alone: `leftovers`).
pub(crate) struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates a fresh scratch folder in `dataset`, named by `tag` (unique per writer).
    pub(crate) fn create(dataset: &Path, tag: &str) -> Result<Scratch> {
        let path = dataset.join(format!("{SCRATCH_PREFIX}{tag}"));
        fs::create_dir(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Scratch { path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a folder that cannot be removed now is a leftover for the next writer.
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[derive(Default)]
struct Bucket {
    /// Packed spans not yet appended to the file.
    buf: Vec<u8>,
    /// Spans in the bucket (buffered and on disk).
    spans: u64,
}

/// A [`SpanSink`] that sorts spans into spill files by trace-id range; [`Spill::finish`] writes
/// them to the dataset as parts of whole traces.
///
/// ```no_run
/// use tracecheck::ingest::{Span, SpanSink};
/// use tracecheck::store::{Dataset, Spill};
/// let mut ds = Dataset::create_or_open("out".as_ref())?;
/// let mut spill = Spill::new(&ds, false, 64 << 20)?;
/// spill.push(Span { trace_id: 7, span_id: 1, name: "a".into(), ..Default::default() })?;
/// let stats = spill.finish(&mut ds, 1_000_000, 1_000_000, &mut |_| {})?;
/// assert_eq!(stats.written.assembled.spans, 1);
/// # Ok::<(), tracecheck::Error>(())
/// ```
pub struct Spill {
    scratch: Scratch,
    buckets: Vec<Bucket>,
    sets: AttrSets,
    /// Bytes in the buckets' buffers.
    buffered: usize,
    flush_bytes: usize,
    /// Bytes appended to the files so far.
    spilled: u64,
    /// Records skipped with `keep_going`.
    rejects: Rejects,
    /// Kept to report distinct services as a direct ingest does.
    services: HashSet<Arc<str>>,
}

/// What [`Spill::finish`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpillStats {
    /// What the runs wrote, summed (`assembled.services` counts distinct names over all of them).
    pub written: Written,
    /// Bytes of packed spans that went through the spill files.
    pub spilled_bytes: u64,
    /// Runs of buckets assembled one after another (each within the memory given).
    pub runs: usize,
}

impl Spill {
    /// An empty spill in a scratch folder of `dataset`. Buffers are appended to the files whenever
    /// they hold `flush_bytes`; with `keep_going`, rejected records are counted and skipped.
    pub fn new(dataset: &Dataset, keep_going: bool, flush_bytes: usize) -> Result<Spill> {
        Ok(Spill {
            scratch: Scratch::create(dataset.path(), dataset.writer_tag())?,
            buckets: (0..BUCKETS).map(|_| Bucket::default()).collect(),
            sets: AttrSets::default(),
            buffered: 0,
            flush_bytes: flush_bytes.max(1),
            spilled: 0,
            rejects: Rejects::new(keep_going),
            services: HashSet::new(),
        })
    }

    /// Spans taken so far.
    pub fn span_count(&self) -> u64 {
        self.buckets.iter().map(|b| b.spans).sum()
    }

    /// Records skipped with `keep_going`.
    pub fn rejected_count(&self) -> usize {
        self.rejects.count()
    }

    /// The first rejected records' errors (at most 20).
    pub fn rejected(&self) -> &[Error] {
        self.rejects.first()
    }

    /// Takes the kept rejected records' errors out (the count stays).
    pub fn take_rejected(&mut self) -> Vec<Error> {
        self.rejects.take_first()
    }

    fn bucket_file(&self, i: usize) -> PathBuf {
        self.scratch.path().join(format!("{i:04}.spans"))
    }

    /// Appends every buffer to its bucket's file. Each flush opens and closes the files it appends
    /// to, so a thousand buckets never hold a thousand descriptors.
    fn flush(&mut self) -> Result<()> {
        for i in 0..self.buckets.len() {
            if self.buckets[i].buf.is_empty() {
                continue;
            }
            let path = self.bucket_file(i);
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            let b = &mut self.buckets[i];
            f.write_all(&b.buf).map_err(|e| Error::io(&path, e))?;
            self.spilled += b.buf.len() as u64;
            b.buf.clear();
        }
        self.buffered = 0;
        Ok(())
    }

    /// Assembles and writes the spilled spans to `dataset`, a run of adjacent buckets of at most
    /// `run_spans` spans at a time (a bucket larger than that is a run of its own), in parts of at
    /// most about `spans_per_file` spans, of even size within a run. `on_run` is told each run's number of buckets as it is written.
    pub fn finish(
        mut self,
        dataset: &mut Dataset,
        run_spans: u64,
        spans_per_file: usize,
        on_run: &mut dyn FnMut(usize),
    ) -> Result<SpillStats> {
        self.flush()?;
        // The buffers' memory goes back before the runs are read.
        for b in &mut self.buckets {
            b.buf = Vec::new();
        }
        let mut stats = SpillStats {
            spilled_bytes: self.spilled,
            ..SpillStats::default()
        };
        let mut start = 0;
        while start < self.buckets.len() {
            let mut end = start;
            let mut spans = 0;
            while end < self.buckets.len() && (end == start || spans + self.buckets[end].spans <= run_spans) {
                spans += self.buckets[end].spans;
                end += 1;
            }
            if spans > 0 {
                // Parts of even size: a run of 1.2M spans is two parts of 0.6M, not 1M and 0.2M.
                let parts = (spans as usize).div_ceil(spans_per_file.max(1));
                let per_part = (spans as usize).div_ceil(parts);
                self.write_run(start..end, dataset, per_part, &mut stats)?;
            }
            on_run(end - start);
            start = end;
        }
        stats.written.assembled.services = self.services.len();
        Ok(stats)
    }

    fn write_run(
        &mut self,
        buckets: std::ops::Range<usize>,
        dataset: &mut Dataset,
        spans_per_file: usize,
        stats: &mut SpillStats,
    ) -> Result<()> {
        let mut raw = RawTables::new(false);
        for i in buckets.clone() {
            if self.buckets[i].spans == 0 {
                continue;
            }
            let path = self.bucket_file(i);
            let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let mut reader = Unpacker::new(&bytes);
            while let Some(span) = reader.next(&mut self.sets) {
                raw.push(span)?;
            }
        }
        self.services.extend(raw.services.iter().cloned());
        let written = write_raw(dataset, raw, spans_per_file)?;
        for i in buckets {
            let path = self.bucket_file(i);
            // Written: the file's space goes back now rather than at the end.
            if path.exists() {
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        stats.written.add(&written);
        stats.runs += 1;
        Ok(())
    }
}

impl SpanSink for Spill {
    fn push(&mut self, span: Span) -> Result<()> {
        let b = &mut self.buckets[bucket_of(span.trace_id)];
        let before = b.buf.len();
        pack_traced(&mut b.buf, &span, &mut self.sets);
        b.spans += 1;
        self.buffered += b.buf.len() - before;
        if self.buffered >= self.flush_bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn reject(&mut self, err: Error) -> Result<()> {
        self.rejects.reject(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ranges_of_trace_ids_in_order() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(u128::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(1u128 << 118), 1);
        assert_eq!(bucket_of((1u128 << 118) - 1), 0);
        let ids = [3u128, 1 << 100, 5 << 118, u128::MAX / 3, u128::MAX - 7];
        let mut sorted = ids;
        sorted.sort();
        assert!(sorted.windows(2).all(|w| bucket_of(w[0]) <= bucket_of(w[1])));
    }
}
