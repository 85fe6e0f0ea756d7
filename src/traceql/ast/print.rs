//! `Display` for the AST: TraceQL that parses back to the same AST, every operation in parentheses.
//!
//! Intrinsics are printed in their canonical scoped spelling (`span:name`), durations in the largest
//! unit that divides them (`1500ms`, `2h`), floats always with a `.` or an exponent (`1.0`, `1e20`) so
//! they stay floats, strings in double quotes, attribute names quoted when the lexer would not read
//! them back whole (`span."a b"`, `."5xx"`). Negative numbers are prefix `-` operations in a parsed
//! AST (`-5` is `(-5)`); a negative literal built by hand prints as `-5` and parses back as the
//! operation, except in hints.

use std::fmt::{self, Display, Formatter, Write};

use super::*;

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pipeline)?;
        if let Some(m) = &self.metrics {
            write!(f, " | {m}")?;
        }
        for s in &self.second_stage {
            write!(f, " | {s}")?;
        }
        if !self.hints.is_empty() {
            f.write_str(" with (")?;
            comma_list(f, &self.hints)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn comma_list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for Pipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, stage) in self.stages.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{stage}")?;
        }
        Ok(())
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Spanset(e) => write!(f, "{e}"),
            Stage::ScalarFilter(s) => write!(f, "{s}"),
            Stage::By { exprs, .. } => {
                f.write_str("by(")?;
                comma_list(f, exprs)?;
                f.write_str(")")
            }
            Stage::Select { fields, .. } => {
                f.write_str("select(")?;
                comma_list(f, fields)?;
                f.write_str(")")
            }
            Stage::Coalesce { .. } => f.write_str("coalesce()"),
        }
    }
}

impl Display for SpansetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SpansetExpr::Filter(filter) => write!(f, "{filter}"),
            SpansetExpr::Binary { op, lhs, rhs, .. } => write!(f, "({lhs} {} {rhs})", op.as_str()),
            SpansetExpr::Pipeline(p) => write!(f, "({p})"),
        }
    }
}

impl Display for SpansetFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.cond {
            None => f.write_str("{ }"),
            Some(c) => write!(f, "{{ {c} }}"),
        }
    }
}

impl Display for FieldExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpr::Literal { value, .. } => write!(f, "{value}"),
            FieldExpr::Field(field) => write!(f, "{field}"),
            FieldExpr::Unary { op, operand, .. } => write!(f, "({}{operand})", op.as_str()),
            FieldExpr::Binary { op, lhs, rhs, .. } => write!(f, "({lhs} {} {rhs})", op.as_str()),
        }
    }
}

impl Display for FieldRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Intrinsic { intrinsic, .. } => f.write_str(intrinsic.as_str()),
            FieldRef::Attribute(a) => write!(f, "{a}"),
        }
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.scope.prefix())?;
        let starts_number =
            self.scope == AttributeScope::Unscoped && self.name.starts_with(|c: char| c.is_ascii_digit());
        if !self.name.is_empty() && !starts_number && self.name.chars().all(crate::traceql::lexer::is_attribute_char) {
            return f.write_str(&self.name);
        }
        f.write_char('"')?;
        for c in self.name.chars() {
            if c == '"' || c == '\\' {
                f.write_char('\\')?;
            }
            f.write_char(c)?;
        }
        f.write_char('"')
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_string(f, s),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x:?}"),
            Literal::Duration(d) => write_duration(f, *d),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Nil => f.write_str("nil"),
            Literal::Status(s) => f.write_str(s.as_str()),
            Literal::Kind(k) => f.write_str(k.as_str()),
        }
    }
}

fn write_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() && u32::from(c) <= 0xffff => write!(f, "\\u{:04x}", u32::from(c))?,
            c if c.is_control() => write!(f, "\\U{:08x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

fn write_duration(f: &mut Formatter<'_>, d: std::time::Duration) -> fmt::Result {
    let nanos = d.as_nanos();
    const UNITS: [(&str, u128); 6] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    if nanos == 0 {
        return f.write_str("0s");
    }
    let (unit, size) = UNITS
        .iter()
        .find(|(_, size)| nanos.is_multiple_of(*size))
        .unwrap_or(&("ns", 1));
    write!(f, "{}{unit}", nanos / size)
}

impl Display for ScalarFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.lhs, self.op.as_str(), self.rhs)
    }
}

impl Display for ScalarExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ScalarExpr::Aggregate(a) => write!(f, "{a}"),
            ScalarExpr::Literal { value, .. } => write!(f, "{value}"),
            ScalarExpr::Neg { operand, .. } => write!(f, "(-{operand})"),
            ScalarExpr::Binary { op, lhs, rhs, .. } => write!(f, "({lhs} {} {rhs})", op.as_str()),
        }
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.arg {
            None => write!(f, "{}()", self.func.as_str()),
            Some(arg) => write!(f, "{}({arg})", self.func.as_str()),
        }
    }
}

impl Display for Metrics {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.func.name())?;
        match &self.func {
            MetricsFn::Rate | MetricsFn::CountOverTime => {}
            MetricsFn::MinOverTime(field)
            | MetricsFn::MaxOverTime(field)
            | MetricsFn::AvgOverTime(field)
            | MetricsFn::SumOverTime(field)
            | MetricsFn::HistogramOverTime(field) => write!(f, "{field}")?,
            MetricsFn::QuantileOverTime { field, quantiles } => {
                write!(f, "{field}")?;
                for q in quantiles {
                    write!(f, ", {q:?}")?;
                }
            }
            MetricsFn::Compare {
                selection,
                top_n,
                range,
            } => {
                write!(f, "{selection}")?;
                if let Some(n) = top_n {
                    write!(f, ", {n}")?;
                }
                if let Some((start, end)) = range {
                    write!(f, ", {start}, {end}")?;
                }
            }
        }
        f.write_str(")")?;
        if !self.by.is_empty() {
            f.write_str(" by (")?;
            comma_list(f, &self.by)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl Display for SecondStage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SecondStage::TopK { k, .. } => write!(f, "topk({k})"),
            SecondStage::BottomK { k, .. } => write!(f, "bottomk({k})"),
        }
    }
}

impl Display for Hint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.name, self.value)
    }
}
