//! The model AST: the one representation that both front ends (the text parser in
//! [`parser`](super::parser) and the Rust builder in [`builder`](super::builder)) produce.
//!
//! Every node carries a source [`Span`] (a byte range into the model text) for diagnostics. Spans never
//! take part in equality: [`Span`]'s `PartialEq` always returns `true`, so a parsed model equals the
//! same model built in Rust (whose spans are all `0..0`). Comments are kept as [`Comments`] trivia so the
//! formatter can print them again, and they never take part in equality either.
//!
//! The parser guarantees some invariants that the types alone do not (a builder-made model can be
//! checked with [`Model::validate`]): let names are unique and declared before use,
//! every [`Selector::Ref`] names a let, [`FieldRef::selector`] is `None` only for `trace.*` fields, and
//! enum literals are valid values of `kind` or `status`.
//!
//! Types are not checked here (`name < 5` parses): that is the job of the resolver, which knows the
//! span schema.

use std::fmt;
use std::ops::Range;

pub use super::field::{Field, FIELDS, KIND_VALUES, STATUS_VALUES};

mod check;
pub use check::{AggSource, Aggregate, Check, CheckRule, Quantity, Threshold};

/// A byte range into the model source. Equality always holds, so ASTs compare structurally.
#[derive(Clone, Default, Eq)]
pub struct Span(pub Range<usize>);

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.0.start, self.0.end)
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Span {
        Span(r)
    }
}

impl Span {
    /// The byte range.
    pub fn range(&self) -> Range<usize> {
        self.0.clone()
    }

    /// The smallest span covering `self` and `other`.
    pub fn to(&self, other: &Span) -> Span {
        Span(self.0.start.min(other.0.start)..self.0.end.max(other.0.end))
    }
}

/// Comment lines (with their `#` or `//` marker) that precede a node in the source. Trivia: equality
/// always holds.
#[derive(Clone, Default, Eq)]
pub struct Comments(pub Vec<String>);

impl fmt::Debug for Comments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq for Comments {
    fn eq(&self, _: &Comments) -> bool {
        true
    }
}

/// A value with the source span it was parsed from. Debug-printed compactly as `value @ start..end`.
#[derive(Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.node, f)?;
        write!(f, " @ {:?}", self.span)
    }
}

impl<T> Spanned<T> {
    /// A value without a source position (as made by the builder).
    pub fn new(node: T) -> Spanned<T> {
        Spanned {
            node,
            span: Span::default(),
        }
    }

    /// A value at a source position.
    pub fn at(node: T, span: impl Into<Span>) -> Spanned<T> {
        Spanned {
            node,
            span: span.into(),
        }
    }
}

/// A model file: `model` and `check` blocks in source order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    /// The blocks.
    pub items: Vec<Item>,
    /// Comments after the last block.
    pub trailing_comments: Comments,
}

/// One top-level block.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `model "title" { ... }`: a rule every trace must satisfy.
    Model(Model),
    /// `check "title" { ... }`: aggregate rules over the whole data set.
    Check(Check),
}

/// `model "title" { let ... when ... expect ... }`.
///
/// The formatter prints clauses in the canonical order lets, when, expects; source order between the
/// kinds is not kept (a let must be declared before use, so moving lets first never changes meaning).
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The title, which names the model in reports.
    pub title: Spanned<String>,
    /// `let NAME = span(...)`, in order.
    pub lets: Vec<Let>,
    /// The `when` clause; `None` means the model applies to every trace.
    pub when: Option<When>,
    /// `expect` clauses, in order; at least one when parsed.
    pub expects: Vec<Expect>,
    /// Comments before the `model` keyword.
    pub comments: Comments,
    /// Comments before the closing `}`.
    pub trailing_comments: Comments,
    /// The whole block.
    pub span: Span,
}

/// `let NAME = span(...)`: names one span of the trace; the model must hold for every assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    /// The name.
    pub name: Spanned<String>,
    /// The spans the name ranges over; always [`Selector::Inline`] when parsed.
    pub selector: Selector,
    /// Comments before the clause.
    pub comments: Comments,
    /// The whole clause.
    pub span: Span,
}

/// `when C and C ...`: an existential condition per trace (and per let assignment).
#[derive(Clone, Debug, PartialEq)]
pub struct When {
    /// The conditions, all of which must hold (`and`); never empty.
    pub conditions: Vec<Condition>,
    /// Comments before the clause.
    pub comments: Comments,
    /// The whole clause.
    pub span: Span,
}

/// `expect [QUANTIFIER] SELECTOR [RELATION]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// How many spans must match.
    pub quantifier: Quantifier,
    /// Which spans.
    pub term: SpanTerm,
    /// Comments before the clause.
    pub comments: Comments,
    /// The whole clause.
    pub span: Span,
}

/// How many spans an `expect` clause requires. Kept as written (`expect 0 S` is not rewritten to
/// `expect no S`), so the formatter prints what the user wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// `expect S`: at least one.
    Some,
    /// `expect no S`: none.
    No,
    /// `expect N S`: exactly N.
    Exactly(u64),
    /// `expect at least N S`.
    AtLeast(u64),
    /// `expect at most N S`.
    AtMost(u64),
}

/// A selector, optionally related to another selector: `span(name = "a") child of w`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanTerm {
    /// The spans.
    pub selector: Selector,
    /// At most one relation (chains are not supported yet).
    pub relation: Option<Relation>,
    /// The whole term.
    pub span: Span,
}

/// `child of X`, `before X`, ...: a structural or temporal relation to the spans of `target`.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    /// Which relation.
    pub kind: RelationKind,
    /// The other side: a let name or an inline selector (existential).
    pub target: Selector,
    /// The whole relation, from its keyword to the end of the target.
    pub span: Span,
}

/// The relations between two spans of one trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelationKind {
    /// `child of X`: the span's parent is X.
    ChildOf,
    /// `parent of X`: X's parent is the span.
    ParentOf,
    /// `descendant of X`: X is a proper ancestor of the span.
    DescendantOf,
    /// `ancestor of X`: the span is a proper ancestor of X.
    AncestorOf,
    /// `sibling of X`: same parent, different span.
    SiblingOf,
    /// `before X`: the span ends before X starts.
    Before,
    /// `after X`: the span starts after X ends.
    After,
    /// `during X`: the span starts and ends within X.
    During,
}

impl RelationKind {
    /// All relations, in documentation order.
    pub const ALL: [RelationKind; 8] = [
        RelationKind::ChildOf,
        RelationKind::ParentOf,
        RelationKind::DescendantOf,
        RelationKind::AncestorOf,
        RelationKind::SiblingOf,
        RelationKind::Before,
        RelationKind::After,
        RelationKind::During,
    ];

    /// The relation as written in a model, e.g. `child of`.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::ChildOf => "child of",
            RelationKind::ParentOf => "parent of",
            RelationKind::DescendantOf => "descendant of",
            RelationKind::AncestorOf => "ancestor of",
            RelationKind::SiblingOf => "sibling of",
            RelationKind::Before => "before",
            RelationKind::After => "after",
            RelationKind::During => "during",
        }
    }
}

/// A set of spans of one trace.
#[derive(Clone, Debug, PartialEq)]
pub enum Selector {
    /// `span(p, ...)`: the spans satisfying all predicates (`span()` is every span).
    Inline {
        /// The predicates, all of which must hold.
        predicates: Vec<Predicate>,
        /// From `span` to `)`.
        span: Span,
    },
    /// A let name: the one span assigned to it.
    Ref(Spanned<String>),
}

impl Selector {
    /// The source span of the selector.
    pub fn span(&self) -> &Span {
        match self {
            Selector::Inline { span, .. } => span,
            Selector::Ref(name) => &name.span,
        }
    }
}

/// `FIELD OP LITERAL` inside `span(...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// The span's field.
    pub field: Spanned<Field>,
    /// The comparison.
    pub op: Spanned<CmpOp>,
    /// The constant compared with.
    pub value: Spanned<Literal>,
    /// The whole predicate.
    pub span: Span,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~`: regular-expression match (the right side is the pattern).
    Match,
    /// `contains`: substring.
    Contains,
}

impl CmpOp {
    /// The operator as written in a model.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Match => "=~",
            CmpOp::Contains => "contains",
        }
    }
}

/// A typed constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `"text"` (escapes resolved).
    Str(String),
    /// `42`, `-1`.
    Int(i64),
    /// `1.5`.
    Float(f64),
    /// `250ms`, `1.5s`: nanoseconds.
    Duration(i64),
    /// `true`, `false`.
    Bool(bool),
    /// A bare word naming an enum value: `server` (a `kind`) or `error` (a `status`).
    Enum(String),
}

/// One side of a comparison in a `when` condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A constant.
    Literal(Spanned<Literal>),
    /// `SELECTOR.FIELD` or `trace.FIELD`.
    Field(FieldRef),
    /// `-x` (a minus before a number literal is folded into the literal instead).
    Neg {
        /// The operand.
        expr: Box<Expr>,
        /// From `-` to the end of the operand.
        span: Span,
    },
    /// `a + b`, `a * b`, ... (parentheses are not kept; the formatter adds them where needed).
    Binary {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
}

impl Expr {
    /// The source span of the expression (without surrounding parentheses).
    pub fn span(&self) -> Span {
        match self {
            Expr::Literal(l) => l.span.clone(),
            Expr::Field(f) => f.span.clone(),
            Expr::Neg { span, .. } | Expr::Binary { span, .. } => span.clone(),
        }
    }
}

/// A field of the spans of a selector (`w.duration`), or of the trace (`trace.duration`).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRef {
    /// The spans; `None` for `trace.*` fields written without a selector.
    pub selector: Option<Selector>,
    /// The field.
    pub field: Spanned<Field>,
    /// The whole reference.
    pub span: Span,
}

/// Arithmetic operators, in `when` expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl ArithOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }

    /// Binding strength: `*` and `/` bind tighter than `+` and `-`; all are left-associative.
    pub fn precedence(self) -> u8 {
        match self {
            ArithOp::Add | ArithOp::Sub => 1,
            ArithOp::Mul | ArithOp::Div => 2,
        }
    }
}

/// One condition of a `when` clause.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// A bare selector, optionally related: some span (or the let's span) exists.
    Exists(SpanTerm),
    /// `left OP right`: holds for some choice of the spans of every inline selector involved.
    Compare {
        /// Left side.
        left: Expr,
        /// Operator.
        op: Spanned<CmpOp>,
        /// Right side.
        right: Expr,
        /// The whole comparison.
        span: Span,
    },
}
