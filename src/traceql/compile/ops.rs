//! Operators on [`Val`]s: comparison under TraceQL's type rules, regular expression matches and
//! arithmetic, each combining the typed parts of its operands pairwise.

use super::value::{coalesce, str_lit, Num, Val};
use crate::model::ast::Span;
use crate::traceql::ast::{BinaryOp, FieldExpr, Literal};
use crate::traceql::TraceQlError;

type CResult<T> = std::result::Result<T, TraceQlError>;

pub(super) fn is_arithmetic(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Pow
    )
}

fn sql_op(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "=",
        BinaryOp::Ne => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        _ => "=",
    }
}

/// `l =~ "pattern"` / `l !~ "pattern"`: false when `l` is absent or not a string (Decision 5).
///
/// With `total`, the SQL is never NULL (FALSE instead); without, it is NULL where the match is
/// false for an absent value, which a filter treats alike and lets the engine push into scans.
pub(super) fn regex_match(op: BinaryOp, l: &Val, rhs: &FieldExpr, span: &Span, total: bool) -> CResult<String> {
    let FieldExpr::Literal {
        value: Literal::Str(pattern),
        ..
    } = rhs
    else {
        return Err(TraceQlError::new(
            span.range(),
            "the right side of a regular expression match must be a string",
        ));
    };
    if let Err(e) = regex::Regex::new(pattern) {
        // The regex crate's message draws its own caret over several lines: keep its last line.
        let text = e.to_string();
        let why = text.lines().last().unwrap_or("").trim_start_matches("error: ");
        return Err(TraceQlError::new(
            rhs.span().range(),
            format!("bad regular expression: {why}"),
        ));
    }
    let Some(s) = &l.s else { return Ok("FALSE".into()) };
    // Fully anchored, as Tempo matches; `~` is a (partial) regex match in DataFusion, DuckDB
    // and PostgreSQL alike, so the anchors make them agree.
    let anchored = str_lit(&format!("^(?:{pattern})$"));
    let m = match op {
        BinaryOp::Regex => format!("({s} ~ {anchored})"),
        _ => format!("(NOT ({s} ~ {anchored}))"),
    };
    Ok(if total { format!("COALESCE({m}, FALSE)") } else { m })
}

/// `l op r` (`= != < <= > >=`) under TraceQL's type rules: numbers (int, float, duration) compare
/// with numbers, strings with strings, booleans, statuses and kinds with their own kind by
/// `=`/`!=` only; anything else, and any absent operand, is false. `x = nil` tests absence.
///
/// With `total`, the SQL is never NULL; without, an absent operand gives NULL instead of FALSE —
/// the same to a filter (`WHERE` keeps TRUE only), and a plain `column = value` the engine pushes
/// into the Parquet scan (statistics, and a LEFT JOIN on `tags` becomes an inner one). Under `!`
/// or as a value, comparisons must be total: `!(x = 1)` holds when `x` is absent.
pub(super) fn compare(op: BinaryOp, l: &Val, r: &Val, total: bool) -> String {
    if l.nil || r.nil {
        let other = if l.nil { r } else { l };
        return match op {
            BinaryOp::Eq => format!("(NOT {})", other.present_sql()),
            BinaryOp::Ne => other.present_sql(),
            _ => "FALSE".into(),
        };
    }
    let o = sql_op(op);
    let equality = matches!(op, BinaryOp::Eq | BinaryOp::Ne);
    let mut parts = Vec::new();
    for (x, xk) in l.numbers() {
        for (y, yk) in r.numbers() {
            let both_integral = xk != Num::Float && yk != Num::Float;
            if both_integral {
                parts.push(format!("{x} {o} {y}"));
            } else {
                parts.push(format!("CAST({x} AS DOUBLE) {o} CAST({y} AS DOUBLE)"));
            }
        }
    }
    if let (Some(x), Some(y)) = (&l.s, &r.s) {
        parts.push(format!("{x} {o} {y}"));
    }
    if equality {
        for (x, y) in [(&l.b, &r.b), (&l.status, &r.status), (&l.kind, &r.kind)] {
            if let (Some(x), Some(y)) = (x, y) {
                parts.push(format!("{x} {o} {y}"));
            }
        }
    }
    let parts: Vec<String> = match total {
        true => parts.iter().map(|p| format!("COALESCE({p}, FALSE)")).collect(),
        false => parts,
    };
    match parts.len() {
        0 => "FALSE".into(),
        1 => parts.into_iter().next().expect("one"),
        _ => format!("({})", parts.join(" OR ")),
    }
}

/// `l op r` for numbers: int with int stays an int (`/` truncates toward zero, `%` keeps the
/// dividend's sign), a duration with an int or a duration stays a duration, anything with a float
/// is a float. Division or remainder by zero is absent.
pub(super) fn arithmetic(op: BinaryOp, l: &Val, r: &Val) -> Val {
    let mut ints = Vec::new();
    let mut durations = Vec::new();
    let mut floats = Vec::new();
    for (x, xk) in l.numbers() {
        for (y, yk) in r.numbers() {
            match (xk, yk) {
                // A negative exponent has no integer result: the float one.
                (Num::Int, Num::Int) if op == BinaryOp::Pow => {
                    ints.push(format!("CASE WHEN {y} >= 0 THEN {} END", int_op(op, x, y)));
                    floats.push(format!("CASE WHEN {y} < 0 THEN {} END", float_op(op, x, y)));
                }
                (Num::Int, Num::Int) => ints.push(int_op(op, x, y)),
                // duration / duration is a plain ratio.
                (Num::Duration, Num::Duration) if op == BinaryOp::Div => ints.push(int_op(op, x, y)),
                (Num::Float, _) | (_, Num::Float) => floats.push(float_op(op, x, y)),
                _ => durations.push(int_op(op, x, y)),
            }
        }
    }
    let one = |v: Vec<String>| if v.is_empty() { None } else { Some(coalesce(v)) };
    Val {
        i: one(ints),
        f: one(floats),
        d: one(durations),
        ..Val::default()
    }
}

fn int_op(op: BinaryOp, x: &str, y: &str) -> String {
    match op {
        BinaryOp::Add => format!("({x} + {y})"),
        BinaryOp::Sub => format!("({x} - {y})"),
        BinaryOp::Mul => format!("({x} * {y})"),
        // Through DOUBLE: DuckDB's `/` on integers gives a DOUBLE, DataFusion's an integer; this
        // is the same on both (exact below 2^53).
        BinaryOp::Div => format!("CAST(trunc(CAST({x} AS DOUBLE) / CAST(NULLIF({y}, 0) AS DOUBLE)) AS BIGINT)"),
        BinaryOp::Mod => format!("({x} % NULLIF({y}, 0))"),
        _ => format!("CAST(power(CAST({x} AS DOUBLE), CAST({y} AS DOUBLE)) AS BIGINT)"),
    }
}

fn float_op(op: BinaryOp, x: &str, y: &str) -> String {
    let (x, y) = (format!("CAST({x} AS DOUBLE)"), format!("CAST({y} AS DOUBLE)"));
    match op {
        BinaryOp::Add => format!("({x} + {y})"),
        BinaryOp::Sub => format!("({x} - {y})"),
        BinaryOp::Mul => format!("({x} * {y})"),
        BinaryOp::Div => format!("({x} / NULLIF({y}, 0.0))"),
        BinaryOp::Mod => format!("({x} % NULLIF({y}, 0.0))"),
        _ => format!("power({x}, {y})"),
    }
}
