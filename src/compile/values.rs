//! Values, predicates and comparisons shared by the model and check compilers.

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as Sql, Query, SelectItem};

use super::sql::*;
use super::typed::{Access, Comparison, Value};
use super::types::{mirror, CmpKind, Ty};
use crate::model::ast::{CmpOp, Literal, RelationKind};
use crate::model::ModelError;

pub(crate) type CResult<T> = Result<T, ModelError>;

/// A span in scope: a table alias with the `spans` columns, or a let's columns inside `a`.
#[derive(Clone)]
pub(crate) struct SpanVar {
    pub alias: String,
    /// Set for lets read from `a` (`a.l1_span_id`).
    pub prefix: Option<String>,
}

impl SpanVar {
    pub fn table(alias: &str) -> SpanVar {
        SpanVar {
            alias: alias.into(),
            prefix: None,
        }
    }

    pub fn col(&self, column: &str) -> Sql {
        match &self.prefix {
            None => col(&self.alias, column),
            Some(p) => col(&self.alias, &format!("{p}_{column}")),
        }
    }
}

/// A compiled value: its SQL, or a tag row alias (whose columns hold the value per type).
// A value lives only while one comparison is compiled; boxing the SQL tree would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Val {
    Plain(Sql),
    Tag(String),
}

impl Val {
    /// The value as a number: timestamps as BIGINT nanoseconds, tags as their numeric value.
    /// `typed` is the value this is the SQL of.
    pub fn number(&self, typed: &Value) -> Sql {
        match self {
            Val::Plain(sql) if typed.ty() == Ty::Ts && !typed.computed() => cast_bigint(sql.clone()),
            Val::Plain(sql) => sql.clone(),
            Val::Tag(g) => col(g, "num"),
        }
    }

    /// The value compared as it is (a tag by its text).
    fn plain(&self) -> Sql {
        match self {
            Val::Plain(sql) => sql.clone(),
            Val::Tag(g) => col(g, "str_value"),
        }
    }

    fn tag(&self) -> &str {
        match self {
            Val::Tag(g) => g,
            Val::Plain(_) => unreachable!("the typing pass puts a tag where the comparison needs one"),
        }
    }
}

/// Aliases and tag CTEs of one compiled query.
#[derive(Default)]
pub(crate) struct Ctx {
    /// Tag keys looked up, in order: CTE `tag_i` holds the values of key i.
    pub tag_keys: Vec<String>,
    /// Whether the query reads trace-level values (the `traces` CTE).
    pub need_traces: bool,
    next_alias: usize,
}

impl Ctx {
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        format!("{prefix}{}", self.next_alias)
    }

    pub fn tag_cte(&mut self, key: &str) -> String {
        let i = match self.tag_keys.iter().position(|k| k == key) {
            Some(i) => i,
            None => {
                self.tag_keys.push(key.to_string());
                self.tag_keys.len() - 1
            }
        };
        format!("tag_{}", i + 1)
    }

    /// A typed predicate (`FIELD OP LITERAL`) on span `s`.
    pub fn predicate(&mut self, p: &Comparison, s: &SpanVar) -> Sql {
        let Value::Field(field) = &p.left else {
            unreachable!("a predicate compares a field of the span")
        };
        let lit = literal(&p.right);
        match &field.access {
            Access::Tag(key) => {
                let cte = self.tag_cte(key);
                let g = self.fresh("g");
                let mut conds = vec![
                    eq(col(&g, "trace_id"), s.col("trace_id")),
                    eq(col(&g, "span_id"), s.col("span_id")),
                ];
                conds.push(compare(p, Val::Tag(g.clone()), lit));
                let q = select(vec![item_expr(int(1))])
                    .from(vec![table(&cte, &g)])
                    .filter(conds)
                    .query();
                exists(q, false)
            }
            Access::Trace(column) => {
                // The span's trace: its row of `traces`.
                self.need_traces = true;
                let t = self.fresh("t");
                let c = compare(p, Val::Plain(col(&t, column)), lit);
                let q = select(vec![item_expr(int(1))])
                    .from(vec![table("traces", &t)])
                    .filter(vec![eq(col(&t, "trace_id"), s.col("trace_id")), c])
                    .query();
                exists(q, false)
            }
            Access::Column(column) => compare(p, Val::Plain(s.col(column)), lit),
        }
    }
}

/// The SQL of a typed comparison whose sides compiled to `left` and `right`.
pub(crate) fn compare(c: &Comparison, left: Val, right: Val) -> Sql {
    let (left, right, typed_left, typed_right, op) = match c.swapped {
        true => (right, left, &c.right, &c.left, mirror(c.op)),
        false => (left, right, &c.left, &c.right, c.op),
    };
    let right_text = typed_right.text();
    match c.how {
        CmpKind::Same => text_or_cmp(left.plain(), op, right.plain(), right_text),
        CmpKind::Numeric => cmp(left.number(typed_left), op, right.number(typed_right)),
        CmpKind::TagStr => text_or_cmp(col(left.tag(), "str_value"), op, right.plain(), right_text),
        CmpKind::TagNum => cmp(col(left.tag(), "num"), op, right.number(typed_right)),
        CmpKind::TagBool => cmp(col(left.tag(), "bool_value"), op, right.plain()),
        CmpKind::TagTag => {
            let (a, b) = (left.tag(), right.tag());
            or(["num", "str_value", "bool_value"]
                .iter()
                .map(|c| cmp(col(a, c), op, col(b, c)))
                .collect())
        }
    }
}

/// A constant's SQL.
pub(crate) fn literal(v: &Value) -> Val {
    let Value::Literal { literal, .. } = v else {
        unreachable!("a predicate compares with a constant")
    };
    Val::Plain(literal_sql(literal))
}

pub(crate) fn literal_sql(l: &Literal) -> Sql {
    match l {
        Literal::Str(s) | Literal::Enum(s) => string(s),
        Literal::Int(n) => int(*n),
        Literal::Float(x) => float(*x),
        Literal::Duration(ns) => int(*ns),
        Literal::Bool(b) => boolean(*b),
    }
}

pub(crate) fn cmp(left: Sql, op: CmpOp, right: Sql) -> Sql {
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
pub(crate) fn relation(kind: RelationKind, s: &SpanVar, t: &SpanVar) -> Sql {
    let ne = || binary(s.col("span_id"), BinaryOperator::NotEq, t.col("span_id"));
    let le = |a: Sql, b: Sql| binary(a, BinaryOperator::LtEq, b);
    let lt = |a: Sql, b: Sql| binary(a, BinaryOperator::Lt, b);
    match kind {
        // A span that names itself as parent is a root, not its own child (nor anyone's sibling).
        RelationKind::ChildOf => and(vec![eq(s.col("parent_span_id"), t.col("span_id")), ne()]),
        RelationKind::ParentOf => and(vec![eq(t.col("parent_span_id"), s.col("span_id")), ne()]),
        RelationKind::DescendantOf => and(vec![
            lt(t.col("nested_left"), s.col("nested_left")),
            lt(s.col("nested_right"), t.col("nested_right")),
        ]),
        RelationKind::AncestorOf => and(vec![
            lt(s.col("nested_left"), t.col("nested_left")),
            lt(t.col("nested_right"), s.col("nested_right")),
        ]),
        RelationKind::SiblingOf => and(vec![
            eq(s.col("parent_span_id"), t.col("parent_span_id")),
            ne(),
            binary(s.col("parent_span_id"), BinaryOperator::NotEq, s.col("span_id")),
            binary(t.col("parent_span_id"), BinaryOperator::NotEq, t.col("span_id")),
        ]),
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
pub(crate) fn tag_values(key: &str) -> Query {
    let t = SpanVar::table("t");
    let items = || {
        vec![
            item(t.col("trace_id"), "trace_id"),
            item(t.col("span_id"), "span_id"),
            item(t.col("str_value"), "str_value"),
            item(t.col("bool_value"), "bool_value"),
            item(t.col("value"), "value"),
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

/// The name of the memory table that holds `tag_values(key)` for the staged plan: one per tag key
/// and run, shared by every model of the run (`check::staged` fills it on first use). The key is
/// spelled in hex, so any key gives a plain identifier.
pub(crate) fn shared_tag_table(key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("tracecheck_tag_{hex}")
}

/// The staged plan's `tag_i`: every row of the shared table of `key`.
pub(crate) fn shared_tag_values(key: &str) -> Query {
    select(vec![SelectItem::Wildcard(Default::default())])
        .from(vec![table(&shared_tag_table(key), "st")])
        .query()
}

/// `traces`: one row per trace with its trace-level values. `duration` runs from the earliest start
/// to the latest end; `root_name` is the name of the root span (the smallest name if there are
/// several roots).
pub(crate) fn traces_cte() -> Query {
    let s = SpanVar::table("s");
    // Per trace first, then the arithmetic: DataFusion 55 names `min(CAST(x))` like `min(x)`, so
    // both in one projection collide.
    let per_trace = select(vec![
        item(s.col("trace_id"), "trace_id"),
        item(call("min", vec![s.col("start_time")]), "start_time"),
        item(call("max", vec![s.col("end_time")]), "end_time"),
        item(call("count", vec![int(1)]), "span_count"),
        item(count_distinct(s.col("service")), "service_count"),
        item(
            call(
                "min",
                vec![case_when(eq(s.col("depth"), int(0)), s.col("name"), null())],
            ),
            "root_name",
        ),
    ])
    .from(vec![table("spans", "s")])
    .group_by(vec![s.col("trace_id")])
    .query();
    let t = SpanVar::table("t");
    select(vec![
        item(t.col("trace_id"), "trace_id"),
        item(t.col("start_time"), "start_time"),
        item(
            binary(
                cast_bigint(t.col("end_time")),
                BinaryOperator::Minus,
                cast_bigint(t.col("start_time")),
            ),
            "duration",
        ),
        item(t.col("span_count"), "span_count"),
        item(t.col("service_count"), "service_count"),
        item(t.col("root_name"), "root_name"),
    ])
    .from(vec![derived(per_trace, "t")])
    .query()
}
