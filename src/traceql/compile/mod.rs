//! TraceQL AST → SQL over the four tables: one query per TraceQL query, no per-span interpreter and
//! no recursive CTE (Ballista cannot run one).
//!
//! Every spanset expression becomes a common table of the spans it selects, with the columns
//! structure needs (`trace_id, span_id, parent_span_id, depth, nested_left, nested_right`, and
//! `start_time` for metrics) and the
//! spanset it belongs to (`g`: `''`, or after `by(...)` the group's printed values); a spanset is
//! the spans of one trace with one `g`.
//!
//! | TraceQL | SQL |
//! | --- | --- |
//! | `{ cond }` | `spans s` with a `LEFT JOIN tags` per attribute, `WHERE cond` |
//! | `A && B`, `A \|\| B` | `EXISTS` on the other side's spanset, `UNION` |
//! | `A > B`, `A >> B`, ... | `B r WHERE [NOT] EXISTS (A l ... relation)`: parent ids, nested sets |
//! | `\| count() > 2` | `count(*) OVER (PARTITION BY trace_id, g) > 2` |
//! | `\| by(x)` | `g` := the printed value of `x` |
//! | `\| rate() by (x)` | buckets of `(start - START) / STEP`, zero-filled over `range(0, N)` |
//!
//! ```
//! let q = tracecheck::traceql::parse("{ span.http.method = \"GET\" } >> { status = error }").unwrap();
//! let c = tracecheck::traceql::compile::compile(&q, None).unwrap();
//! assert!(c.sql.contains("EXISTS"));
//! assert!(matches!(c.output, tracecheck::traceql::compile::Output::Spans { .. }));
//! ```

mod field;
mod joins;
mod metrics;
mod ops;
#[cfg(test)]
mod tests;
mod value;

use field::FieldCompiler;
use joins::{Joins, CHILD_COUNT_CTE, TRACE_CTE};
use ops::{arithmetic, compare};
use value::{literal, Val};

use super::ast::{
    AggregateFn, FieldExpr, FieldRef, Pipeline, Query, ScalarExpr, SpansetExpr, SpansetFilter, SpansetOp, Stage,
};
use super::TraceQlError;

type CResult<T> = std::result::Result<T, TraceQlError>;

/// The time range of a metrics query, in nanoseconds since the epoch: steps
/// `[start + k·step, start + (k+1)·step)` up to `end`.
///
/// ```
/// let r = tracecheck::traceql::compile::Range { start: 0, end: 100, step: 10 };
/// assert_eq!(r.steps(), 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First step's start.
    pub start: i64,
    /// End (exclusive).
    pub end: i64,
    /// Step length, > 0.
    pub step: i64,
}

impl Range {
    /// The number of steps (the last one may reach past `end`).
    pub fn steps(&self) -> i64 {
        ((self.end - self.start) + self.step - 1) / self.step
    }

    /// The default range over data whose spans start from `min` to `max` (inclusive): `n` steps of
    /// a whole number of milliseconds (at least 1 ns) starting at a multiple of the step.
    ///
    /// ```
    /// let r = tracecheck::traceql::compile::Range::covering(0, 59_999_999, 60);
    /// assert_eq!((r.start, r.step, r.end), (0, 1_000_000, 60_000_000));
    /// let r = tracecheck::traceql::compile::Range::covering(1_000, 60_999_999, 60);
    /// assert_eq!(r.step, 2_000_000, "1.0167 ms rounded up to whole milliseconds");
    /// assert!(r.start <= 1_000 && r.end > 60_999_999);
    /// ```
    pub fn covering(min: i64, max: i64, n: i64) -> Range {
        let span = (max - min).max(0) as i128 + 1;
        let raw = (span + n as i128 - 1) / n as i128;
        let step = if raw >= 1_000_000 {
            (raw + 999_999) / 1_000_000 * 1_000_000
        } else {
            raw
        };
        let step = step.clamp(1, i64::MAX as i128) as i64;
        let start = min.div_euclid(step) * step;
        let mut end = start + step * n;
        while end <= max {
            end += step;
        }
        Range { start, end, step }
    }
}

/// What the rows of the compiled query are.
///
/// ```
/// let q = tracecheck::traceql::parse("{ } | rate() by (span:name)").unwrap();
/// let range = tracecheck::traceql::compile::Range { start: 0, end: 60, step: 1 };
/// let c = tracecheck::traceql::compile::compile(&q, Some(range)).unwrap();
/// let tracecheck::traceql::compile::Output::Metrics { labels, .. } = &c.output else { panic!() };
/// assert_eq!(labels, &vec!["span:name".to_string()]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// One row per span: `trace_id`, `span_id`, then `by` (the group's printed values) when
    /// `grouped`, then one printed column per `select` field, named by the field.
    Spans {
        /// Whether the spans are grouped by `by(...)` (the `by` column).
        grouped: bool,
        /// The `select` fields, printed as TraceQL (the column names).
        selected: Vec<String>,
    },
    /// One row per series and step: a printed column per label (`by` fields, then `p` for
    /// quantiles), `step_start` (BIGINT, ns) and `value` (DOUBLE).
    Metrics {
        /// The label columns.
        labels: Vec<String>,
        /// The range the steps cover.
        range: Range,
    },
}

/// A compiled query: its SQL (for any engine reading the four tables) and the shape of its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    /// One `WITH ... SELECT` statement.
    pub sql: String,
    /// What the rows hold.
    pub output: Output,
}

/// Compiles a query; a metrics query needs its `range`.
///
/// ```
/// let q = tracecheck::traceql::parse("{ name = \"x\" } | count() > 1").unwrap();
/// let c = tracecheck::traceql::compile::compile(&q, None).unwrap();
/// assert!(c.sql.contains("count(*) OVER (PARTITION BY r.trace_id)"));
/// let m = tracecheck::traceql::parse("{ } | rate()").unwrap();
/// assert!(tracecheck::traceql::compile::compile(&m, None).is_err());
/// ```
pub fn compile(query: &Query, range: Option<Range>) -> CResult<Compiled> {
    compile_limited(query, range, None)
}

/// [`compile`], keeping only the first `limit` traces (by trace id) of a spans query.
///
/// ```
/// let q = tracecheck::traceql::parse("{ }").unwrap();
/// let c = tracecheck::traceql::compile::compile_limited(&q, None, Some(20)).unwrap();
/// assert!(c.sql.contains("LIMIT 20"));
/// ```
pub fn compile_limited(query: &Query, range: Option<Range>, limit: Option<usize>) -> CResult<Compiled> {
    if let Some(s) = query.second_stage.first() {
        let (super::ast::SecondStage::TopK { span, .. } | super::ast::SecondStage::BottomK { span, .. }) = s;
        return Err(unsupported(span.range(), "second-stage functions (topk, bottomk)"));
    }
    if let Some(h) = query.hints.first() {
        return Err(unsupported(h.span.range(), "query hints (`with (...)`)"));
    }
    let mut c = Compiler {
        limit,
        ..Compiler::default()
    };
    let rel = c.pipeline(&query.pipeline, None)?;
    let (body, output) = match &query.metrics {
        Some(m) => {
            let range = range.ok_or_else(|| {
                TraceQlError::new(m.span.range(), "a metrics query needs a time range (start, end, step)")
            })?;
            metrics::compile(&mut c, &rel, m, range)?
        }
        None => c.spans_output(&rel)?,
    };
    let mut ctes = Vec::new();
    if c.needs_trace {
        ctes.push(TRACE_CTE.to_string());
    }
    if c.needs_child_count {
        ctes.push(CHILD_COUNT_CTE.to_string());
    }
    ctes.extend(c.ctes.iter().map(|(name, sql)| format!("{name} AS (\n  {sql}\n)")));
    Ok(Compiled {
        sql: format!("WITH {}\n{body}", ctes.join(",\n")),
        output,
    })
}

fn unsupported(span: std::ops::Range<usize>, what: &str) -> TraceQlError {
    TraceQlError::new(span, format!("{what}: not supported by tracecheck yet"))
        .with_hint("docs/TRACEQL.md lists what is supported")
}

/// The common tables built so far.
#[derive(Default)]
pub(super) struct Compiler {
    ctes: Vec<(String, String)>,
    needs_trace: bool,
    needs_child_count: bool,
    /// `select(...)` fields of the outer pipeline, in order.
    selected: Vec<FieldRef>,
    grouped: bool,
    /// Whether a `by(...)` was compiled yet: before one, every `g` is `''` and spansets are
    /// whole traces, so joins need not (and do not) compare `g`.
    by_seen: bool,
    /// Keep the first this many traces of a spans query.
    limit: Option<usize>,
}

impl Compiler {
    fn add(&mut self, sql: String) -> String {
        let name = format!("q{}", self.ctes.len() + 1);
        self.ctes.push((name.clone(), sql));
        name
    }

    fn use_joins(&mut self, j: &Joins) {
        self.needs_trace |= j.trace;
        self.needs_child_count |= j.child_count;
    }

    /// `FROM` the spans of `input` (or all spans), as `s`, with `r.*` the spanset columns.
    fn source(input: Option<&str>) -> (String, String) {
        match input {
            None => (format!("{}, '' AS g", structure("s")), "spans s".into()),
            Some(r) => (
                format!("{}, r.g", structure("r")),
                format!("{r} r\n  JOIN spans s ON s.trace_id = r.trace_id AND s.span_id = r.span_id"),
            ),
        }
    }

    /// `FROM` the spanset table `rel` as `r` with `joins`, joined to its `spans` rows as `s` only
    /// when `sql` (the expressions that will read the row) mentions `s.` — a conservative test: a
    /// needless join costs time, never a wrong row. Without `s`, the joins key on `r`.
    fn from_rel(rel: &str, sql: &[&str], joins: &Joins) -> String {
        if sql.iter().any(|t| t.contains("s.")) {
            format!("{}{}", Self::source(Some(rel)).1, joins.sql())
        } else {
            format!("{rel} r{}", joins.sql_on("r"))
        }
    }

    fn pipeline(&mut self, p: &Pipeline, input: Option<&str>) -> CResult<String> {
        let mut rel: Option<String> = input.map(String::from);
        for stage in &p.stages {
            let next = match stage {
                Stage::Spanset(e) => self.spanset(e, rel.as_deref())?,
                Stage::ScalarFilter(f) => {
                    let r = self.all_if_none(rel.as_deref());
                    self.scalar_filter(f, &r)?
                }
                Stage::By { exprs, .. } => {
                    let r = self.all_if_none(rel.as_deref());
                    self.by(exprs, &r)?
                }
                Stage::Coalesce { .. } => {
                    let r = self.all_if_none(rel.as_deref());
                    self.grouped = false;
                    self.add(format!("SELECT DISTINCT {}, '' AS g FROM {r} r", structure("r")))
                }
                Stage::Select { fields, .. } => {
                    self.selected.extend(fields.iter().cloned());
                    self.all_if_none(rel.as_deref())
                }
            };
            rel = Some(next);
        }
        Ok(rel.expect("a pipeline has a stage"))
    }

    fn all_if_none(&mut self, rel: Option<&str>) -> String {
        match rel {
            Some(r) => r.to_string(),
            None => {
                let (cols, from) = Self::source(None);
                self.add(format!("SELECT {cols} FROM {from}"))
            }
        }
    }

    fn spanset(&mut self, e: &SpansetExpr, input: Option<&str>) -> CResult<String> {
        match e {
            SpansetExpr::Filter(f) => self.filter(f, input),
            SpansetExpr::Pipeline(p) => self.pipeline(p, input),
            SpansetExpr::Binary { op, lhs, rhs, .. } => {
                let a = self.spanset(lhs, input)?;
                let b = self.spanset(rhs, input)?;
                Ok(self.add(binary(*op, &a, &b, self.by_seen)))
            }
        }
    }

    fn filter(&mut self, f: &SpansetFilter, input: Option<&str>) -> CResult<String> {
        let mut joins = Joins::default();
        let cond = match &f.cond {
            Some(c) => Some(FieldCompiler { joins: &mut joins }.condition(c)?),
            None => None,
        };
        self.use_joins(&joins);
        let (cols, from) = Self::source(input);
        let distinct = if joins.multiplies() { "DISTINCT " } else { "" };
        let filter = cond.map(|c| format!("\n  WHERE {c}")).unwrap_or_default();
        Ok(self.add(format!("SELECT {distinct}{cols}\n  FROM {from}{}{filter}", joins.sql())))
    }

    /// `| aggregate op value`: the spans of the spansets (trace, group) for which the comparison
    /// holds. Aggregates are window functions over the spanset, so the input is read once: a
    /// `GROUP BY` joined back to its input made DataFusion (which inlines common tables) compute
    /// the input twice.
    fn scalar_filter(&mut self, f: &super::ast::ScalarFilter, input: &str) -> CResult<String> {
        let mut joins = Joins::default();
        let window = spanset_window(self.by_seen);
        let l = scalar(&f.lhs, &mut joins, window)?;
        let r = scalar(&f.rhs, &mut joins, window)?;
        if joins.multiplies() {
            return Err(unsupported(f.span.range(), "event and link fields in aggregates"));
        }
        self.use_joins(&joins);
        let cond = compare(f.op, &l, &r, true);
        let from = Self::from_rel(input, &[&cond], &joins);
        Ok(self.add(format!(
            "SELECT {cols}, g FROM (\n    SELECT {}, r.g, {cond} AS keep\n    FROM {from}\n  ) w WHERE keep",
            structure("r"),
            cols = STRUCTURE.join(", ")
        )))
    }

    /// `| by(x, ...)`: each span's group is the printed values of the expressions.
    fn by(&mut self, exprs: &[FieldExpr], input: &str) -> CResult<String> {
        let mut joins = Joins::default();
        let mut parts = Vec::new();
        for e in exprs {
            parts.push(FieldCompiler { joins: &mut joins }.value(e)?.display_sql());
            if joins.multiplies() {
                return Err(unsupported(e.span().range(), "event and link fields in by()"));
            }
        }
        self.use_joins(&joins);
        self.grouped = true;
        self.by_seen = true;
        let g = parts.join(" || ', ' || ");
        let from = Self::from_rel(input, &[&g], &joins);
        Ok(self.add(format!("SELECT {}, {g} AS g\n  FROM {from}", structure("r"))))
    }

    /// The final `SELECT` of a spans query.
    fn spans_output(&mut self, rel: &str) -> CResult<(String, Output)> {
        let mut joins = Joins::default();
        let mut columns = vec!["r.trace_id".to_string(), "r.span_id".to_string()];
        if self.grouped {
            columns.push("r.g AS \"by\"".into());
        }
        let mut selected = Vec::new();
        for f in self.selected.clone() {
            let v = FieldCompiler { joins: &mut joins }.field(&f)?;
            if joins.multiplies() {
                return Err(unsupported(f.span().range(), "event and link fields in select()"));
            }
            let name = f.to_string();
            columns.push(format!("{} AS \"{}\"", v.display_sql(), name.replace('"', "\"\"")));
            selected.push(name);
        }
        self.use_joins(&joins);
        let from = Self::from_rel(rel, &[&columns.join(", ")], &joins);
        let limit = match self.limit {
            Some(n) => format!(
                "\nWHERE r.trace_id IN (SELECT trace_id FROM (SELECT DISTINCT trace_id FROM {rel}) t ORDER BY trace_id LIMIT {n})"
            ),
            None => String::new(),
        };
        // No ORDER BY: rows are sorted after they are collected (`run::sorted`). Ballista 55
        // returned only part of the rows of some of these queries when they ended in ORDER BY
        // (a semi join, then a partitioned join, then the sort), and DataFusion 55's plan check
        // rejected ordering a union by the constant `g`.
        let sql = format!("SELECT {}\nFROM {from}{limit}", columns.join(", "));
        Ok((
            sql,
            Output::Spans {
                grouped: self.grouped,
                selected,
            },
        ))
    }
}

/// The columns of a spanset table but `g`, read from `alias`: the span's identity, what structural
/// operators need, and the start time metrics bucket by (so that no later stage joins `spans`
/// again only for these).
fn structure(alias: &str) -> String {
    STRUCTURE.map(|c| format!("{alias}.{c}")).join(", ")
}

const STRUCTURE: [&str; 7] = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "depth",
    "nested_left",
    "nested_right",
    "start_time",
];

/// The window of one spanset, for aggregates: a trace, or a trace's group once `by()` made groups.
/// (Before that `g` is the constant `''`, and partitioning by it too broke an assertion of
/// Ballista 55's window execution.)
fn spanset_window(grouped: bool) -> &'static str {
    match grouped {
        true => "OVER (PARTITION BY r.trace_id, r.g)",
        false => "OVER (PARTITION BY r.trace_id)",
    }
}

/// The spans of `A op B` (two spanset tables), per trace and group.
fn binary(op: SpansetOp, a: &str, b: &str, grouped: bool) -> String {
    let same = |x: &str, y: &str| match grouped {
        true => format!("{x}.trace_id = {y}.trace_id AND {x}.g = {y}.g"),
        false => format!("{x}.trace_id = {y}.trace_id"),
    };
    // Spans of `keep` (alias r) for which some span of `other` (alias l) stands in `relation`.
    let side = |keep: &str, other: &str, relation: &str, negated: bool| {
        format!(
            "SELECT r.* FROM {keep} r WHERE {}EXISTS (SELECT 1 FROM {other} l WHERE {}{relation})",
            if negated { "NOT " } else { "" },
            same("l", "r")
        )
    };
    // The relations, as conditions on l (left side) and r (right side): r is l's child, ...
    // A span naming itself as its parent is not its own child (nor parent).
    let child = " AND r.parent_span_id = l.span_id AND r.span_id <> l.span_id";
    let parent = " AND l.parent_span_id = r.span_id AND r.span_id <> l.span_id";
    let descendant = " AND l.nested_left < r.nested_left AND r.nested_right < l.nested_right";
    let ancestor = " AND r.nested_left < l.nested_left AND l.nested_right < r.nested_right";
    // Siblings share a parent that is in the data (depth > 0: an orphan is a root, Decision 2).
    let sibling = " AND r.parent_span_id = l.parent_span_id AND r.span_id <> l.span_id AND r.depth > 0";
    // For the union forms, the same relation seen from the left side: swap the aliases.
    let swapped = |rel: &str| rel.replace("r.", "x.").replace("l.", "r.").replace("x.", "l.");
    let union = |rel: &str| {
        format!(
            "{}\n  UNION\n  {}",
            side(b, a, rel, false),
            side(a, b, &swapped(rel), false)
        )
    };
    match op {
        SpansetOp::And => format!("{}\n  UNION\n  {}", side(a, b, "", false), side(b, a, "", false)),
        SpansetOp::Or => format!("SELECT * FROM {a}\n  UNION\n  SELECT * FROM {b}"),
        SpansetOp::Child => side(b, a, child, false),
        SpansetOp::Parent => side(b, a, parent, false),
        SpansetOp::Descendant => side(b, a, descendant, false),
        SpansetOp::Ancestor => side(b, a, ancestor, false),
        SpansetOp::Sibling => side(b, a, sibling, false),
        SpansetOp::NotChild => side(b, a, child, true),
        SpansetOp::NotParent => side(b, a, parent, true),
        SpansetOp::NotDescendant => side(b, a, descendant, true),
        SpansetOp::NotAncestor => side(b, a, ancestor, true),
        SpansetOp::NotSibling => side(b, a, sibling, true),
        SpansetOp::UnionChild => union(child),
        SpansetOp::UnionParent => union(parent),
        SpansetOp::UnionDescendant => union(descendant),
        SpansetOp::UnionAncestor => union(ancestor),
        SpansetOp::UnionSibling => union(sibling),
    }
}

/// A scalar expression over the spans of one spanset (aggregates as windows over the spanset).
fn scalar(e: &ScalarExpr, joins: &mut Joins, window: &str) -> CResult<Val> {
    Ok(match e {
        ScalarExpr::Literal { value, .. } => literal(value),
        ScalarExpr::Neg { operand, .. } => {
            let v = scalar(operand, joins, window)?;
            Val {
                i: v.i.map(|x| format!("(-{x})")),
                f: v.f.map(|x| format!("(-{x})")),
                d: v.d.map(|x| format!("(-{x})")),
                ..Val::default()
            }
        }
        ScalarExpr::Binary { op, lhs, rhs, .. } => {
            arithmetic(*op, &scalar(lhs, joins, window)?, &scalar(rhs, joins, window)?)
        }
        ScalarExpr::Aggregate(a) => {
            let arg = match &a.arg {
                Some(x) => Some(FieldCompiler { joins }.value(x)?),
                None => None,
            };
            // Numbers are added as numbers whatever their stored type (Decision 12); durations
            // stay in nanoseconds, so `avg(duration) > 1s` compares like with like.
            let number = arg.map(|v| v.number_sql(1.0));
            match (a.func, number) {
                (AggregateFn::Count, _) => Val {
                    i: Some(format!("count(*) {window}")),
                    ..Val::default()
                },
                (func, Some(n)) => Val {
                    f: Some(format!("{}({n}) {window}", func.as_str())),
                    ..Val::default()
                },
                (func, None) => {
                    return Err(TraceQlError::new(
                        a.span.range(),
                        format!("{}() needs a field to aggregate", func.as_str()),
                    ))
                }
            }
        }
    })
}
