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

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as Sql, Query, SelectItem, TableWithJoins};

use super::sql::*;
use super::types::{arith_ty, field_ty, Ty};
use super::values::{
    literal, relation, shared_tag_values, tag_values, trace_column, traces_cte, CResult, Ctx, SpanVar, Val,
};
use crate::model::ast::*;
use crate::model::ModelError;

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

/// How a block reaches the lets: through the enclosing row's columns, or as its own tables.
enum Lets {
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
struct Block {
    from: Vec<TableWithJoins>,
    conds: Vec<Sql>,
    outer_trace: Option<Sql>,
    anchor: Option<Sql>,
    lets: Lets,
}

impl Block {
    fn new(outer_trace: Option<Sql>, lets: Lets) -> Block {
        Block {
            from: Vec::new(),
            conds: Vec::new(),
            outer_trace,
            anchor: None,
            lets,
        }
    }

    /// Adds `spans AS alias` of the same trace.
    fn add_span(&mut self, alias: &str) -> SpanVar {
        self.add_table("spans", alias)
    }

    /// Adds `name AS alias` (a table with a `trace_id`) of the same trace.
    fn add_table(&mut self, name: &str, alias: &str) -> SpanVar {
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

    fn into_expr(self) -> Sql {
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

/// Whether a condition needs tables of its own (an inline selector or a tag), rather than being a
/// plain expression over the lets' columns.
fn needs_tables(c: &Condition) -> bool {
    fn inline(s: &Selector) -> bool {
        matches!(s, Selector::Inline { .. })
    }
    fn expr(e: &Expr) -> bool {
        match e {
            Expr::Literal(_) => false,
            Expr::Field(f) => {
                f.selector.as_ref().is_none_or(inline)
                    || matches!(f.field.node, Field::Tag(_))
                    || f.field.node.is_trace_field()
            }
            Expr::Neg { expr: x, .. } => expr(x),
            Expr::Binary { left, right, .. } => expr(left) || expr(right),
        }
    }
    match c {
        Condition::Exists(t) => inline(&t.selector) || t.relation.as_ref().is_some_and(|r| inline(&r.target)),
        Condition::Compare { left, right, .. } => expr(left) || expr(right),
    }
}

/// Compiles one model.
pub(crate) struct ModelCompiler<'m> {
    model: &'m Model,
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
    pub fn new(model: &'m Model) -> Self {
        ModelCompiler {
            model,
            ctx: Ctx::default(),
            when_ctes: Vec::new(),
        }
    }

    fn let_index(&self, name: &Spanned<String>) -> CResult<usize> {
        self.model
            .lets
            .iter()
            .position(|l| l.name.node == name.node)
            .ok_or_else(|| ModelError::new(name.span.range(), format!("unknown name `{}`", name.node)))
    }

    pub fn compile(mut self) -> CResult<ModelQueries> {
        let model = self.model;
        let let_names: Vec<String> = model.lets.iter().map(|l| l.name.node.clone()).collect();
        let assignments = self.assignments()?;
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
            expect_ctes.push((name.clone(), self.expect_counts(e, &in_a)?));
            selects.push(self.violation_rows(j + 1, e, &name)?);
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
        Ok(ModelQueries {
            violations,
            stats,
            staged_assignments,
            staged_violations: with(body, staged),
            staged_stats: stats_of(STAGED_A),
            let_names,
            tag_keys: self.ctx.tag_keys.clone(),
        })
    }

    /// `a`: the assignments of the lets (or the traces) for which `when` holds.
    fn assignments(&mut self) -> CResult<Query> {
        let model = self.model;
        if model.lets.is_empty() {
            let traces = select(vec![item_expr(name("trace_id"))])
                .distinct()
                .from(vec![table("spans", "spans")])
                .query();
            let conds = self.when_conditions(&[], &col("tr", "trace_id"))?;
            return Ok(select(vec![item(col("tr", "trace_id"), "trace_id")])
                .from(vec![derived(traces, "tr")])
                .filter(conds)
                .query());
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
            let Selector::Inline { predicates, .. } = &l.selector else {
                return Err(ModelError::new(l.span.range(), "a let must name span(...)"));
            };
            for p in predicates {
                conds.push(self.ctx.predicate(p, v)?);
            }
            for c in SPAN_COLS {
                items.push(item(v.col(c), &format!("{}_{c}", v.alias)));
            }
        }
        conds.extend(self.when_conditions(&vars, &vars[0].col("trace_id"))?);
        Ok(select(items).from(from).filter(conds).query())
    }

    fn when_conditions(&mut self, lets: &[SpanVar], trace: &Sql) -> CResult<Vec<Sql>> {
        let Some(w) = &self.model.when else {
            return Ok(Vec::new());
        };
        w.conditions.iter().map(|c| self.condition(c, lets, trace)).collect()
    }

    /// A `when` condition as a filter on the rows of `a` (whose lets and trace id are given).
    fn condition(&mut self, c: &Condition, lets: &[SpanVar], trace: &Sql) -> CResult<Sql> {
        if !needs_tables(c) {
            // Only the lets' own columns and constants: a plain filter.
            let mut block = Block::new(Some(trace.clone()), Lets::Outer(lets.to_vec()));
            self.condition_into(c, &mut block)?;
            return Ok(block.into_expr());
        }
        // Uncorrelated joins in a CTE of the let tuples (or traces) where the condition holds, then a
        // semi join on distinct column names (see `Block`).
        let mut block = Block::new(None, Lets::Local(vec![None; lets.len()]));
        self.condition_into(c, &mut block)?;
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
        Ok(exists(q, false))
    }

    fn condition_into(&mut self, c: &Condition, block: &mut Block) -> CResult<()> {
        match c {
            Condition::Exists(term) => {
                let s = self.term_span(&term.selector, block)?;
                if let Some(rel) = &term.relation {
                    let t = self.term_span(&rel.target, block)?;
                    block.conds.push(relation(rel.kind, &s, &t));
                }
            }
            Condition::Compare { left, op, right, span } => {
                let l = self.value(left, block)?;
                let r = self.value(right, block)?;
                let c = self
                    .ctx
                    .compare(l, op.node, r)
                    .map_err(|m| ModelError::new(span.range(), m))?;
                block.conds.push(c);
            }
        }
        Ok(())
    }

    /// The span a selector stands for inside `block`: a let, or a new existential span.
    fn term_span(&mut self, sel: &Selector, block: &mut Block) -> CResult<SpanVar> {
        match sel {
            Selector::Ref(name) => {
                let j = self.let_index(name)?;
                let existing = match &block.lets {
                    Lets::Outer(vars) => return Ok(vars[j].clone()),
                    Lets::Local(slots) => slots[j].clone(),
                };
                if let Some(v) = existing {
                    return Ok(v);
                }
                let v = block.add_span(&format!("l{}", j + 1));
                let Selector::Inline { predicates, .. } = &self.model.lets[j].selector else {
                    return Err(ModelError::new(name.span.range(), "a let must name span(...)"));
                };
                for p in predicates {
                    let c = self.ctx.predicate(p, &v)?;
                    block.conds.push(c);
                }
                if let Lets::Local(slots) = &mut block.lets {
                    slots[j] = Some(v.clone());
                }
                Ok(v)
            }
            Selector::Inline { predicates, .. } => {
                let alias = self.ctx.fresh("v");
                let v = block.add_span(&alias);
                for p in predicates {
                    let c = self.ctx.predicate(p, &v)?;
                    block.conds.push(c);
                }
                Ok(v)
            }
        }
    }

    /// The spans matching expect `e` for the assignment whose lets are `lets` (columns of `left`):
    /// a derived table of candidate spans, and the join condition tying them to the assignment.
    fn expect_matches(&mut self, e: &Expect, left: &str, lets: &[SpanVar], alias: &str) -> CResult<(Query, Sql)> {
        let s = SpanVar::table("s");
        let m = SpanVar::table(alias);
        let mut filter = Vec::new();
        let mut on = vec![eq(m.col("trace_id"), col(left, "trace_id"))];
        match &e.term.selector {
            Selector::Ref(name) => {
                let i = self.let_index(name)?;
                on.push(eq(m.col("span_id"), lets[i].col("span_id")));
            }
            Selector::Inline { predicates, .. } => {
                for p in predicates {
                    filter.push(self.ctx.predicate(p, &s)?);
                }
            }
        }
        if let Some(rel) = &e.term.relation {
            match &rel.target {
                Selector::Ref(name) => {
                    let i = self.let_index(name)?;
                    on.push(relation(rel.kind, &m, &lets[i]));
                }
                Selector::Inline { .. } => {
                    let mut block = Block::new(Some(s.col("trace_id")), Lets::Outer(Vec::new()));
                    let t = self.term_span(&rel.target, &mut block)?;
                    block.conds.push(relation(rel.kind, &s, &t));
                    filter.push(block.into_expr());
                }
            }
        }
        let mut cols = vec![item(s.col("trace_id"), "trace_id")];
        cols.extend(SPAN_COLS.iter().map(|c| item(s.col(c), c)));
        let matches = select(cols).from(vec![table("spans", "s")]).filter(filter).query();
        Ok((matches, and(on)))
    }

    /// `e_j`: per assignment, the number of spans matching the expect (and the lets' columns, which
    /// the witness lookup needs). Only a count: collecting the ids of every assignment's matches
    /// (an ordered `string_agg` over millions of groups) cost far more than the joins.
    fn expect_counts(&mut self, e: &Expect, in_a: &[SpanVar]) -> CResult<Query> {
        let (matches, on) = self.expect_matches(e, "a", in_a, "m")?;
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
        Ok(select(items).from(vec![from]).group_by(group).query())
    }

    /// The violation rows of expect `j`: its failing assignments from `e_j`, with the ids of the
    /// spans that matched, looked up again for these few rows only.
    fn violation_rows(&mut self, j: usize, e: &Expect, cte: &str) -> CResult<Query> {
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
        let (matches, on) = self.expect_matches(e, "f", &in_f, "w")?;
        let mut items = vec![
            item(string(&self.model.title.node), "model"),
            item(int(j as i64), "clause"),
            item(col("f", "trace_id"), "trace_id"),
        ];
        let mut group = vec![col("f", "trace_id")];
        for (i, l) in self.model.lets.iter().enumerate() {
            let id = col("f", &format!("l{}_span_id", i + 1));
            items.push(item(id.clone(), &format!("let_{}", l.name.node)));
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
        Ok(select(items).from(vec![from]).group_by(group).query())
    }

    /// A `when` expression.
    fn value(&mut self, e: &Expr, block: &mut Block) -> CResult<Val> {
        match e {
            Expr::Literal(l) => Ok(literal(&l.node)),
            Expr::Field(f) => {
                if f.field.node.is_trace_field() {
                    // `trace.F`, or `X.trace.F` for the trace of X (the same trace).
                    if let Some(sel) = &f.selector {
                        self.term_span(sel, block)?;
                    }
                    self.ctx.need_traces = true;
                    let t = self.ctx.fresh("t");
                    let tv = block.add_table("traces", &t);
                    let ty = field_ty(&f.field.node).map_err(|m| ModelError::new(f.field.span.range(), m))?;
                    return Ok(Val::Plain {
                        ty,
                        sql: tv.col(trace_column(&f.field.node)),
                        computed: false,
                        text: None,
                    });
                }
                let Some(sel) = &f.selector else {
                    return Err(ModelError::new(f.span.range(), "a field needs a span"));
                };
                let s = self.term_span(sel, block)?;
                if let Field::Tag(key) = &f.field.node {
                    let cte = self.ctx.tag_cte(key);
                    let g = self.ctx.fresh("g");
                    block.from.push(table(&cte, &g));
                    block.conds.push(eq(col(&g, "trace_id"), s.col("trace_id")));
                    block.conds.push(eq(col(&g, "span_id"), s.col("span_id")));
                    return Ok(Val::Tag(g));
                }
                let ty = field_ty(&f.field.node).map_err(|m| ModelError::new(f.field.span.range(), m))?;
                let column = f.field.node.column().expect("span fields have a column");
                Ok(Val::Plain {
                    ty,
                    sql: s.col(column),
                    computed: false,
                    text: None,
                })
            }
            Expr::Neg { expr, span } => {
                let v = self.value(expr, block)?;
                let ty = match v.ty() {
                    Ty::Num | Ty::Tag => Ty::Num,
                    Ty::Dur => Ty::Dur,
                    other => {
                        return Err(ModelError::new(
                            span.range(),
                            format!("cannot negate {}", other.describe()),
                        ))
                    }
                };
                Ok(Val::Plain {
                    ty,
                    sql: neg(cast_double(v.number())),
                    computed: true,
                    text: None,
                })
            }
            Expr::Binary { op, left, right, span } => {
                let l = self.value(left, block)?;
                let r = self.value(right, block)?;
                let ty = arith_ty(*op, l.ty(), r.ty()).map_err(|m| ModelError::new(span.range(), m))?;
                let (lsql, rsql) = (cast_double(l.number()), cast_double(r.number()));
                let sql = match op {
                    ArithOp::Add => binary(lsql, BinaryOperator::Plus, rsql),
                    ArithOp::Sub => binary(lsql, BinaryOperator::Minus, rsql),
                    ArithOp::Mul => binary(lsql, BinaryOperator::Multiply, rsql),
                    // Division by zero is a missing value, on every engine.
                    // `nullif(-0.0, 0.0)` is -0.0 in DataFusion (and x / -0.0 is NaN), but -0.0 = 0.0 holds.
                    ArithOp::Div => {
                        let zero = eq(rsql.clone(), float(0.0));
                        binary(lsql, BinaryOperator::Divide, case_when(zero, null(), rsql))
                    }
                };
                Ok(Val::Plain {
                    ty,
                    sql,
                    computed: true,
                    text: None,
                })
            }
        }
    }
}

fn count_lit(n: u64) -> Sql {
    int(i64::try_from(n).unwrap_or(i64::MAX))
}
