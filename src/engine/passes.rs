//! Running models over a big dataset in passes, each over one range of trace ids.
//!
//! A model relates spans of one trace only, so its violations over all traces are the union of its
//! violations over any split of the traces, and its counts (assignments, traces) are sums. Running
//! it once per range of trace ids bounds what its joins and in-memory tables hold to one range's
//! traces: 100M spans in one pass peaked at 9.2 GiB. A range costs little to read: parts are written
//! in trace-id order in row groups, so each row group covers a narrow range of ids, and the Parquet
//! statistics let a pass skip the row groups outside its range.
//!
//! The ranges are chosen from those statistics (the footers only) so that each holds about the
//! same number of spans. Their bounds only balance the passes: any bounds give the same verdicts.
//!
//! ```no_run
//! # async fn f() -> tracecheck::Result<()> {
//! use tracecheck::engine::{open, pass_session, trace_ranges};
//! let data = vec!["big-dataset".into()];
//! let ctx = open(&data).await?;
//! for range in trace_ranges(&data, 20_000_000)? {
//!     let pass = pass_session(&ctx, &range).await?;
//!     let n = pass.sql("SELECT count(*) FROM spans").await?.count().await?;
//!     println!("{range}: {n}");
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::prelude::{col, lit, SessionContext};

use crate::error::{Error, Result};
use crate::schema::TABLES;
use crate::store::{is_dataset, listed_parts, Manifest};

/// Trace ids `lo <= trace_id < hi` (an absent bound is open). Trace ids are compared as text,
/// which for lowercase hex of one length is their numeric order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceRange {
    /// The smallest trace id in the range, or none.
    pub lo: Option<String>,
    /// The first trace id after the range, or none.
    pub hi: Option<String>,
}

impl fmt::Display for TraceRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lo = self.lo.as_deref().unwrap_or("");
        let hi = self.hi.as_deref().unwrap_or("");
        write!(f, "trace ids [{lo}, {hi})")
    }
}

/// Splits the traces of `paths` into ranges of about `max_spans` spans each. One open range (the
/// whole data) when the data holds fewer spans, is not made of datasets, or has no statistics to
/// split by.
///
/// ```
/// let ranges = tracecheck::engine::trace_ranges(&["datasets/bank".into()], 100).unwrap();
/// assert!(ranges.len() > 1);
/// assert_eq!(ranges[0].lo, None);
/// assert_eq!(ranges.last().unwrap().hi, None);
/// ```
pub fn trace_ranges(paths: &[PathBuf], max_spans: u64) -> Result<Vec<TraceRange>> {
    let whole = vec![TraceRange::default()];
    if paths.is_empty() || !paths.iter().all(|p| is_dataset(p)) {
        return Ok(whole);
    }
    let mut groups = Vec::new();
    for dataset in paths {
        for file in span_files(dataset)? {
            if !row_group_ranges(&file, &mut groups)? {
                return Ok(whole);
            }
        }
    }
    let total: u64 = groups.iter().map(|g| g.rows).sum();
    let passes = total.div_ceil(max_spans.max(1));
    if passes <= 1 {
        return Ok(whole);
    }
    Ok(split(&groups, passes as usize))
}

/// A session over the traces of `range` only: each of the four tables of `ctx` is a view with that
/// filter, which DataFusion pushes into the Parquet scans (row groups outside the range are
/// skipped). The session shares `ctx`'s configuration and runtime (memory pool, object stores).
pub async fn pass_session(ctx: &SessionContext, range: &TraceRange) -> Result<SessionContext> {
    let pass = SessionContext::new_with_config_rt(ctx.copied_config(), ctx.runtime_env());
    for table in TABLES {
        let mut df = ctx.table(table).await?;
        if let Some(lo) = &range.lo {
            df = df.filter(col("trace_id").gt_eq(lit(lo.as_str())))?;
        }
        if let Some(hi) = &range.hi {
            df = df.filter(col("trace_id").lt(lit(hi.as_str())))?;
        }
        pass.register_table(table, df.into_view())?;
    }
    Ok(pass)
}

/// Sessions over the trace-id ranges of `paths` (see [`trace_ranges`]), each a [`pass_session`] of
/// `ctx`; none when the data is one range, so that the caller runs over `ctx` at once.
///
/// ```no_run
/// # async fn f() -> tracecheck::Result<()> {
/// let data = vec!["big-dataset".into()];
/// let ctx = tracecheck::engine::open(&data).await?;
/// let passes = tracecheck::engine::pass_sessions(&ctx, &data, 20_000_000).await?;
/// println!("{} passes", passes.len().max(1));
/// # Ok(()) }
/// ```
pub async fn pass_sessions(ctx: &SessionContext, paths: &[PathBuf], max_spans: u64) -> Result<Vec<SessionContext>> {
    let ranges = trace_ranges(paths, max_spans)?;
    let mut passes = Vec::new();
    if ranges.len() > 1 {
        for range in &ranges {
            passes.push(pass_session(ctx, range).await?);
        }
    }
    Ok(passes)
}

/// A row group's rows and the range of its trace ids, as numbers.
struct Group {
    rows: u64,
    min: u128,
    max: u128,
}

/// The spans files a session over `dataset` reads: the manifest's parts, else every part in the
/// folder.
fn span_files(dataset: &Path) -> Result<Vec<PathBuf>> {
    let parts = match Manifest::load(dataset)? {
        Some(m) => m.parts,
        None => listed_parts(dataset)?,
    };
    let dir = dataset.join("spans");
    Ok(parts.iter().map(|p| dir.join(format!("{p}.parquet"))).collect())
}

/// Appends the row groups of a spans file; false when one has no usable trace-id statistics.
fn row_group_ranges(file: &Path, out: &mut Vec<Group>) -> Result<bool> {
    let reader = SerializedFileReader::new(File::open(file).map_err(|e| Error::io(file, e))?)?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let Some(column) = schema.columns().iter().position(|c| c.name() == "trace_id") else {
        return Ok(false);
    };
    for group in meta.row_groups() {
        let rows = u64::try_from(group.num_rows()).unwrap_or(0);
        if rows == 0 {
            continue;
        }
        let stats = group.column(column).statistics();
        let (Some(min), Some(max)) = (
            stats.and_then(|s| s.min_bytes_opt()).and_then(id_value),
            stats.and_then(|s| s.max_bytes_opt()).and_then(id_value),
        ) else {
            return Ok(false);
        };
        out.push(Group { rows, min, max });
    }
    Ok(true)
}

/// A trace id (32 hex digits) as a number; a shorter one is padded with zeros on the right, which
/// keeps the text order.
fn id_value(bytes: &[u8]) -> Option<u128> {
    let text = std::str::from_utf8(bytes).ok()?;
    let head: String = text.chars().take(32).collect();
    u128::from_str_radix(&format!("{head:0<32}"), 16).ok()
}

/// Bounds that cut `groups` into `passes` ranges of about equal rows, each row group's rows taken
/// as spread evenly over its range of ids (its rows are one contiguous run of traces).
fn split(groups: &[Group], passes: usize) -> Vec<TraceRange> {
    // Each row group becomes a few weighted points across its range; the bounds are quantiles of
    // those points.
    const POINTS: u32 = 16;
    let mut points: Vec<(u128, f64)> = Vec::with_capacity(groups.len() * POINTS as usize);
    for g in groups {
        let (lo, hi) = (g.min.min(g.max), g.max.max(g.min));
        let step = (hi - lo) / u128::from(POINTS);
        for i in 0..u128::from(POINTS) {
            points.push((lo + step * i + step / 2, g.rows as f64 / f64::from(POINTS)));
        }
    }
    points.sort_unstable_by_key(|p| p.0);
    let first = points.first().map_or(0, |p| p.0);
    let total: f64 = points.iter().map(|p| p.1).sum();
    let mut bounds: Vec<u128> = Vec::new();
    let mut seen = 0.0;
    let mut next = 1;
    for (at, weight) in points {
        // A bound is the first point past a quantile: the range before it holds the rows below.
        while next < passes && seen >= total * next as f64 / passes as f64 {
            if bounds.last() != Some(&at) {
                bounds.push(at);
            }
            next += 1;
        }
        seen += weight;
    }
    let text = |b: u128| format!("{b:032x}");
    let mut ranges = Vec::with_capacity(bounds.len() + 1);
    let mut lo = None;
    for b in bounds {
        // A bound at the smallest id would make an empty first pass.
        if b <= first {
            continue;
        }
        ranges.push(TraceRange {
            lo: lo.take(),
            hi: Some(text(b)),
        });
        lo = Some(text(b));
    }
    ranges.push(TraceRange { lo, hi: None });
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(rows: u64, min: u128, max: u128) -> Group {
        Group { rows, min, max }
    }

    #[test]
    fn ranges_cover_everything_once_and_balance_the_rows() {
        // Eight row groups evenly over the id space, as a generated part writes them.
        let eighth = u128::MAX / 8;
        let groups: Vec<Group> = (0..8).map(|i| group(1000, i * eighth, (i + 1) * eighth)).collect();
        let ranges = split(&groups, 4);
        assert_eq!(ranges.len(), 4);
        assert_eq!(ranges[0].lo, None);
        assert_eq!(ranges[3].hi, None);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].hi, pair[1].lo, "consecutive ranges meet");
        }
        // The bounds fall near the quarters of the id space.
        let quarter = u128::from_str_radix(ranges[0].hi.as_deref().unwrap(), 16).unwrap();
        let expected = u128::MAX / 4;
        assert!(
            quarter.abs_diff(expected) < expected / 8,
            "{quarter:x} is near {expected:x}"
        );
    }

    #[test]
    fn skewed_ids_get_bounds_where_the_rows_are() {
        // Every row at one id: no bound can split them, and one whole range remains.
        let groups: Vec<Group> = (0..8).map(|_| group(1000, 7, 7)).collect();
        assert_eq!(split(&groups, 4), vec![TraceRange::default()]);
        // 64-bit ids padded to 128 bits (all start with 16 zeros): the bound falls between the
        // two row groups' ranges all the same.
        let groups = vec![group(1000, 10, 20), group(1000, 1 << 40, 1 << 41)];
        let ranges = split(&groups, 2);
        assert_eq!(ranges.len(), 2);
        let bound = u128::from_str_radix(ranges[0].hi.as_deref().unwrap(), 16).unwrap();
        assert!((21..(1 << 41)).contains(&bound), "{bound}");
    }

    #[test]
    fn ids_become_numbers_in_text_order() {
        assert_eq!(id_value(b"000000000000000000000000000000ff"), Some(0xff));
        assert_eq!(id_value(b"ff"), Some(0xff << 120));
        assert_eq!(id_value(b"not hex"), None);
    }
}
