//! The ingest step: trace files to a dataset. Decoded spans are assembled into parts of whole
//! traces and written (`store::write_raw`, the same step `fetch` writes its pages with); an input
//! larger than the memory given is sorted through spill files by trace-id range (`store::Spill`)
//! and written a range at a time.

use std::path::{Path, PathBuf};

use super::{decode_paths_into, expand_inputs, DecodeOptions, Reporting};
use crate::error::{Error, Result};
use crate::ingest::{Format, RawTables};
use crate::observe::{Progress, Step};
use crate::store::{write_raw, AssembleStats, Dataset, Spill, SPILL_BUCKETS};

/// Memory an ingest may use unless told otherwise (`ingest --memory`). Not more by default: runs of
/// a few hundred thousand spans took less CPU than one run of a million (BENCHMARKS.md).
pub const DEFAULT_INGEST_MEMORY: u64 = 1 << 30;

/// Peak memory of an ingest held in memory, per byte of (uncompressed) input: measured 15 for OTLP
/// protobuf (2.8 GiB for 190 MB) and 6.4 for OTLP/JSON; the larger is taken for every format.
const DIRECT_BYTES_PER_INPUT_BYTE: u64 = 15;

/// A gzip input counts as this many times its size (trace JSON compresses 8–15 times).
const GZIP_RATIO: u64 = 8;

/// Peak memory per span while a spilled run is read back, assembled and written (measured, see
/// BENCHMARKS.md "Ingest larger than memory").
pub const RUN_BYTES_PER_SPAN: u64 = 4_000;

/// Options for [`ingest_paths`].
///
/// ```
/// let o = tracecheck::pipeline::IngestOptions::default().with_memory(1 << 30);
/// assert_eq!(o.memory, 1 << 30);
/// ```
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// How inputs are decoded.
    pub decode: DecodeOptions,
    /// Spans per Parquet file (whole traces are never split).
    pub spans_per_file: usize,
    /// The memory the ingest may use: an input estimated to need more is sorted through spill
    /// files by trace-id range and written a range at a time.
    pub memory: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            decode: DecodeOptions::default(),
            spans_per_file: 1_000_000,
            memory: DEFAULT_INGEST_MEMORY,
        }
    }
}

impl IngestOptions {
    /// Sets `decode`.
    ///
    /// ```
    /// use tracecheck::pipeline::{DecodeOptions, IngestOptions};
    /// let o = IngestOptions::default().with_decode(DecodeOptions::default().with_keep_going(true));
    /// assert!(o.decode.keep_going);
    /// ```
    pub fn with_decode(mut self, decode: DecodeOptions) -> Self {
        self.decode = decode;
        self
    }

    /// Sets `spans_per_file` (at least 1).
    ///
    /// ```
    /// assert_eq!(tracecheck::pipeline::IngestOptions::default().with_spans_per_file(0).spans_per_file, 1);
    /// ```
    pub fn with_spans_per_file(mut self, spans: usize) -> Self {
        self.spans_per_file = spans.max(1);
        self
    }

    /// Sets `memory`.
    ///
    /// ```
    /// assert_eq!(tracecheck::pipeline::IngestOptions::default().with_memory(1 << 20).memory, 1 << 20);
    /// ```
    pub fn with_memory(mut self, bytes: u64) -> Self {
        self.memory = bytes;
        self
    }
}

/// What [`ingest_paths`] did.
#[derive(Debug)]
pub struct Ingested {
    /// Assembly counts over everything written.
    pub assembled: AssembleStats,
    /// Parts written.
    pub parts: usize,
    /// Bytes of Parquet written.
    pub written: u64,
    /// Each input file and its detected format.
    pub files: Vec<(PathBuf, Format)>,
    /// Total input bytes (compressed size for gzip inputs).
    pub input_bytes: u64,
    /// Records skipped because `keep_going` was set.
    pub rejected_count: usize,
    /// The first rejected records' errors (at most 20).
    pub rejected: Vec<Error>,
    /// Set when the input went through spill files: (bytes spilled, runs written).
    pub spilled: Option<(u64, usize)>,
}

/// The memory an ingest of `files` held in memory would take, estimated from their sizes.
fn estimated_memory(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| {
            let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            let mut magic = [0u8; 2];
            let gz = std::fs::File::open(f)
                .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
                .is_ok()
                && magic == [0x1f, 0x8b];
            size.saturating_mul(if gz { GZIP_RATIO } else { 1 })
        })
        .fold(0u64, u64::saturating_add)
        .saturating_mul(DIRECT_BYTES_PER_INPUT_BYTE)
}

/// Decodes `paths` (files or folders) and writes their spans to the dataset at `output` (created if
/// need be; a new dataset is not left behind if the ingest fails) as parts of whole traces.
/// An input whose estimated footprint exceeds `options.memory` goes through spill files by trace-id
/// range (`store::Spill`), so its size is bounded by disk, not memory.
///
/// ```no_run
/// use tracecheck::pipeline::{ingest_paths, IngestOptions};
/// let done = ingest_paths(&["traces/".into()], "out".as_ref(), &IngestOptions::default())?;
/// println!("{} spans", done.assembled.spans);
/// # Ok::<(), tracecheck::Error>(())
/// ```
pub fn ingest_paths(paths: &[PathBuf], output: &Path, options: &IngestOptions) -> Result<Ingested> {
    let files = expand_inputs(paths)?;
    if estimated_memory(&files) <= options.memory {
        let mut tables = RawTables::new(options.decode.keep_going);
        let decoded = decode_paths_into(&files, &options.decode, &mut tables)?;
        let rejected_count = tables.rejected_count();
        let rejected = tables.take_rejected();
        // Opened only now: an input that does not decode leaves no dataset behind.
        let written = in_dataset(output, |dataset| write_raw(dataset, tables, options.spans_per_file))?;
        return Ok(Ingested {
            assembled: written.assembled,
            parts: written.parts,
            written: written.bytes,
            files: decoded.files,
            input_bytes: decoded.bytes,
            rejected_count,
            rejected,
            spilled: None,
        });
    }
    // The spill files live in the dataset folder, so it is opened first.
    in_dataset(output, |dataset| ingest_spilled(&files, dataset, options))
}

/// Runs `write` on the dataset at `output`, created if need be; if it was new and `write` fails, it
/// is removed again, so a failed ingest leaves no dataset behind.
fn in_dataset<T>(output: &Path, write: impl FnOnce(&mut Dataset) -> Result<T>) -> Result<T> {
    let created = !output.exists();
    let mut dataset = Dataset::create_or_open(output)?;
    let result = write(&mut dataset);
    if result.is_err() && created {
        drop(dataset);
        let _ = std::fs::remove_dir_all(output);
    }
    result
}

fn ingest_spilled(files: &[PathBuf], dataset: &mut Dataset, options: &IngestOptions) -> Result<Ingested> {
    // Buffers are appended to the spill files at an eighth of the memory (at most 256 MiB: larger
    // writes gain nothing).
    let flush = (options.memory / 8).clamp(1 << 16, 256 << 20) as usize;
    let mut spill = Spill::new(dataset, options.decode.keep_going, flush)?;
    let decoded = decode_paths_into(files, &options.decode, &mut spill)?;
    let rejected_count = spill.rejected_count();
    let rejected = spill.take_rejected();
    let progress = match &options.decode.progress {
        Some(o) if spill.span_count() > 0 => Some(Reporting::start(o, Step::WriteRanges, SPILL_BUCKETS as u64)),
        _ => None,
    };
    let run_spans = (options.memory / RUN_BYTES_PER_SPAN).max(1);
    let stats = spill.finish(dataset, run_spans, options.spans_per_file, &mut |buckets| {
        if let Some(p) = &progress {
            p.0.notify(&Progress::Advance(buckets as u64));
        }
    })?;
    drop(progress);
    Ok(Ingested {
        assembled: stats.written.assembled,
        parts: stats.written.parts,
        written: stats.written.bytes,
        files: decoded.files,
        input_bytes: decoded.bytes,
        rejected_count,
        rejected,
        spilled: Some((stats.spilled_bytes, stats.runs)),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::observe::Observer;

    /// An ingest through spill files reports both steps, each started, advanced to its total and
    /// finished, in order.
    #[test]
    fn a_spilled_ingest_reports_each_step_whole() {
        let dir = tempfile::tempdir().unwrap();
        let input = PathBuf::from("tests/fixtures/real/zipkin/smartthings-mobile-web-install.json");
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let observer = Observer::new(move |p: &Progress| seen.lock().unwrap().push(*p));
        let options = IngestOptions::default()
            .with_decode(DecodeOptions::default().with_progress(observer))
            .with_memory(1);
        let done = ingest_paths(&[input], &dir.path().join("ds"), &options).unwrap();
        assert!(done.spilled.is_some() && done.assembled.spans > 0, "{done:?}");
        // Each step: (its start, the units advanced before its finish).
        let mut steps: Vec<(Progress, u64)> = Vec::new();
        let mut open = false;
        for p in events.lock().unwrap().iter() {
            match *p {
                Progress::Start { .. } => {
                    assert!(!open, "a step starts inside another");
                    steps.push((*p, 0));
                    open = true;
                }
                Progress::Advance(n) => steps.last_mut().expect("started").1 += n,
                Progress::Finish => {
                    assert!(open, "finished without a start");
                    open = false;
                }
            }
        }
        assert!(!open, "the last step finished");
        assert_eq!(
            steps,
            vec![
                (
                    Progress::Start {
                        step: Step::Decode,
                        total: done.input_bytes
                    },
                    done.input_bytes
                ),
                (
                    Progress::Start {
                        step: Step::WriteRanges,
                        total: SPILL_BUCKETS as u64
                    },
                    SPILL_BUCKETS as u64
                ),
            ]
        );
    }
}
