//! Dynamic TraceQL values: what a field or an expression evaluates to, how two values compare, how
//! arithmetic combines them, and how a value prints (README "Values", "Semantics pinned down",
//! Decisions 7–9).

use std::cmp::Ordering;

use regex::Regex;
use tracecheck::ingest::{self, SpanKind, StatusCode};
use tracecheck::traceql::ast::{BinaryOp, Literal};

/// A value of a span field or of an expression over fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Absent: the span has no such field (or an operation had no meaningful result).
    Nil,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    Status(StatusCode),
    Kind(SpanKind),
    /// An attribute of a type TraceQL cannot compare (bytes, array, map): present, so `!= nil` holds,
    /// but equal to nothing.
    Other,
}

/// The numeric view of a value: ints and durations stay exact, anything with a double is a float.
#[derive(Clone, Copy, Debug)]
pub enum Num {
    I(i64),
    F(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
}

impl Value {
    /// The value of a literal in the query.
    pub fn from_literal(lit: &Literal) -> Value {
        match lit {
            Literal::Str(s) => Value::Str(s.clone()),
            Literal::Int(i) => Value::Int(*i),
            Literal::Float(f) => Value::Float(*f),
            // Durations beyond i64 nanoseconds (~292 years) saturate rather than wrap.
            Literal::Duration(d) => Value::Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Nil => Value::Nil,
            Literal::Status(s) => Value::Status(*s),
            Literal::Kind(k) => Value::Kind(*k),
        }
    }

    /// The value of a stored attribute.
    pub fn from_attr(v: &ingest::Value) -> Value {
        match v {
            ingest::Value::Str(s) => Value::Str(s.clone()),
            ingest::Value::Int(i) => Value::Int(*i),
            ingest::Value::Double(f) => Value::Float(*f),
            ingest::Value::Bool(b) => Value::Bool(*b),
            // An OTLP AnyValue with nothing set carries no value at all.
            ingest::Value::Empty => Value::Nil,
            ingest::Value::Bytes(_) | ingest::Value::Array(_) | ingest::Value::Map(_) => Value::Other,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Int, double and duration are numbers; a duration counts in nanoseconds (Decision 9).
    pub fn num(&self) -> Option<Num> {
        match self {
            Value::Int(i) | Value::Duration(i) => Some(Num::I(*i)),
            Value::Float(f) => Some(Num::F(*f)),
            _ => None,
        }
    }

    /// The value as text for `select` fields, `by` headers and metrics labels (README "Values").
    pub fn print(&self) -> String {
        match self {
            Value::Nil => "nil".to_string(),
            Value::Str(s) => {
                let mut out = String::with_capacity(s.len() + 2);
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
                out
            }
            Value::Int(i) => i.to_string(),
            Value::Float(f) => {
                let s = f.to_string();
                // `{}` of an integral double has no fraction; the README wants `3.0` so the type shows.
                if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                    format!("{s}.0")
                } else {
                    s
                }
            }
            Value::Bool(b) => b.to_string(),
            Value::Duration(ns) => format!("{ns}ns"),
            Value::Status(s) => s.as_str().to_string(),
            Value::Kind(k) => k.as_str().to_string(),
            Value::Other => "?".to_string(),
        }
    }
}

/// How two present values order, if their types can be compared at all, and whether `<`/`>` apply
/// (booleans and enums only have `=`/`!=`). Mismatched types give `None`: every comparison false.
fn order(a: &Value, b: &Value) -> Option<(Ordering, bool)> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some((x.as_bytes().cmp(y.as_bytes()), true)),
        (Value::Bool(x), Value::Bool(y)) => Some((x.cmp(y), false)),
        (Value::Status(x), Value::Status(y)) => Some((if x == y { Ordering::Equal } else { Ordering::Less }, false)),
        (Value::Kind(x), Value::Kind(y)) => Some((if x == y { Ordering::Equal } else { Ordering::Less }, false)),
        _ => match (a.num()?, b.num()?) {
            (Num::I(x), Num::I(y)) => Some((x.cmp(&y), true)),
            // NaN orders with nothing, so every comparison with it is false.
            (x, y) => Some((x.as_f64().partial_cmp(&y.as_f64())?, true)),
        },
    }
}

/// `a op b` for `= != < <= > >=`. Any nil operand makes it false (the `= nil` / `!= nil` tests are
/// decided by the caller, which sees the literal).
pub fn compare(op: BinaryOp, a: &Value, b: &Value) -> bool {
    if a.is_nil() || b.is_nil() {
        return false;
    }
    let Some((ord, ordered)) = order(a, b) else {
        return false;
    };
    match op {
        BinaryOp::Eq => ord == Ordering::Equal,
        BinaryOp::Ne => ord != Ordering::Equal,
        BinaryOp::Lt => ordered && ord == Ordering::Less,
        BinaryOp::Le => ordered && ord != Ordering::Greater,
        BinaryOp::Gt => ordered && ord == Ordering::Greater,
        BinaryOp::Ge => ordered && ord != Ordering::Less,
        _ => false,
    }
}

/// `a =~ pattern`, fully anchored (`^(?:r)$`); only strings match, and an invalid pattern matches
/// nothing.
pub fn regex_match(a: &Value, pattern: &Value) -> Option<bool> {
    let (Value::Str(s), Value::Str(p)) = (a, pattern) else {
        return None;
    };
    let re = Regex::new(&format!("^(?:{p})$")).ok()?;
    Some(re.is_match(s))
}

/// `a op b` for `+ - * / % ^`. Ints (and durations, as nanoseconds) stay integers: `/` truncates
/// toward zero and `%` keeps the dividend's sign (Decision 7); with a double both sides are doubles
/// and `%` is fmod. `^` is a to the power b (Decision 8). Non-numbers, nil, division by zero and
/// integer overflow give nil.
pub fn arith(op: BinaryOp, a: &Value, b: &Value) -> Value {
    let (Some(x), Some(y)) = (a.num(), b.num()) else {
        return Value::Nil;
    };
    let durations = matches!(a, Value::Duration(_)) || matches!(b, Value::Duration(_));
    match (x, y) {
        (Num::I(x), Num::I(y)) => {
            let r = match op {
                BinaryOp::Add => x.checked_add(y),
                BinaryOp::Sub => x.checked_sub(y),
                BinaryOp::Mul => x.checked_mul(y),
                BinaryOp::Div => x.checked_div(y),
                BinaryOp::Mod => x.checked_rem(y),
                BinaryOp::Pow => match u32::try_from(y) {
                    Ok(e) => x.checked_pow(e),
                    // A negative exponent has no integer result.
                    Err(_) => return Value::Float((x as f64).powf(y as f64)),
                },
                _ => None,
            };
            match r {
                None => Value::Nil,
                // duration / duration is a plain ratio; otherwise a duration stays a duration.
                Some(r) if durations && !(op == BinaryOp::Div && both_durations(a, b)) => Value::Duration(r),
                Some(r) => Value::Int(r),
            }
        }
        (x, y) => {
            let (x, y) = (x.as_f64(), y.as_f64());
            if y == 0.0 && matches!(op, BinaryOp::Div | BinaryOp::Mod) {
                return Value::Nil;
            }
            Value::Float(match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                BinaryOp::Div => x / y,
                // Rust's `%` on f64 is C's fmod.
                BinaryOp::Mod => x % y,
                BinaryOp::Pow => x.powf(y),
                _ => return Value::Nil,
            })
        }
    }
}

fn both_durations(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Duration(_), Value::Duration(_)))
}

/// `-a`: numbers only.
pub fn negate(a: &Value) -> Value {
    match a {
        Value::Int(i) => i.checked_neg().map_or(Value::Nil, Value::Int),
        Value::Duration(i) => i.checked_neg().map_or(Value::Nil, Value::Duration),
        Value::Float(f) => Value::Float(-f),
        _ => Value::Nil,
    }
}

/// `!a`: booleans only; the `!` of anything else (nil included) is nil, so never true (Decision 5).
pub fn not(a: &Value) -> Value {
    match a {
        Value::Bool(b) => Value::Bool(!b),
        _ => Value::Nil,
    }
}

/// `a && b` and `a || b` in three-valued logic: a non-boolean operand is unknown (nil), which a
/// `false` (for `&&`) or a `true` (for `||`) on the other side still decides.
pub fn logic(op: BinaryOp, a: &Value, b: &Value) -> Value {
    let (x, y) = (as_bool(a), as_bool(b));
    match op {
        BinaryOp::And => match (x, y) {
            (Some(false), _) | (_, Some(false)) => Value::Bool(false),
            (Some(true), Some(true)) => Value::Bool(true),
            _ => Value::Nil,
        },
        BinaryOp::Or => match (x, y) {
            (Some(true), _) | (_, Some(true)) => Value::Bool(true),
            (Some(false), Some(false)) => Value::Bool(false),
            _ => Value::Nil,
        },
        _ => Value::Nil,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

/// A metrics value: shortest round-trip decimal, no exponent, no fraction when integral (README
/// "Metrics").
pub fn print_metric(v: f64) -> String {
    format!("{v}")
}
