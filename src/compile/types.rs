//! Static types of model values, and the typing rules of comparisons and arithmetic
//! (docs/LANGUAGE.md, "Exact meaning"). A model that breaks them is rejected before any SQL is built,
//! so an engine never has to guess (and never coerces `"5"` into 5 behind the user's back).

use crate::model::ast::{ArithOp, CmpOp, Field, Literal};

/// The type of a value in a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Text.
    Str,
    /// `kind` or `status`: compared with `=` / `!=` against their values.
    Enum,
    /// A number (integer or float).
    Num,
    /// Nanoseconds of elapsed time.
    Dur,
    /// A point in time (nanoseconds since the epoch).
    Ts,
    /// A boolean.
    Bool,
    /// A tag: string, number or bool, known only per row.
    Tag,
}

impl Ty {
    /// The type named in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Enum => "an enum value",
            Ty::Num => "a number",
            Ty::Dur => "a duration",
            Ty::Ts => "a timestamp",
            Ty::Bool => "a boolean",
            Ty::Tag => "a tag",
        }
    }

    /// Whether arithmetic treats the value as a number (a tag uses its numeric value).
    pub fn numeric(self) -> bool {
        matches!(self, Ty::Num | Ty::Tag)
    }
}

/// The type of a field (`trace.root.name` is a string), or why it cannot be used.
pub fn field_ty(field: &Field) -> Result<Ty, String> {
    Ok(match field {
        Field::Kind | Field::Status => Ty::Enum,
        Field::Duration => Ty::Dur,
        Field::Start | Field::End => Ty::Ts,
        Field::Depth | Field::HttpStatusCode => Ty::Num,
        Field::Tag(_) => Ty::Tag,
        Field::TraceDuration => Ty::Dur,
        Field::TraceSpanCount | Field::TraceServiceCount => Ty::Num,
        _ => Ty::Str,
    })
}

/// The type of a literal.
pub fn literal_ty(lit: &Literal) -> Ty {
    match lit {
        Literal::Str(_) => Ty::Str,
        Literal::Int(_) | Literal::Float(_) => Ty::Num,
        Literal::Duration(_) => Ty::Dur,
        Literal::Bool(_) => Ty::Bool,
        Literal::Enum(_) => Ty::Enum,
    }
}

/// The result type of `left op right`, or an error message.
pub fn arith_ty(op: ArithOp, left: Ty, right: Ty) -> Result<Ty, String> {
    use Ty::*;
    let l = if left == Tag { Num } else { left };
    let r = if right == Tag { Num } else { right };
    let out = match (op, l, r) {
        (_, Num, Num) => Some(Num),
        (ArithOp::Add | ArithOp::Sub, Dur, Dur) => Some(Dur),
        (ArithOp::Add | ArithOp::Sub, Ts, Dur) | (ArithOp::Add, Dur, Ts) => Some(Ts),
        (ArithOp::Sub, Ts, Ts) => Some(Dur),
        (ArithOp::Mul, Dur, Num) | (ArithOp::Mul, Num, Dur) | (ArithOp::Div, Dur, Num) => Some(Dur),
        (ArithOp::Div, Dur, Dur) => Some(Num),
        _ => None,
    };
    out.ok_or_else(|| {
        format!(
            "cannot apply `{}` to {} and {}",
            op.as_str(),
            left.describe(),
            right.describe()
        )
    })
}

/// How a comparison between two values of known types is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpKind {
    /// Both sides as they are (strings, enums, booleans, or numbers/durations/timestamps).
    Same,
    /// Numbers, durations or timestamps, at least one computed: both as numbers.
    Numeric,
    /// A tag against a string.
    TagStr,
    /// A tag against a number.
    TagNum,
    /// A tag against a boolean.
    TagBool,
    /// Two tags: numbers with numbers, strings with strings, booleans with booleans.
    TagTag,
}

fn is_order(op: CmpOp) -> bool {
    matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge)
}

/// Checks `left op right` and says how to compute it. `right_is_str_literal` is needed because `=~`
/// and `contains` take a constant pattern. The tag side, if only one is a tag, is the left one (the
/// caller swaps sides first).
pub fn cmp_kind(left: Ty, op: CmpOp, right: Ty, right_is_str_literal: bool) -> Result<CmpKind, String> {
    use Ty::*;
    let text_op = matches!(op, CmpOp::Match | CmpOp::Contains);
    if text_op {
        if !right_is_str_literal {
            return Err(format!("`{}` needs a string constant on its right", op.as_str()));
        }
        return match left {
            Str => Ok(CmpKind::Same),
            Tag => Ok(CmpKind::TagStr),
            other => Err(format!(
                "`{}` applies to strings and tags, not {}",
                op.as_str(),
                other.describe()
            )),
        };
    }
    let kind = match (left, right) {
        (Tag, Tag) => CmpKind::TagTag,
        (Tag, Str) => CmpKind::TagStr,
        (Tag, Num) => CmpKind::TagNum,
        (Tag, Bool) if !is_order(op) => CmpKind::TagBool,
        (Str, Str) => CmpKind::Same,
        (Enum, Enum) | (Enum, Str) | (Str, Enum) | (Bool, Bool) if !is_order(op) => CmpKind::Same,
        (Num, Num) | (Dur, Dur) | (Ts, Ts) => CmpKind::Same,
        (Enum, _) | (_, Enum) | (Bool, Bool) if is_order(op) => {
            return Err(format!(
                "`{}` does not order {}s; compare them with `=` or `!=`",
                op.as_str(),
                if left == Bool { "boolean" } else { "enum value" }
            ))
        }
        _ => {
            let mut msg = format!(
                "cannot compare {} with {} using `{}`",
                left.describe(),
                right.describe(),
                op.as_str()
            );
            if matches!((left, right), (Dur, Num) | (Num, Dur)) {
                msg.push_str(" (write durations with a unit, e.g. `250ms`)");
            }
            return Err(msg);
        }
    };
    Ok(kind)
}

/// The operator with its sides swapped (`a < b` is `b > a`).
pub fn mirror(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_rules() {
        assert_eq!(arith_ty(ArithOp::Sub, Ty::Ts, Ty::Ts), Ok(Ty::Dur));
        assert_eq!(arith_ty(ArithOp::Div, Ty::Dur, Ty::Dur), Ok(Ty::Num));
        assert_eq!(arith_ty(ArithOp::Mul, Ty::Tag, Ty::Dur), Ok(Ty::Dur));
        assert!(arith_ty(ArithOp::Add, Ty::Str, Ty::Num).is_err());
        assert_eq!(cmp_kind(Ty::Tag, CmpOp::Lt, Ty::Tag, false), Ok(CmpKind::TagTag));
        assert!(cmp_kind(Ty::Enum, CmpOp::Lt, Ty::Enum, false).is_err());
        assert!(cmp_kind(Ty::Dur, CmpOp::Gt, Ty::Num, false)
            .unwrap_err()
            .contains("250ms"));
        assert!(cmp_kind(Ty::Str, CmpOp::Match, Ty::Str, false).is_err());
        assert_eq!(cmp_kind(Ty::Tag, CmpOp::Contains, Ty::Str, true), Ok(CmpKind::TagStr));
    }
}
