//! The typing pass of `check` blocks: each rule's rows, value, groups, unit and threshold.

use super::model::predicate;
use super::{Access, Comparison, TypedField};
use crate::compile::types::{field_ty, Ty};
use crate::model::ast::{
    AggSource, Aggregate, ArithOp, Check, CheckRule, CmpOp, Field, FieldRef, Quantity, Selector, Span, Spanned,
    Threshold,
};
use crate::model::ModelError;

type TResult<T> = Result<T, ModelError>;

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

/// A typed `check` block.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedCheck {
    /// The title.
    pub title: String,
    /// The rules, in order.
    pub rules: Vec<TypedRule>,
}

/// The rows a rule aggregates.
#[derive(Clone, Debug, PartialEq)]
pub enum Rows {
    /// The spans satisfying these predicates.
    Spans(Vec<Comparison>),
    /// The traces (one row each, for `trace.*` values).
    Traces,
}

/// One typed rule: `AGG(SOURCE) [by FIELD, ...] [per DURATION] OP THRESHOLD`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedRule {
    /// 1-based index of the rule in its block.
    pub index: usize,
    /// The rule as written (canonical form).
    pub text: String,
    /// The aggregate function.
    pub aggregate: Aggregate,
    /// What is aggregated.
    pub rows: Rows,
    /// The field whose values are aggregated (none for `count`, `rate`, `error_rate`).
    pub value: Option<TypedField>,
    /// The grouping fields.
    pub by: Vec<TypedField>,
    /// The window in nanoseconds.
    pub per: Option<i64>,
    /// The comparison that must hold.
    pub op: CmpOp,
    /// The unit of the measured value.
    pub unit: Unit,
    /// The threshold in that unit; `None` for a baseline threshold.
    pub threshold: Option<f64>,
    /// For `baseline [* x | + y]`: the adjustment.
    pub baseline: Option<(ArithOp, f64)>,
}

/// Types a `check` block (validated first).
///
/// ```
/// use tracecheck::compile::typed::Unit;
/// use tracecheck::model::{parse_file, Item};
/// let f = parse_file(r#"check "c" { p99(span(name = "a").duration) by service < 250ms }"#).unwrap();
/// let Item::Check(c) = &f.items[0] else { unreachable!() };
/// let typed = tracecheck::compile::type_check(c).unwrap();
/// assert_eq!(typed.rules[0].unit, Unit::Duration);
/// assert_eq!(typed.rules[0].threshold, Some(250e6));
/// ```
pub fn type_check(check: &Check) -> TResult<TypedCheck> {
    check.validate()?;
    let rules = check
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| type_rule(i + 1, r))
        .collect::<TResult<_>>()?;
    Ok(TypedCheck {
        title: check.title.node.clone(),
        rules,
    })
}

fn err(span: &Span, m: String) -> ModelError {
    ModelError::new(span.range(), m)
}

fn type_rule(index: usize, r: &CheckRule) -> TResult<TypedRule> {
    let agg = r.aggregate.node;
    let (predicates, value_field) = match &r.source {
        AggSource::Spans(Selector::Inline { predicates, .. }) => (Some(predicates), None),
        AggSource::Value(FieldRef {
            selector: Some(Selector::Inline { predicates, .. }),
            field,
            ..
        }) => (Some(predicates), Some(field)),
        AggSource::Value(FieldRef {
            selector: None, field, ..
        }) => (None, Some(field)),
        AggSource::Spans(s) | AggSource::Value(FieldRef { selector: Some(s), .. }) => {
            return Err(err(
                s.span(),
                "a check aggregates `span(...)`; let names belong to models".into(),
            ))
        }
    };
    let rows = match predicates {
        Some(predicates) => {
            let mut typed = Vec::new();
            for p in predicates {
                if p.field.node.is_trace_field() {
                    return Err(err(
                        &p.span,
                        "trace fields in a check's selector are not supported yet".into(),
                    ));
                }
                typed.push(predicate(p)?);
            }
            Rows::Spans(typed)
        }
        None => Rows::Traces,
    };
    let is_traces = rows == Rows::Traces;
    let value = match value_field {
        None => None,
        Some(f) => {
            let v = row_field(&f.node, is_traces).map_err(|m| err(&f.span, m))?;
            let unit = match v.ty {
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
            Some((v, unit))
        }
    };
    let unit = match agg {
        Aggregate::Count => Unit::Number,
        Aggregate::Rate => Unit::PerSecond,
        Aggregate::ErrorRate if is_traces => return Err(err(&r.aggregate.span, "`error_rate` takes spans".into())),
        Aggregate::ErrorRate => Unit::Fraction,
        Aggregate::Avg | Aggregate::Min | Aggregate::Max | Aggregate::Sum | Aggregate::Percentile(_) => {
            value.as_ref().expect("validated: the aggregate has a value").1
        }
    };
    let by =
        r.by.iter()
            .map(|b| row_field(&b.node, is_traces).map_err(|m| err(&b.span, m)))
            .collect::<TResult<_>>()?;
    let (threshold, baseline) = threshold(r, agg, unit)?;
    Ok(TypedRule {
        index,
        text: r.to_string(),
        aggregate: agg,
        rows,
        value: value.map(|(v, _)| v),
        by,
        per: r.per.as_ref().map(|w| w.node),
        op: r.op.node,
        unit,
        threshold,
        baseline,
    })
}

/// A field of each aggregated row (a span, or a trace when `is_traces`).
fn row_field(field: &Field, is_traces: bool) -> Result<TypedField, String> {
    if is_traces && !field.is_trace_field() {
        return Err(format!(
            "`{field}` is a span field; a check over trace values groups by trace fields"
        ));
    }
    Ok(TypedField {
        spans: None,
        access: Access::of(field),
        ty: field_ty(field)?,
        field: field.clone(),
    })
}

/// A constant threshold, or a baseline adjustment (`* x` or `+ x`).
type ThresholdParts = (Option<f64>, Option<(ArithOp, f64)>);

/// The threshold in the unit of the value, or the baseline adjustment.
fn threshold(r: &CheckRule, agg: Aggregate, unit: Unit) -> TResult<ThresholdParts> {
    if matches!(r.op.node, CmpOp::Match | CmpOp::Contains) {
        return Err(err(
            &r.op.span,
            format!(
                "`{}` compares text; a check compares its value with `<`, `<=`, `>`, `>=`, `=` or `!=`",
                r.op.node.as_str()
            ),
        ));
    }
    let convert = |q: &Spanned<Quantity>| -> TResult<f64> {
        let bad = |m: String| Err(err(&q.span, m));
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
