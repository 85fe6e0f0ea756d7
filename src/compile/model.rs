//! `model` blocks → one SQL query whose rows are the violations.
//!
//! Shape of the query (CTE names are fixed; aliases are numbered per model):
//!
//! ```text
//! WITH tag_1 AS (...)              -- one per tag key: span attributes, else resource attributes
//!      a AS (...)                  -- the assignments: one row per let tuple (or per trace) where `when` holds
//!      e1 AS (...)                 -- per assignment, how many spans match expect #1 (LEFT JOIN + count)
//!      ...
//! SELECT model, clause, trace_id, let_*, matched, witnesses FROM e1 WHERE <expect #1 fails>
//! UNION ALL ...
//! ORDER BY clause, trace_id, let_*
//! ```
//!
//! `when` conditions and tag predicates become `EXISTS` subqueries correlated on the trace id, which
//! DataFusion turns into semi joins; descendant/ancestor use the nested-set columns, so no recursion
//! is needed (Ballista cannot run recursive CTEs).

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as Sql, Query, SelectItem};

use super::block::{needs_tables, Block, Lets};
use super::sql::*;
use super::typed::{Access, Condition, Spans, TypedExpect, TypedModel, Value};
use super::values::{compare, literal_sql, relation, shared_tag_values, tag_values, traces_cte, Ctx, SpanVar, Val};
use crate::model::ast::{ArithOp, Quantifier};

/// The table name under which `check` registers the rows of `a` for the staged queries.
pub(crate) const STAGED_A: &str = "tracecheck_assignments";

/// `q` with every `FROM name` replaced by `FROM replacement` (keeping the alias).
fn rename_table(mut q: Query, name: &str, replacement: &str) -> Query {
    use datafusion::sql::sqlparser::ast::{visit_relations_mut, Ident, ObjectName, ObjectNamePart};
    let _ = visit_relations_mut(&mut q, |rel: &mut ObjectName| {
        if rel.0.len() == 1 && matches!(&rel.0[0], ObjectNamePart::Identifier(i) if i.value == name) {
            rel.0 = vec![ObjectNamePart::Identifier(Ident::new(replacement))];
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    q
}

/// Columns every span reference carries into `a`, for relations and witnesses.
const SPAN_COLS: [&str; 6] = [
    "span_id",
    "parent_span_id",
    "start_time",
    "end_time",
    "nested_left",
    "nested_right",
];

/// Compiles one model.
pub(crate) struct ModelCompiler<'m> {
    model: &'m TypedModel,
    ctx: Ctx,
    /// `w_i` CTEs: the let tuples (or traces) for which a `when` condition holds.
    when_ctes: Vec<(String, Query)>,
}

/// A model compiled into its parts.
pub(crate) struct ModelQueries {
    pub violations: Query,
    pub stats: Query,
    pub staged_assignments: Query,
    pub staged_violations: Query,
    pub staged_stats: Query,
    pub let_names: Vec<String>,
    pub tag_keys: Vec<String>,
}

impl<'m> ModelCompiler<'m> {
    pub fn new(model: &'m TypedModel) -> Self {
        ModelCompiler {
            model,
            ctx: Ctx::default(),
            when_ctes: Vec::new(),
        }
    }

    pub fn compile(mut self) -> ModelQueries {
        let model = self.model;
        let let_names: Vec<String> = model.lets.iter().map(|l| l.name.clone()).collect();
        let assignments = self.assignments();
        let in_a: Vec<SpanVar> = (1..=let_names.len())
            .map(|i| SpanVar {
                alias: "a".into(),
                prefix: Some(format!("l{i}")),
            })
            .collect();
        let mut expect_ctes = Vec::new();
        let mut selects = Vec::new();
        for (j, e) in model.expects.iter().enumerate() {
            let name = format!("e{}", j + 1);
            expect_ctes.push((name.clone(), self.expect_counts(e, &in_a)));
            selects.push(self.violation_rows(j + 1, e, &name));
        }
        let tag_ctes = |values: fn(&str) -> Query| -> Vec<(String, Query)> {
            self.ctx
                .tag_keys
                .iter()
                .enumerate()
                .map(|(i, k)| (format!("tag_{}", i + 1), values(k)))
                .collect()
        };
        let mut ctes = tag_ctes(tag_values);
        // The staged form reads each tag's values from a table filled once per run and shared by
        // all models (a scan of `tags` per use was most of a tag model's time).
        let mut shared = tag_ctes(shared_tag_values);
        let mut rest = Vec::new();
        if self.ctx.need_traces {
            rest.push(("traces".into(), traces_cte()));
        }
        rest.extend(std::mem::take(&mut self.when_ctes));
        ctes.extend(rest.clone());
        shared.extend(rest);
        // The staged form: `a` computed once by its own query (with the CTEs it needs), then the
        // expects over a table holding its rows.
        let staged_assignments = with(assignments.clone(), shared.clone());
        ctes.push(("a".into(), assignments));
        let stats_of = |table_name: &str| {
            select(vec![
                item(call("count", vec![int(1)]), "assignments"),
                item(count_distinct(col("a", "trace_id")), "traces"),
            ])
            .from(vec![table(table_name, "a")])
            .query()
        };
        let stats = with(stats_of("a"), ctes.clone());
        let mut order = vec![name("clause"), name("trace_id")];
        order.extend(let_names.iter().map(|n| name(&format!("let_{n}"))));
        let body = order_by(union_all(selects), order);
        let mut standalone = ctes;
        standalone.extend(expect_ctes.clone());
        let violations = with(body.clone(), standalone);
        let mut staged = shared;
        staged.extend(
            expect_ctes
                .into_iter()
                .map(|(n, q)| (n, rename_table(q, "a", STAGED_A))),
        );
        ModelQueries {
            violations,
            stats,
            staged_assignments,
            staged_violations: with(body, staged),
            staged_stats: stats_of(STAGED_A),
            let_names,
            tag_keys: self.ctx.tag_keys.clone(),
        }
    }

    /// `a`: the assignments of the lets (or the traces) for which `when` holds.
    fn assignments(&mut self) -> Query {
        let model = self.model;
        if model.lets.is_empty() {
            let traces = select(vec![item_expr(name("trace_id"))])
                .distinct()
                .from(vec![table("spans", "spans")])
                .query();
            let conds = self.when_conditions(&[], &col("tr", "trace_id"));
            return select(vec![item(col("tr", "trace_id"), "trace_id")])
                .from(vec![derived(traces, "tr")])
                .filter(conds)
                .query();
        }
        let vars: Vec<SpanVar> = (1..=model.lets.len())
            .map(|i| SpanVar::table(&format!("l{i}")))
            .collect();
        let mut from = Vec::new();
        let mut conds = Vec::new();
        let mut items = vec![item(vars[0].col("trace_id"), "trace_id")];
        for (l, v) in model.lets.iter().zip(&vars) {
            from.push(table("spans", &v.alias));
            if v.alias != vars[0].alias {
                conds.push(eq(v.col("trace_id"), vars[0].col("trace_id")));
            }
            for p in &l.predicates {
                conds.push(self.ctx.predicate(p, v));
            }
            for c in SPAN_COLS {
                items.push(item(v.col(c), &format!("{}_{c}", v.alias)));
            }
        }
        conds.extend(self.when_conditions(&vars, &vars[0].col("trace_id")));
        select(items).from(from).filter(conds).query()
    }

    fn when_conditions(&mut self, lets: &[SpanVar], trace: &Sql) -> Vec<Sql> {
        let model = self.model;
        model.when.iter().map(|c| self.condition(c, lets, trace)).collect()
    }

    /// A `when` condition as a filter on the rows of `a` (whose lets and trace id are given).
    fn condition(&mut self, c: &Condition, lets: &[SpanVar], trace: &Sql) -> Sql {
        if !needs_tables(c) {
            // Only the lets' own columns and constants: a plain filter.
            let mut block = Block::new(Some(trace.clone()), Lets::Outer(lets.to_vec()));
            self.condition_into(c, &mut block);
            return block.into_expr();
        }
        // Uncorrelated joins in a CTE of the let tuples (or traces) where the condition holds, then a
        // semi join on distinct column names (see `Block`).
        let mut block = Block::new(None, Lets::Local(vec![None; lets.len()]));
        self.condition_into(c, &mut block);
        let anchor = block.anchor.clone().expect("a condition with tables has an anchor");
        let mut items = vec![item(anchor, "trace_id")];
        let mut link = Vec::new();
        let name = format!("w{}", self.when_ctes.len() + 1);
        let x = self.ctx.fresh("x");
        link.push(eq(col(&x, "trace_id"), trace.clone()));
        if let Lets::Local(slots) = &block.lets {
            for (j, v) in slots.iter().enumerate() {
                if let Some(v) = v {
                    let column = format!("l{}_span_id", j + 1);
                    items.push(item(v.col("span_id"), &column));
                    link.push(eq(col(&x, &column), lets[j].col("span_id")));
                }
            }
        }
        let cte = select(items).distinct().from(block.from).filter(block.conds).query();
        self.when_ctes.push((name.clone(), cte));
        let q = select(vec![item_expr(int(1))])
            .from(vec![table(&name, &x)])
            .filter(link)
            .query();
        exists(q, false)
    }

    fn condition_into(&mut self, c: &Condition, block: &mut Block) {
        match c {
            Condition::Exists { spans, relation: rel } => {
                let s = self.term_span(spans, block);
                if let Some(rel) = rel {
                    let t = self.term_span(&rel.target, block);
                    block.conds.push(relation(rel.kind, &s, &t));
                }
            }
            Condition::Compare(c) => {
                let l = self.value(&c.left, block);
                let r = self.value(&c.right, block);
                block.conds.push(compare(c, l, r));
            }
        }
    }

    /// The span a selector stands for inside `block`: a let, or a new existential span.
    fn term_span(&mut self, sel: &Spans, block: &mut Block) -> SpanVar {
        match sel {
            Spans::Let { index: j, .. } => {
                let j = *j;
                let existing = match &block.lets {
                    Lets::Outer(vars) => return vars[j].clone(),
                    Lets::Local(slots) => slots[j].clone(),
                };
                if let Some(v) = existing {
                    return v;
                }
                let v = block.add_span(&format!("l{}", j + 1));
                for p in &self.model.lets[j].predicates {
                    let c = self.ctx.predicate(p, &v);
                    block.conds.push(c);
                }
                if let Lets::Local(slots) = &mut block.lets {
                    slots[j] = Some(v.clone());
                }
                v
            }
            Spans::Inline(predicates) => {
                let alias = self.ctx.fresh("v");
                let v = block.add_span(&alias);
                for p in predicates {
                    let c = self.ctx.predicate(p, &v);
                    block.conds.push(c);
                }
                v
            }
        }
    }

    /// The spans matching expect `e` for the assignment whose lets are `lets` (columns of `left`):
    /// a derived table of candidate spans, and the join condition tying them to the assignment.
    fn expect_matches(&mut self, e: &TypedExpect, left: &str, lets: &[SpanVar], alias: &str) -> (Query, Sql) {
        let s = SpanVar::table("s");
        let m = SpanVar::table(alias);
        let mut filter = Vec::new();
        let mut on = vec![eq(m.col("trace_id"), col(left, "trace_id"))];
        match &e.spans {
            Spans::Let { index, .. } => on.push(eq(m.col("span_id"), lets[*index].col("span_id"))),
            Spans::Inline(predicates) => {
                for p in predicates {
                    filter.push(self.ctx.predicate(p, &s));
                }
            }
        }
        if let Some(rel) = &e.relation {
            match &rel.target {
                Spans::Let { index, .. } => on.push(relation(rel.kind, &m, &lets[*index])),
                Spans::Inline(_) => {
                    let mut block = Block::new(Some(s.col("trace_id")), Lets::Outer(Vec::new()));
                    let t = self.term_span(&rel.target, &mut block);
                    block.conds.push(relation(rel.kind, &s, &t));
                    filter.push(block.into_expr());
                }
            }
        }
        let mut cols = vec![item(s.col("trace_id"), "trace_id")];
        cols.extend(SPAN_COLS.iter().map(|c| item(s.col(c), c)));
        let matches = select(cols).from(vec![table("spans", "s")]).filter(filter).query();
        (matches, and(on))
    }

    /// `e_j`: per assignment, the number of spans matching the expect (and the lets' columns, which
    /// the witness lookup needs). Only a count: collecting the ids of every assignment's matches
    /// (an ordered `string_agg` over millions of groups) cost far more than the joins.
    fn expect_counts(&mut self, e: &TypedExpect, in_a: &[SpanVar]) -> Query {
        let (matches, on) = self.expect_matches(e, "a", in_a, "m");
        let mut items = vec![item(col("a", "trace_id"), "trace_id")];
        let mut group = vec![col("a", "trace_id")];
        for v in in_a {
            let prefix = v.prefix.as_deref().unwrap_or("l");
            items.push(item(v.col("span_id"), &format!("{prefix}_span_id")));
            group.push(v.col("span_id"));
            for c in &SPAN_COLS[1..] {
                // Functionally dependent on the span id: any aggregate returns the one value.
                items.push(item(call("max", vec![v.col(c)]), &format!("{prefix}_{c}")));
            }
        }
        items.push(item(call("count", vec![col("m", "span_id")]), "matched"));
        let from = left_join(table("a", "a"), derived(matches, "m"), on);
        select(items).from(vec![from]).group_by(group).query()
    }

    /// The violation rows of expect `j`: its failing assignments from `e_j`, with the ids of the
    /// spans that matched, looked up again for these few rows only.
    fn violation_rows(&mut self, j: usize, e: &TypedExpect, cte: &str) -> Query {
        let matched = col(cte, "matched");
        let fails = match e.quantifier {
            Quantifier::Some => binary(matched, BinaryOperator::Lt, int(1)),
            Quantifier::No => binary(matched, BinaryOperator::Gt, int(0)),
            Quantifier::Exactly(n) => binary(matched, BinaryOperator::NotEq, count_lit(n)),
            Quantifier::AtLeast(n) => binary(matched, BinaryOperator::Lt, count_lit(n)),
            Quantifier::AtMost(n) => binary(matched, BinaryOperator::Gt, count_lit(n)),
        };
        let failing = select(vec![SelectItem::Wildcard(Default::default())])
            .from(vec![table(cte, cte)])
            .filter(vec![fails])
            .query();
        let in_f: Vec<SpanVar> = (1..=self.model.lets.len())
            .map(|i| SpanVar {
                alias: "f".into(),
                prefix: Some(format!("l{i}")),
            })
            .collect();
        let (matches, on) = self.expect_matches(e, "f", &in_f, "w");
        let mut items = vec![
            item(string(&self.model.title), "model"),
            item(int(j as i64), "clause"),
            item(col("f", "trace_id"), "trace_id"),
        ];
        let mut group = vec![col("f", "trace_id")];
        for (i, l) in self.model.lets.iter().enumerate() {
            let id = col("f", &format!("l{}_span_id", i + 1));
            items.push(item(id.clone(), &format!("let_{}", l.name)));
            group.push(id);
        }
        items.push(item(col("f", "matched"), "matched"));
        group.push(col("f", "matched"));
        items.push(item(
            call_ordered(
                "string_agg",
                vec![col("w", "span_id"), string(",")],
                col("w", "span_id"),
            ),
            "witnesses",
        ));
        let from = left_join(derived(failing, "f"), derived(matches, "w"), on);
        select(items).from(vec![from]).group_by(group).query()
    }

    /// A `when` expression.
    fn value(&mut self, e: &Value, block: &mut Block) -> Val {
        match e {
            Value::Literal { literal, .. } => Val::Plain(literal_sql(literal)),
            Value::Field(f) => {
                // `trace.F` has no span; `X.trace.F` is the trace of X (the same trace), X joined.
                let s = f.spans.as_ref().map(|sel| self.term_span(sel, block));
                match (&f.access, s) {
                    (Access::Trace(column), _) => {
                        self.ctx.need_traces = true;
                        let t = self.ctx.fresh("t");
                        let tv = block.add_table("traces", &t);
                        Val::Plain(tv.col(column))
                    }
                    (Access::Tag(key), Some(s)) => {
                        let cte = self.ctx.tag_cte(key);
                        let g = self.ctx.fresh("g");
                        block.from.push(table(&cte, &g));
                        block.conds.push(eq(col(&g, "trace_id"), s.col("trace_id")));
                        block.conds.push(eq(col(&g, "span_id"), s.col("span_id")));
                        Val::Tag(g)
                    }
                    (Access::Column(column), Some(s)) => Val::Plain(s.col(column)),
                    (_, None) => unreachable!("the typing pass gives a span field its spans"),
                }
            }
            Value::Neg { expr, .. } => {
                let v = self.value(expr, block);
                Val::Plain(neg(cast_double(v.number(expr))))
            }
            Value::Arith { op, left, right, .. } => {
                let l = self.value(left, block);
                let r = self.value(right, block);
                let (lsql, rsql) = (cast_double(l.number(left)), cast_double(r.number(right)));
                Val::Plain(match op {
                    ArithOp::Add => binary(lsql, BinaryOperator::Plus, rsql),
                    ArithOp::Sub => binary(lsql, BinaryOperator::Minus, rsql),
                    ArithOp::Mul => binary(lsql, BinaryOperator::Multiply, rsql),
                    // Division by zero is a missing value, on every engine.
                    // `nullif(-0.0, 0.0)` is -0.0 in DataFusion (and x / -0.0 is NaN), but -0.0 = 0.0 holds.
                    ArithOp::Div => {
                        let zero = eq(rsql.clone(), float(0.0));
                        binary(lsql, BinaryOperator::Divide, case_when(zero, null(), rsql))
                    }
                })
            }
        }
    }
}

fn count_lit(n: u64) -> Sql {
    int(i64::try_from(n).unwrap_or(i64::MAX))
}
