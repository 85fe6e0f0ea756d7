//! The typed representation: the model AST with every field reference resolved and every value
//! and comparison typed, which the SQL builders (`model.rs`, `check.rs`) consume.
//!
//! The typing pass ([`type_model`], [`type_check`]) is where a model is rejected: unknown field
//! uses, comparisons and arithmetic the typing rules ([`super::types`]) forbid, enum values that do
//! not exist, invalid regular expressions, thresholds in the wrong unit. Each error points at the
//! offending text, and the pass visits the clauses in the order SQL is built (lets, `when`,
//! expects; per check rule: rows, value, aggregate, groups, threshold), so the first error is the
//! one the compiler always reported. What is left for the builders is choosing tables and aliases.
//!
//! The representation prints (`Display`) one line per let, condition, expect or check rule, with
//! each value's type and each comparison's way of comparing (`tracecheck explain --stage typed`):
//!
//! ```
//! use tracecheck::model::{parse_file, Item};
//! let file = parse_file(r#"model "m" { let w = span(name = "withdrawal")
//!     when w.tag("amount") > 100
//!     expect span(name = "commit") child of w }"#).unwrap();
//! let Item::Model(m) = &file.items[0] else { unreachable!() };
//! let typed = tracecheck::compile::type_model(m).unwrap();
//! assert_eq!(
//!     typed.to_string(),
//!     "model \"m\"\n\
//!      \x20 let w = span(name: string = \"withdrawal\" [string])\n\
//!      \x20 when w.tag(\"amount\"): tag > 100 [tag as number]\n\
//!      \x20 expect span(name: string = \"commit\" [string]) child of w\n"
//! );
//! ```

mod check;
mod model;
mod print;

pub use check::{type_check, Rows, TypedCheck, TypedRule, Unit};
pub use model::type_model;

use super::types::{CmpKind, Ty};
use crate::model::ast::{ArithOp, CmpOp, Field, Literal, Quantifier, RelationKind};

/// A typed `model` block.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedModel {
    /// The title.
    pub title: String,
    /// The lets, in order (a [`Spans::Let`] is an index into them).
    pub lets: Vec<TypedLet>,
    /// The `when` conditions, all of which must hold; empty without `when`.
    pub when: Vec<Condition>,
    /// The expects, in order.
    pub expects: Vec<TypedExpect>,
}

/// `let NAME = span(...)`, its predicates typed.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedLet {
    /// The name.
    pub name: String,
    /// The predicates of its selector ([`Comparison`]s of a field of the span with a constant).
    pub predicates: Vec<Comparison>,
}

/// The spans a selector stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum Spans {
    /// The span assigned to a let.
    Let {
        /// Its index in [`TypedModel::lets`].
        index: usize,
        /// Its name.
        name: String,
    },
    /// `span(...)`: any span satisfying the predicates (existential).
    Inline(Vec<Comparison>),
}

/// How a field is read from the rows of `spans` (or `traces`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A column of `spans` (an intrinsic or a promoted attribute).
    Column(&'static str),
    /// A tag: the span's attribute of this key, else its resource's.
    Tag(String),
    /// A column of the trace's row of `traces` (trace-level values).
    Trace(&'static str),
}

impl Access {
    /// How `field` is read.
    ///
    /// ```
    /// use tracecheck::compile::typed::Access;
    /// use tracecheck::model::ast::Field;
    /// assert_eq!(Access::of(&Field::HttpStatusCode), Access::Column("http_status_code"));
    /// assert_eq!(Access::of(&Field::TraceDuration), Access::Trace("duration"));
    /// assert_eq!(Access::of(&Field::Tag("k".into())), Access::Tag("k".into()));
    /// ```
    pub fn of(field: &Field) -> Access {
        match field {
            Field::Tag(key) => Access::Tag(key.clone()),
            Field::TraceDuration => Access::Trace("duration"),
            Field::TraceSpanCount => Access::Trace("span_count"),
            Field::TraceServiceCount => Access::Trace("service_count"),
            Field::TraceRootName => Access::Trace("root_name"),
            other => Access::Column(other.column().expect("span fields have a column")),
        }
    }
}

/// A field reference, resolved and typed.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedField {
    /// Whose field: `None` inside a selector's predicates and check rules (the row's own span),
    /// and for `trace.F` written without a selector.
    pub spans: Option<Spans>,
    /// The field as written.
    pub field: Field,
    /// How it is read.
    pub access: Access,
    /// Its type.
    pub ty: Ty,
}

/// A typed value of a `when` comparison (or a predicate's side).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A constant.
    Literal {
        /// The constant.
        literal: Literal,
        /// Its type.
        ty: Ty,
    },
    /// A field.
    Field(TypedField),
    /// `-x`, computed as a DOUBLE.
    Neg {
        /// The operand.
        expr: Box<Value>,
        /// The result type (a number or a duration).
        ty: Ty,
    },
    /// `a op b`, computed as a DOUBLE.
    Arith {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        left: Box<Value>,
        /// Right operand.
        right: Box<Value>,
        /// The result type.
        ty: Ty,
    },
}

impl Value {
    /// The value's type.
    pub fn ty(&self) -> Ty {
        match self {
            Value::Literal { ty, .. } | Value::Neg { ty, .. } | Value::Arith { ty, .. } => *ty,
            Value::Field(f) => f.ty,
        }
    }

    /// Whether the value is the result of arithmetic (a DOUBLE) rather than a column or constant.
    pub fn computed(&self) -> bool {
        matches!(self, Value::Neg { .. } | Value::Arith { .. })
    }

    /// The text of a string constant (patterns of `=~` and `contains`).
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Literal {
                literal: Literal::Str(s),
                ..
            } => Some(s),
            _ => None,
        }
    }
}

/// `left op right`, checked, with how it is computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The left side as written.
    pub left: Value,
    /// The operator as written.
    pub op: CmpOp,
    /// The right side as written.
    pub right: Value,
    /// Whether the sides are compared swapped (`right mirror(op) left`), which puts a lone tag on
    /// the left, the side the comparison kinds expect it on.
    pub swapped: bool,
    /// How the (possibly swapped) sides are compared.
    pub how: CmpKind,
}

/// One condition of `when`.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Some span of the selector exists (related to the target, if any).
    Exists {
        /// The spans.
        spans: Spans,
        /// The relation they must have.
        relation: Option<TypedRelation>,
    },
    /// A comparison that holds for some choice of the spans of its inline selectors.
    Compare(Comparison),
}

/// `child of X`, `before X`, ...
#[derive(Clone, Debug, PartialEq)]
pub struct TypedRelation {
    /// Which relation.
    pub kind: RelationKind,
    /// The other side.
    pub target: Spans,
}

/// `expect [QUANTIFIER] SELECTOR [RELATION]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedExpect {
    /// How many spans must match.
    pub quantifier: Quantifier,
    /// Which spans.
    pub spans: Spans,
    /// The relation they must have.
    pub relation: Option<TypedRelation>,
}
