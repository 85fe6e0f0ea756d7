//! Pipeline stages beyond spanset expressions: scalar filters over aggregates, metrics functions,
//! second-stage functions and query hints.

use super::{BinaryOp, FieldExpr, FieldRef, Literal, Span, SpansetFilter};

/// `lhs op rhs` over aggregates of each spanset (`count() > 2`, `avg(duration) > 1s`); `op` is one
/// of `= != < <= > >=`, and at least one side contains an aggregate.
///
/// ```
/// use tracecheck::traceql::{parse, ast::*};
/// let q = parse("{ } | count() > 2").unwrap();
/// let Stage::ScalarFilter(f) = &q.pipeline.stages[1] else { panic!() };
/// assert_eq!(f.op, BinaryOp::Gt);
/// assert!(matches!(f.lhs, ScalarExpr::Aggregate(Aggregate { func: AggregateFn::Count, arg: None, .. })));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarFilter {
    /// The comparison.
    pub op: BinaryOp,
    /// Left side.
    pub lhs: ScalarExpr,
    /// Right side.
    pub rhs: ScalarExpr,
    /// From the left side to the right one.
    pub span: Span,
}

/// Arithmetic over aggregates and numeric literals (one side of a [`ScalarFilter`]).
///
/// ```
/// use tracecheck::traceql::{parse, ast::*};
/// let q = parse("{ } | sum(.bytes) / count() > 1024").unwrap();
/// let Stage::ScalarFilter(f) = &q.pipeline.stages[1] else { panic!() };
/// assert!(matches!(f.lhs, ScalarExpr::Binary { op: BinaryOp::Div, .. }));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarExpr {
    /// `count()`, `avg(x)`, ...
    Aggregate(Aggregate),
    /// A number or a duration.
    Literal {
        /// The value.
        value: Literal,
        /// Its text.
        span: Span,
    },
    /// `-x`.
    Neg {
        /// The operand.
        operand: Box<ScalarExpr>,
        /// From `-` to the end of the operand.
        span: Span,
    },
    /// `x op y` with an arithmetic operator.
    Binary {
        /// `+ - * / % ^`.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<ScalarExpr>,
        /// Right operand.
        rhs: Box<ScalarExpr>,
        /// From the left operand to the right one.
        span: Span,
    },
}

impl ScalarExpr {
    /// The text of the expression.
    pub fn span(&self) -> &Span {
        match self {
            ScalarExpr::Aggregate(a) => &a.span,
            ScalarExpr::Literal { span, .. } | ScalarExpr::Neg { span, .. } | ScalarExpr::Binary { span, .. } => span,
        }
    }

    /// Whether an aggregate occurs in the expression.
    ///
    /// ```
    /// use tracecheck::traceql::ast::*;
    /// let one = ScalarExpr::Literal { value: Literal::Int(1), span: Span::default() };
    /// assert!(!one.has_aggregate());
    /// ```
    pub fn has_aggregate(&self) -> bool {
        match self {
            ScalarExpr::Aggregate(_) => true,
            ScalarExpr::Literal { .. } => false,
            ScalarExpr::Neg { operand, .. } => operand.has_aggregate(),
            ScalarExpr::Binary { lhs, rhs, .. } => lhs.has_aggregate() || rhs.has_aggregate(),
        }
    }
}

/// An aggregate over the spans of a spanset: `count()`, or `avg`, `min`, `max`, `sum` of a field
/// expression.
///
/// ```
/// use tracecheck::traceql::ast::AggregateFn;
/// assert_eq!(AggregateFn::lookup("avg"), Some(AggregateFn::Avg));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// Which aggregate.
    pub func: AggregateFn,
    /// The argument; `None` exactly for `count()`.
    pub arg: Option<Box<FieldExpr>>,
    /// From the name to `)`.
    pub span: Span,
}

/// Aggregate functions of scalar filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the function of the same name
pub enum AggregateFn {
    Count,
    Avg,
    Min,
    Max,
    Sum,
}

impl AggregateFn {
    /// Every aggregate with its name.
    pub const ALL: [(&'static str, AggregateFn); 5] = [
        ("count", AggregateFn::Count),
        ("avg", AggregateFn::Avg),
        ("min", AggregateFn::Min),
        ("max", AggregateFn::Max),
        ("sum", AggregateFn::Sum),
    ];

    /// The aggregate of this name.
    pub fn lookup(name: &str) -> Option<AggregateFn> {
        AggregateFn::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        AggregateFn::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }
}

/// A metrics function ending the pipeline, with its grouping: `rate() by (resource.service.name)`.
///
/// ```
/// use tracecheck::traceql::{parse, ast::*};
/// let q = parse("{ } | quantile_over_time(duration, 0.5, 0.99) by (span:name)").unwrap();
/// let m = q.metrics.unwrap();
/// assert!(matches!(&m.func, MetricsFn::QuantileOverTime { quantiles, .. } if quantiles == &[0.5, 0.99]));
/// assert_eq!(m.by.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// The function and its arguments.
    pub func: MetricsFn,
    /// The fields of `by (...)`; empty without `by`.
    pub by: Vec<FieldRef>,
    /// From the function name to the end of `by (...)`.
    pub span: Span,
}

/// Metrics functions (series over time of the spans the pipeline keeps).
#[derive(Clone, Debug, PartialEq)]
pub enum MetricsFn {
    /// `rate()`: spans per second.
    Rate,
    /// `count_over_time()`: spans per step.
    CountOverTime,
    /// `min_over_time(field)`
    MinOverTime(FieldRef),
    /// `max_over_time(field)`
    MaxOverTime(FieldRef),
    /// `avg_over_time(field)`
    AvgOverTime(FieldRef),
    /// `sum_over_time(field)`
    SumOverTime(FieldRef),
    /// `quantile_over_time(field, q, ...)`, at least one quantile.
    QuantileOverTime {
        /// The field whose quantiles are computed.
        field: FieldRef,
        /// The quantiles, as written (integers become floats).
        quantiles: Vec<f64>,
    },
    /// `histogram_over_time(field)`
    HistogramOverTime(FieldRef),
    /// `compare({ selection }, top_n, start, end)`: how attribute values of the selected spans
    /// differ from the others'.
    Compare {
        /// The spans to compare against the rest.
        selection: SpansetFilter,
        /// How many values per attribute to return (`10` when not given).
        top_n: Option<i64>,
        /// The time range (unix nanoseconds) of the selection, if given.
        range: Option<(i64, i64)>,
    },
}

impl MetricsFn {
    /// Every metrics function name.
    pub const NAMES: [&'static str; 9] = [
        "rate",
        "count_over_time",
        "min_over_time",
        "max_over_time",
        "avg_over_time",
        "sum_over_time",
        "quantile_over_time",
        "histogram_over_time",
        "compare",
    ];

    /// The function's name.
    ///
    /// ```
    /// assert_eq!(tracecheck::traceql::ast::MetricsFn::Rate.name(), "rate");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            MetricsFn::Rate => "rate",
            MetricsFn::CountOverTime => "count_over_time",
            MetricsFn::MinOverTime(_) => "min_over_time",
            MetricsFn::MaxOverTime(_) => "max_over_time",
            MetricsFn::AvgOverTime(_) => "avg_over_time",
            MetricsFn::SumOverTime(_) => "sum_over_time",
            MetricsFn::QuantileOverTime { .. } => "quantile_over_time",
            MetricsFn::HistogramOverTime(_) => "histogram_over_time",
            MetricsFn::Compare { .. } => "compare",
        }
    }
}

/// A function over the series of the metrics function: `topk(k)` or `bottomk(k)`.
///
/// ```
/// let q = tracecheck::traceql::parse("{ } | rate() by (.a) | bottomk(3)").unwrap();
/// assert!(matches!(q.second_stage[0], tracecheck::traceql::ast::SecondStage::BottomK { k: 3, .. }));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum SecondStage {
    /// The `k` series with the highest values.
    TopK {
        /// How many series.
        k: i64,
        /// `topk(k)`.
        span: Span,
    },
    /// The `k` series with the lowest values.
    BottomK {
        /// How many series.
        k: i64,
        /// `bottomk(k)`.
        span: Span,
    },
}

/// A query hint: `name = value` inside `with (...)`.
///
/// ```
/// let q = tracecheck::traceql::parse("{ } with (most_recent = true)").unwrap();
/// assert_eq!(q.hints[0].value, tracecheck::traceql::ast::Literal::Bool(true));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Hint {
    /// The hint's name.
    pub name: String,
    /// Its value.
    pub value: Literal,
    /// From the name to the end of the value.
    pub span: Span,
}
