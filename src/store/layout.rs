//! The stored row order of schema version 2: rows clustered by what queries filter on.
//!
//! Compiled models look up spans by name (`span(name = "withdrawal")`) and tags by key
//! (`.tag("amount")`). Parquet keeps min/max statistics per row group and per page, and DataFusion
//! (like DuckDB) skips every page whose range cannot hold the value asked for — but only if rows
//! with equal values sit together. Version 1 ordered every table by trace, so every lookup read the
//! whole table (≈7 tag rows per span). Version 2 cuts each part into blocks of one row group
//! (consecutive rows in assembly order: trace id, then start time) and orders the rows *inside each
//! block*:
//!
//! | table | order inside a block |
//! | --- | --- |
//! | `spans` | `name`, then trace id and start time |
//! | `tags` | `key`, then `scope`, then the owner's trace id and start time, then input order |
//! | `refs`, `logs` | trace id, as in version 1 (no query filters them by anything else) |
//!
//! Why blocks and not the whole part: ordering a whole part by key puts every row of a key next to
//! rows of other traces, and the hex ids, which repeat from row to row in trace order, became
//! incompressible (measured on 10M spans: 1.9 GB of Parquet against 0.87 GB). Inside a block the
//! ids come from a few thousand traces, so the writer's dictionary encodes each in 12 to 17 bits,
//! and the page index (pages of at most [`PAGE_ROWS`] rows) still skips the pages of other keys.
//!
//! The columns are the same in both versions, so a version-1 dataset is read as it is (only
//! slower); `tracecheck upgrade` rewrites its parts in this order. The order is applied when a part
//! is written to a dataset ([`cluster`]), not at assembly: memory tables (raw `--data`, `watch`,
//! unit-test captures) have no statistics to prune with, and would only pay for the sort.
//!
//! The sort is stable and by interned strings: the rows already come in assembly order, so a
//! counting sort over (block, rank of the name or key) gives the order above in linear time, where a
//! comparison sort of the string columns took seconds per part.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::file::metadata::SortingColumn;

use super::assemble::Part;
use crate::error::{Error, Result};

/// The clustering columns of a table, in sort order (string columns only).
fn cluster_columns(table: &str) -> &'static [&'static str] {
    match table {
        "spans" => &["name"],
        "tags" => &["key", "scope"],
        _ => &[],
    }
}

/// Whether a table's rows are clustered inside blocks (spans and tags; refs and logs stay in trace
/// order).
pub(crate) fn is_clustered_table(table: &str) -> bool {
    !cluster_columns(table).is_empty()
}

/// Rows per Parquet data page: small pages let the page index skip finely inside a block.
pub const PAGE_ROWS: usize = 8 * 1024;

/// The order declared in a file's `sorting_columns`: trace id for refs and logs, nothing for spans
/// and tags. Parquet puts `sorting_columns` in each row group, but DataFusion infers a *file's*
/// order from it (and may then skip a sort); a clustered file is ordered only inside each row
/// group, so declaring it would risk wrong answers.
///
/// ```
/// assert_eq!(tracecheck::store::sorting_columns("refs").len(), 1);
/// assert!(tracecheck::store::sorting_columns("tags").is_empty());
/// ```
pub fn sorting_columns(table: &str) -> Vec<SortingColumn> {
    if is_clustered_table(table) {
        return Vec::new();
    }
    let schema = crate::schema::table_schema(table).expect("known table");
    vec![SortingColumn {
        column_idx: schema.index_of("trace_id").expect("every table has trace_id") as i32,
        descending: false,
        nulls_first: false,
    }]
}

/// A part with its `spans` and `tags` rows in the stored order: in blocks of `block_rows` rows (the
/// row group size it will be written with), each block ordered as the module docs say. Rows must
/// come in assembly order (trace, then start time), as [`super::assemble`] and version-1 files give
/// them; the sort is stable, so that order is kept inside each cluster.
///
/// ```
/// use tracecheck::ingest::{RawTables, Span, SpanSink};
/// let mut raw = RawTables::new(false);
/// raw.push(Span { trace_id: 1, span_id: 1, name: "z".into(), ..Default::default() }).unwrap();
/// raw.push(Span { trace_id: 2, span_id: 1, name: "a".into(), ..Default::default() }).unwrap();
/// let (parts, _) = tracecheck::store::assemble(raw, 1000).unwrap();
/// let clustered = tracecheck::store::cluster(&parts[0], 1024).unwrap();
/// use datafusion::arrow::array::AsArray;
/// let names = clustered.spans.column(3).as_string::<i32>();
/// assert_eq!((names.value(0), names.value(1)), ("a", "z"));
/// ```
pub fn cluster(part: &Part, block_rows: usize) -> Result<Part> {
    Ok(Part {
        spans: cluster_batch(&part.spans, cluster_columns("spans"), block_rows)?,
        tags: cluster_batch(&part.tags, cluster_columns("tags"), block_rows)?,
        refs: part.refs.clone(),
        logs: part.logs.clone(),
    })
}

fn cluster_batch(batch: &RecordBatch, columns: &[&str], block_rows: usize) -> Result<RecordBatch> {
    let n = batch.num_rows();
    if n < 2 || columns.is_empty() {
        return Ok(batch.clone());
    }
    let block_rows = block_rows.max(1);
    // The block is the most significant part of the key.
    let mut keys: Vec<u64> = (0..n).map(|i| (i / block_rows) as u64).collect();
    let mut buckets: u64 = n.div_ceil(block_rows) as u64;
    for name in columns {
        let column = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Bug(format!("no column {name} to cluster by")))?;
        let strings = column
            .as_string_opt::<i32>()
            .ok_or_else(|| Error::Bug(format!("column {name} is not Utf8")))?;
        let (ranks, distinct) = ranks(strings);
        buckets = buckets.saturating_mul(distinct.max(1));
        for (k, r) in keys.iter_mut().zip(ranks) {
            *k = k.saturating_mul(distinct.max(1)).saturating_add(u64::from(r));
        }
    }
    let order = stable_order(&keys, buckets);
    if order.windows(2).all(|w| w[0] < w[1]) {
        return Ok(batch.clone());
    }
    Ok(take_record_batch(batch, &UInt32Array::from(order))?)
}

/// Per row, the rank of its string among the column's distinct strings (nulls first), and how many
/// distinct values there are.
fn ranks(strings: &datafusion::arrow::array::StringArray) -> (Vec<u32>, u64) {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut row_ids: Vec<u32> = Vec::with_capacity(strings.len());
    for i in 0..strings.len() {
        // Id 0 is null; strings get 1.. in order of first appearance.
        let id = match strings.is_valid(i) {
            false => 0,
            true => {
                let next = ids.len() as u32 + 1;
                *ids.entry(strings.value(i)).or_insert(next)
            }
        };
        row_ids.push(id);
    }
    let mut distinct: Vec<(&str, u32)> = ids.into_iter().collect();
    distinct.sort_unstable();
    let mut rank_of = vec![0u32; distinct.len() + 1];
    for (rank, (_, id)) in distinct.iter().enumerate() {
        rank_of[*id as usize] = rank as u32 + 1;
    }
    let ranks = row_ids.into_iter().map(|id| rank_of[id as usize]).collect();
    (ranks, distinct.len() as u64 + 1)
}

/// Row indices sorted by `keys`, stable: a counting sort when the key space is small, else a
/// (stable) merge sort.
fn stable_order(keys: &[u64], buckets: u64) -> Vec<u32> {
    let n = keys.len();
    if buckets <= (4 * n as u64).max(1024) {
        let mut starts = vec![0u32; buckets as usize + 1];
        for &k in keys {
            starts[k as usize + 1] += 1;
        }
        for b in 0..buckets as usize {
            starts[b + 1] += starts[b];
        }
        let mut order = vec![0u32; n];
        for (i, &k) in keys.iter().enumerate() {
            let slot = &mut starts[k as usize];
            order[*slot as usize] = i as u32;
            *slot += 1;
        }
        return order;
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| keys[i as usize]);
    order
}

/// Whether the rows of `batch` (one row group of a file of `table`) are in the version-2 order.
///
/// ```
/// use std::sync::Arc;
/// use datafusion::arrow::array::StringArray;
/// use datafusion::arrow::record_batch::RecordBatch;
/// let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
///     datafusion::arrow::datatypes::Field::new("name", datafusion::arrow::datatypes::DataType::Utf8, false),
/// ]));
/// let b = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["a", "b", "b"]))]).unwrap();
/// assert!(tracecheck::store::is_clustered("spans", &b));
/// ```
pub fn is_clustered(table: &str, batch: &RecordBatch) -> bool {
    let columns: Vec<Arc<dyn Array>> = cluster_columns(table)
        .iter()
        .filter_map(|c| batch.column_by_name(c).cloned())
        .collect();
    let Some(first) = columns.first() else {
        return true;
    };
    let Some(first) = first.as_string_opt::<i32>() else {
        return false;
    };
    let second = columns.get(1).and_then(|c| c.as_string_opt::<i32>());
    (1..batch.num_rows()).all(|i| {
        let a = (first.value(i - 1), second.map(|s| s.value(i - 1)));
        let b = (first.value(i), second.map(|s| s.value(i)));
        a <= b
    })
}
