//! Decoding many inputs: expands folders, decodes each file into one `RawTables`, reports progress.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, Result};
use crate::ingest::{decode_file, decode_reader, Format, RawTables};

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
    let started = Instant::now();
    let files = expand_inputs(paths)?;
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
    let mut tables = RawTables::new(options.keep_going);
    let mut detected = Vec::with_capacity(files.len());
    for f in &files {
        let format = match &bar {
            // The bar advances as bytes are read, so one large file shows progress too.
            Some(bar) => {
                let file = std::fs::File::open(f).map_err(|e| Error::io(f, e))?;
                let reader = std::io::BufReader::with_capacity(1 << 16, bar.wrap_read(file));
                decode_reader(&f.display().to_string(), reader, &mut tables)?
            }
            None => decode_file(f, &mut tables)?,
        };
        detected.push((f.clone(), format));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Decoded {
        tables,
        files: detected,
        bytes: total,
        seconds: started.elapsed().as_secs_f64(),
    })
}
