//! `compact`: merge a dataset's small parts into parts of about the target size, in one atomic
//! manifest change. A trace whose spans arrived in several parts (late spans, several ingest runs)
//! becomes whole again: its structure columns are recomputed over all of its spans.
//!
//! Merging goes through the same path as every input: the small parts are read back, exported to an
//! OTLP request ([`parts_to_request`], the code behind [`crate::export`], kept in `store` so that
//! `store` never imports `export`) and decoded and assembled as `ingest` would. Readers keep seeing
//! the old parts until the manifest names the new ones; old files are deleted after
//! [`super::RETIRE_GRACE`].

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::assemble::{assemble, Part};
use super::dataset::Dataset;
use super::manifest::{now_secs, remove_parts, Manifest};
use super::parts_to_request;
use crate::error::{Error, Result};
use crate::ingest::{otlp_request_to_spans, RawTables};
use crate::schema::table_schema;

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Parts before.
    pub parts_before: usize,
    /// Parts after.
    pub parts_after: usize,
    /// Small parts that were merged.
    pub parts_merged: usize,
    /// Spans in the merged parts.
    pub spans: usize,
    /// Traces in the merged parts.
    pub traces: usize,
}

/// Merges every part with fewer than `target_spans` spans into parts of at most `target_spans`
/// spans (whole traces). Does nothing when fewer than two parts are small.
///
/// ```no_run
/// let stats = tracecheck::store::compact("ds".as_ref(), 1_000_000).unwrap();
/// println!("{} parts → {}", stats.parts_before, stats.parts_after);
/// ```
pub fn compact(dataset: &Path, target_spans: usize) -> Result<CompactStats> {
    let mut ds = Dataset::create_or_open(dataset)?;
    let manifest = Manifest::load(dataset)?.unwrap_or_default();
    let mut small = Vec::new();
    for part in &manifest.parts {
        if span_rows(dataset, part)? < target_spans {
            small.push(part.clone());
        }
    }
    let mut stats = CompactStats {
        parts_before: manifest.parts.len(),
        parts_after: manifest.parts.len(),
        ..Default::default()
    };
    if small.len() < 2 {
        return Ok(stats);
    }
    let parts = small
        .iter()
        .map(|p| read_part(dataset, p))
        .collect::<Result<Vec<_>>>()?;
    let request = parts_to_request(&parts)?;
    drop(parts);
    let mut raw = RawTables::new(false);
    otlp_request_to_spans("<compact>", request, &mut raw)?;
    let (merged, assembled) = assemble(raw, target_spans.max(1))?;
    let mut written = Vec::new();
    for part in &merged {
        match ds.write_files(part) {
            Ok((name, _)) => written.push(name),
            Err(e) => {
                remove_parts(dataset, &written);
                return Err(e);
            }
        }
    }
    let taken: HashSet<&String> = small.iter().collect();
    let swapped = Manifest::update(dataset, |m| {
        if taken.iter().any(|p| !m.parts.contains(p)) {
            return Err(Error::Dataset {
                path: dataset.to_path_buf(),
                message:
                    "another compaction changed the dataset at the same time; nothing was changed, run compact again"
                        .into(),
            });
        }
        let at = m.parts.iter().position(|p| taken.contains(p)).unwrap_or(m.parts.len());
        let mut parts: Vec<String> = m.parts.iter().filter(|p| !taken.contains(p)).cloned().collect();
        let at = at.min(parts.len());
        parts.splice(at..at, written.iter().cloned());
        m.parts = parts;
        let now = now_secs();
        m.retired.extend(small.iter().map(|p| (p.clone(), now)));
        Ok(m.parts.len())
    });
    match swapped {
        Ok(after) => {
            stats.parts_after = after;
            stats.parts_merged = small.len();
            stats.spans = assembled.spans;
            stats.traces = assembled.traces;
            Ok(stats)
        }
        Err(e) => {
            remove_parts(dataset, &written);
            Err(e)
        }
    }
}

/// Rows of a part's spans file, from the Parquet footer.
fn span_rows(dataset: &Path, part: &str) -> Result<usize> {
    let path = dataset.join("spans").join(format!("{part}.parquet"));
    let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    Ok(builder.metadata().file_metadata().num_rows() as usize)
}

/// A part's four tables, read whole.
pub(super) fn read_part(dataset: &Path, part: &str) -> Result<Part> {
    let table = |name: &str| -> Result<RecordBatch> {
        let path = dataset.join(name).join(format!("{part}.parquet"));
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        let schema = batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| table_schema(name).expect("known table"));
        Ok(concat_batches(&schema, &batches)?)
    };
    Ok(Part {
        spans: table("spans")?,
        tags: table("tags")?,
        refs: table("refs")?,
        logs: table("logs")?,
    })
}
