//! The typed representation as text (`tracecheck explain --stage typed`): one line per let,
//! condition, expect or check rule. A field prints with its type (`w.duration: duration`), a
//! constant as written (its spelling says its type), a comparison with how it is computed in
//! brackets (`[string]`, `[tag as number]`, ...), arithmetic parenthesised with its result type.

use std::fmt::{self, Display, Formatter};

use super::{
    Comparison, Condition, Rows, Spans, TypedCheck, TypedExpect, TypedField, TypedModel, TypedRelation, TypedRule,
    Unit, Value,
};
use crate::compile::types::{CmpKind, Ty};
use crate::model::format::{duration_text, quote};

impl Display for Ty {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Str => "string",
            Ty::Enum => "enum",
            Ty::Num => "number",
            Ty::Dur => "duration",
            Ty::Ts => "timestamp",
            Ty::Bool => "boolean",
            Ty::Tag => "tag",
        })
    }
}

impl Display for TypedModel {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "model {}", quote(&self.title))?;
        for l in &self.lets {
            writeln!(f, "  let {} = span({})", l.name, List(&l.predicates))?;
        }
        for c in &self.when {
            writeln!(f, "  when {c}")?;
        }
        for e in &self.expects {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl Display for TypedExpect {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "expect {}{}{}", self.quantifier, self.spans, Related(&self.relation))
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Exists { spans, relation } => write!(f, "{spans}{}", Related(relation)),
            Condition::Compare(c) => write!(f, "{c}"),
        }
    }
}

/// ` REL target`, or nothing.
struct Related<'a>(&'a Option<TypedRelation>);

impl Display for Related<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => write!(f, " {} {}", r.kind.as_str(), r.target),
            None => Ok(()),
        }
    }
}

/// Comparisons separated by commas.
struct List<'a>(&'a [Comparison]);

impl Display for List<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl Display for Spans {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Spans::Let { name, .. } => f.write_str(name),
            Spans::Inline(predicates) => write!(f, "span({})", List(predicates)),
        }
    }
}

impl Display for Comparison {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} [", self.left, self.op.as_str(), self.right)?;
        let tag = |f: &mut Formatter<'_>, as_what: &str| write!(f, "tag as {as_what}");
        match self.how {
            // Both sides as they are: the type of the side that is not a constant string.
            CmpKind::Same if self.left.text().is_some() => write!(f, "{}", self.right.ty())?,
            CmpKind::Same => write!(f, "{}", self.left.ty())?,
            CmpKind::Numeric => f.write_str("number")?,
            CmpKind::TagStr => tag(f, "string")?,
            CmpKind::TagNum => tag(f, "number")?,
            CmpKind::TagBool => tag(f, "boolean")?,
            CmpKind::TagTag => f.write_str("tag with tag")?,
        }
        f.write_str("]")
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Literal { literal, .. } => write!(f, "{literal}"),
            Value::Field(field) => write!(f, "{field}"),
            Value::Neg { expr, ty } => write!(f, "-({expr}): {ty}"),
            Value::Arith { op, left, right, ty } => write!(f, "({left} {} {right}): {ty}", op.as_str()),
        }
    }
}

impl Display for TypedField {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.spans {
            write!(f, "{s}.")?;
        }
        write!(f, "{}: {}", self.field, self.ty)
    }
}

impl Display for TypedCheck {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "check {}", quote(&self.title))?;
        for r in &self.rules {
            writeln!(f, "  {r}")?;
        }
        Ok(())
    }
}

impl Display for TypedRule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: {}(", self.index, self.aggregate)?;
        match &self.rows {
            Rows::Spans(p) => write!(f, "span({})", List(p))?,
            Rows::Traces => f.write_str("traces")?,
        }
        if let Some(v) = &self.value {
            write!(f, ", {v}")?;
        }
        f.write_str(")")?;
        for (i, b) in self.by.iter().enumerate() {
            let sep = if i == 0 { " by " } else { ", " };
            write!(f, "{sep}{b}")?;
        }
        if let Some(ns) = self.per {
            write!(f, " per {}", duration_text(ns))?;
        }
        let unit = match self.unit {
            Unit::Number => "number",
            Unit::Duration => "nanoseconds",
            Unit::Fraction => "fraction",
            Unit::PerSecond => "per second",
        };
        write!(f, " in {unit} {} ", self.op.as_str())?;
        match (self.threshold, self.baseline) {
            (Some(t), _) => write!(f, "{t:?}"),
            (None, Some((op, x))) => write!(f, "baseline {} {x:?}", op.as_str()),
            (None, None) => f.write_str("baseline"),
        }
    }
}
