//! Model AST → canonical model text.
//!
//! `parse_file(&format_file(&parse_file(x)?))` equals `parse_file(x)` for every valid `x`, and
//! formatting is idempotent. The canonical form:
//! - four-space indentation, one clause per line, one blank line between blocks;
//! - in a model: lets, then `when` (conditions joined by ` and ` on one line), then expects;
//! - single spaces around operators, `, ` between predicates, no trailing commas;
//! - parentheses only where precedence needs them (the AST does not keep the user's parentheses);
//! - durations in the largest unit that divides them exactly (`1.5s` prints as `1500ms`);
//! - strings re-escaped (`\"`, `\\`, `\n`, `\r`, `\t`, other control characters as `\u{..}`);
//! - comments printed on their own line before the block or clause they preceded (an end-of-line
//!   comment moves to the line before the next clause);
//! - a model clause longer than 100 columns is wrapped: `when` conditions one per line (continuation
//!   lines start with `and`), selectors with one predicate per line and a trailing comma.
//!
//! Every node also implements `Display` with the same text, so reports can quote a clause.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;
use super::lexer::UNITS;

/// Prints a file in canonical form.
///
/// ```
/// use tracecheck::model::{parse_file, format_file};
/// let file = parse_file(r#"model "m" { expect   span( name="a" ,kind=server, ) }"#).unwrap();
/// assert_eq!(format_file(&file), "model \"m\" {\n    expect span(name = \"a\", kind = server)\n}\n");
/// ```
pub fn format_file(file: &File) -> String {
    let mut out = String::new();
    for (i, item) in file.items.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // Writing into a String cannot fail.
        let _ = match item {
            Item::Model(m) => write!(out, "{m}"),
            Item::Check(c) => write!(out, "{c}"),
        };
    }
    if !file.trailing_comments.0.is_empty() && !file.items.is_empty() {
        out.push('\n');
    }
    push_comments(&mut out, &file.trailing_comments, "");
    out
}

fn push_comments(out: &mut String, comments: &Comments, indent: &str) {
    for line in &comments.0 {
        out.push_str(indent);
        out.push_str(line);
        out.push('\n');
    }
}

const INDENT: &str = "    ";

/// Clauses longer than this (with their indentation) are wrapped.
const MAX_WIDTH: usize = 100;

/// Writes a clause of a model on its own line, wrapped (with `{:#}`) when it is too long.
fn push_clause(out: &mut String, clause: &dyn Display) -> fmt::Result {
    let line = clause.to_string();
    if INDENT.len() + line.chars().count() <= MAX_WIDTH {
        writeln!(out, "{INDENT}{line}")
    } else {
        writeln!(out, "{INDENT}{clause:#}")
    }
}

/// Writes `x`, passing on the alternate (wrapped) flag.
fn inner(f: &mut Formatter<'_>, x: &dyn Display) -> fmt::Result {
    if f.alternate() {
        write!(f, "{x:#}")
    } else {
        write!(f, "{x}")
    }
}

impl Display for Model {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        push_comments(&mut out, &self.comments, "");
        writeln!(out, "model {} {{", quote(&self.title.node))?;
        for l in &self.lets {
            push_comments(&mut out, &l.comments, INDENT);
            push_clause(&mut out, l)?;
        }
        if let Some(w) = &self.when {
            push_comments(&mut out, &w.comments, INDENT);
            push_clause(&mut out, w)?;
        }
        for e in &self.expects {
            push_comments(&mut out, &e.comments, INDENT);
            push_clause(&mut out, e)?;
        }
        push_comments(&mut out, &self.trailing_comments, INDENT);
        out.push_str("}\n");
        f.write_str(&out)
    }
}

impl Display for Check {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        push_comments(&mut out, &self.comments, "");
        writeln!(out, "check {} {{", quote(&self.title.node))?;
        for r in &self.rules {
            push_comments(&mut out, &r.comments, INDENT);
            writeln!(out, "{INDENT}{r}")?;
        }
        push_comments(&mut out, &self.trailing_comments, INDENT);
        out.push_str("}\n");
        f.write_str(&out)
    }
}

impl Display for Let {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "let {} = ", self.name.node)?;
        inner(f, &self.selector)
    }
}

impl Display for When {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("when ")?;
        for (i, c) in self.conditions.iter().enumerate() {
            if i > 0 {
                f.write_str(if f.alternate() { "\n        and " } else { " and " })?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl Display for Expect {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "expect {}", self.quantifier)?;
        inner(f, &self.term)
    }
}

impl Display for Quantifier {
    /// The quantifier as written between `expect` and the selector, with its trailing space
    /// (nothing for the default, at least one).
    ///
    /// ```
    /// use tracecheck::model::ast::Quantifier;
    /// assert_eq!(format!("expect {}span()", Quantifier::AtMost(2)), "expect at most 2 span()");
    /// assert_eq!(Quantifier::Some.to_string(), "");
    /// ```
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Quantifier::Some => Ok(()),
            Quantifier::No => f.write_str("no "),
            Quantifier::Exactly(n) => write!(f, "{n} "),
            Quantifier::AtLeast(n) => write!(f, "at least {n} "),
            Quantifier::AtMost(n) => write!(f, "at most {n} "),
        }
    }
}

impl Display for SpanTerm {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        inner(f, &self.selector)?;
        if let Some(r) = &self.relation {
            f.write_str(" ")?;
            inner(f, r)?;
        }
        Ok(())
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.kind.as_str())?;
        inner(f, &self.target)
    }
}

impl Display for Selector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Ref(name) => f.write_str(&name.node),
            Selector::Inline { predicates, .. } if f.alternate() && !predicates.is_empty() => {
                f.write_str("span(\n")?;
                for p in predicates {
                    writeln!(f, "{INDENT}{INDENT}{p},")?;
                }
                write!(f, "{INDENT})")
            }
            Selector::Inline { predicates, .. } => {
                f.write_str("span(")?;
                for (i, p) in predicates.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{p}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Display for Predicate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.field.node, self.op.node.as_str(), self.value.node)
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Field::Tag(key) => write!(f, "tag({})", quote(key)),
            other => f.write_str(other.path().unwrap_or("?")),
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => f.write_str(&quote(s)),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => {
                let s = x.to_string();
                if s.contains('.') || !x.is_finite() {
                    f.write_str(&s)
                } else {
                    write!(f, "{s}.0")
                }
            }
            Literal::Duration(ns) => f.write_str(&duration_text(*ns)),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Enum(e) => f.write_str(e),
        }
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Exists(term) => write!(f, "{term}"),
            Condition::Compare { left, op, right, .. } => write!(f, "{left} {} {right}", op.node.as_str()),
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 0, false)
    }
}

/// Writes `e` as an operand of an operator of precedence `parent` (0 at the top), on its right side
/// if `right`; parenthesised when reparsing would otherwise group it differently.
fn write_expr(f: &mut Formatter<'_>, e: &Expr, parent: u8, right: bool) -> fmt::Result {
    match e {
        Expr::Literal(l) => write!(f, "{}", l.node),
        Expr::Field(r) => write!(f, "{r}"),
        Expr::Neg { expr, .. } => {
            // A number after `-` would be read back as a negative literal, and a binary operand
            // would bind looser than the minus: both need parentheses.
            let paren = matches!(
                **expr,
                Expr::Binary { .. }
                    | Expr::Literal(Spanned {
                        node: Literal::Int(_) | Literal::Float(_) | Literal::Duration(_),
                        ..
                    })
            );
            if paren {
                write!(f, "-({expr})")
            } else {
                f.write_str("-")?;
                write_expr(f, expr, u8::MAX, false)
            }
        }
        Expr::Binary { op, left, right: r, .. } => {
            let p = op.precedence();
            let paren = p < parent || (p == parent && right);
            if paren {
                f.write_str("(")?;
            }
            write_expr(f, left, p, false)?;
            write!(f, " {} ", op.as_str())?;
            write_expr(f, r, p, true)?;
            if paren {
                f.write_str(")")?;
            }
            Ok(())
        }
    }
}

impl Display for FieldRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Some(s) => write!(f, "{s}.{}", self.field.node),
            None => write!(f, "{}", self.field.node),
        }
    }
}

impl Display for CheckRule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.aggregate.node)?;
        match &self.source {
            AggSource::Spans(s) => write!(f, "{s}")?,
            AggSource::Value(v) => write!(f, "{v}")?,
        }
        f.write_str(")")?;
        for (i, field) in self.by.iter().enumerate() {
            f.write_str(if i == 0 { " by " } else { ", " })?;
            write!(f, "{}", field.node)?;
        }
        if let Some(per) = &self.per {
            write!(f, " per {}", duration_text(per.node))?;
        }
        write!(f, " {} {}", self.op.node.as_str(), self.threshold)
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = match self {
            Aggregate::Count => "count",
            Aggregate::Rate => "rate",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::Sum => "sum",
            Aggregate::ErrorRate => "error_rate",
            Aggregate::Percentile(p) => return write!(f, "p{}", percentile_digits(*p)),
        };
        f.write_str(name)
    }
}

/// The digits after `p`: whole percent (two digits when decimals follow), then the decimals, so
/// that `99.9` is `999` and `5.5` is `055`.
fn percentile_digits(p: f64) -> String {
    if p.fract() == 0.0 {
        return format!("{}", p as i64);
    }
    let text = p.to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    format!("{int:0>2}{frac}")
}

impl Display for Threshold {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Value(q) => write!(f, "{}", q.node),
            Threshold::Baseline { adjust: None, .. } => f.write_str("baseline"),
            Threshold::Baseline {
                adjust: Some((op, q)), ..
            } => write!(f, "baseline {} {}", op.as_str(), q.node),
        }
    }
}

impl Display for Quantity {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Number(v) => f.write_str(&number_text(*v)),
            Quantity::Duration(ns) => f.write_str(&duration_text(*ns)),
            Quantity::Percent(v) => write!(f, "{}%", number_text(*v)),
            Quantity::PerSecond(v) => write!(f, "{}/s", number_text(*v)),
        }
    }
}

/// A number as an integer when it is whole and small, else as a decimal that reads back as a float.
fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let s = v.to_string();
    if s.contains('.') || !v.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

/// A duration in the largest unit that divides it exactly (`0s` for zero).
///
/// ```
/// use tracecheck::model::format::duration_text;
/// assert_eq!(duration_text(1_500_000_000), "1500ms");
/// assert_eq!(duration_text(-120_000_000_000), "-2m");
/// ```
pub fn duration_text(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let abs = u128::from(ns.unsigned_abs());
    let (unit, scale) = UNITS
        .iter()
        .rev()
        .find(|(_, scale)| abs % scale == 0)
        .copied()
        .unwrap_or(("ns", 1));
    format!("{sign}{}{unit}", abs / scale)
}

/// A string literal with escapes, as the lexer reads it back.
///
/// ```
/// use tracecheck::model::format::quote;
/// assert_eq!(quote("say \"hi\"\n"), r#""say \"hi\"\n""#);
/// ```
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
