//! The blocks of a model's `when` conditions and related selectors: the tables and conditions one
//! existential clause joins, and whether a condition needs any.

use datafusion::sql::sqlparser::ast::{Expr as Sql, TableWithJoins};

use super::sql::*;
use super::typed::{Access, Condition, Spans, Value};
use super::values::SpanVar;

/// How a block reaches the lets: through the enclosing row's columns, or as its own tables.
pub(super) enum Lets {
    /// The enclosing query has the lets' columns (`l1.span_id` in `a`, `a.l1_span_id` in `e1`).
    Outer(Vec<SpanVar>),
    /// The block joins the lets it uses itself (`spans AS l1`), filled on first use.
    Local(Vec<Option<SpanVar>>),
}

/// The FROM items and conditions of one existential block: an `EXISTS` subquery, a `w` CTE, or a
/// plain condition when it needs no table.
///
/// DataFusion 55 mis-decorrelates an `EXISTS` whose subquery correlates two inner columns of the
/// same name (say `v1.trace_id` and `g3.trace_id`) with the outer query: it keeps one and drops the
/// other's join. So a block correlates at most one column per name: its first span (the anchor) on
/// the trace id, and every other table joins the anchor inside the block.
pub(super) struct Block {
    pub(super) from: Vec<TableWithJoins>,
    pub(super) conds: Vec<Sql>,
    outer_trace: Option<Sql>,
    pub(super) anchor: Option<Sql>,
    pub(super) lets: Lets,
}

impl Block {
    pub(super) fn new(outer_trace: Option<Sql>, lets: Lets) -> Block {
        Block {
            from: Vec::new(),
            conds: Vec::new(),
            outer_trace,
            anchor: None,
            lets,
        }
    }

    /// Adds `spans AS alias` of the same trace.
    pub(super) fn add_span(&mut self, alias: &str) -> SpanVar {
        self.add_table("spans", alias)
    }

    /// Adds `name AS alias` (a table with a `trace_id`) of the same trace.
    pub(super) fn add_table(&mut self, name: &str, alias: &str) -> SpanVar {
        let v = SpanVar::table(alias);
        self.from.push(table(name, alias));
        let trace = v.col("trace_id");
        match (&self.anchor, &self.outer_trace) {
            (Some(a), _) => self.conds.push(eq(trace, a.clone())),
            (None, outer) => {
                if let Some(o) = outer {
                    self.conds.push(eq(trace.clone(), o.clone()));
                }
                self.anchor = Some(trace);
            }
        }
        v
    }

    pub(super) fn into_expr(self) -> Sql {
        if self.from.is_empty() {
            return and(self.conds);
        }
        exists(
            select(vec![item_expr(int(1))])
                .from(self.from)
                .filter(self.conds)
                .query(),
            false,
        )
    }
}

/// Whether a condition needs tables of its own (an inline selector, a tag or a trace value),
/// rather than being a plain expression over the lets' columns.
pub(super) fn needs_tables(c: &Condition) -> bool {
    fn inline(s: &Spans) -> bool {
        matches!(s, Spans::Inline(_))
    }
    fn expr(e: &Value) -> bool {
        match e {
            Value::Literal { .. } => false,
            Value::Field(f) => f.spans.as_ref().is_none_or(inline) || !matches!(f.access, Access::Column(_)),
            Value::Neg { expr: x, .. } => expr(x),
            Value::Arith { left, right, .. } => expr(left) || expr(right),
        }
    }
    match c {
        Condition::Exists { spans, relation } => inline(spans) || relation.as_ref().is_some_and(|r| inline(&r.target)),
        Condition::Compare(c) => expr(&c.left) || expr(&c.right),
    }
}
