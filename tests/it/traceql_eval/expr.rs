//! Field expressions over one span: the condition of a `{ }` filter, and the argument of `by`,
//! aggregates and metrics functions.

use tracecheck::traceql::ast::{AttributeScope, BinaryOp, FieldExpr, FieldRef, Intrinsic, Literal, UnaryOp};

use super::trace::{Binding, Trace};
use super::value::{self, Value};

/// Whether a filter condition holds for span `index`: for some choice of one event and one link of
/// the span (when the condition mentions event or link fields), it evaluates to `true` (Decision 11;
/// a value that is not a boolean matches nothing, Decision 6).
pub fn matches(cond: &FieldExpr, trace: &Trace<'_>, index: usize) -> bool {
    let (events, links) = mentions(cond);
    Binding::all(trace, index, events, links)
        .iter()
        .any(|b| eval(cond, b) == Value::Bool(true))
}

/// The value of an expression for span `index` outside a filter (`by`, aggregates, metrics,
/// `select`): with event or link fields, the value under the first event/link that gives one.
pub fn value_of(expr: &FieldExpr, trace: &Trace<'_>, index: usize) -> Value {
    let (events, links) = mentions(expr);
    Binding::all(trace, index, events, links)
        .iter()
        .map(|b| eval(expr, b))
        .find(|v| !v.is_nil())
        .unwrap_or(Value::Nil)
}

/// [`value_of`] for a bare field.
pub fn field_of(field: &FieldRef, trace: &Trace<'_>, index: usize) -> Value {
    let (events, links) = field_mentions(field);
    Binding::all(trace, index, events, links)
        .iter()
        .map(|b| b.field(field))
        .find(|v| !v.is_nil())
        .unwrap_or(Value::Nil)
}

/// Whether an expression reads event fields and link fields.
fn mentions(e: &FieldExpr) -> (bool, bool) {
    match e {
        FieldExpr::Literal { .. } => (false, false),
        FieldExpr::Field(f) => field_mentions(f),
        FieldExpr::Unary { operand, .. } => mentions(operand),
        FieldExpr::Binary { lhs, rhs, .. } => {
            let (a, b) = (mentions(lhs), mentions(rhs));
            (a.0 || b.0, a.1 || b.1)
        }
    }
}

fn field_mentions(f: &FieldRef) -> (bool, bool) {
    match f {
        FieldRef::Intrinsic { intrinsic, .. } => (
            matches!(intrinsic, Intrinsic::EventName | Intrinsic::EventTimeSinceStart),
            matches!(intrinsic, Intrinsic::LinkTraceId | Intrinsic::LinkSpanId),
        ),
        FieldRef::Attribute(a) => (a.scope == AttributeScope::Event, a.scope == AttributeScope::Link),
    }
}

fn is_nil_literal(e: &FieldExpr) -> bool {
    matches!(
        e,
        FieldExpr::Literal {
            value: Literal::Nil,
            ..
        }
    )
}

/// The value of an expression under one binding.
fn eval(e: &FieldExpr, b: &Binding<'_>) -> Value {
    match e {
        FieldExpr::Literal { value, .. } => Value::from_literal(value),
        FieldExpr::Field(f) => b.field(f),
        FieldExpr::Unary { op, operand, .. } => {
            let v = eval(operand, b);
            match op {
                UnaryOp::Neg => value::negate(&v),
                UnaryOp::Not => value::not(&v),
            }
        }
        FieldExpr::Binary { op, lhs, rhs, .. } => binary(*op, lhs, rhs, b),
    }
}

fn binary(op: BinaryOp, lhs: &FieldExpr, rhs: &FieldExpr, b: &Binding<'_>) -> Value {
    // `x = nil` / `x != nil` test presence; any other comparison with nil is false.
    if is_nil_literal(lhs) || is_nil_literal(rhs) {
        let (l, r) = (eval(lhs, b), eval(rhs, b));
        return match op {
            BinaryOp::Eq => Value::Bool(l.is_nil() == r.is_nil()),
            BinaryOp::Ne => Value::Bool(l.is_nil() != r.is_nil()),
            BinaryOp::And | BinaryOp::Or => value::logic(op, &l, &r),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Regex | BinaryOp::NotRegex => {
                Value::Bool(false)
            }
            _ => Value::Nil,
        };
    }
    let (l, r) = (eval(lhs, b), eval(rhs, b));
    match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Pow => {
            value::arith(op, &l, &r)
        }
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            Value::Bool(value::compare(op, &l, &r))
        }
        // A non-string operand or a bad pattern: false for `=~` and for `!~` alike (Decision 5).
        BinaryOp::Regex => Value::Bool(value::regex_match(&l, &r).unwrap_or(false)),
        BinaryOp::NotRegex => Value::Bool(value::regex_match(&l, &r).is_some_and(|m| !m)),
        BinaryOp::And | BinaryOp::Or => value::logic(op, &l, &r),
    }
}
