//! Which spans a dataset already holds: the collector's log replay asks before storing a span again.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::time::SystemTime;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::TimestampNanosecondType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ProjectionMask;

use super::manifest::Manifest;
use crate::error::{Error, Result};
use crate::ingest::parse_hex_id;

/// A span's identity: trace id, span id, start time.
pub type SpanKey = (u128, u64, Option<i64>);

/// The keys of the spans of `traces` in the dataset's listed parts whose spans file was modified
/// at or after `since` (a part written earlier cannot hold spans that arrived later).
///
/// ```no_run
/// use std::collections::HashSet;
/// let keys = tracecheck::store::stored_span_keys(
///     "ds".as_ref(), std::time::SystemTime::UNIX_EPOCH, &HashSet::from([7u128]))
///     .unwrap();
/// println!("{} spans of trace 7 stored", keys.len());
/// ```
pub fn stored_span_keys(dataset: &Path, since: SystemTime, traces: &HashSet<u128>) -> Result<HashSet<SpanKey>> {
    let mut keys = HashSet::new();
    if traces.is_empty() {
        return Ok(keys);
    }
    let Some(manifest) = Manifest::load(dataset)? else {
        return Ok(keys);
    };
    let mut recent = Vec::new();
    for part in &manifest.parts {
        let path = dataset.join("spans").join(format!("{part}.parquet"));
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| Error::io(&path, e))?;
        if modified >= since {
            recent.push(part.as_str());
        }
    }
    part_span_keys(dataset, &recent, traces, &mut keys)?;
    Ok(keys)
}

/// Adds the keys of the spans of `traces` in the named parts to `keys`.
pub(crate) fn part_span_keys(
    dataset: &Path,
    parts: &[&str],
    traces: &HashSet<u128>,
    keys: &mut HashSet<SpanKey>,
) -> Result<()> {
    for part in parts {
        let path = dataset.join("spans").join(format!("{part}.parquet"));
        let file = match File::open(&path) {
            Ok(f) => f,
            // Replaced by `compact` and deleted since: its spans are in the merged part.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let wanted: Vec<usize> = ["trace_id", "span_id", "start_time"]
            .iter()
            .map(|c| builder.schema().index_of(c))
            .collect::<std::result::Result<_, _>>()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
        for batch in builder.with_projection(mask).build()? {
            let batch = batch?;
            let (trace, span, start) = (
                batch.column(0).as_string::<i32>(),
                batch.column(1).as_string::<i32>(),
                batch.column(2).as_primitive::<TimestampNanosecondType>(),
            );
            for i in 0..batch.num_rows() {
                let Some(t) = parse_hex_id(trace.value(i), 32) else {
                    continue;
                };
                if !traces.contains(&t) {
                    continue;
                }
                let s = parse_hex_id(span.value(i), 16).unwrap_or(0) as u64;
                let at = (!start.is_null(i)).then(|| start.value(i));
                keys.insert((t, s, at));
            }
        }
    }
    Ok(())
}
