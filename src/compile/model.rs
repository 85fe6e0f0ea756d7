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

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as Sql, Query, TableWithJoins};

use super::sql::*;
use super::types::{arith_ty, cmp_kind, field_ty, literal_ty, mirror, CmpKind, Ty};
use crate::model::ast::*;
use crate::model::ModelError;

/// Columns every span reference carries into `a`, for relations and witnesses.
const SPAN_COLS: [&str; 6] = [
    "span_id",
    "parent_span_id",
    "start_time",
    "end_time",
    "nested_left",
    "nested_right",
];

type CResult<T> = Result<T, ModelError>;

/// A span in scope: a table alias with the `spans` columns, or a let's columns inside `a`.
#[derive(Clone)]
struct SpanVar {
    alias: String,
    /// Set for lets read from `a` (`a.l1_span_id`).
    prefix: Option<String>,
}

impl SpanVar {
    fn table(alias: &str) -> SpanVar {
        SpanVar {
            alias: alias.into(),
            prefix: None,
        }
    }

    fn col(&self, column: &str) -> Sql {
        match &self.prefix {
            None => col(&self.alias, column),
            Some(p) => col(&self.alias, &format!("{p}_{column}")),
        }
    }
}

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
        let v = SpanVar::table(alias);
        self.from.push(table("spans", alias));
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
            Expr::Field(f) => f.selector.as_ref().is_some_and(inline) || matches!(f.field.node, Field::Tag(_)),
            Expr::Neg { expr: x, .. } => expr(x),
            Expr::Binary { left, right, .. } => expr(left) || expr(right),
        }
    }
    match c {
        Condition::Exists(t) => inline(&t.selector) || t.relation.as_ref().is_some_and(|r| inline(&r.target)),
        Condition::Compare { left, right, .. } => expr(left) || expr(right),
    }
}

/// A compiled value: its type and SQL, or a tag row alias.
enum Val {
    Plain {
        ty: Ty,
        sql: Sql,
        /// The result of arithmetic (a DOUBLE), rather than a column or constant.
        computed: bool,
        /// The text, when the value is a string constant (patterns, enum checks).
        text: Option<String>,
    },
    Tag(String),
}

impl Val {
    fn ty(&self) -> Ty {
        match self {
            Val::Plain { ty, .. } => *ty,
            Val::Tag(_) => Ty::Tag,
        }
    }

    /// The value as a number: timestamps as BIGINT nanoseconds, tags as their numeric value.
    fn number(&self) -> Sql {
        match self {
            Val::Plain {
                ty: Ty::Ts,
                sql,
                computed: false,
                ..
            } => cast_bigint(sql.clone()),
            Val::Plain { sql, .. } => sql.clone(),
            Val::Tag(g) => col(g, "num"),
        }
    }
}

/// Compiles one model.
pub(crate) struct ModelCompiler<'m> {
    model: &'m Model,
    tag_keys: Vec<String>,
    /// `w_i` CTEs: the let tuples (or traces) for which a `when` condition holds.
    when_ctes: Vec<(String, Query)>,
    next_alias: usize,
}

/// A model compiled into its parts.
pub(crate) struct ModelQueries {
    pub violations: Query,
    pub stats: Query,
    pub let_names: Vec<String>,
}

impl<'m> ModelCompiler<'m> {
    pub fn new(model: &'m Model) -> Self {
        ModelCompiler {
            model,
            tag_keys: Vec::new(),
            when_ctes: Vec::new(),
            next_alias: 0,
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        format!("{prefix}{}", self.next_alias)
    }

    fn let_index(&self, name: &Spanned<String>) -> CResult<usize> {
        self.model
            .lets
            .iter()
            .position(|l| l.name.node == name.node)
            .ok_or_else(|| ModelError::new(name.span.range(), format!("unknown name `{}`", name.node)))
    }

    fn tag_cte(&mut self, key: &str) -> String {
        let i = match self.tag_keys.iter().position(|k| k == key) {
            Some(i) => i,
            None => {
                self.tag_keys.push(key.to_string());
                self.tag_keys.len() - 1
            }
        };
        format!("tag_{}", i + 1)
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
            selects.push(self.violation_rows(j + 1, e, &name));
        }
        let mut ctes: Vec<(String, Query)> = self
            .tag_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("tag_{}", i + 1), tag_values(k)))
            .collect();
        ctes.extend(std::mem::take(&mut self.when_ctes));
        ctes.push(("a".into(), assignments));
        let stats_body = select(vec![
            item(call("count", vec![int(1)]), "assignments"),
            item(
                Sql::Function({
                    let Sql::Function(mut f) = call("count", vec![col("a", "trace_id")]) else {
                        unreachable!("call builds a function")
                    };
                    if let datafusion::sql::sqlparser::ast::FunctionArguments::List(l) = &mut f.args {
                        l.duplicate_treatment = Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct);
                    }
                    f
                }),
                "traces",
            ),
        ])
        .from(vec![table("a", "a")])
        .query();
        let stats = with(stats_body, ctes.clone());
        ctes.extend(expect_ctes);
        let mut order = vec![col_plain("clause"), col_plain("trace_id")];
        order.extend(let_names.iter().map(|n| col_plain(&format!("let_{n}"))));
        let violations = with(order_by(union_all(selects), order), ctes);
        Ok(ModelQueries {
            violations,
            stats,
            let_names,
        })
    }

    /// `a`: the assignments of the lets (or the traces) for which `when` holds.
    fn assignments(&mut self) -> CResult<Query> {
        let model = self.model;
        if model.lets.is_empty() {
            let traces = select(vec![item_expr(col_plain("trace_id"))])
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
                conds.push(self.predicate(p, v)?);
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
        let x = self.fresh("x");
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
                    let c = self.predicate(p, &v)?;
                    block.conds.push(c);
                }
                if let Lets::Local(slots) = &mut block.lets {
                    slots[j] = Some(v.clone());
                }
                Ok(v)
            }
            Selector::Inline { predicates, .. } => {
                let alias = self.fresh("v");
                let v = block.add_span(&alias);
                for p in predicates {
                    let c = self.predicate(p, &v)?;
                    block.conds.push(c);
                }
                Ok(v)
            }
        }
    }

    /// `e_j`: per assignment, the number of spans matching the expect, and their ids.
    fn expect_counts(&mut self, e: &Expect, in_a: &[SpanVar]) -> CResult<Query> {
        let s = SpanVar::table("s");
        let mut filter = Vec::new();
        let mut on = vec![eq(col("m", "trace_id"), col("a", "trace_id"))];
        let m = SpanVar::table("m");
        match &e.term.selector {
            Selector::Ref(name) => {
                let i = self.let_index(name)?;
                on.push(eq(m.col("span_id"), in_a[i].col("span_id")));
            }
            Selector::Inline { predicates, .. } => {
                for p in predicates {
                    filter.push(self.predicate(p, &s)?);
                }
            }
        }
        if let Some(rel) = &e.term.relation {
            match &rel.target {
                Selector::Ref(name) => {
                    let i = self.let_index(name)?;
                    on.push(relation(rel.kind, &m, &in_a[i]));
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
        let mut items = vec![item(col("a", "trace_id"), "trace_id")];
        let mut group = vec![col("a", "trace_id")];
        for v in in_a {
            let name = format!("{}_span_id", v.prefix.as_deref().unwrap_or("l"));
            items.push(item(v.col("span_id"), &name));
            group.push(v.col("span_id"));
        }
        items.push(item(call("count", vec![m.col("span_id")]), "matched"));
        items.push(item(
            call_ordered("string_agg", vec![m.col("span_id"), string(",")], m.col("span_id")),
            "witnesses",
        ));
        let from = left_join(table("a", "a"), derived(matches, "m"), and(on));
        Ok(select(items).from(vec![from]).group_by(group).query())
    }

    /// The violation rows of expect `j` from its counts CTE.
    fn violation_rows(&self, j: usize, e: &Expect, cte: &str) -> Query {
        let matched = col(cte, "matched");
        let fails = match e.quantifier {
            Quantifier::Some => binary(matched, BinaryOperator::Lt, int(1)),
            Quantifier::No => binary(matched, BinaryOperator::Gt, int(0)),
            Quantifier::Exactly(n) => binary(matched, BinaryOperator::NotEq, count_lit(n)),
            Quantifier::AtLeast(n) => binary(matched, BinaryOperator::Lt, count_lit(n)),
            Quantifier::AtMost(n) => binary(matched, BinaryOperator::Gt, count_lit(n)),
        };
        let mut items = vec![
            item(string(&self.model.title.node), "model"),
            item(int(j as i64), "clause"),
            item(col(cte, "trace_id"), "trace_id"),
        ];
        for (i, l) in self.model.lets.iter().enumerate() {
            items.push(item(
                col(cte, &format!("l{}_span_id", i + 1)),
                &format!("let_{}", l.name.node),
            ));
        }
        items.push(item(col(cte, "matched"), "matched"));
        items.push(item(col(cte, "witnesses"), "witnesses"));
        select(items).from(vec![table(cte, cte)]).filter(vec![fails]).query()
    }

    /// `FIELD OP LITERAL` on span `s`.
    fn predicate(&mut self, p: &Predicate, s: &SpanVar) -> CResult<Sql> {
        let err = |m: String| ModelError::new(p.span.range(), m);
        let lit = literal(&p.value.node);
        if let Field::Tag(key) = &p.field.node {
            let cte = self.tag_cte(key);
            let g = self.fresh("g");
            let link = vec![
                eq(col(&g, "trace_id"), s.col("trace_id")),
                eq(col(&g, "span_id"), s.col("span_id")),
            ];
            let c = self.compare(Val::Tag(g.clone()), p.op.node, lit).map_err(err)?;
            let mut conds = link;
            conds.push(c);
            let q = select(vec![item_expr(int(1))])
                .from(vec![table(&cte, &g)])
                .filter(conds)
                .query();
            return Ok(exists(q, false));
        }
        let ty = field_ty(&p.field.node).map_err(|m| ModelError::new(p.field.span.range(), m))?;
        let column = p.field.node.column().expect("span fields have a column");
        let v = Val::Plain {
            ty,
            sql: s.col(column),
            computed: false,
            text: None,
        };
        self.compare(v, p.op.node, lit).map_err(err)
    }

    /// A `when` expression.
    fn value(&mut self, e: &Expr, block: &mut Block) -> CResult<Val> {
        match e {
            Expr::Literal(l) => Ok(literal(&l.node)),
            Expr::Field(f) => {
                let Some(sel) = &f.selector else {
                    let m = field_ty(&f.field.node)
                        .err()
                        .unwrap_or_else(|| "a field needs a span".into());
                    return Err(ModelError::new(f.span.range(), m));
                };
                let s = self.term_span(sel, block)?;
                if let Field::Tag(key) = &f.field.node {
                    let cte = self.tag_cte(key);
                    let g = self.fresh("g");
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
                    ArithOp::Div => binary(lsql, BinaryOperator::Divide, call("nullif", vec![rsql, float(0.0)])),
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

    /// `left op right`, type-checked.
    fn compare(&self, left: Val, op: CmpOp, right: Val) -> Result<Sql, String> {
        // Put a lone tag on the left so the typing rules need one orientation.
        let (left, op, right) = if right.ty() == Ty::Tag && left.ty() != Ty::Tag {
            if matches!(op, CmpOp::Match | CmpOp::Contains) {
                return Err(format!("`{}` needs the tag or string on its left", op.as_str()));
            }
            (right, mirror(op), left)
        } else {
            (left, op, right)
        };
        let right_text = match &right {
            Val::Plain { text, .. } => text.clone(),
            Val::Tag(_) => None,
        };
        let kind = cmp_kind(left.ty(), op, right.ty(), right_text.is_some())?;
        // Numbers, durations and timestamps that were computed (DOUBLE) compare as numbers.
        let computed = |v: &Val| matches!(v, Val::Plain { computed: true, .. });
        let kind = if kind == CmpKind::Same && (computed(&left) || computed(&right)) {
            CmpKind::Numeric
        } else {
            kind
        };
        check_enum_text(&left, &right)?;
        check_enum_text(&right, &left)?;
        if let (CmpOp::Match, Some(p)) = (op, &right_text) {
            regex::Regex::new(p).map_err(|e| {
                // The regex crate's message draws its own caret over several lines; keep the reason.
                let text = e.to_string();
                let reason = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
                format!("invalid regular expression: {}", reason.trim_start_matches("error: "))
            })?;
        }
        let plain = |v: &Val| match v {
            Val::Plain { sql, .. } => sql.clone(),
            Val::Tag(g) => col(g, "str_value"),
        };
        Ok(match kind {
            CmpKind::Same => text_or_cmp(plain(&left), op, plain(&right), right_text.as_deref()),
            CmpKind::Numeric => cmp(left.number(), op, right.number()),
            CmpKind::TagStr => {
                let Val::Tag(g) = &left else { unreachable!() };
                text_or_cmp(col(g, "str_value"), op, plain(&right), right_text.as_deref())
            }
            CmpKind::TagNum => {
                let Val::Tag(g) = &left else { unreachable!() };
                cmp(col(g, "num"), op, right.number())
            }
            CmpKind::TagBool => {
                let Val::Tag(g) = &left else { unreachable!() };
                cmp(col(g, "bool_value"), op, plain(&right))
            }
            CmpKind::TagTag => {
                let (Val::Tag(a), Val::Tag(b)) = (&left, &right) else {
                    unreachable!()
                };
                or(["num", "str_value", "bool_value"]
                    .iter()
                    .map(|c| cmp(col(a, c), op, col(b, c)))
                    .collect())
            }
        })
    }
}

/// An enum field compared with a string constant: the constant must be one of its values.
fn check_enum_text(a: &Val, b: &Val) -> Result<(), String> {
    if let (Val::Plain { ty: Ty::Enum, .. }, Val::Plain { text: Some(t), .. }) = (a, b) {
        let all = [
            crate::model::ast::KIND_VALUES.as_slice(),
            crate::model::ast::STATUS_VALUES.as_slice(),
        ];
        if !all.iter().any(|vals| vals.contains(&t.as_str())) {
            return Err(format!(
                "{t:?} is not a kind ({}) or a status ({})",
                crate::model::ast::KIND_VALUES.join(", "),
                crate::model::ast::STATUS_VALUES.join(", ")
            ));
        }
    }
    Ok(())
}

fn col_plain(name: &str) -> Sql {
    Sql::Identifier(ident(name))
}

fn count_lit(n: u64) -> Sql {
    int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn literal(l: &Literal) -> Val {
    let (sql, text) = match l {
        Literal::Str(s) => (string(s), Some(s.clone())),
        Literal::Int(n) => (int(*n), None),
        Literal::Float(x) => (float(*x), None),
        Literal::Duration(ns) => (int(*ns), None),
        Literal::Bool(b) => (boolean(*b), None),
        Literal::Enum(s) => (string(s), None),
    };
    Val::Plain {
        ty: literal_ty(l),
        sql,
        computed: false,
        text,
    }
}

fn cmp(left: Sql, op: CmpOp, right: Sql) -> Sql {
    let op = match op {
        CmpOp::Eq => BinaryOperator::Eq,
        CmpOp::Ne => BinaryOperator::NotEq,
        CmpOp::Lt => BinaryOperator::Lt,
        CmpOp::Le => BinaryOperator::LtEq,
        CmpOp::Gt => BinaryOperator::Gt,
        CmpOp::Ge => BinaryOperator::GtEq,
        CmpOp::Match | CmpOp::Contains => unreachable!("text operators are compiled by text_or_cmp"),
    };
    binary(left, op, right)
}

/// `=~` and `contains` (whose right side is a constant), or a plain comparison.
fn text_or_cmp(left: Sql, op: CmpOp, right: Sql, right_text: Option<&str>) -> Sql {
    match (op, right_text) {
        // `~` (unanchored match) reads the same in DataFusion, DuckDB and PostgreSQL.
        (CmpOp::Match, _) => binary(left, BinaryOperator::PGRegexMatch, right),
        // `strpos(x, '')` differs between engines; every string contains the empty string.
        (CmpOp::Contains, Some("")) => is_not_null(left),
        (CmpOp::Contains, _) => binary(call("strpos", vec![left, right]), BinaryOperator::Gt, int(0)),
        _ => cmp(left, op, right),
    }
}

/// `s REL t` for two spans of the same trace.
fn relation(kind: RelationKind, s: &SpanVar, t: &SpanVar) -> Sql {
    let ne = || binary(s.col("span_id"), BinaryOperator::NotEq, t.col("span_id"));
    let le = |a: Sql, b: Sql| binary(a, BinaryOperator::LtEq, b);
    let lt = |a: Sql, b: Sql| binary(a, BinaryOperator::Lt, b);
    match kind {
        RelationKind::ChildOf => eq(s.col("parent_span_id"), t.col("span_id")),
        RelationKind::ParentOf => eq(t.col("parent_span_id"), s.col("span_id")),
        RelationKind::DescendantOf => and(vec![
            lt(t.col("nested_left"), s.col("nested_left")),
            lt(s.col("nested_right"), t.col("nested_right")),
        ]),
        RelationKind::AncestorOf => and(vec![
            lt(s.col("nested_left"), t.col("nested_left")),
            lt(t.col("nested_right"), s.col("nested_right")),
        ]),
        RelationKind::SiblingOf => and(vec![eq(s.col("parent_span_id"), t.col("parent_span_id")), ne()]),
        RelationKind::Before => and(vec![le(s.col("end_time"), t.col("start_time")), ne()]),
        RelationKind::After => and(vec![le(t.col("end_time"), s.col("start_time")), ne()]),
        RelationKind::During => and(vec![
            le(t.col("start_time"), s.col("start_time")),
            le(s.col("end_time"), t.col("end_time")),
            ne(),
        ]),
    }
}

/// `tag_i`: the values of tag `key` per span: its span attributes, else its resource attributes.
fn tag_values(key: &str) -> Query {
    let t = SpanVar::table("t");
    let items = || {
        vec![
            item(t.col("trace_id"), "trace_id"),
            item(t.col("span_id"), "span_id"),
            item(t.col("str_value"), "str_value"),
            item(t.col("bool_value"), "bool_value"),
            item(
                call("coalesce", vec![cast_double(t.col("int_value")), t.col("double_value")]),
                "num",
            ),
        ]
    };
    let span_scope = select(items())
        .from(vec![table("tags", "t")])
        .filter(vec![eq(t.col("key"), string(key)), eq(t.col("scope"), string("span"))])
        .query();
    let o = SpanVar::table("o");
    let shadowed = select(vec![item_expr(int(1))])
        .from(vec![table("tags", "o")])
        .filter(vec![
            eq(o.col("trace_id"), t.col("trace_id")),
            eq(o.col("span_id"), t.col("span_id")),
            eq(o.col("key"), string(key)),
            eq(o.col("scope"), string("span")),
        ])
        .query();
    let resource_scope = select(items())
        .from(vec![table("tags", "t")])
        .filter(vec![
            eq(t.col("key"), string(key)),
            eq(t.col("scope"), string("resource")),
            exists(shadowed, true),
        ])
        .query();
    union_all(vec![span_scope, resource_scope])
}
