//! `when` conditions and value expressions (part of the parser).
//!
//! A condition is either a bare selector with an optional relation (existence) or a comparison of two
//! value expressions. Both may start with a selector, so the parser reads the selector first and
//! decides on the next token: `.` makes it the start of a value (`w.duration > 1s`), anything else an
//! existence condition (`w`, `span(name = "a") child of w`).
//!
//! Decisions:
//! - In a value position a bare word is a let name if one is declared with that name, else an enum
//!   value (`w.kind = server`), else an error. A let named like an enum value shadows the enum.
//! - `*` and `/` bind tighter than `+` and `-`; all are left-associative; parentheses group. A `-`
//!   directly before a number or duration is part of the literal.
//! - `trace.FIELD` is a value without a selector (every span of a model's trace shares it).

use super::{PResult, Parser};
use crate::model::ast::*;
use crate::model::diag::{did_you_mean, ModelError};
use crate::model::lexer::{Keyword, Tok};

/// What can start a value, as listed in errors.
const VALUE_START: [&str; 7] = [
    "a number",
    "a duration",
    "a string",
    "`span(...)`",
    "a let name",
    "`trace.`",
    "`(`",
];

impl Parser<'_> {
    /// One condition of a `when` clause.
    pub(crate) fn condition(&mut self) -> PResult<Condition> {
        let starts_selector = match self.peek() {
            Tok::Keyword(Keyword::Span) => true,
            Tok::Ident(name) => self.lets.iter().any(|l| &l.node == name),
            _ => false,
        };
        let mut first = None;
        if starts_selector {
            let selector = self.selector()?;
            if *self.peek() == Tok::Dot {
                first = Some(Expr::Field(self.field_access(selector)?));
            } else {
                let term = self.finish_span_term(selector)?;
                if self.cmp_op_next().is_some() {
                    return Err(self.not_a_value(term.selector.span()));
                }
                return Ok(Condition::Exists(term));
            }
        }
        let left = self.expr(first)?;
        let op = self
            .cmp_op()
            .map_err(|err| err.with_hint("a condition compares two values, e.g. w.duration > 2s"))?;
        let right = self.expr(None)?;
        Ok(Condition::Compare {
            span: left.span().to(&right.span()),
            left,
            op,
            right,
        })
    }

    /// "a selector is not a value" at a selector used where a value is needed.
    fn not_a_value(&self, span: &Span) -> ModelError {
        let text = &self.source[span.range()];
        ModelError::new(span.range(), "a selector is not a value")
            .with_expected(["`.` and a field"])
            .with_hint(format!(
                "compare one of its fields, e.g. {text}.duration or {text}.tag(\"key\")"
            ))
    }

    /// `.FIELD` after a selector.
    fn field_access(&mut self, selector: Selector) -> PResult<FieldRef> {
        if *self.peek() != Tok::Dot {
            return Err(self.not_a_value(selector.span()));
        }
        self.advance();
        let field = self.field()?;
        Ok(FieldRef {
            span: selector.span().to(&field.span),
            selector: Some(selector),
            field,
        })
    }

    /// An expression; `first` is an already parsed leftmost operand.
    pub(crate) fn expr(&mut self, first: Option<Expr>) -> PResult<Expr> {
        self.binary(1, first)
    }

    /// Precedence climbing: operators binding at least `min_prec`.
    fn binary(&mut self, min_prec: u8, first: Option<Expr>) -> PResult<Expr> {
        let mut left = match first {
            Some(e) => e,
            None => self.unary()?,
        };
        loop {
            let op = match self.peek() {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                _ => break,
            };
            if op.precedence() < min_prec {
                break;
            }
            self.advance();
            let right = self.binary(op.precedence() + 1, None)?;
            left = Expr::Binary {
                span: left.span().to(&right.span()),
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    /// One more level of nesting, refused past [`MAX_NESTING`](super::MAX_NESTING).
    fn nest(&mut self, at: usize) -> PResult<()> {
        if self.nesting >= super::MAX_NESTING {
            return Err(ModelError::new(
                at..at + 1,
                format!("expression nested more than {} levels deep", super::MAX_NESTING),
            )
            .with_hint("drop redundant parentheses or minus signs, or split the expression"));
        }
        self.nesting += 1;
        Ok(())
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.here().start;
        if self.eat(&Tok::Minus).is_none() {
            return self.primary();
        }
        if matches!(self.peek(), Tok::Int(_) | Tok::Float(_) | Tok::Duration(_)) {
            let lit = self.number(true)?;
            return Ok(Expr::Literal(Spanned::at(lit, self.since(start))));
        }
        self.nest(start)?;
        let expr = self.unary();
        self.nesting -= 1;
        let expr = expr?;
        Ok(Expr::Neg {
            expr: Box::new(expr),
            span: self.since(start),
        })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let start = self.here().start;
        let lit = |node, p: &Parser<'_>| Ok(Expr::Literal(Spanned::at(node, p.since(start))));
        match self.peek().clone() {
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) => {
                let node = self.number(false)?;
                lit(node, self)
            }
            Tok::Str(s) => {
                self.advance();
                lit(Literal::Str(s), self)
            }
            Tok::Keyword(kw @ (Keyword::True | Keyword::False)) => {
                self.advance();
                lit(Literal::Bool(kw == Keyword::True), self)
            }
            Tok::LParen => {
                self.nest(start)?;
                self.advance();
                let inner = self.expr(None);
                self.nesting -= 1;
                let inner = inner?;
                if self.eat(&Tok::RParen).is_none() {
                    return Err(self.unexpected_after(&["`)`", "`+`", "`-`", "`*`", "`/`"]));
                }
                Ok(inner)
            }
            Tok::Keyword(Keyword::Span) => {
                let selector = self.inline_selector()?;
                Ok(Expr::Field(self.field_access(selector)?))
            }
            Tok::Keyword(Keyword::Trace) => {
                let field = self.field()?;
                Ok(Expr::Field(FieldRef {
                    selector: None,
                    span: field.span.clone(),
                    field,
                }))
            }
            Tok::Ident(name) => {
                let span = self.here();
                if self.lets.iter().any(|l| l.node == name) {
                    let selector = self.selector()?;
                    return Ok(Expr::Field(self.field_access(selector)?));
                }
                if ENUM_VALUES.contains(&name.as_str()) {
                    self.advance();
                    return lit(Literal::Enum(name), self);
                }
                // Before a `.` the word is meant as a let name; elsewhere it may be an enum value.
                if *self.peek_at(1) == Tok::Dot {
                    return Err(self.unknown_name(&name, span));
                }
                let mut err = ModelError::new(span, format!("unknown name `{name}`")).with_expected(VALUE_START);
                let lets = self.lets.iter().map(|l| l.node.as_str());
                if let Some(hint) = did_you_mean(&name, lets.chain(ENUM_VALUES)) {
                    err = err.with_hint(hint);
                }
                Err(err.with_hint(format!(
                    "strings are quoted: \"{name}\"; spans are named with let {name} = span(...)"
                )))
            }
            _ => Err(self.unexpected(&VALUE_START)),
        }
    }
}

/// The bare words that are enum values (of `kind` or `status`).
const ENUM_VALUES: [&str; 9] = [
    KIND_VALUES[0],
    KIND_VALUES[1],
    KIND_VALUES[2],
    KIND_VALUES[3],
    KIND_VALUES[4],
    KIND_VALUES[5],
    STATUS_VALUES[0],
    STATUS_VALUES[1],
    STATUS_VALUES[2],
];
