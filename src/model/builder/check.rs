//! The builder of `check` blocks (aggregate rules), part of [`builder`](super).
//!
//! ```
//! use std::time::Duration;
//! use tracecheck::model::builder::*;
//! let check = Check::new("Withdrawal p99 latency stays under 250 ms")
//!     .rule(p99(span().name("withdrawal").duration()).less_than(Duration::from_millis(250)));
//! assert_eq!(check.rules[0].to_string(), "p99(span(name = \"withdrawal\").duration) < 250ms");
//! ```

use std::time::Duration;

use crate::model::ast::{
    AggSource, Aggregate, ArithOp, Check, CheckRule, CmpOp, Comments, Field, FieldRef, Quantity, Selector, Span,
    Spanned, Threshold,
};

impl Check {
    /// A check with a title and no rules yet.
    pub fn new(title: impl Into<String>) -> Check {
        Check {
            title: Spanned::new(title.into()),
            rules: Vec::new(),
            comments: Comments::default(),
            trailing_comments: Comments::default(),
            span: Span::default(),
        }
    }

    /// Adds a rule.
    pub fn rule(mut self, rule: CheckRule) -> Check {
        self.rules.push(rule);
        self
    }
}

/// An aggregate rule under construction: finish it with a comparison such as [`Self::less_than`].
#[derive(Clone, Debug, PartialEq)]
pub struct AggBuilder {
    aggregate: Aggregate,
    source: AggSource,
    by: Vec<Field>,
    per: Option<i64>,
}

fn agg(aggregate: Aggregate, source: AggSource) -> AggBuilder {
    AggBuilder {
        aggregate,
        source,
        by: Vec::new(),
        per: None,
    }
}

/// `count(S)`
pub fn count(spans: impl Into<Selector>) -> AggBuilder {
    agg(Aggregate::Count, AggSource::Spans(spans.into()))
}
/// `rate(S)`
pub fn rate(spans: impl Into<Selector>) -> AggBuilder {
    agg(Aggregate::Rate, AggSource::Spans(spans.into()))
}
/// `error_rate(S)`
pub fn error_rate(spans: impl Into<Selector>) -> AggBuilder {
    agg(Aggregate::ErrorRate, AggSource::Spans(spans.into()))
}
/// `avg(S.F)`
pub fn avg(value: FieldRef) -> AggBuilder {
    agg(Aggregate::Avg, AggSource::Value(value))
}
/// `min(S.F)`
pub fn min(value: FieldRef) -> AggBuilder {
    agg(Aggregate::Min, AggSource::Value(value))
}
/// `max(S.F)`
pub fn max(value: FieldRef) -> AggBuilder {
    agg(Aggregate::Max, AggSource::Value(value))
}
/// `sum(S.F)`
pub fn sum(value: FieldRef) -> AggBuilder {
    agg(Aggregate::Sum, AggSource::Value(value))
}
/// `pN(S.F)` with `percent` in 0..=100 (`percentile(99.9, v)` is `p999(v)`).
pub fn percentile(percent: f64, value: FieldRef) -> AggBuilder {
    agg(Aggregate::Percentile(percent), AggSource::Value(value))
}
/// `p50(S.F)`
pub fn p50(value: FieldRef) -> AggBuilder {
    percentile(50.0, value)
}
/// `p90(S.F)`
pub fn p90(value: FieldRef) -> AggBuilder {
    percentile(90.0, value)
}
/// `p95(S.F)`
pub fn p95(value: FieldRef) -> AggBuilder {
    percentile(95.0, value)
}
/// `p99(S.F)`
pub fn p99(value: FieldRef) -> AggBuilder {
    percentile(99.0, value)
}

/// `baseline`, to adjust with [`Threshold::times`] or [`Threshold::plus`].
pub fn baseline() -> Threshold {
    Threshold::Baseline {
        adjust: None,
        span: Span::default(),
    }
}

impl Threshold {
    /// `baseline * factor` (on a plain `baseline`).
    pub fn times(self, factor: f64) -> Threshold {
        self.adjusted(ArithOp::Mul, Quantity::Number(factor))
    }
    /// `baseline + amount` (on a plain `baseline`).
    pub fn plus(self, amount: impl Into<Quantity>) -> Threshold {
        self.adjusted(ArithOp::Add, amount.into())
    }
    fn adjusted(self, op: ArithOp, q: Quantity) -> Threshold {
        Threshold::Baseline {
            adjust: Some((op, Spanned::new(q))),
            span: Span::default(),
        }
    }
}

impl From<Quantity> for Threshold {
    fn from(q: Quantity) -> Threshold {
        Threshold::Value(Spanned::new(q))
    }
}
impl From<Duration> for Quantity {
    fn from(d: Duration) -> Quantity {
        Quantity::Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Quantity {
    fn from(v: f64) -> Quantity {
        Quantity::Number(v)
    }
}
impl From<Duration> for Threshold {
    fn from(d: Duration) -> Threshold {
        Quantity::from(d).into()
    }
}
impl From<f64> for Threshold {
    fn from(v: f64) -> Threshold {
        Quantity::Number(v).into()
    }
}

impl AggBuilder {
    /// Adds a grouping field (`by F`).
    pub fn by(mut self, field: Field) -> AggBuilder {
        self.by.push(field);
        self
    }
    /// Windows of this length (`per 1m`).
    pub fn per(mut self, window: Duration) -> AggBuilder {
        self.per = Some(i64::try_from(window.as_nanos()).unwrap_or(i64::MAX));
        self
    }
    /// Finishes the rule: `AGG(...) op threshold`.
    pub fn compare(self, op: CmpOp, threshold: impl Into<Threshold>) -> CheckRule {
        CheckRule {
            aggregate: Spanned::new(self.aggregate),
            source: self.source,
            by: self.by.into_iter().map(Spanned::new).collect(),
            per: self.per.map(Spanned::new),
            op: Spanned::new(op),
            threshold: threshold.into(),
            comments: Comments::default(),
            span: Span::default(),
        }
    }
    /// `< threshold`
    pub fn less_than(self, threshold: impl Into<Threshold>) -> CheckRule {
        self.compare(CmpOp::Lt, threshold)
    }
    /// `<= threshold`
    pub fn at_most(self, threshold: impl Into<Threshold>) -> CheckRule {
        self.compare(CmpOp::Le, threshold)
    }
    /// `> threshold`
    pub fn greater_than(self, threshold: impl Into<Threshold>) -> CheckRule {
        self.compare(CmpOp::Gt, threshold)
    }
    /// `>= threshold`
    pub fn at_least(self, threshold: impl Into<Threshold>) -> CheckRule {
        self.compare(CmpOp::Ge, threshold)
    }
}
