//! Small constructors for the sqlparser AST, so the compiler reads like the SQL it builds.
//!
//! Values from a model (strings, numbers) only ever enter the SQL as [`Value`] nodes, and names only
//! as identifiers the compiler chose itself: a model string can never change the shape of a query,
//! whatever quotes, comments or semicolons it holds. Structural nodes with many optional fields
//! (`SELECT`, `FROM`, function calls, casts) are cloned from templates parsed once from constant SQL,
//! which keeps this module independent of fields the compiler never sets.

use std::ops::ControlFlow;
use std::sync::OnceLock;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, BinaryOperator, Cte, Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArguments, GroupByExpr, Ident, Join, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, OrderByExpr,
    Query, Select, SelectItem, SetExpr, TableAlias, TableFactor, TableWithJoins, UnaryOperator, Value, With,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

struct Templates {
    query: Query,
    select: Select,
    table: TableWithJoins,
    derived: TableWithJoins,
    left_join: Join,
    call: Expr,
    ordered_call: Expr,
    cast_double: Expr,
    cast_bigint: Expr,
    cast_varchar: Expr,
    case_when: Expr,
    interval: Expr,
    epoch: Expr,
    cte: With,
}

fn parse_query(sql: &str) -> Query {
    // Constant SQL written in this file; failing to parse it is a bug caught by every test.
    *Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_query())
        .unwrap_or_else(|e| panic!("template {sql:?}: {e}"))
}

fn parse_expr(sql: &str) -> Expr {
    Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .unwrap_or_else(|e| panic!("template {sql:?}: {e}"))
}

fn select_of(q: &Query) -> &Select {
    match q.body.as_ref() {
        SetExpr::Select(s) => s,
        _ => unreachable!("templates are plain SELECTs"),
    }
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let query = parse_query("SELECT 1");
        let select = select_of(&query).clone();
        let from = parse_query("SELECT 1 FROM t AS x LEFT JOIN u AS y ON TRUE");
        let from_select = select_of(&from);
        let derived = parse_query("SELECT 1 FROM (SELECT 1) AS x");
        let with = parse_query("WITH x AS (SELECT 1) SELECT 1");
        Templates {
            table: TableWithJoins {
                relation: from_select.from[0].relation.clone(),
                joins: Vec::new(),
            },
            left_join: from_select.from[0].joins[0].clone(),
            derived: select_of(&derived).from[0].clone(),
            query,
            select,
            call: parse_expr("f(1)"),
            ordered_call: parse_expr("f(1, 2 ORDER BY 3)"),
            cast_double: parse_expr("CAST(1 AS DOUBLE)"),
            cast_bigint: parse_expr("CAST(1 AS BIGINT)"),
            cast_varchar: parse_expr("CAST(1 AS VARCHAR)"),
            case_when: parse_expr("CASE WHEN TRUE THEN 1 ELSE 0 END"),
            interval: parse_expr("INTERVAL '1 nanoseconds'"),
            epoch: parse_expr("TIMESTAMP '1970-01-01T00:00:00Z'"),
            cte: with.with.expect("template has WITH"),
        }
    })
}

/// `name` as an identifier, quoted when it is not a plain lowercase word.
pub fn ident(name: &str) -> Ident {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ident::new(name)
    } else {
        Ident::with_quote('"', name)
    }
}

/// `alias.column`.
pub fn col(alias: &str, column: &str) -> Expr {
    Expr::CompoundIdentifier(vec![ident(alias), ident(column)])
}

/// A string literal.
///
/// Printed by [`quote_string`], not by sqlparser: sqlparser 0.62 prints a `SingleQuotedString`
/// assuming it may already be escaped, so `''` and `\'` inside the value come out unescaped and
/// `x\' OR true OR name = '` would change the query. The node is a verbatim-printed value holding
/// the quoted text; engines parse it back as an ordinary string literal.
pub fn string(s: &str) -> Expr {
    Expr::value(Value::Placeholder(quote_string(s)))
}

/// `query` as a planner reads it: the verbatim-printed string literals of [`string`] turned back
/// into ordinary string values (the tree is handed to DataFusion without printing, see
/// `engine::run_query`; DataFusion plans a `SingleQuotedString` as exactly its text).
///
/// ```
/// use datafusion::sql::sqlparser::ast::{visit_expressions, Expr, Value};
/// let q = tracecheck::compile::sql::for_planner(&tracecheck::compile::tag_values_query("it's"));
/// let mut strings = Vec::new();
/// let _ = visit_expressions(&q, |e| {
///     if let Expr::Value(v) = e {
///         if let Value::SingleQuotedString(s) = &v.value {
///             strings.push(s.clone());
///         }
///     }
///     std::ops::ControlFlow::<()>::Continue(())
/// });
/// assert!(strings.contains(&"it's".to_string()));
/// ```
pub fn for_planner(query: &Query) -> Query {
    let mut q = query.clone();
    let _ = visit_expressions_mut(&mut q, |e| {
        if let Expr::Value(v) = e
            && let Value::Placeholder(text) = &v.value
            && let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\''))
        {
            v.value = Value::SingleQuotedString(inner.replace("''", "'"));
        }
        ControlFlow::<()>::Continue(())
    });
    q
}

/// `s` as a standard SQL string literal: in quotes, every quote doubled, nothing else escaped
/// (backslashes are ordinary characters in standard SQL, DataFusion's and DuckDB's default).
///
/// ```
/// use tracecheck::compile::sql::quote_string;
/// assert_eq!(quote_string(r"it's ''\'"), r"'it''s ''''\'''");
/// ```
pub fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An integer literal.
pub fn int(n: i64) -> Expr {
    if n == i64::MIN {
        // `-9223372036854775808` parses as minus a number that does not fit in i64.
        return Expr::Nested(Box::new(binary(int(n + 1), BinaryOperator::Minus, int(1))));
    }
    Expr::value(Value::Number(n.to_string(), false))
}

/// A floating-point literal, as a DOUBLE on every engine.
pub fn float(x: f64) -> Expr {
    // `{:?}` keeps a decimal point or exponent, so engines do not read it as an integer.
    cast_double(Expr::value(Value::Number(format!("{x:?}"), false)))
}

/// `TRUE` / `FALSE`.
pub fn boolean(b: bool) -> Expr {
    Expr::value(Value::Boolean(b))
}

/// `NULL`.
pub fn null() -> Expr {
    Expr::value(Value::Null)
}

/// `left op right`.
pub fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(nest(left)),
        op,
        right: Box::new(nest(right)),
    }
}

/// Parenthesises compound operands so the printed text parses back to the same tree.
fn nest(e: Expr) -> Expr {
    match e {
        Expr::BinaryOp { .. } | Expr::UnaryOp { .. } => Expr::Nested(Box::new(e)),
        other => other,
    }
}

/// `left = right`.
pub fn eq(left: Expr, right: Expr) -> Expr {
    binary(left, BinaryOperator::Eq, right)
}

/// The conjunction of `parts`; `TRUE` when empty.
pub fn and(parts: Vec<Expr>) -> Expr {
    let mut it = parts.into_iter();
    match it.next() {
        None => boolean(true),
        Some(first) => it.fold(first, |acc, e| binary(acc, BinaryOperator::And, e)),
    }
}

/// The disjunction of `parts`; `FALSE` when empty.
pub fn or(parts: Vec<Expr>) -> Expr {
    let mut it = parts.into_iter();
    match it.next() {
        None => boolean(false),
        Some(first) => Expr::Nested(Box::new(it.fold(first, |acc, e| binary(acc, BinaryOperator::Or, e)))),
    }
}

/// `NOT e`.
pub fn not(e: Expr) -> Expr {
    Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: Box::new(Expr::Nested(Box::new(e))),
    }
}

/// `-e`.
pub fn neg(e: Expr) -> Expr {
    Expr::UnaryOp {
        op: UnaryOperator::Minus,
        expr: Box::new(Expr::Nested(Box::new(e))),
    }
}

/// `e IS NOT NULL`.
pub fn is_not_null(e: Expr) -> Expr {
    Expr::IsNotNull(Box::new(e))
}

/// `[NOT] EXISTS (query)`.
pub fn exists(query: Query, negated: bool) -> Expr {
    Expr::Exists {
        subquery: Box::new(query),
        negated,
    }
}

/// A call from `template` with its name and arguments replaced.
fn call_from(template: &Expr, name: &str, args: Vec<Expr>) -> Expr {
    let mut e = template.clone();
    if let Expr::Function(f) = &mut e {
        f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
        if let FunctionArguments::List(list) = &mut f.args {
            list.args = args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect();
        }
    }
    e
}

/// `name(args...)`.
pub fn call(name: &str, args: Vec<Expr>) -> Expr {
    call_from(&templates().call, name, args)
}

/// `name(args... ORDER BY order)`: an aggregate over ordered input.
pub fn call_ordered(name: &str, args: Vec<Expr>, order: Expr) -> Expr {
    let mut e = call_from(&templates().ordered_call, name, args);
    if let Expr::Function(f) = &mut e
        && let FunctionArguments::List(list) = &mut f.args
    {
        for clause in &mut list.clauses {
            if let FunctionArgumentClause::OrderBy(items) = clause {
                let item: &mut OrderByExpr = &mut items[0];
                item.expr = order.clone();
            }
        }
    }
    e
}

fn cast_from(template: &Expr, e: Expr) -> Expr {
    let mut c = template.clone();
    if let Expr::Cast { expr, .. } = &mut c {
        **expr = e;
    }
    c
}

/// `CAST(e AS DOUBLE)`.
pub fn cast_double(e: Expr) -> Expr {
    cast_from(&templates().cast_double, e)
}

/// `CAST(e AS BIGINT)`.
pub fn cast_bigint(e: Expr) -> Expr {
    cast_from(&templates().cast_bigint, e)
}

/// `CAST(e AS VARCHAR)`.
pub fn cast_varchar(e: Expr) -> Expr {
    cast_from(&templates().cast_varchar, e)
}

/// An unqualified column name.
pub fn name(column: &str) -> Expr {
    Expr::Identifier(ident(column))
}

/// `count(DISTINCT e)`.
pub fn count_distinct(e: Expr) -> Expr {
    let mut c = call("count", vec![e]);
    if let Expr::Function(f) = &mut c
        && let FunctionArguments::List(l) = &mut f.args
    {
        l.duplicate_treatment = Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct);
    }
    c
}

/// `CASE WHEN cond THEN then ELSE otherwise END`.
pub fn case_when(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
    let mut e = templates().case_when.clone();
    if let Expr::Case {
        conditions,
        else_result,
        ..
    } = &mut e
    {
        conditions[0].condition = cond;
        conditions[0].result = then;
        *else_result = Some(Box::new(otherwise));
    }
    e
}

/// `INTERVAL 'ns nanoseconds'`.
pub fn interval_ns(ns: i64) -> Expr {
    let mut e = templates().interval.clone();
    if let Expr::Interval(i) = &mut e {
        // Digits only: safe for sqlparser's own quoting.
        *i.value = Expr::value(Value::SingleQuotedString(format!("{ns} nanoseconds")));
    }
    e
}

/// `TIMESTAMP '1970-01-01T00:00:00Z'`, the origin of windows.
pub fn timestamp_epoch() -> Expr {
    templates().epoch.clone()
}

/// `expr AS alias` in a projection.
pub fn item(expr: Expr, alias: &str) -> SelectItem {
    SelectItem::ExprWithAlias {
        expr,
        alias: ident(alias),
    }
}

/// `expr` in a projection, named by the engine.
pub fn item_expr(expr: Expr) -> SelectItem {
    SelectItem::UnnamedExpr(expr)
}

/// `table AS alias` in a FROM list.
pub fn table(name: &str, alias: &str) -> TableWithJoins {
    let mut t = templates().table.clone();
    if let TableFactor::Table { name: n, alias: a, .. } = &mut t.relation {
        *n = ObjectName(vec![ObjectNamePart::Identifier(ident(name))]);
        set_alias(a, alias);
    }
    t
}

/// `(query) AS alias` in a FROM list.
pub fn derived(query: Query, alias: &str) -> TableWithJoins {
    let mut t = templates().derived.clone();
    if let TableFactor::Derived { subquery, alias: a, .. } = &mut t.relation {
        **subquery = query;
        set_alias(a, alias);
    }
    t
}

fn set_alias(slot: &mut Option<TableAlias>, alias: &str) {
    if let Some(a) = slot {
        a.name = ident(alias);
    }
}

/// Adds `LEFT JOIN right ON on` to `left`.
pub fn left_join(mut left: TableWithJoins, right: TableWithJoins, on: Expr) -> TableWithJoins {
    let mut j = templates().left_join.clone();
    j.relation = right.relation;
    match &mut j.join_operator {
        JoinOperator::LeftOuter(JoinConstraint::On(e)) | JoinOperator::Left(JoinConstraint::On(e)) => *e = on,
        _ => unreachable!("template is a LEFT JOIN ... ON"),
    }
    left.joins.push(j);
    left
}

/// A `SELECT` query.
pub struct SelectBuilder {
    select: Select,
}

/// Starts `SELECT items`.
pub fn select(items: Vec<SelectItem>) -> SelectBuilder {
    let mut select = templates().select.clone();
    select.projection = items;
    SelectBuilder { select }
}

impl SelectBuilder {
    /// `FROM from, ...`.
    pub fn from(mut self, from: Vec<TableWithJoins>) -> Self {
        self.select.from = from;
        self
    }

    /// `WHERE` the conjunction of `conditions` (none: no WHERE).
    pub fn filter(mut self, conditions: Vec<Expr>) -> Self {
        if !conditions.is_empty() {
            self.select.selection = Some(and(conditions));
        }
        self
    }

    /// `SELECT DISTINCT`.
    pub fn distinct(mut self) -> Self {
        self.select.distinct = Some(datafusion::sql::sqlparser::ast::Distinct::Distinct);
        self
    }

    /// `GROUP BY exprs`.
    pub fn group_by(mut self, exprs: Vec<Expr>) -> Self {
        self.select.group_by = GroupByExpr::Expressions(exprs, Vec::new());
        self
    }

    /// The finished query.
    pub fn query(self) -> Query {
        let mut q = templates().query.clone();
        q.body = Box::new(SetExpr::Select(Box::new(self.select)));
        q
    }
}

/// `q1 UNION ALL q2 UNION ALL ...` (at least one query).
pub fn union_all(queries: Vec<Query>) -> Query {
    let mut it = queries.into_iter();
    let first = it.next().expect("at least one query");
    it.fold(first, |acc, q| {
        let mut out = templates().query.clone();
        out.body = Box::new(SetExpr::SetOperation {
            op: datafusion::sql::sqlparser::ast::SetOperator::Union,
            set_quantifier: datafusion::sql::sqlparser::ast::SetQuantifier::All,
            left: Box::new(SetExpr::Query(Box::new(acc))),
            right: Box::new(SetExpr::Query(Box::new(q))),
        });
        out
    })
}

/// Attaches `WITH name AS (query), ...` to `body`.
pub fn with(mut body: Query, ctes: Vec<(String, Query)>) -> Query {
    if ctes.is_empty() {
        return body;
    }
    let mut w = templates().cte.clone();
    let template: Cte = w.cte_tables[0].clone();
    w.cte_tables = ctes
        .into_iter()
        .map(|(name, q)| {
            let mut c = template.clone();
            c.alias.name = ident(&name);
            *c.query = q;
            c
        })
        .collect();
    body.with = Some(w);
    body
}

/// Sets `ORDER BY exprs` on a query.
pub fn order_by(mut q: Query, exprs: Vec<Expr>) -> Query {
    let t = parse_query("SELECT 1 ORDER BY 1");
    let mut ob = t.order_by.expect("template has ORDER BY");
    if let datafusion::sql::sqlparser::ast::OrderByKind::Expressions(items) = &mut ob.kind {
        let template = items[0].clone();
        *items = exprs
            .into_iter()
            .map(|e| OrderByExpr {
                expr: e,
                ..template.clone()
            })
            .collect();
    }
    q.order_by = Some(ob);
    q
}
