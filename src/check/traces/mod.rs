//! The spans of a few traces, loaded for drawing: one tree per trace, rows in depth-first order.
//!
//! Loading ([`load`], [`load_one`]) queries the session, which this stage owns; the report
//! (`report::html`, `report::terminal`) and `testing` only draw the [`TraceTree`]s they are handed.
//! The tree is rebuilt here from `parent_span_id` (children in start-time order, as assembly does)
//! rather than read from the nested-set columns: a trace appended in two ingests has two numberings,
//! and drawing must still give one tree.
//!
//! ```
//! # async fn f() -> tracecheck::Result<()> {
//! use tracecheck::check::traces;
//! let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
//! let id = traces::normalize_trace_id("0D2FFD6C5426166ECDAD25B8788BBC88")?;
//! let trees = traces::load(&ctx, &[id]).await?;
//! assert_eq!(trees[0].spans[0].depth, 0);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
//! ```

mod load;

use std::collections::HashMap;

use serde::Serialize;

pub use load::{load, load_one, normalize_span_id, normalize_trace_id};

/// One attribute of a span.
///
/// ```
/// let t = tracecheck::check::traces::Tag { scope: "span".into(), key: "http.route".into(), value: "/a".into() };
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
    /// let s = tracecheck::check::traces::SpanRow { status: "error".into(), ..Default::default() };
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
    /// use tracecheck::check::traces::{SpanRow, TraceTree};
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
    /// use tracecheck::check::traces::{SpanRow, TraceTree};
    /// let t = TraceTree::new("1".into(), vec![SpanRow { span_id: "a".into(), start: Some(7), ..Default::default() }]);
    /// assert_eq!(t.offset(&t.spans[0]), Some(0));
    /// ```
    pub fn offset(&self, span: &SpanRow) -> Option<i64> {
        span.start.map(|s| s - self.start)
    }

    /// The distinct services, in order of first appearance.
    ///
    /// ```
    /// use tracecheck::check::traces::{SpanRow, TraceTree};
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

#[cfg(test)]
mod tests {
    use super::*;

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
