//! The Rust builder API, mirroring the seed's fluent API. It produces the same AST as the parser
//! (spans are empty, and equality ignores them), so a model written in Rust and the same model
//! written in a `.model` file compile to the same SQL.
//!
//! ```
//! use tracecheck::model::builder::*;
//! use tracecheck::model::{ast::Model, parse_file};
//!
//! let model = Model::new("Accounts cannot withdraw more than their balance")
//!     .when(less_than(span().name("fetch-balance").tag("amount"),
//!                     span().name("withdrawal").tag("amount")))
//!     .expect(span().name("rollback"))
//!     .not_expect(span().name("commit"))
//!     .expect(span().name("/:account/withdraw").http_status_code(500));
//! model.validate().unwrap();
//! let text = tracecheck::model::format_file(&model.clone().into());
//! assert_eq!(parse_file(&text).unwrap(), File::from(model));
//! ```
//!
//! Decisions:
//! - The builders are the AST types themselves (plus [`SpanBuilder`] for `span(...)`), with consuming
//!   methods; no separate "build" step. [`Model::validate`] checks what the parser checks while
//!   parsing (names, enum values, aggregate arguments).
//! - Calling `.when(..)` twice joins the conditions with `and` (the text form allows one `when`).
//! - `kind(..)` and `status(..)` take the enum value as a string (`"server"`); invalid values are
//!   reported by `validate`.

use std::ops::{Add, Div, Mul, Sub};
use std::time::Duration;

pub use super::ast::{
    AggSource, Aggregate, ArithOp, Check, CheckRule, CmpOp, Condition, Expr, Field, FieldRef, File, Item, Literal,
    Model, Quantity, RelationKind, Selector, SpanTerm, Threshold,
};
use super::ast::{Comments, Expect, Let, Predicate, Quantifier, Relation, Span, Spanned, When};

mod check;
pub use check::*;

/// An inline selector under construction: `span()` is `span()`, every span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanBuilder {
    predicates: Vec<Predicate>,
}

/// Starts an inline selector (`span(...)`); add predicates with the builder's methods.
///
/// ```
/// use tracecheck::model::builder::*;
/// let s: Selector = span().service("bank").kind("server").into();
/// assert_eq!(s.to_string(), "span(service = \"bank\", kind = server)");
/// ```
pub fn span() -> SpanBuilder {
    SpanBuilder::default()
}

/// A reference to a `let` name of the model.
pub fn named(name: impl Into<String>) -> Selector {
    Selector::Ref(Spanned::new(name.into()))
}

impl SpanBuilder {
    /// Adds the predicate `field op value`.
    pub fn where_(mut self, field: Field, op: CmpOp, value: impl Into<Literal>) -> SpanBuilder {
        self.predicates.push(Predicate {
            field: Spanned::new(field),
            op: Spanned::new(op),
            value: Spanned::new(value.into()),
            span: Span::default(),
        });
        self
    }

    fn eq(self, field: Field, value: impl Into<Literal>) -> SpanBuilder {
        self.where_(field, CmpOp::Eq, value)
    }

    /// `name = "..."`
    pub fn name(self, name: impl Into<String>) -> SpanBuilder {
        self.eq(Field::Name, Literal::Str(name.into()))
    }
    /// `service = "..."`
    pub fn service(self, service: impl Into<String>) -> SpanBuilder {
        self.eq(Field::Service, Literal::Str(service.into()))
    }
    /// `kind = server` (an enum value).
    pub fn kind(self, kind: impl Into<String>) -> SpanBuilder {
        self.eq(Field::Kind, Literal::Enum(kind.into()))
    }
    /// `status = error` (an enum value).
    pub fn status(self, status: impl Into<String>) -> SpanBuilder {
        self.eq(Field::Status, Literal::Enum(status.into()))
    }
    /// `http.status_code = N`
    pub fn http_status_code(self, code: i64) -> SpanBuilder {
        self.eq(Field::HttpStatusCode, Literal::Int(code))
    }
    /// `http.method = "..."`
    pub fn http_method(self, method: impl Into<String>) -> SpanBuilder {
        self.eq(Field::HttpMethod, Literal::Str(method.into()))
    }
    /// `http.route = "..."`
    pub fn http_route(self, route: impl Into<String>) -> SpanBuilder {
        self.eq(Field::HttpRoute, Literal::Str(route.into()))
    }
    /// `http.url = "..."`
    pub fn http_url(self, url: impl Into<String>) -> SpanBuilder {
        self.eq(Field::HttpUrl, Literal::Str(url.into()))
    }
    /// `db.system = "..."`
    pub fn db_system(self, system: impl Into<String>) -> SpanBuilder {
        self.eq(Field::DbSystem, Literal::Str(system.into()))
    }
    /// `db.name = "..."`
    pub fn db_name(self, name: impl Into<String>) -> SpanBuilder {
        self.eq(Field::DbName, Literal::Str(name.into()))
    }
    /// `db.user = "..."`
    pub fn db_user(self, user: impl Into<String>) -> SpanBuilder {
        self.eq(Field::DbUser, Literal::Str(user.into()))
    }
    /// `db.statement = "..."`
    pub fn db_statement(self, statement: impl Into<String>) -> SpanBuilder {
        self.eq(Field::DbStatement, Literal::Str(statement.into()))
    }
    /// `tag("key") = value`
    pub fn with_tag(self, key: impl Into<String>, value: impl Into<Literal>) -> SpanBuilder {
        self.eq(Field::Tag(key.into()), value)
    }
}

impl From<SpanBuilder> for Selector {
    fn from(b: SpanBuilder) -> Selector {
        Selector::Inline {
            predicates: b.predicates,
            span: Span::default(),
        }
    }
}

/// Values and relations of a selector, shared by [`SpanBuilder`] and [`Selector`].
macro_rules! selector_methods {
    () => {
        /// The value `SELECTOR.FIELD`.
        pub fn field(self, field: Field) -> FieldRef {
            FieldRef {
                selector: Some(self.into()),
                field: Spanned::new(field),
                span: Span::default(),
            }
        }
        /// The value `SELECTOR.tag("key")`.
        pub fn tag(self, key: impl Into<String>) -> FieldRef {
            self.field(Field::Tag(key.into()))
        }
        /// The value `SELECTOR.duration`.
        pub fn duration(self) -> FieldRef {
            self.field(Field::Duration)
        }
        /// `SELECTOR RELATION target`.
        pub fn related(self, kind: RelationKind, target: impl Into<Selector>) -> SpanTerm {
            SpanTerm {
                selector: self.into(),
                relation: Some(Relation {
                    kind,
                    target: target.into(),
                    span: Span::default(),
                }),
                span: Span::default(),
            }
        }
        /// `SELECTOR child of target`.
        pub fn child_of(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::ChildOf, target)
        }
        /// `SELECTOR parent of target`.
        pub fn parent_of(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::ParentOf, target)
        }
        /// `SELECTOR descendant of target`.
        pub fn descendant_of(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::DescendantOf, target)
        }
        /// `SELECTOR ancestor of target`.
        pub fn ancestor_of(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::AncestorOf, target)
        }
        /// `SELECTOR sibling of target`.
        pub fn sibling_of(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::SiblingOf, target)
        }
        /// `SELECTOR before target`.
        pub fn before(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::Before, target)
        }
        /// `SELECTOR after target`.
        pub fn after(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::After, target)
        }
        /// `SELECTOR during target`.
        pub fn during(self, target: impl Into<Selector>) -> SpanTerm {
            self.related(RelationKind::During, target)
        }
    };
}

impl SpanBuilder {
    selector_methods!();
}

impl Selector {
    selector_methods!();
}

/// The value `trace.FIELD` (use a `trace.*` field).
pub fn trace(field: Field) -> FieldRef {
    FieldRef {
        selector: None,
        field: Spanned::new(field),
        span: Span::default(),
    }
}

/// A constant value.
pub fn lit(value: impl Into<Literal>) -> Expr {
    Expr::Literal(Spanned::new(value.into()))
}

macro_rules! literal_from {
    ($($t:ty => $v:ident $(as $cast:ty)?),*) => {$(
        impl From<$t> for Literal {
            fn from(x: $t) -> Literal { Literal::$v(x $(as $cast)?) }
        }
        impl From<$t> for Expr {
            fn from(x: $t) -> Expr { lit(x) }
        }
    )*};
}
literal_from!(i64 => Int, i32 => Int as i64, f64 => Float, bool => Bool, String => Str);

impl From<&str> for Literal {
    fn from(s: &str) -> Literal {
        Literal::Str(s.to_string())
    }
}
impl From<&str> for Expr {
    fn from(s: &str) -> Expr {
        lit(s)
    }
}
impl From<Duration> for Literal {
    /// A duration literal (saturating at about 292 years).
    fn from(d: Duration) -> Literal {
        Literal::Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}
impl From<Duration> for Expr {
    fn from(d: Duration) -> Expr {
        lit(d)
    }
}
impl From<Literal> for Expr {
    fn from(l: Literal) -> Expr {
        lit(l)
    }
}
impl From<FieldRef> for Expr {
    fn from(f: FieldRef) -> Expr {
        Expr::Field(f)
    }
}

macro_rules! arith {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<T: Into<Expr>> $trait<T> for Expr {
            type Output = Expr;
            fn $method(self, rhs: T) -> Expr {
                Expr::Binary { op: ArithOp::$op, left: Box::new(self), right: Box::new(rhs.into()), span: Span::default() }
            }
        }
        impl<T: Into<Expr>> $trait<T> for FieldRef {
            type Output = Expr;
            fn $method(self, rhs: T) -> Expr { Expr::from(self).$method(rhs) }
        }
    )*};
}
arith!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

/// The condition `left op right`.
pub fn compare(left: impl Into<Expr>, op: CmpOp, right: impl Into<Expr>) -> Condition {
    Condition::Compare {
        left: left.into(),
        op: Spanned::new(op),
        right: right.into(),
        span: Span::default(),
    }
}

macro_rules! comparisons {
    ($($(#[$doc:meta])* $name:ident $op:ident),*) => {$(
        $(#[$doc])*
        pub fn $name(left: impl Into<Expr>, right: impl Into<Expr>) -> Condition {
            compare(left, CmpOp::$op, right)
        }
    )*};
}
comparisons!(
    /// `left < right`
    less_than Lt,
    /// `left <= right`
    less_or_equal Le,
    /// `left > right`
    greater_than Gt,
    /// `left >= right`
    greater_or_equal Ge,
    /// `left = right`
    equal Eq,
    /// `left != right`
    not_equal Ne,
    /// `left =~ right` (the right side is a regular expression)
    matches Match,
    /// `left contains right`
    contains Contains
);

impl From<SpanBuilder> for SpanTerm {
    fn from(b: SpanBuilder) -> SpanTerm {
        Selector::from(b).into()
    }
}
impl From<Selector> for SpanTerm {
    fn from(selector: Selector) -> SpanTerm {
        SpanTerm {
            selector,
            relation: None,
            span: Span::default(),
        }
    }
}
impl From<SpanTerm> for Condition {
    /// Existence: some span matches.
    fn from(t: SpanTerm) -> Condition {
        Condition::Exists(t)
    }
}
impl From<SpanBuilder> for Condition {
    fn from(b: SpanBuilder) -> Condition {
        Condition::Exists(b.into())
    }
}
impl From<Selector> for Condition {
    fn from(s: Selector) -> Condition {
        Condition::Exists(s.into())
    }
}

impl Model {
    /// A model with a title and no clauses yet.
    pub fn new(title: impl Into<String>) -> Model {
        Model {
            title: Spanned::new(title.into()),
            lets: Vec::new(),
            when: None,
            expects: Vec::new(),
            comments: Comments::default(),
            trailing_comments: Comments::default(),
            span: Span::default(),
        }
    }

    /// `let name = span(...)`; refer to it with [`named`].
    pub fn let_(mut self, name: impl Into<String>, selector: impl Into<Selector>) -> Model {
        self.lets.push(Let {
            name: Spanned::new(name.into()),
            selector: selector.into(),
            comments: Comments::default(),
            span: Span::default(),
        });
        self
    }

    /// Adds a `when` condition (joined with `and` to earlier ones).
    pub fn when(mut self, condition: impl Into<Condition>) -> Model {
        let when = self.when.get_or_insert_with(|| When {
            conditions: Vec::new(),
            comments: Comments::default(),
            span: Span::default(),
        });
        when.conditions.push(condition.into());
        self
    }

    fn quantified(mut self, quantifier: Quantifier, term: impl Into<SpanTerm>) -> Model {
        self.expects.push(Expect {
            quantifier,
            term: term.into(),
            comments: Comments::default(),
            span: Span::default(),
        });
        self
    }

    /// `expect S`: at least one span matches.
    pub fn expect(self, term: impl Into<SpanTerm>) -> Model {
        self.quantified(Quantifier::Some, term)
    }
    /// `expect no S`.
    pub fn not_expect(self, term: impl Into<SpanTerm>) -> Model {
        self.quantified(Quantifier::No, term)
    }
    /// `expect N S`: exactly `n`.
    pub fn expect_count(self, n: u64, term: impl Into<SpanTerm>) -> Model {
        self.quantified(Quantifier::Exactly(n), term)
    }
    /// `expect at least N S`.
    pub fn expect_at_least(self, n: u64, term: impl Into<SpanTerm>) -> Model {
        self.quantified(Quantifier::AtLeast(n), term)
    }
    /// `expect at most N S`.
    pub fn expect_at_most(self, n: u64, term: impl Into<SpanTerm>) -> Model {
        self.quantified(Quantifier::AtMost(n), term)
    }
}

impl From<Model> for Item {
    fn from(m: Model) -> Item {
        Item::Model(m)
    }
}
impl From<Check> for Item {
    fn from(c: Check) -> Item {
        Item::Check(c)
    }
}
impl From<Model> for File {
    fn from(m: Model) -> File {
        File::new().with(m)
    }
}
impl From<Check> for File {
    fn from(c: Check) -> File {
        File::new().with(c)
    }
}
impl File {
    /// An empty file.
    pub fn new() -> File {
        File::default()
    }
    /// Appends a model or check.
    pub fn with(mut self, item: impl Into<Item>) -> File {
        self.items.push(item.into());
        self
    }
}
