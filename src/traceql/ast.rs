//! The TraceQL AST: what [`parse`](super::parse) produces and the later stages (compilation to SQL)
//! start from.
//!
//! Every node an error may point at carries a [`Span`] (a byte range into the query). As in the
//! model AST, spans never take part in equality, so a query equals the same query written with
//! other spacing or parentheses. Parentheses that only group are not kept: `({ .a })` and `{ .a }`
//! are the same [`SpansetExpr`]. Aliases are normalised: `duration` and `span:duration` are both
//! [`Intrinsic::SpanDuration`].
//!
//! [`Display`](std::fmt::Display) prints TraceQL that parses back to the same AST, with every
//! operation in parentheses so that precedence is visible (`{ ((.a = 1) && (.b = 2)) }`).
//!
//! ```
//! use tracecheck::traceql::{parse, ast::*};
//! let q = parse("{ span:name = \"GET\" } >> { status = error } | count() > 2").unwrap();
//! assert_eq!(q.pipeline.stages.len(), 2);
//! assert!(matches!(&q.pipeline.stages[0], Stage::Spanset(SpansetExpr::Binary { op: SpansetOp::Descendant, .. })));
//! assert_eq!(q.to_string(), "({ (span:name = \"GET\") } >> { (span:status = error) }) | count() > 2");
//! ```

use std::time::Duration;

pub use crate::model::ast::Span;

/// A whole query: a pipeline of spanset stages, optionally ended by a metrics function (and its
/// second stage), optionally followed by query hints.
///
/// ```
/// let q = tracecheck::traceql::parse("{ } | rate() by (resource.service.name) | topk(5) with (sample = true)").unwrap();
/// assert!(q.metrics.is_some());
/// assert_eq!(q.second_stage.len(), 1);
/// assert_eq!(q.hints[0].name, "sample");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The spanset stages, at least one.
    pub pipeline: Pipeline,
    /// The metrics function ending the pipeline (`| rate()`), if any.
    pub metrics: Option<Metrics>,
    /// Second-stage functions applied to the metrics series (`| topk(10)`); only after `metrics`.
    pub second_stage: Vec<SecondStage>,
    /// Query hints (`with (key = value, ...)`).
    pub hints: Vec<Hint>,
    /// The whole query.
    pub span: Span,
}

/// Stages separated by `|`, each applied to the spansets the previous one left.
///
/// ```
/// let q = tracecheck::traceql::parse("{ .a } | by(.b) | coalesce()").unwrap();
/// assert_eq!(q.pipeline.stages.len(), 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    /// At least one stage.
    pub stages: Vec<Stage>,
    /// From the first stage to the last.
    pub span: Span,
}

/// One stage of a pipeline.
///
/// ```
/// use tracecheck::traceql::{parse, ast::Stage};
/// let q = parse("{ } | avg(duration) > 1s").unwrap();
/// assert!(matches!(q.pipeline.stages[1], Stage::ScalarFilter(_)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// A spanset expression: filters and spanset operators (`{ .a } && { .b }`).
    Spanset(SpansetExpr),
    /// A comparison of aggregates over each spanset (`count() > 2`).
    ScalarFilter(ScalarFilter),
    /// `by(expr, ...)`: regroup the spans of each spanset by the values of the expressions.
    By {
        /// At least one expression.
        exprs: Vec<FieldExpr>,
        /// `by(...)`.
        span: Span,
    },
    /// `select(field, ...)`: also fetch these fields of the matching spans.
    Select {
        /// At least one field.
        fields: Vec<FieldRef>,
        /// `select(...)`.
        span: Span,
    },
    /// `coalesce()`: merge the spansets of a trace into one.
    Coalesce {
        /// `coalesce()`.
        span: Span,
    },
}

/// An expression whose value is a set of spans per trace.
///
/// ```
/// use tracecheck::traceql::{parse, ast::*};
/// let q = parse("({ .a } | count() > 1) && { }").unwrap();
/// let Stage::Spanset(SpansetExpr::Binary { lhs, rhs, .. }) = &q.pipeline.stages[0] else { panic!() };
/// assert!(matches!(**lhs, SpansetExpr::Pipeline(_)));
/// assert!(matches!(&**rhs, SpansetExpr::Filter(SpansetFilter { cond: None, .. })));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum SpansetExpr {
    /// `{ cond }`: the spans for which the condition holds.
    Filter(SpansetFilter),
    /// Two spanset expressions combined by a logical or structural operator.
    Binary {
        /// The operator.
        op: SpansetOp,
        /// Left operand.
        lhs: Box<SpansetExpr>,
        /// Right operand.
        rhs: Box<SpansetExpr>,
        /// From the left operand to the right one.
        span: Span,
    },
    /// A parenthesised pipeline used as an operand: `({ .a } | count() > 1)`. Never a pipeline of
    /// one [`Stage::Spanset`] stage (those parentheses only group).
    Pipeline(Box<Pipeline>),
}

impl SpansetExpr {
    /// The text of the expression.
    ///
    /// ```
    /// let q = tracecheck::traceql::parse("{ .a } > { .b }").unwrap();
    /// let tracecheck::traceql::ast::Stage::Spanset(e) = &q.pipeline.stages[0] else { panic!() };
    /// assert_eq!(e.span().range(), 0..15);
    /// ```
    pub fn span(&self) -> &Span {
        match self {
            SpansetExpr::Filter(f) => &f.span,
            SpansetExpr::Binary { span, .. } => span,
            SpansetExpr::Pipeline(p) => &p.span,
        }
    }
}

/// `{ cond }`, or `{ }` for every span.
///
/// ```
/// use tracecheck::traceql::{parse, ast::*};
/// let q = parse("{}").unwrap();
/// assert!(matches!(&q.pipeline.stages[0], Stage::Spanset(SpansetExpr::Filter(SpansetFilter { cond: None, .. }))));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SpansetFilter {
    /// The condition; `None` for `{ }`.
    pub cond: Option<FieldExpr>,
    /// From `{` to `}`.
    pub span: Span,
}

/// Operators between spanset expressions.
///
/// ```
/// use tracecheck::traceql::ast::SpansetOp;
/// assert_eq!(SpansetOp::UnionDescendant.as_str(), "&>>");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpansetOp {
    /// `&&`: traces with spans matching both sides (the spans of both).
    And,
    /// `||`: spans matching either side.
    Or,
    /// `>`: spans of the right side that are children of spans of the left side.
    Child,
    /// `<`: spans of the right side that are parents of spans of the left side.
    Parent,
    /// `>>`: descendants.
    Descendant,
    /// `<<`: ancestors.
    Ancestor,
    /// `~`: siblings.
    Sibling,
    /// `!>`: spans of the right side that are not children of spans of the left side.
    NotChild,
    /// `!<`: not parents.
    NotParent,
    /// `!>>`: not descendants.
    NotDescendant,
    /// `!<<`: not ancestors.
    NotAncestor,
    /// `!~`: not siblings.
    NotSibling,
    /// `&>`: like `>`, keeping the matching spans of both sides.
    UnionChild,
    /// `&<`: like `<`, keeping both sides.
    UnionParent,
    /// `&>>`: like `>>`, keeping both sides.
    UnionDescendant,
    /// `&<<`: like `<<`, keeping both sides.
    UnionAncestor,
    /// `&~`: like `~`, keeping both sides.
    UnionSibling,
}

impl SpansetOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Or => "||",
            SpansetOp::Child => ">",
            SpansetOp::Parent => "<",
            SpansetOp::Descendant => ">>",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
            SpansetOp::NotChild => "!>",
            SpansetOp::NotParent => "!<",
            SpansetOp::NotDescendant => "!>>",
            SpansetOp::NotAncestor => "!<<",
            SpansetOp::NotSibling => "!~",
            SpansetOp::UnionChild => "&>",
            SpansetOp::UnionParent => "&<",
            SpansetOp::UnionDescendant => "&>>",
            SpansetOp::UnionAncestor => "&<<",
            SpansetOp::UnionSibling => "&~",
        }
    }
}

/// An expression over the fields of one span (inside `{ }`, and the argument of aggregates).
///
/// ```
/// use tracecheck::traceql::{parse, ast::*};
/// let q = parse("{ .a + 1 > 2 }").unwrap();
/// let Stage::Spanset(SpansetExpr::Filter(f)) = &q.pipeline.stages[0] else { panic!() };
/// let Some(FieldExpr::Binary { op: BinaryOp::Gt, lhs, .. }) = &f.cond else { panic!() };
/// assert!(matches!(**lhs, FieldExpr::Binary { op: BinaryOp::Add, .. }));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum FieldExpr {
    /// A literal value.
    Literal {
        /// The value.
        value: Literal,
        /// Its text.
        span: Span,
    },
    /// An intrinsic or an attribute.
    Field(FieldRef),
    /// `-x` or `!x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<FieldExpr>,
        /// From the operator to the end of the operand.
        span: Span,
    },
    /// `x op y`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<FieldExpr>,
        /// Right operand.
        rhs: Box<FieldExpr>,
        /// From the left operand to the right one.
        span: Span,
    },
}

impl FieldExpr {
    /// The text of the expression.
    ///
    /// ```
    /// let q = tracecheck::traceql::parse("{ .a = 1 }").unwrap();
    /// let tracecheck::traceql::ast::Stage::Spanset(tracecheck::traceql::ast::SpansetExpr::Filter(f)) = &q.pipeline.stages[0] else { panic!() };
    /// assert_eq!(f.cond.as_ref().unwrap().span().range(), 2..8);
    /// ```
    pub fn span(&self) -> &Span {
        match self {
            FieldExpr::Literal { span, .. } | FieldExpr::Unary { span, .. } | FieldExpr::Binary { span, .. } => span,
            FieldExpr::Field(f) => f.span(),
        }
    }
}

/// Prefix operators of field expressions.
///
/// ```
/// assert_eq!(tracecheck::traceql::ast::UnaryOp::Not.as_str(), "!");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

impl UnaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Not => "!",
        }
    }
}

/// Binary operators of field expressions (the arithmetic ones also appear in scalar filters).
///
/// ```
/// assert_eq!(tracecheck::traceql::ast::BinaryOp::NotRegex.as_str(), "!~");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the operator `as_str` spells
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Regex,
    NotRegex,
    And,
    Or,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Regex => "=~",
            BinaryOp::NotRegex => "!~",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }

    /// Whether the operator is one of `= != < <= > >=` (those allowed in scalar filters).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

/// A literal value.
///
/// ```
/// use tracecheck::traceql::ast::{Literal, StatusCode};
/// assert_eq!(Literal::Status(StatusCode::Error).to_string(), "error");
/// assert_eq!(Literal::Duration(std::time::Duration::from_millis(1500)).to_string(), "1500ms");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A string, escapes resolved.
    Str(String),
    /// An integer.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A duration (`1.5s`, `100ms`, `1h30m`).
    Duration(Duration),
    /// `true` or `false`.
    Bool(bool),
    /// `nil`: no value (`span.x != nil` tests that an attribute exists).
    Nil,
    /// `ok`, `error` or `unset`.
    Status(StatusCode),
    /// `unspecified`, `internal`, `server`, `client`, `producer` or `consumer`.
    Kind(SpanKind),
}

/// The values of `status` and `kind` are the stored ones: their keywords are the names in the
/// `status` and `kind` columns.
pub use crate::ingest::{SpanKind, StatusCode};

mod fields;
pub use fields::{Attribute, AttributeScope, FieldRef, Intrinsic, SCOPED_INTRINSICS, UNSCOPED_INTRINSICS};

mod stages;
pub use stages::{Aggregate, AggregateFn, Hint, Metrics, MetricsFn, ScalarExpr, ScalarFilter, SecondStage};

mod print;
