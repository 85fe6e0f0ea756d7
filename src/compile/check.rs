//! `check` blocks → one aggregate query per rule, returning one row per group and window with the
//! measured value.
//!
//! ```text
//! WITH tag_i AS (...), traces AS (...)
//! SELECT 'title' AS "check", 1 AS rule, <group values> AS g1.., <window start> AS window_start,
//!        <aggregate> AS value, count(*) AS n, <value OP threshold> AS holds
//! FROM spans AS s [LEFT JOIN traces / tag values] WHERE <selector predicates>
//! GROUP BY g1.., window_start ORDER BY g1.., window_start
//! ```
//!
//! Every group is returned, not only the failing ones, so reports show the margin of rules that hold.
//! Values are DOUBLE; durations stay in nanoseconds; `error_rate` is a fraction (a `%` threshold is
//! divided by 100). Percentiles are exact (`quantile_cont`: linear interpolation between the two
//! closest ranks, as DuckDB's `quantile_cont` and NumPy's default).

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as Sql, Query, TableWithJoins};

use super::sql::*;
use super::typed::{type_check, Access, Rows, TypedCheck, TypedField, TypedRule, Unit};
use super::values::{cmp, tag_values, traces_cte, CResult, Ctx, SpanVar};
use crate::model::ast::{Aggregate, ArithOp, Check, CmpOp};

/// One compiled `check` rule.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    /// 1-based index of the rule in its block.
    pub index: usize,
    /// The rule as written (canonical form).
    pub text: String,
    /// The `by` fields as written, in order (the `g1`, `g2`, ... columns).
    pub group_names: Vec<String>,
    /// Whether rows carry a `window_start`.
    pub windowed: bool,
    /// The `per` window in nanoseconds.
    pub window_ns: Option<i64>,
    /// The unit of `value`.
    pub unit: Unit,
    /// The comparison that must hold.
    pub op: CmpOp,
    /// The threshold in the unit of `value`; `None` for a baseline threshold.
    pub threshold: Option<f64>,
    /// For `baseline [* x | + y]`: the adjustment.
    pub baseline: Option<(ArithOp, f64)>,
    /// The measurement query.
    pub query: Query,
    /// The block's title and the typed rule, to build it again with other windows.
    source: (String, TypedRule),
}

impl CompiledRule {
    /// The measurement query as formatted SQL.
    pub fn sql(&self) -> String {
        format!("{:#}", self.query)
    }

    /// The same rule measured in windows of `window_ns` that start at `offset_ns` past the
    /// multiples of the window (`offset_ns` 0: the windows of `check`). A rule without `per` is
    /// measured as if written `per window_ns`. Live checks slide windows this way: each
    /// evaluation's window is one bucket of the compiled query, with the same SQL otherwise.
    ///
    /// ```
    /// use tracecheck::model::{parse_file, Item};
    /// let f = parse_file(r#"check "c" { p99(span(name = "a").duration) < 250ms }"#).unwrap();
    /// let Item::Check(c) = &f.items[0] else { unreachable!() };
    /// let rule = &tracecheck::compile::compile_check(c).unwrap().rules[0];
    /// let live = rule.windowed(60_000_000_000, 10_000_000_000);
    /// assert_eq!(live.window_ns, Some(60_000_000_000));
    /// assert!(live.sql().contains("10000000000 nanoseconds"));
    /// ```
    ///
    /// The rule was typed when it was first compiled, and nothing the typing pass checks depends
    /// on the window, so this cannot fail.
    pub fn windowed(&self, window_ns: i64, offset_ns: i64) -> CompiledRule {
        let (title, rule) = &self.source;
        let mut rule = rule.clone();
        // The rule's text stays the one written (reports and events show it as such).
        rule.per = Some(window_ns);
        build_rule(title, &rule, offset_ns.rem_euclid(window_ns))
    }
}

/// A compiled `check` block.
#[derive(Clone, Debug)]
pub struct CompiledCheck {
    /// The block's title.
    pub title: String,
    /// Its rules, in order.
    pub rules: Vec<CompiledRule>,
}

/// Compiles a `check` block (validated first).
///
/// ```
/// use tracecheck::model::{parse_file, Item};
/// let f = parse_file(r#"check "c" { p99(span(name = "withdrawal").duration) by service < 250ms }"#).unwrap();
/// let Item::Check(c) = &f.items[0] else { unreachable!() };
/// let compiled = tracecheck::compile::compile_check(c).unwrap();
/// assert!(compiled.rules[0].sql().contains("quantile_cont"));
/// ```
pub fn compile_check(check: &Check) -> CResult<CompiledCheck> {
    Ok(build_check(&type_check(check)?))
}

/// Builds the measurement queries of a typed `check` block (the second half of
/// [`compile_check`]).
///
/// ```
/// use tracecheck::model::{parse_file, Item};
/// let f = parse_file(r#"check "c" { count(span(name = "a")) per 1m < 100 }"#).unwrap();
/// let Item::Check(c) = &f.items[0] else { unreachable!() };
/// let typed = tracecheck::compile::type_check(c).unwrap();
/// let built = tracecheck::compile::build_check(&typed);
/// assert!(built.rules[0].sql().contains("date_trunc('minute'"));
/// ```
pub fn build_check(typed: &TypedCheck) -> CompiledCheck {
    CompiledCheck {
        title: typed.title.clone(),
        rules: typed.rules.iter().map(|r| build_rule(&typed.title, r, 0)).collect(),
    }
}

/// The measurement query of a typed rule. `offset` (0 ≤ offset < per): where windows start past
/// the multiples of `per`.
fn build_rule(title: &str, r: &TypedRule, offset: i64) -> CompiledRule {
    let mut ctx = Ctx::default();
    let agg = r.aggregate;
    let s = SpanVar::table("s");
    let mut from: TableWithJoins;
    let mut filter = Vec::new();
    let mut need_traces = false;
    let is_traces = r.rows == Rows::Traces;
    match &r.rows {
        Rows::Spans(predicates) => {
            from = table("spans", "s");
            for p in predicates {
                filter.push(ctx.predicate(p, &s));
            }
        }
        Rows::Traces => {
            from = table("traces", "s");
            need_traces = true;
        }
    }

    // The value of a row.
    let value_sql = r
        .value
        .as_ref()
        .map(|f| row_field(&mut ctx, &mut from, f, is_traces, &mut need_traces, false));
    let value = || value_sql.clone().expect("typed: the aggregate has a value");
    let measure = match agg {
        Aggregate::Count => call("count", vec![int(1)]),
        Aggregate::Rate => {
            let seconds = match r.per {
                Some(w) => float(w as f64 / 1e9),
                None => {
                    need_traces = true;
                    // One value for the whole data; an aggregate so it may sit beside `count`.
                    call("max", vec![col("span_range", "seconds")])
                }
            };
            binary(
                cast_double(call("count", vec![int(1)])),
                BinaryOperator::Divide,
                call("nullif", vec![seconds, float(0.0)]),
            )
        }
        Aggregate::ErrorRate => call("avg", vec![error_indicator(&s)]),
        Aggregate::Avg | Aggregate::Min | Aggregate::Max | Aggregate::Sum => {
            call(&agg.to_string(), vec![cast_double(value())])
        }
        Aggregate::Percentile(p) => call("quantile_cont", vec![cast_double(value()), float(p / 100.0)]),
    };

    // Groups and windows.
    let mut items = vec![item(string(title), "check_title"), item(int(r.index as i64), "rule")];
    let mut group = Vec::new();
    let mut group_names = Vec::new();
    for (i, b) in r.by.iter().enumerate() {
        let sql = row_field(&mut ctx, &mut from, b, is_traces, &mut need_traces, true);
        let name = format!("g{}", i + 1);
        items.push(item(
            call("coalesce", vec![cast_varchar(sql.clone()), string("(none)")]),
            &name,
        ));
        group.push(sql);
        group_names.push(b.field.to_string());
    }
    if let Some(w) = r.per {
        let start = s.col("start_time");
        let bucket = match w {
            _ if offset != 0 => {
                let origin = binary(timestamp_epoch(), BinaryOperator::Plus, interval_ns(offset));
                call("date_bin", vec![interval_ns(w), start, origin])
            }
            1_000_000_000 => call("date_trunc", vec![string("second"), start]),
            60_000_000_000 => call("date_trunc", vec![string("minute"), start]),
            3_600_000_000_000 => call("date_trunc", vec![string("hour"), start]),
            86_400_000_000_000 => call("date_trunc", vec![string("day"), start]),
            ns => call("date_bin", vec![interval_ns(ns), start, timestamp_epoch()]),
        };
        items.push(item(bucket.clone(), "window_start"));
        group.push(bucket);
    }
    items.push(item(measure.clone(), "value"));
    items.push(item(call("count", vec![int(1)]), "n"));

    if let Some(t) = r.threshold {
        items.push(item(cmp(measure, r.op, float(t)), "holds"));
    }
    let mut from_list = vec![from];
    if matches!(agg, Aggregate::Rate) && r.per.is_none() {
        from_list.push(table("span_range", "span_range"));
    }
    let order: Vec<Sql> = (1..=group.len()).map(|i| int(i as i64 + 2)).collect();
    let body = select(items).from(from_list).filter(filter).group_by(group).query();
    let body = if order.is_empty() { body } else { order_by(body, order) };
    let mut ctes: Vec<(String, Query)> = ctx
        .tag_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("tag_{}", i + 1), tag_values(k)))
        .collect();
    if need_traces || ctx.need_traces {
        ctes.push(("traces".into(), traces_cte()));
        ctes.push(("span_range".into(), span_range_cte()));
    }
    CompiledRule {
        index: r.index,
        text: r.text.clone(),
        group_names,
        windowed: r.per.is_some(),
        window_ns: r.per,
        unit: r.unit,
        op: r.op,
        threshold: r.threshold,
        baseline: r.baseline,
        query: with(body, ctes),
        source: (title.to_string(), r.clone()),
    }
}

/// A span is an error when its status is error, or when it is a server span answering HTTP 5xx.
fn error_indicator(s: &SpanVar) -> Sql {
    let error = or(vec![
        eq(s.col("status"), string("error")),
        and(vec![
            eq(s.col("kind"), string("server")),
            binary(s.col("http_status_code"), BinaryOperator::GtEq, int(500)),
        ]),
    ]);
    case_when(error, float(1.0), float(0.0))
}

/// The value of `field` for each aggregated row (`s` is a span or a `traces` row), joining what it
/// needs onto `from`.
fn row_field(
    ctx: &mut Ctx,
    from: &mut TableWithJoins,
    field: &TypedField,
    is_traces: bool,
    need_traces: &mut bool,
    as_text: bool,
) -> Sql {
    let s = SpanVar::table("s");
    match &field.access {
        Access::Trace(column) if is_traces => s.col(column),
        Access::Trace(column) => {
            *need_traces = true;
            let alias = ctx.fresh("t");
            let joined = std::mem::replace(from, table("spans", "s"));
            *from = left_join(
                joined,
                table("traces", &alias),
                eq(col(&alias, "trace_id"), s.col("trace_id")),
            );
            col(&alias, column)
        }
        Access::Tag(key) => {
            let cte = ctx.tag_cte(key);
            let alias = ctx.fresh("b");
            // One value per span: a span with several values of the key counts once, with the smallest.
            let per_span = select(vec![
                item(name("trace_id"), "trace_id"),
                item(name("span_id"), "span_id"),
                item(call("min", vec![name("num")]), "num"),
                item(call("min", vec![name("value")]), "value"),
            ])
            .from(vec![table(&cte, &cte)])
            .group_by(vec![name("trace_id"), name("span_id")])
            .query();
            let joined = std::mem::replace(from, table("spans", "s"));
            *from = left_join(
                joined,
                derived(per_span, &alias),
                and(vec![
                    eq(col(&alias, "trace_id"), s.col("trace_id")),
                    eq(col(&alias, "span_id"), s.col("span_id")),
                ]),
            );
            col(&alias, if as_text { "value" } else { "num" })
        }
        Access::Column(column) => s.col(column),
    }
}

/// `span_range`: the seconds from the earliest start to the latest end of the data (for `rate`
/// without `per`).
fn span_range_cte() -> Query {
    let s = SpanVar::table("s");
    let bounds = select(vec![
        item(call("min", vec![s.col("start_time")]), "first"),
        item(call("max", vec![s.col("end_time")]), "last"),
    ])
    .from(vec![table("spans", "s")])
    .query();
    let r = SpanVar::table("r");
    let nanos = binary(
        cast_bigint(r.col("last")),
        BinaryOperator::Minus,
        cast_bigint(r.col("first")),
    );
    select(vec![item(
        binary(cast_double(nanos), BinaryOperator::Divide, float(1e9)),
        "seconds",
    )])
    .from(vec![derived(bounds, "r")])
    .query()
}
