//! The spans of a few traces, loaded for drawing: one tree per trace, rows in depth-first order.
//!
//! Shared by the HTML report ([`super::html`]) and the terminal waterfall ([`super::terminal`]).
//! The tree is rebuilt here from `parent_span_id` (children in start-time order, as assembly does)
//! rather than read from the nested-set columns: a trace appended in two ingests has two numberings,
//! and drawing must still give one tree.
//!
//! ```
//! # async fn f() -> tracecheck::Result<()> {
//! use tracecheck::report::trace;
//! let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
//! let id = trace::normalize_trace_id("0D2FFD6C5426166ECDAD25B8788BBC88")?;
//! let trees = trace::load_traces(&ctx, &[id]).await?;
//! assert_eq!(trees[0].spans[0].depth, 0);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
//! ```

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error::{Error, Result};

/// Ids per query: keeps the `IN (...)` list short enough for the planner while loading a report's
/// traces in a handful of queries.
const BATCH: usize = 200;

/// One attribute of a span.
///
/// ```
/// let t = tracecheck::report::trace::Tag { scope: "span".into(), key: "http.route".into(), value: "/a".into() };
/// assert_eq!(serde_json::to_value(&t).unwrap()["key"], "http.route");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tag {
    /// `span`, `scope` or `resource` (see docs/SCHEMA.md).
    pub scope: String,
    /// The attribute key.
    pub key: String,
    /// The value as text.
    pub value: String,
}

/// One span of a [`TraceTree`], with its place in the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SpanRow {
    /// 16 hex digits.
    pub span_id: String,
    /// The parent as stored (may name a span missing from the trace).
    pub parent_span_id: Option<String>,
    /// Operation name.
    pub name: String,
    /// Service name.
    pub service: String,
    /// `server`, `client`, ...
    pub kind: String,
    /// `unset`, `ok` or `error`.
    pub status: String,
    /// The status message, if any.
    pub status_message: Option<String>,
    /// Start, nanoseconds since the Unix epoch; `None` without a timestamp.
    pub start: Option<i64>,
    /// Nanoseconds; `None` without a timestamp.
    pub duration: Option<i64>,
    /// Span, scope and resource attributes: span first, then scope, then resource; by key.
    pub tags: Vec<Tag>,
    /// 0 for a root (set by [`TraceTree::new`]).
    pub depth: usize,
    /// How many rows after this one belong to its subtree (set by [`TraceTree::new`]).
    pub descendants: usize,
}

impl SpanRow {
    /// Whether the span's status is `error`.
    ///
    /// ```
    /// let s = tracecheck::report::trace::SpanRow { status: "error".into(), ..Default::default() };
    /// assert!(s.is_error());
    /// ```
    pub fn is_error(&self) -> bool {
        self.status == "error"
    }
}

/// The spans of one trace, in depth-first order (children in start-time order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceTree {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// The earliest span start (ns since the epoch); 0 when no span has a timestamp.
    pub start: i64,
    /// From the earliest start to the latest end, in nanoseconds.
    pub duration: i64,
    /// Rows in depth-first order.
    pub spans: Vec<SpanRow>,
}

impl TraceTree {
    /// Orders `spans` depth first and sets their `depth` and `descendants`. A span whose parent is
    /// not in the trace is a root; spans on a parent cycle start a tree of their own.
    ///
    /// ```
    /// use tracecheck::report::trace::{SpanRow, TraceTree};
    /// let s = |id: &str, parent: Option<&str>, start| SpanRow {
    ///     span_id: id.into(), parent_span_id: parent.map(Into::into),
    ///     start: Some(start), duration: Some(10), ..Default::default()
    /// };
    /// let t = TraceTree::new("1".into(), vec![s("c", Some("a"), 5), s("b", Some("a"), 3), s("a", None, 0)]);
    /// let order: Vec<&str> = t.spans.iter().map(|s| s.span_id.as_str()).collect();
    /// assert_eq!(order, ["a", "b", "c"]);
    /// assert_eq!((t.spans[0].descendants, t.spans[2].depth, t.duration), (2, 1, 15));
    /// ```
    pub fn new(trace_id: String, spans: Vec<SpanRow>) -> TraceTree {
        let index: HashMap<&str, usize> = spans
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            match s
                .parent_span_id
                .as_deref()
                .and_then(|p| index.get(p))
                .filter(|&&p| p != i)
            {
                Some(&p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        // Stable sorts keep the input order (the stored depth-first order) among equal starts.
        let key = |i: &usize| spans[*i].start.unwrap_or(i64::MAX);
        roots.sort_by_key(key);
        for c in &mut children {
            c.sort_by_key(key);
        }
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        let mut seen = vec![false; spans.len()];
        let mut walk = |root: usize, order: &mut Vec<(usize, usize)>| {
            let mut stack = vec![(root, 0usize)];
            while let Some((i, depth)) = stack.pop() {
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                order.push((i, depth));
                stack.extend(children[i].iter().rev().map(|&c| (c, depth + 1)));
            }
        };
        for r in roots {
            walk(r, &mut order);
        }
        for i in 0..spans.len() {
            walk(i, &mut order);
        }
        let mut slots: Vec<Option<SpanRow>> = spans.into_iter().map(Some).collect();
        let mut rows: Vec<SpanRow> = order
            .iter()
            .filter_map(|&(i, depth)| {
                let mut row = slots[i].take()?;
                row.depth = depth;
                Some(row)
            })
            .collect();
        // A row's subtree is the run of following rows that are deeper than it: a row's run ends
        // where the next row at its depth or shallower starts (a stack keeps this linear).
        let mut open: Vec<usize> = Vec::new();
        for i in 0..=rows.len() {
            let depth = rows.get(i).map_or(0, |r| r.depth);
            while let Some(&top) = open.last() {
                if i < rows.len() && rows[top].depth < depth {
                    break;
                }
                rows[top].descendants = i - top - 1;
                open.pop();
            }
            if i < rows.len() {
                open.push(i);
            }
        }
        let start = rows.iter().filter_map(|r| r.start).min().unwrap_or(0);
        let end = rows
            .iter()
            .filter_map(|r| Some(r.start? + r.duration.unwrap_or(0)))
            .max()
            .unwrap_or(start);
        TraceTree {
            trace_id,
            start,
            duration: end - start,
            spans: rows,
        }
    }

    /// Nanoseconds from the trace's start to the span's start.
    ///
    /// ```
    /// use tracecheck::report::trace::{SpanRow, TraceTree};
    /// let t = TraceTree::new("1".into(), vec![SpanRow { span_id: "a".into(), start: Some(7), ..Default::default() }]);
    /// assert_eq!(t.offset(&t.spans[0]), Some(0));
    /// ```
    pub fn offset(&self, span: &SpanRow) -> Option<i64> {
        span.start.map(|s| s - self.start)
    }

    /// The distinct services, in order of first appearance.
    ///
    /// ```
    /// use tracecheck::report::trace::{SpanRow, TraceTree};
    /// let s = |id: &str, svc: &str| SpanRow { span_id: id.into(), service: svc.into(), ..Default::default() };
    /// let t = TraceTree::new("1".into(), vec![s("a", "x"), s("b", "y"), s("c", "x")]);
    /// assert_eq!(t.services(), ["x", "y"]);
    /// ```
    pub fn services(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.spans {
            if !out.contains(&s.service.as_str()) {
                out.push(&s.service);
            }
        }
        out
    }
}

/// Nanoseconds as milliseconds, the unit of the waterfalls (and of `display_value` for durations).
///
/// ```
/// assert_eq!(tracecheck::report::trace::format_ms(36_713_000), "36.713ms");
/// ```
pub fn format_ms(ns: i64) -> String {
    format!("{:.3}ms", ns as f64 / 1e6)
}

/// A trace id as stored: 32 lowercase hex digits. Accepts any case and missing leading zeros;
/// anything else is a usage error, so the result is safe to put in SQL.
///
/// ```
/// use tracecheck::report::trace::normalize_trace_id;
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
/// assert_eq!(tracecheck::report::trace::normalize_span_id("AB").unwrap(), "00000000000000ab");
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
/// let none = tracecheck::report::trace::load_traces(&ctx, &["abc".into()]).await?;
/// assert!(none.is_empty());
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn load_traces(ctx: &SessionContext, ids: &[String]) -> Result<Vec<TraceTree>> {
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
/// let t = tracecheck::report::trace::load_trace(&ctx, "0d2ffd6c5426166ecdad25b8788bbc88").await?;
/// assert!(t.unwrap().spans.len() > 1);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn load_trace(ctx: &SessionContext, id: &str) -> Result<Option<TraceTree>> {
    Ok(load_traces(ctx, &[id.to_string()]).await?.pop())
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

    #[test]
    fn cycles_and_orphans_still_give_every_span_once() {
        let s = |id: &str, parent: &str| SpanRow {
            span_id: id.into(),
            parent_span_id: Some(parent.into()),
            ..Default::default()
        };
        let t = TraceTree::new("1".into(), vec![s("a", "b"), s("b", "a"), s("c", "gone"), s("d", "c")]);
        let mut ids: Vec<&str> = t.spans.iter().map(|s| s.span_id.as_str()).collect();
        assert_eq!(&ids[..2], ["c", "d"]);
        ids.sort_unstable();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert_eq!(t.spans[0].descendants, 1);
    }
}
