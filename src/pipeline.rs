//! Decoding many inputs: expands folders, decodes each file into one `RawTables` (or any
//! [`SpanSink`]), reports progress; and the whole ingest step, inputs to dataset, which sorts an
//! input larger than its memory through spill files (`store::Spill`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, Result};
use crate::ingest::{decode_file, decode_reader, Format, RawTables, SpanSink};
use crate::store::{assemble, AssembleStats, Dataset, Spill, SPILL_BUCKETS};

/// Options for decoding.
///
/// ```
/// let o = tracecheck::pipeline::DecodeOptions::default().with_keep_going(true);
/// assert!(o.keep_going);
/// ```
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// Skip and count bad records instead of failing.
    pub keep_going: bool,
    /// Show a progress bar on stderr (only when the input is large).
    pub progress: bool,
}

impl DecodeOptions {
    /// Sets `keep_going`.
    ///
    /// ```
    /// assert!(tracecheck::pipeline::DecodeOptions::default().with_keep_going(true).keep_going);
    /// ```
    pub fn with_keep_going(mut self, keep_going: bool) -> Self {
        self.keep_going = keep_going;
        self
    }

    /// Sets `progress`.
    ///
    /// ```
    /// assert!(tracecheck::pipeline::DecodeOptions::default().with_progress(true).progress);
    /// ```
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }
}

/// The outcome of decoding a set of inputs.
pub struct Decoded {
    /// Every decoded span.
    pub tables: RawTables,
    /// Each input file and its detected format.
    pub files: Vec<(PathBuf, Format)>,
    /// Total input bytes (compressed size for gzip inputs).
    pub bytes: u64,
    /// Wall time spent decoding.
    pub seconds: f64,
}

/// Input sizes above this get a progress bar.
const PROGRESS_BYTES: u64 = 64 << 20;

/// Expands folders (recursively, skipping hidden entries and files without a trace extension, see
/// [`TRACE_EXTENSIONS`]) into their files, sorted by path.
///
/// ```no_run
/// let files = tracecheck::pipeline::expand_inputs(&["tests/fixtures/real/zipkin".into()]).unwrap();
/// ```
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        expand(p, &mut out)?;
    }
    Ok(out)
}

fn expand(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
    if !meta.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| Error::io(p, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|e| !e.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() || is_trace_file_name(&e) {
            expand(&e, out)?;
        }
    }
    Ok(())
}

/// Inside folders only files with a trace-file extension are read (a README or a query file beside
/// the traces is skipped); files named explicitly are always read.
fn is_trace_file_name(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    TRACE_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// File extensions taken from folders.
pub const TRACE_EXTENSIONS: &[&str] = &[".json", ".jsonl", ".ndjson", ".pb", ".binpb", ".protobuf", ".otlp"];

/// Decodes every input into one set of raw tables.
///
/// ```no_run
/// use tracecheck::pipeline::{decode_paths, DecodeOptions};
/// let d = decode_paths(&["trace.json".into()], &DecodeOptions::default()).unwrap();
/// println!("{} spans", d.tables.span_count());
/// ```
pub fn decode_paths(paths: &[PathBuf], options: &DecodeOptions) -> Result<Decoded> {
    let mut tables = RawTables::new(options.keep_going);
    let read = decode_paths_into(&expand_inputs(paths)?, options, &mut tables)?;
    Ok(Decoded {
        tables,
        files: read.files,
        bytes: read.bytes,
        seconds: read.seconds,
    })
}

/// What [`decode_paths_into`] read: [`Decoded`] without the spans, which went to a sink.
struct Read {
    files: Vec<(PathBuf, Format)>,
    bytes: u64,
    seconds: f64,
}

/// Decodes `files` (already expanded) into `sink`.
fn decode_paths_into(files: &[PathBuf], options: &DecodeOptions, sink: &mut dyn SpanSink) -> Result<Read> {
    let started = Instant::now();
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = if options.progress && total >= PROGRESS_BYTES {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} decoding [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Some(bar)
    } else {
        None
    };
    let mut detected = Vec::with_capacity(files.len());
    for f in files {
        let format = match &bar {
            // The bar advances as bytes are read, so one large file shows progress too.
            Some(bar) => {
                let file = std::fs::File::open(f).map_err(|e| Error::io(f, e))?;
                let reader = std::io::BufReader::with_capacity(1 << 16, bar.wrap_read(file));
                decode_reader(&f.display().to_string(), reader, sink)?
            }
            None => decode_file(f, sink)?,
        };
        detected.push((f.clone(), format));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Read {
        files: detected,
        bytes: total,
        seconds: started.elapsed().as_secs_f64(),
    })
}

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
    /// Records skipped with `--keep-going`, and the first ones' errors.
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
        let (parts, assembled) = assemble(tables, options.spans_per_file)?;
        // Opened only now: an input that does not decode leaves no dataset behind.
        let mut dataset = Dataset::create_or_open(output)?;
        let mut written = 0;
        for p in &parts {
            written += dataset.write_part(p)?;
        }
        return Ok(Ingested {
            assembled,
            parts: parts.len(),
            written,
            files: decoded.files,
            input_bytes: decoded.bytes,
            rejected_count,
            rejected,
            spilled: None,
        });
    }
    // The spill files live in the dataset folder, so it is opened first; if it is new and the
    // ingest fails, it is removed again, as an ingest held in memory would not have created it.
    let created = !output.exists();
    let mut dataset = Dataset::create_or_open(output)?;
    let result = ingest_spilled(&files, &mut dataset, options);
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
    let bar = (options.decode.progress && spill.span_count() > 0).then(|| {
        let bar = ProgressBar::new(SPILL_BUCKETS as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} writing trace-id ranges [{bar:40}] {percent}% eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar
    });
    let run_spans = (options.memory / RUN_BYTES_PER_SPAN).max(1);
    let stats = spill.finish(dataset, run_spans, options.spans_per_file, &mut |buckets| {
        if let Some(bar) = &bar {
            bar.inc(buckets as u64);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Ingested {
        assembled: stats.assembled,
        parts: stats.parts,
        written: stats.bytes,
        files: decoded.files,
        input_bytes: decoded.bytes,
        rejected_count,
        rejected,
        spilled: Some((stats.spilled_bytes, stats.runs)),
    })
}
