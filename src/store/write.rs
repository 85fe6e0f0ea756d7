//! The one assemble-then-write step: decoded spans of whole traces become parts written to a
//! dataset. `ingest`, `fetch`, the spill's runs and the streaming writer all go through it, so the
//! counts they report are summed the same way.

use super::assemble::{assemble, AssembleStats};
use super::dataset::Dataset;
use crate::error::Result;
use crate::ingest::RawTables;

/// What [`write_raw`] wrote.
///
/// ```
/// use tracecheck::store::Written;
/// let mut total = Written::default();
/// total.add(&Written { parts: 2, bytes: 10, ..Written::default() });
/// total.add(&Written { parts: 1, bytes: 5, ..Written::default() });
/// assert_eq!((total.parts, total.bytes), (3, 15));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Assembly counts of what was written.
    pub assembled: AssembleStats,
    /// Parts written.
    pub parts: usize,
    /// Bytes of Parquet written.
    pub bytes: u64,
}

impl Written {
    /// Adds the counts of a later write. `assembled.services` is left alone: a service seen by
    /// two writes is one service, so callers that write several times count names themselves.
    ///
    /// ```
    /// use tracecheck::store::{AssembleStats, Written};
    /// let one = Written { assembled: AssembleStats { spans: 3, traces: 1, services: 1, ..Default::default() }, parts: 1, bytes: 9 };
    /// let mut total = one.clone();
    /// total.add(&one);
    /// assert_eq!((total.assembled.spans, total.assembled.traces, total.assembled.services), (6, 2, 1));
    /// ```
    pub fn add(&mut self, other: &Written) {
        let (s, o) = (&mut self.assembled, &other.assembled);
        s.spans += o.spans;
        s.traces += o.traces;
        s.duplicates_dropped += o.duplicates_dropped;
        s.ids_renamed += o.ids_renamed;
        self.parts += other.parts;
        self.bytes += other.bytes;
    }
}

/// Assembles decoded spans into parts of whole traces of about `spans_per_file` spans each and
/// writes them to `dataset`, each part visible once whole. The spans must hold whole traces: a
/// trace whose other spans come later would be split across parts.
///
/// ```
/// use tracecheck::ingest::{RawTables, Span, SpanSink};
/// use tracecheck::store::Dataset;
/// let dir = tempfile::tempdir().unwrap();
/// let mut dataset = Dataset::create_or_open(&dir.path().join("ds"))?;
/// let mut raw = RawTables::new(false);
/// raw.push(Span { trace_id: 1, span_id: 1, name: "a".into(), ..Span::default() })?;
/// raw.push(Span { trace_id: 1, span_id: 2, parent_span_id: Some(1), ..Span::default() })?;
/// let written = tracecheck::store::write_raw(&mut dataset, raw, 1_000_000)?;
/// assert_eq!((written.assembled.spans, written.assembled.traces, written.parts), (2, 1, 1));
/// # Ok::<(), tracecheck::Error>(())
/// ```
pub fn write_raw(dataset: &mut Dataset, raw: RawTables, spans_per_file: usize) -> Result<Written> {
    let (parts, assembled) = assemble(raw, spans_per_file)?;
    let mut bytes = 0;
    for p in &parts {
        bytes += dataset.write_part(p)?;
    }
    Ok(Written {
        assembled,
        parts: parts.len(),
        bytes,
    })
}
