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
use super::types::{field_ty, Ty};
use super::values::{cmp, tag_values, trace_column, traces_cte, CResult, Ctx, SpanVar};
use crate::model::ast::*;
use crate::model::ModelError;

/// What a rule's value is measured in, for thresholds and display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Unit {
    /// A plain number (counts, numeric fields).
    Number,
    /// Nanoseconds.
    Duration,
    /// A fraction (0.25 = 25%).
    Fraction,
    /// Per second.
    PerSecond,
}

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
    /// The block's title and the rule as parsed, to compile it again with other windows.
    source: (String, CheckRule),
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
    /// let live = rule.windowed(60_000_000_000, 10_000_000_000).unwrap();
    /// assert_eq!(live.window_ns, Some(60_000_000_000));
    /// assert!(live.sql().contains("10000000000 nanoseconds"));
    /// ```
    pub fn windowed(&self, window_ns: i64, offset_ns: i64) -> CResult<CompiledRule> {
        let (title, rule) = &self.source;
        let mut rule = rule.clone();
        let at = rule.per.as_ref().map_or_else(|| rule.span.clone(), |p| p.span.clone());
        rule.per = Some(Spanned {
            node: window_ns,
            span: at,
        });
        let mut live = compile_rule(title, self.index, &rule, offset_ns.rem_euclid(window_ns))?;
        // The rule is still the one written (reports and events show it as such).
        live.text.clone_from(&self.text);
        Ok(live)
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
    check.validate()?;
    let rules = check
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| compile_rule(&check.title.node, i + 1, r, 0))
        .collect::<CResult<Vec<_>>>()?;
    Ok(CompiledCheck {
        title: check.title.node.clone(),
        rules,
    })
}

/// The rows aggregated: spans of a selector, or traces.
enum Rows<'a> {
    Spans(&'a [Predicate]),
    Traces,
}

/// `offset` (0 ≤ offset < per): where windows start past the multiples of `per`.
fn compile_rule(title: &str, index: usize, r: &CheckRule, offset: i64) -> CResult<CompiledRule> {
    let err = |span: &Span, m: String| ModelError::new(span.range(), m);
    let mut ctx = Ctx::default();
    let agg = r.aggregate.node;
    // What is aggregated, and the value of each row.
    let (rows, value_field): (Rows, Option<&Spanned<Field>>) = match &r.source {
        AggSource::Spans(Selector::Inline { predicates, .. }) => (Rows::Spans(predicates), None),
        AggSource::Value(FieldRef {
            selector: Some(Selector::Inline { predicates, .. }),
            field,
            ..
        }) => (Rows::Spans(predicates), Some(field)),
        AggSource::Value(FieldRef {
            selector: None, field, ..
        }) => (Rows::Traces, Some(field)),
        AggSource::Spans(s) | AggSource::Value(FieldRef { selector: Some(s), .. }) => {
            return Err(err(
                s.span(),
                "a check aggregates `span(...)`; let names belong to models".into(),
            ))
        }
    };
    let s = SpanVar::table("s");
    let mut from: TableWithJoins;
    let mut filter = Vec::new();
    let mut need_traces = false;
    match rows {
        Rows::Spans(predicates) => {
            from = table("spans", "s");
            for p in predicates {
                if p.field.node.is_trace_field() {
                    return Err(err(
                        &p.span,
                        "trace fields in a check's selector are not supported yet".into(),
                    ));
                }
                filter.push(ctx.predicate(p, &s)?);
            }
        }
        Rows::Traces => {
            from = table("traces", "s");
            need_traces = true;
        }
    }
    let is_traces = matches!(rows, Rows::Traces);

    // The value of a row, and its unit.
    let (value, unit) = match value_field {
        None => (None, None),
        Some(f) => {
            let (sql, ty) = row_field(&mut ctx, &mut from, &f.node, is_traces, &mut need_traces, false)
                .map_err(|m| err(&f.span, m))?;
            let unit = match ty {
                Ty::Dur => Unit::Duration,
                Ty::Num | Ty::Tag => Unit::Number,
                other => {
                    return Err(err(
                        &f.span,
                        format!(
                            "`{agg}` needs a number or a duration, and `{}` is {}",
                            f.node,
                            other.describe()
                        ),
                    ))
                }
            };
            (Some(sql), Some(unit))
        }
    };
    let (measure, unit) = match agg {
        Aggregate::Count => (call("count", vec![int(1)]), Unit::Number),
        Aggregate::Rate => {
            let seconds = match &r.per {
                Some(w) => float(w.node as f64 / 1e9),
                None => {
                    need_traces = true;
                    // One value for the whole data; an aggregate so it may sit beside `count`.
                    call("max", vec![col("span_range", "seconds")])
                }
            };
            let rate = binary(
                cast_double(call("count", vec![int(1)])),
                BinaryOperator::Divide,
                call("nullif", vec![seconds, float(0.0)]),
            );
            (rate, Unit::PerSecond)
        }
        Aggregate::ErrorRate => {
            if is_traces {
                return Err(err(&r.aggregate.span, "`error_rate` takes spans".into()));
            }
            (call("avg", vec![error_indicator(&s)]), Unit::Fraction)
        }
        Aggregate::Avg | Aggregate::Min | Aggregate::Max | Aggregate::Sum => {
            let name = agg.to_string();
            (
                call(&name, vec![cast_double(value.clone().expect("validated"))]),
                unit.expect("validated"),
            )
        }
        Aggregate::Percentile(p) => (
            call(
                "quantile_cont",
                vec![cast_double(value.clone().expect("validated")), float(p / 100.0)],
            ),
            unit.expect("validated"),
        ),
    };

    // Groups and windows.
    let mut items = vec![item(string(title), "check_title"), item(int(index as i64), "rule")];
    let mut group = Vec::new();
    let mut group_names = Vec::new();
    for (i, b) in r.by.iter().enumerate() {
        let (sql, _) =
            row_field(&mut ctx, &mut from, &b.node, is_traces, &mut need_traces, true).map_err(|m| err(&b.span, m))?;
        let name = format!("g{}", i + 1);
        items.push(item(
            call("coalesce", vec![cast_varchar(sql.clone()), string("(none)")]),
            &name,
        ));
        group.push(sql);
        group_names.push(b.node.to_string());
    }
    if let Some(w) = &r.per {
        let start = s.col("start_time");
        let bucket = match w.node {
            _ if offset != 0 => {
                let origin = binary(timestamp_epoch(), BinaryOperator::Plus, interval_ns(offset));
                call("date_bin", vec![interval_ns(w.node), start, origin])
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

    let (threshold, baseline) = threshold(r, agg, unit)?;
    if let Some(t) = threshold {
        items.push(item(cmp(measure, r.op.node, float(t)), "holds"));
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
    Ok(CompiledRule {
        index,
        text: r.to_string(),
        group_names,
        windowed: r.per.is_some(),
        window_ns: r.per.as_ref().map(|w| w.node),
        unit,
        op: r.op.node,
        threshold,
        baseline,
        query: with(body, ctes),
        source: (title.to_string(), r.clone()),
    })
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
    field: &Field,
    is_traces: bool,
    need_traces: &mut bool,
    as_text: bool,
) -> Result<(Sql, Ty), String> {
    let s = SpanVar::table("s");
    if field.is_trace_field() {
        let column = trace_column(field);
        let ty = field_ty(field)?;
        if is_traces {
            return Ok((s.col(column), ty));
        }
        *need_traces = true;
        let alias = ctx.fresh("t");
        let joined = std::mem::replace(from, table("spans", "s"));
        *from = left_join(
            joined,
            table("traces", &alias),
            eq(col(&alias, "trace_id"), s.col("trace_id")),
        );
        return Ok((col(&alias, column), ty));
    }
    if is_traces {
        return Err(format!(
            "`{field}` is a span field; a check over trace values groups by trace fields"
        ));
    }
    if let Field::Tag(key) = field {
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
        let column = if as_text { "value" } else { "num" };
        return Ok((col(&alias, column), Ty::Tag));
    }
    let ty = field_ty(field)?;
    Ok((s.col(field.column().expect("span fields have a column")), ty))
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

/// The threshold in the unit of the value, or the baseline adjustment.
/// A constant threshold, or a baseline adjustment (`* x` or `+ x`).
type ThresholdParts = (Option<f64>, Option<(ArithOp, f64)>);

fn threshold(r: &CheckRule, agg: Aggregate, unit: Unit) -> CResult<ThresholdParts> {
    if matches!(r.op.node, CmpOp::Match | CmpOp::Contains) {
        return Err(ModelError::new(
            r.op.span.range(),
            format!(
                "`{}` compares text; a check compares its value with `<`, `<=`, `>`, `>=`, `=` or `!=`",
                r.op.node.as_str()
            ),
        ));
    }
    let convert = |q: &Spanned<Quantity>| -> CResult<f64> {
        let bad = |m: String| Err(ModelError::new(q.span.range(), m));
        match (q.node, unit) {
            (Quantity::Duration(ns), Unit::Duration) => Ok(ns as f64),
            (Quantity::Duration(_), _) => bad(format!("`{agg}` is not a duration; compare it with a number")),
            (Quantity::Number(_), Unit::Duration) => bad("write the threshold with a unit, e.g. `250ms`".into()),
            // A bare number beside a rate or an error rate is ambiguous (is `< 1` 1% or 100%?).
            (Quantity::Number(_), Unit::Fraction) => bad("write an error rate with `%`, e.g. `1%`".into()),
            (Quantity::Number(_), Unit::PerSecond) => bad("write a rate with `/s`, e.g. `100/s`".into()),
            (Quantity::Number(x), _) => Ok(x),
            (Quantity::Percent(p), Unit::Fraction) => Ok(p / 100.0),
            (Quantity::Percent(_), _) => bad(format!("`{agg}` is not a fraction; `%` applies to error_rate")),
            (Quantity::PerSecond(x), Unit::PerSecond) => Ok(x),
            (Quantity::PerSecond(_), _) => bad(format!("`{agg}` is not a rate; `/s` applies to rate")),
        }
    };
    match &r.threshold {
        Threshold::Value(q) => Ok((Some(convert(q)?), None)),
        Threshold::Baseline { adjust: None, .. } => Ok((None, Some((ArithOp::Mul, 1.0)))),
        Threshold::Baseline {
            adjust: Some((op, q)), ..
        } => {
            let x = match (op, q.node) {
                (ArithOp::Mul, Quantity::Number(x)) => x,
                _ => convert(q)?,
            };
            Ok((None, Some((*op, x))))
        }
    }
}
