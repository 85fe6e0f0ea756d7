//! Field expressions → SQL: a TraceQL value is dynamically typed (an attribute may be a string in
//! one span and an integer in the next), so a value compiles to one SQL expression per type it may
//! have ([`Val`]); at most one of them is non-NULL on a row. Comparisons, arithmetic and printing
//! combine the parts pairwise, which is how TraceQL's type rules (an int equals a float, a string
//! never equals a number) become plain SQL that any engine runs.

use super::joins::Joins;
use crate::model::ast::Span;
use crate::traceql::ast::{
    Attribute, AttributeScope, BinaryOp, FieldExpr, FieldRef, Intrinsic, Literal, SpanKind, StatusCode, UnaryOp,
};
use crate::traceql::TraceQlError;

type CResult<T> = std::result::Result<T, TraceQlError>;

/// A value as SQL: one expression per type it may take on a row (`None`: never that type). The
/// expressions read the columns of the joins in [`Joins`].
#[derive(Clone, Debug, Default)]
pub(super) struct Val {
    /// A string.
    pub s: Option<String>,
    /// An integer (BIGINT).
    pub i: Option<String>,
    /// A float (DOUBLE).
    pub f: Option<String>,
    /// A boolean.
    pub b: Option<String>,
    /// A duration in nanoseconds (BIGINT).
    pub d: Option<String>,
    /// A status keyword, as stored (`ok`, `error`, `unset`).
    pub status: Option<String>,
    /// A kind keyword, as stored.
    pub kind: Option<String>,
    /// Whether the value exists on the row; `None`: whenever one of the parts is non-NULL.
    /// Attributes of types with no part (arrays, maps, bytes) still exist.
    pub present: Option<String>,
    /// The stored text of a float attribute (`tags.value`), printed as the data gave it.
    pub float_text: Option<String>,
    /// The literal `nil`.
    pub nil: bool,
}

impl Val {
    fn parts(&self) -> impl Iterator<Item = &String> {
        [&self.s, &self.i, &self.f, &self.b, &self.d, &self.status, &self.kind]
            .into_iter()
            .flatten()
    }

    /// SQL that is true when the value exists.
    pub fn present_sql(&self) -> String {
        if self.nil {
            return "FALSE".into();
        }
        match &self.present {
            Some(p) => p.clone(),
            None => {
                let parts: Vec<String> = self.parts().map(|p| format!("{p} IS NOT NULL")).collect();
                if parts.is_empty() {
                    "FALSE".into()
                } else {
                    format!("({})", parts.join(" OR "))
                }
            }
        }
    }

    /// The numeric parts, for arithmetic and numeric comparison: (sql, kind).
    fn numbers(&self) -> Vec<(&String, Num)> {
        let mut out = Vec::new();
        if let Some(i) = &self.i {
            out.push((i, Num::Int));
        }
        if let Some(f) = &self.f {
            out.push((f, Num::Float));
        }
        if let Some(d) = &self.d {
            out.push((d, Num::Duration));
        }
        out
    }

    /// The value as one DOUBLE (aggregates and metrics), durations in `duration_unit`
    /// (1 for nanoseconds, 1e9 for seconds); NULL when it is not a number.
    pub fn number_sql(&self, duration_divisor: f64) -> String {
        let mut parts = Vec::new();
        if let Some(i) = &self.i {
            parts.push(format!("CAST({i} AS DOUBLE)"));
        }
        if let Some(f) = &self.f {
            parts.push(f.clone());
        }
        if let Some(d) = &self.d {
            if duration_divisor == 1.0 {
                parts.push(format!("CAST({d} AS DOUBLE)"));
            } else {
                parts.push(format!("CAST({d} AS DOUBLE) / {}", float_lit(duration_divisor)));
            }
        }
        coalesce(parts)
    }

    /// The value printed as the case format and `query` print values (strings quoted, floats
    /// with a fraction, durations in `ns`, `nil` when absent): always a non-NULL string.
    pub fn display_sql(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.s {
            parts.push(format!(
                "'\"' || replace(replace({s}, '\\', '\\\\'), '\"', '\\\"') || '\"'"
            ));
        }
        if let Some(i) = &self.i {
            parts.push(format!("CAST({i} AS VARCHAR)"));
        }
        if let Some(f) = &self.f {
            match &self.float_text {
                // The stored text is Rust's shortest round-trip form; a fraction is added to
                // integral values so that a float never prints like an int.
                Some(t) => parts.push(format!(
                    "CASE WHEN {f} IS NULL THEN NULL WHEN {t} LIKE '%.%' OR {t} IN ('NaN', 'inf', '-inf') \
                     THEN {t} ELSE {t} || '.0' END"
                )),
                None => parts.push(format!("CAST({f} AS VARCHAR)")),
            }
        }
        if let Some(b) = &self.b {
            parts.push(format!("CASE WHEN {b} THEN 'true' WHEN NOT {b} THEN 'false' END"));
        }
        if let Some(d) = &self.d {
            parts.push(format!("CAST({d} AS VARCHAR) || 'ns'"));
        }
        if let Some(st) = &self.status {
            parts.push(st.clone());
        }
        if let Some(k) = &self.kind {
            parts.push(k.clone());
        }
        parts.push("'nil'".into());
        coalesce(parts)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Num {
    Int,
    Float,
    Duration,
}

fn coalesce(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "NULL".into(),
        1 => parts.into_iter().next().expect("one"),
        _ => format!("COALESCE({})", parts.join(", ")),
    }
}

/// A DOUBLE literal that every engine reads as a DOUBLE.
pub(super) fn float_lit(x: f64) -> String {
    if x.is_nan() {
        "CAST('NaN' AS DOUBLE)".into()
    } else if x.is_infinite() {
        format!("CAST('{}' AS DOUBLE)", if x > 0.0 { "inf" } else { "-inf" })
    } else {
        format!("CAST({x:?} AS DOUBLE)")
    }
}

/// A SQL string literal (standard SQL: quotes doubled, backslashes ordinary).
pub(super) fn str_lit(s: &str) -> String {
    crate::compile::sql::quote_string(s)
}

fn int_lit(n: i64) -> String {
    if n == i64::MIN {
        "(-9223372036854775807 - 1)".into()
    } else if n < 0 {
        format!("({n})")
    } else {
        n.to_string()
    }
}

/// The value of a literal.
pub(super) fn literal(l: &Literal) -> Val {
    match l {
        Literal::Str(s) => Val {
            s: Some(str_lit(s)),
            ..Val::default()
        },
        Literal::Int(n) => Val {
            i: Some(int_lit(*n)),
            ..Val::default()
        },
        Literal::Float(x) => Val {
            f: Some(float_lit(*x)),
            ..Val::default()
        },
        Literal::Duration(d) => Val {
            d: Some(int_lit(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))),
            ..Val::default()
        },
        Literal::Bool(b) => Val {
            b: Some(if *b { "TRUE" } else { "FALSE" }.into()),
            ..Val::default()
        },
        Literal::Nil => Val {
            nil: true,
            ..Val::default()
        },
        Literal::Status(st) => Val {
            status: Some(str_lit(status_text(*st))),
            ..Val::default()
        },
        Literal::Kind(k) => Val {
            kind: Some(str_lit(kind_text(*k))),
            ..Val::default()
        },
    }
}

fn status_text(s: StatusCode) -> &'static str {
    s.as_str()
}

fn kind_text(k: SpanKind) -> &'static str {
    k.as_str()
}

/// Compiles field expressions of one filter (or one aggregate, `by`, `select`), recording the
/// joins they need in `joins`.
pub(super) struct FieldCompiler<'a> {
    pub joins: &'a mut Joins,
}

impl FieldCompiler<'_> {
    /// A filter condition: SQL that is TRUE or FALSE, never NULL (a comparison with an absent value
    /// is false, and so is a filter whose value is not a boolean).
    pub fn condition(&mut self, e: &FieldExpr) -> CResult<String> {
        Ok(match e {
            FieldExpr::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
                ..
            } => {
                format!("({} AND {})", self.condition(lhs)?, self.condition(rhs)?)
            }
            FieldExpr::Binary {
                op: BinaryOp::Or,
                lhs,
                rhs,
                ..
            } => {
                format!("({} OR {})", self.condition(lhs)?, self.condition(rhs)?)
            }
            FieldExpr::Binary {
                op: op @ (BinaryOp::Regex | BinaryOp::NotRegex),
                lhs,
                rhs,
                span,
            } => {
                let l = self.value(lhs)?;
                regex_match(*op, &l, rhs, span)?
            }
            FieldExpr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                let l = self.value(lhs)?;
                let r = self.value(rhs)?;
                compare(*op, &l, &r)
            }
            FieldExpr::Unary {
                op: UnaryOp::Not,
                operand,
                ..
            } => match &**operand {
                // `!x` of a boolean attribute: false when it is absent (Decision 5).
                FieldExpr::Field(_) => {
                    let v = self.value(operand)?;
                    match v.b {
                        Some(b) => format!("COALESCE(NOT {b}, FALSE)"),
                        None => "FALSE".into(),
                    }
                }
                other => format!("(NOT {})", self.condition(other)?),
            },
            _ => {
                let v = self.value(e)?;
                match v.b {
                    Some(b) => format!("COALESCE({b}, FALSE)"),
                    None => "FALSE".into(),
                }
            }
        })
    }

    /// The value of an expression.
    pub fn value(&mut self, e: &FieldExpr) -> CResult<Val> {
        Ok(match e {
            FieldExpr::Literal { value, .. } => literal(value),
            FieldExpr::Field(f) => self.field(f)?,
            FieldExpr::Unary {
                op: UnaryOp::Neg,
                operand,
                ..
            } => {
                let v = self.value(operand)?;
                Val {
                    i: v.i.map(|x| format!("(-{x})")),
                    f: v.f.map(|x| format!("(-{x})")),
                    d: v.d.map(|x| format!("(-{x})")),
                    ..Val::default()
                }
            }
            FieldExpr::Binary { op, lhs, rhs, .. } if is_arithmetic(*op) => {
                let l = self.value(lhs)?;
                let r = self.value(rhs)?;
                arithmetic(*op, &l, &r)
            }
            // Comparisons and logic as values: booleans.
            _ => Val {
                b: Some(self.condition(e)?),
                ..Val::default()
            },
        })
    }

    /// An intrinsic or attribute of the current span (alias `s`).
    pub fn field(&mut self, f: &FieldRef) -> CResult<Val> {
        match f {
            FieldRef::Intrinsic { intrinsic, span } => self.intrinsic(*intrinsic, span),
            FieldRef::Attribute(a) => Ok(self.attribute(a)),
        }
    }

    fn intrinsic(&mut self, i: Intrinsic, _span: &Span) -> CResult<Val> {
        let s = |sql: String| Val {
            s: Some(sql),
            ..Val::default()
        };
        Ok(match i {
            Intrinsic::SpanName => s("s.name".into()),
            Intrinsic::SpanStatus => Val {
                status: Some("s.status".into()),
                ..Val::default()
            },
            // Tempo stores an empty message, never none (Decision 4).
            Intrinsic::SpanStatusMessage => s("COALESCE(s.status_message, '')".into()),
            Intrinsic::SpanKind => Val {
                kind: Some("s.kind".into()),
                ..Val::default()
            },
            Intrinsic::SpanDuration => Val {
                d: Some("s.duration".into()),
                ..Val::default()
            },
            Intrinsic::SpanId => s("s.span_id".into()),
            Intrinsic::SpanParentId => s("s.parent_span_id".into()),
            Intrinsic::SpanChildCount => {
                self.joins.child_count = true;
                Val {
                    i: Some("COALESCE(cc.n, 0)".into()),
                    ..Val::default()
                }
            }
            Intrinsic::TraceRootName => {
                self.joins.trace = true;
                s("tr.root_name".into())
            }
            Intrinsic::TraceRootService => {
                self.joins.trace = true;
                s("tr.root_service".into())
            }
            Intrinsic::TraceDuration => {
                self.joins.trace = true;
                Val {
                    d: Some("tr.duration".into()),
                    ..Val::default()
                }
            }
            Intrinsic::TraceId => s("s.trace_id".into()),
            Intrinsic::EventName => {
                self.joins.events = true;
                s("e.name".into())
            }
            Intrinsic::EventTimeSinceStart => {
                self.joins.events = true;
                Val {
                    d: Some("(CAST(e.time AS BIGINT) - CAST(s.start_time AS BIGINT))".into()),
                    ..Val::default()
                }
            }
            Intrinsic::LinkTraceId => {
                self.joins.links = true;
                s("l.ref_trace_id".into())
            }
            Intrinsic::LinkSpanId => {
                self.joins.links = true;
                s("l.ref_span_id".into())
            }
            Intrinsic::InstrumentationName => s("s.scope_name".into()),
            Intrinsic::InstrumentationVersion => s("s.scope_version".into()),
        })
    }

    fn attribute(&mut self, a: &Attribute) -> Val {
        let stored = |alias: &str| Val {
            s: Some(format!("{alias}.str_value")),
            i: Some(format!("{alias}.int_value")),
            f: Some(format!("{alias}.double_value")),
            b: Some(format!("{alias}.bool_value")),
            present: Some(format!("({alias}.key IS NOT NULL)")),
            float_text: Some(format!("{alias}.value")),
            ..Val::default()
        };
        match a.scope {
            AttributeScope::Span | AttributeScope::Resource | AttributeScope::Instrumentation => {
                stored(&self.joins.attribute(a.scope, &a.name))
            }
            AttributeScope::Event => {
                self.joins.events = true;
                stored(&self.joins.attribute(a.scope, &a.name))
            }
            AttributeScope::Link => {
                self.joins.links = true;
                stored(&self.joins.attribute(a.scope, &a.name))
            }
            // The span's attribute if it has one, of whatever type, else the resource's (Decision 10).
            AttributeScope::Unscoped => {
                let sa = self.joins.attribute(AttributeScope::Span, &a.name);
                let ra = self.joins.attribute(AttributeScope::Resource, &a.name);
                let pick =
                    |column: &str| format!("CASE WHEN {sa}.key IS NULL THEN {ra}.{column} ELSE {sa}.{column} END");
                Val {
                    s: Some(pick("str_value")),
                    i: Some(pick("int_value")),
                    f: Some(pick("double_value")),
                    b: Some(pick("bool_value")),
                    present: Some(format!("({sa}.key IS NOT NULL OR {ra}.key IS NOT NULL)")),
                    float_text: Some(pick("value")),
                    ..Val::default()
                }
            }
        }
    }
}

fn is_arithmetic(op: BinaryOp) -> bool {
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
fn regex_match(op: BinaryOp, l: &Val, rhs: &FieldExpr, span: &Span) -> CResult<String> {
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
        return Err(TraceQlError::new(
            rhs.span().range(),
            format!("bad regular expression: {e}"),
        ));
    }
    let Some(s) = &l.s else { return Ok("FALSE".into()) };
    // Fully anchored, as Tempo matches; `~` is a (partial) regex match in DataFusion, DuckDB
    // and PostgreSQL alike, so the anchors make them agree.
    let anchored = str_lit(&format!("^(?:{pattern})$"));
    let m = format!("({s} ~ {anchored})");
    Ok(if op == BinaryOp::Regex {
        format!("COALESCE({m}, FALSE)")
    } else {
        format!("COALESCE(NOT {m}, FALSE)")
    })
}

/// `l op r` (`= != < <= > >=`) under TraceQL's type rules: numbers (int, float, duration) compare
/// with numbers, strings with strings, booleans, statuses and kinds with their own kind by
/// `=`/`!=` only; anything else, and any absent operand, is false. `x = nil` tests absence.
pub(super) fn compare(op: BinaryOp, l: &Val, r: &Val) -> String {
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
    match parts.len() {
        0 => "FALSE".into(),
        _ => format!(
            "({})",
            parts
                .iter()
                .map(|p| format!("COALESCE({p}, FALSE)"))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
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
                (Num::Int, Num::Int) => ints.push(int_op(op, x, y)),
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
