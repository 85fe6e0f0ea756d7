//! Loading [`TraceTree`]s from a session: one query per batch of ids, spans and their tags
//! together, and the id checks that make the ids safe to quote in that SQL.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::SessionContext;

use super::{SpanRow, Tag, TraceTree};
use crate::error::{Error, Result};

/// Ids per query: keeps the `IN (...)` list short enough for the planner while loading a report's
/// traces in a handful of queries.
const BATCH: usize = 200;

/// A trace id as stored: 32 lowercase hex digits. Accepts any case and missing leading zeros;
/// anything else is a usage error, so the result is safe to put in SQL.
///
/// ```
/// use tracecheck::check::traces::normalize_trace_id;
/// assert_eq!(normalize_trace_id("14B60FD9AE504820").unwrap(), "000000000000000014b60fd9ae504820");
/// assert!(normalize_trace_id("x' OR 1=1 --").is_err());
/// assert!(normalize_trace_id("0").is_err());
/// ```
pub fn normalize_trace_id(id: &str) -> Result<String> {
    normalize_id(id, 32, "trace")
}

/// A span id as stored: 16 lowercase hex digits (see [`normalize_trace_id`]).
///
/// ```
/// assert_eq!(tracecheck::check::traces::normalize_span_id("AB").unwrap(), "00000000000000ab");
/// ```
pub fn normalize_span_id(id: &str) -> Result<String> {
    normalize_id(id, 16, "span")
}

fn normalize_id(id: &str, digits: usize, what: &str) -> Result<String> {
    let trimmed = id.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!("{what} id {id:?} is not hexadecimal")));
    }
    let significant = trimmed.trim_start_matches('0');
    if significant.is_empty() {
        return Err(Error::Usage(format!(
            "{what} id {id:?} is all zeros, which no {what} has"
        )));
    }
    if significant.len() > digits {
        return Err(Error::Usage(format!(
            "{what} id {id:?} has more than {digits} hex digits"
        )));
    }
    Ok(format!("{significant:0>digits$}").to_ascii_lowercase())
}

/// Loads the traces `ids` (normalized first, see [`normalize_trace_id`]) in the order given; ids
/// not in the data are left out. One query per batch of ids.
///
/// ```
/// # async fn f() -> tracecheck::Result<()> {
/// let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
/// let none = tracecheck::check::traces::load(&ctx, &["abc".into()]).await?;
/// assert!(none.is_empty());
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn load(ctx: &SessionContext, ids: &[String]) -> Result<Vec<TraceTree>> {
    let mut wanted: Vec<String> = ids.iter().map(|i| normalize_trace_id(i)).collect::<Result<_>>()?;
    let order = wanted.clone();
    wanted.sort_unstable();
    wanted.dedup();
    let mut by_trace: HashMap<String, Vec<SpanRow>> = HashMap::new();
    for chunk in wanted.chunks(BATCH) {
        let batches = ctx.sql(&spans_sql(chunk)).await?.collect().await?;
        for b in &batches {
            read_rows(b, &mut by_trace)?;
        }
    }
    let mut out = Vec::new();
    for id in order {
        if let Some(spans) = by_trace.remove(&id) {
            out.push(TraceTree::new(id, spans));
        }
    }
    Ok(out)
}

/// One trace, or `None` when the data has no span of it.
///
/// ```
/// # async fn f() -> tracecheck::Result<()> {
/// let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
/// let t = tracecheck::check::traces::load_one(&ctx, "0d2ffd6c5426166ecdad25b8788bbc88").await?;
/// assert!(t.unwrap().spans.len() > 1);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn load_one(ctx: &SessionContext, id: &str) -> Result<Option<TraceTree>> {
    Ok(load(ctx, &[id.to_string()]).await?.pop())
}

/// `ids` are normalized hex, so quoting them needs no escaping. Tags are aggregated per span in a
/// subquery so spans and their tags come back in one query; they are sorted in Rust, because an
/// `ORDER BY` inside `array_agg` made the query four times slower (50 traces of 1041 spans).
fn spans_sql(ids: &[String]) -> String {
    let list = ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.service, s.kind, s.status, \
         s.status_message, CAST(s.start_time AS BIGINT) AS start_ns, s.duration, t.tags \
         FROM spans s LEFT JOIN (\
           SELECT trace_id, span_id, array_agg(named_struct('scope', scope, 'key', key, 'value', value)) AS tags \
           FROM tags WHERE trace_id IN ({list}) AND scope IN ('span', 'scope', 'resource') \
           GROUP BY trace_id, span_id) t \
         ON s.trace_id = t.trace_id AND s.span_id = t.span_id \
         WHERE s.trace_id IN ({list}) \
         ORDER BY s.trace_id, s.nested_left, s.start_time, s.span_id"
    )
}

fn text_column(b: &RecordBatch, name: &str) -> Result<ArrayRef> {
    let c = b
        .column_by_name(name)
        .ok_or_else(|| Error::Bug(format!("trace query has no column `{name}`")))?;
    Ok(cast(c, &DataType::Utf8)?)
}

fn read_rows(b: &RecordBatch, out: &mut HashMap<String, Vec<SpanRow>>) -> Result<()> {
    let names = [
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "service",
        "kind",
        "status",
        "status_message",
    ];
    let cols = names.iter().map(|n| text_column(b, n)).collect::<Result<Vec<_>>>()?;
    let strs: Vec<_> = cols.iter().map(|c| c.as_string::<i32>()).collect();
    let text = |c: usize, r: usize| (!strs[c].is_null(r)).then(|| strs[c].value(r).to_string());
    let number = |name: &str| -> Result<ArrayRef> {
        let c = b
            .column_by_name(name)
            .ok_or_else(|| Error::Bug(format!("trace query has no column `{name}`")))?;
        Ok(cast(c, &DataType::Int64)?)
    };
    let (start, duration) = (number("start_ns")?, number("duration")?);
    let (start, duration) = (start.as_primitive::<Int64Type>(), duration.as_primitive::<Int64Type>());
    let tags = b
        .column_by_name("tags")
        .ok_or_else(|| Error::Bug("trace query has no column `tags`".into()))?;
    for r in 0..b.num_rows() {
        let row = SpanRow {
            span_id: text(1, r).unwrap_or_default(),
            parent_span_id: text(2, r),
            name: text(3, r).unwrap_or_default(),
            service: text(4, r).unwrap_or_default(),
            kind: text(5, r).unwrap_or_default(),
            status: text(6, r).unwrap_or_default(),
            status_message: text(7, r),
            start: (!start.is_null(r)).then(|| start.value(r)),
            duration: (!duration.is_null(r)).then(|| duration.value(r)),
            tags: read_tags(tags, r)?,
            depth: 0,
            descendants: 0,
        };
        out.entry(text(0, r).unwrap_or_default()).or_default().push(row);
    }
    Ok(())
}

fn read_tags(column: &ArrayRef, r: usize) -> Result<Vec<Tag>> {
    if column.is_null(r) {
        return Ok(Vec::new());
    }
    let list = column.as_list::<i32>().value(r);
    let items = list.as_struct();
    let field = |name: &str| -> Result<ArrayRef> {
        let c = items
            .column_by_name(name)
            .ok_or_else(|| Error::Bug(format!("tag struct has no field `{name}`")))?;
        Ok(cast(c, &DataType::Utf8)?)
    };
    let (scope, key, value) = (field("scope")?, field("key")?, field("value")?);
    let (scope, key, value) = (
        scope.as_string::<i32>(),
        key.as_string::<i32>(),
        value.as_string::<i32>(),
    );
    let mut tags: Vec<Tag> = (0..items.len())
        .map(|i| Tag {
            scope: scope.value(i).to_string(),
            key: key.value(i).to_string(),
            value: if value.is_null(i) {
                String::new()
            } else {
                value.value(i).to_string()
            },
        })
        .collect();
    // The span's own attributes first, then its scope's, then its resource's.
    let rank = |t: &Tag| ["span", "scope", "resource"].iter().position(|s| *s == t.scope);
    tags.sort_by(|a, b| (rank(a), &a.key, &a.value).cmp(&(rank(b), &b.key, &b.value)));
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated_before_they_reach_sql() {
        assert_eq!(normalize_trace_id(" 00AbC ").unwrap(), format!("{:0>32}", "abc"));
        for bad in ["", "g1", "'", "1 2", &"f".repeat(33), "000"] {
            assert!(normalize_trace_id(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            normalize_trace_id(&format!("0{}", "f".repeat(32))).unwrap(),
            "f".repeat(32)
        );
    }
}
