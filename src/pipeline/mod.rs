//! The pipeline's steps, one library call each, for the command line, `fetch`, `gen` and the engine
//! alike: decoding many inputs (folders expanded, each file into one `RawTables` or any
//! [`SpanSink`]), assembling decoded spans and writing them to a dataset ([`ingest`]: the whole
//! ingest step, which sorts an input larger than its memory through spill files, `store::Spill`),
//! and generating a workload into a dataset or an OTLP file ([`generate`]). Progress is reported to
//! an [`Observer`], never drawn here.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::ingest::{decode_file, decode_reader, Format, RawTables, SpanSink};
use crate::observe::{Observer, Progress, Step};

mod generate;
mod ingest;

pub use generate::{generate, GenOutput, Generated};
pub use ingest::{ingest_paths, IngestOptions, Ingested, DEFAULT_INGEST_MEMORY, RUN_BYTES_PER_SPAN};

/// Options for decoding.
///
/// ```
/// let o = tracecheck::pipeline::DecodeOptions::default().with_keep_going(true);
/// assert!(o.keep_going);
/// assert!(o.progress.is_none(), "no progress is reported unless asked for");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// Skip and count bad records instead of failing.
    pub keep_going: bool,
    /// Told the progress of each step ([`Step::Decode`] in bytes of input, and
    /// [`Step::WriteRanges`] when an ingest goes through spill files).
    pub progress: Option<Observer<Progress>>,
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

    /// Sets `progress`: `observer` is told how far each step has come.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use tracecheck::observe::{Observer, Progress};
    /// use tracecheck::pipeline::{decode_paths, DecodeOptions};
    /// let done = Arc::new(AtomicU64::new(0));
    /// let bytes = done.clone();
    /// let observer = Observer::new(move |p: &Progress| {
    ///     if let Progress::Advance(n) = p {
    ///         bytes.fetch_add(*n, Ordering::Relaxed);
    ///     }
    /// });
    /// let file = "tests/fixtures/real/zipkin/smartthings-mobile-web-install.json";
    /// let decoded = decode_paths(&[file.into()], &DecodeOptions::default().with_progress(observer))?;
    /// assert_eq!(done.load(Ordering::Relaxed), decoded.bytes);
    /// # Ok::<(), tracecheck::Error>(())
    /// ```
    pub fn with_progress(mut self, observer: Observer<Progress>) -> Self {
        self.progress = Some(observer);
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
struct DecodedFiles {
    files: Vec<(PathBuf, Format)>,
    bytes: u64,
    seconds: f64,
}

/// Decodes `files` (already expanded) into `sink`.
fn decode_paths_into(files: &[PathBuf], options: &DecodeOptions, sink: &mut dyn SpanSink) -> Result<DecodedFiles> {
    let started = Instant::now();
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let progress = options
        .progress
        .as_ref()
        .map(|o| Reporting::start(o, Step::Decode, total));
    let mut detected = Vec::with_capacity(files.len());
    for f in files {
        let format = match &progress {
            // Progress advances as bytes are read, so one large file reports it too.
            Some(p) => {
                let file = std::fs::File::open(f).map_err(|e| Error::io(f, e))?;
                let counted = Counted {
                    inner: file,
                    observer: &p.0,
                };
                let reader = std::io::BufReader::with_capacity(1 << 16, counted);
                decode_reader(&f.display().to_string(), reader, sink)?
            }
            None => decode_file(f, sink)?,
        };
        detected.push((f.clone(), format));
    }
    Ok(DecodedFiles {
        files: detected,
        bytes: total,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A step being reported: [`Progress::Finish`] when dropped, so an error ends the step too.
struct Reporting(Observer<Progress>);

impl Reporting {
    fn start(observer: &Observer<Progress>, step: Step, total: u64) -> Reporting {
        observer.notify(&Progress::Start { step, total });
        Reporting(observer.clone())
    }
}

impl Drop for Reporting {
    fn drop(&mut self) {
        self.0.notify(&Progress::Finish);
    }
}

/// A reader that reports the bytes read through it.
struct Counted<'a, R> {
    inner: R,
    observer: &'a Observer<Progress>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.observer.notify(&Progress::Advance(n as u64));
        }
        Ok(n)
    }
}
