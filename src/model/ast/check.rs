//! The AST of `check` blocks (aggregate rules), part of [`ast`](super).

use super::{ArithOp, CmpOp, Comments, Field, FieldRef, Selector, Span, Spanned};

/// `check "title" { RULE ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// The title, which names the check in reports.
    pub title: Spanned<String>,
    /// The aggregate rules; at least one when parsed.
    pub rules: Vec<CheckRule>,
    /// Comments before the `check` keyword.
    pub comments: Comments,
    /// Comments before the closing `}`.
    pub trailing_comments: Comments,
    /// The whole block.
    pub span: Span,
}

/// `AGG(SOURCE) [by FIELD, ...] [per DURATION] OP THRESHOLD`.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRule {
    /// The aggregate function.
    pub aggregate: Spanned<Aggregate>,
    /// What it aggregates.
    pub source: AggSource,
    /// Grouping fields (`by name, service`); empty for one group.
    pub by: Vec<Spanned<Field>>,
    /// Window length in nanoseconds (`per 1m`); `None` for the whole data set.
    pub per: Option<Spanned<i64>>,
    /// The comparison that must hold for every group and window.
    pub op: Spanned<CmpOp>,
    /// The right side.
    pub threshold: Threshold,
    /// Comments before the rule.
    pub comments: Comments,
    /// The whole rule.
    pub span: Span,
}

/// Aggregate functions of `check` rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Aggregate {
    /// `count(S)`: number of matching spans.
    Count,
    /// `rate(S)`: matching spans per second (of the window, or of the data set's time range).
    Rate,
    /// `avg(S.F)`
    Avg,
    /// `min(S.F)`
    Min,
    /// `max(S.F)`
    Max,
    /// `sum(S.F)`
    Sum,
    /// `pN(S.F)`: the N-th percentile, in percent (`p99` = 99, `p999` = 99.9).
    Percentile(f64),
    /// `error_rate(S)`: the fraction of matching spans whose status is error (compare with `%`).
    ErrorRate,
}

impl Aggregate {
    /// The aggregate named `name`, if any. Percentiles are `p` and digits: the first two digits are
    /// whole percent and the rest decimals (`p999` = 99.9), `p100` is the maximum.
    ///
    /// ```
    /// use tracecheck::model::ast::Aggregate;
    /// assert_eq!(Aggregate::from_name("p999"), Some(Aggregate::Percentile(99.9)));
    /// assert_eq!(Aggregate::from_name("p5"), Some(Aggregate::Percentile(5.0)));
    /// assert_eq!(Aggregate::from_name("median"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Aggregate> {
        Some(match name {
            "count" => Aggregate::Count,
            "rate" => Aggregate::Rate,
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "sum" => Aggregate::Sum,
            "error_rate" => Aggregate::ErrorRate,
            _ => {
                let digits = name.strip_prefix('p')?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let percent = if digits.len() <= 2 || digits == "100" {
                    digits.parse().ok()?
                } else {
                    format!("{}.{}", &digits[..2], &digits[2..]).parse().ok()?
                };
                Aggregate::Percentile(percent)
            }
        })
    }

    /// Whether the aggregate counts spans (`count`, `rate`, `error_rate`) rather than a field's values.
    pub fn counts_spans(self) -> bool {
        matches!(self, Aggregate::Count | Aggregate::Rate | Aggregate::ErrorRate)
    }
}

/// The argument of an aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum AggSource {
    /// The spans of a selector (for `count`, `rate`, `error_rate`).
    Spans(Selector),
    /// A field of the spans of a selector, or `trace.FIELD` (one value per trace).
    Value(FieldRef),
}

/// The right side of a `check` rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Threshold {
    /// A constant.
    Value(Spanned<Quantity>),
    /// `baseline`, `baseline * 1.10` or `baseline + 10ms`: relative to a baseline measurement of the
    /// same rule (how the baseline is recorded is up to the check runner).
    Baseline {
        /// The adjustment, if any; only `*` and `+` are allowed.
        adjust: Option<(ArithOp, Spanned<Quantity>)>,
        /// The whole threshold.
        span: Span,
    },
}

/// A number with an optional unit, in `check` thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quantity {
    /// A plain number.
    Number(f64),
    /// A duration in nanoseconds (`250ms`).
    Duration(i64),
    /// A percentage, as written (`1%` is `Percent(1.0)`).
    Percent(f64),
    /// A rate per second (`100/s`).
    PerSecond(f64),
}
