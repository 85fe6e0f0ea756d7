//! Field expressions (inside `{ }` and as aggregate arguments), field references and literals.

use super::{PResult, Parser};
use crate::diag::did_you_mean;
use crate::traceql::ast::*;
use crate::traceql::error::TraceQlError;
use crate::traceql::lexer::Tok;

/// Precedence level of `* / %`: the operand of a prefix `-` or `!`.
const MUL_LEVEL: u8 = 5;

/// A binary operator of field expressions, its level (module documentation of
/// [`parser`](super)) and whether it is right-associative.
fn field_op(tok: &Tok) -> Option<(BinaryOp, u8, bool)> {
    Some(match tok {
        Tok::AndAnd => (BinaryOp::And, 1, false),
        Tok::OrOr => (BinaryOp::Or, 1, false),
        Tok::Eq => (BinaryOp::Eq, 2, false),
        Tok::Ne => (BinaryOp::Ne, 2, false),
        Tok::Lt => (BinaryOp::Lt, 2, false),
        Tok::Le => (BinaryOp::Le, 2, false),
        Tok::Gt => (BinaryOp::Gt, 2, false),
        Tok::Ge => (BinaryOp::Ge, 2, false),
        Tok::Regex => (BinaryOp::Regex, 2, false),
        Tok::NotTilde => (BinaryOp::NotRegex, 2, false),
        Tok::Plus => (BinaryOp::Add, 3, false),
        Tok::Minus => (BinaryOp::Sub, 3, false),
        Tok::Star => (BinaryOp::Mul, 5, false),
        Tok::Slash => (BinaryOp::Div, 5, false),
        Tok::Percent => (BinaryOp::Mod, 5, false),
        Tok::Caret => (BinaryOp::Pow, 6, true),
        _ => return None,
    })
}

/// Words that are literals: booleans, `nil`, statuses and kinds.
pub(crate) fn keyword_literal(word: &str) -> Option<Literal> {
    match word {
        "true" => Some(Literal::Bool(true)),
        "false" => Some(Literal::Bool(false)),
        "nil" => Some(Literal::Nil),
        _ => StatusCode::ALL
            .into_iter()
            .find(|s| s.as_str() == word)
            .map(Literal::Status)
            .or_else(|| {
                SpanKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == word)
                    .map(Literal::Kind)
            }),
    }
}

/// Every word a field expression accepts, for "did you mean" hints.
fn known_words() -> impl Iterator<Item = &'static str> {
    UNSCOPED_INTRINSICS
        .iter()
        .map(|(n, _)| *n)
        .chain(["true", "false", "nil"])
        .chain(StatusCode::ALL.map(StatusCode::as_str))
        .chain(SpanKind::ALL.map(SpanKind::as_str))
}

impl Parser<'_> {
    /// A field expression by precedence climbing, with operators of level `min_level` or tighter.
    pub(crate) fn field_expr(&mut self, min_level: u8) -> PResult<FieldExpr> {
        let mut lhs = self.field_prefix()?;
        while let Some((op, level, right)) = field_op(self.peek()) {
            if level < min_level {
                break;
            }
            self.advance();
            let rhs = self.field_expr(if right { level } else { level + 1 })?;
            let span = lhs.span().to(rhs.span());
            lhs = FieldExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                span,
            };
        }
        Ok(lhs)
    }

    fn field_prefix(&mut self) -> PResult<FieldExpr> {
        let op = match self.peek() {
            Tok::Minus => UnaryOp::Neg,
            Tok::Not => UnaryOp::Not,
            _ => return self.field_primary(),
        };
        let start = self.here().start;
        self.enter()?;
        self.advance();
        let operand = self.field_expr(MUL_LEVEL)?;
        self.leave();
        Ok(FieldExpr::Unary {
            op,
            operand: Box::new(operand),
            span: self.since(start),
        })
    }

    fn field_primary(&mut self) -> PResult<FieldExpr> {
        let here = self.here();
        let literal = |value| {
            Ok(FieldExpr::Literal {
                value,
                span: Span(here.clone()),
            })
        };
        match self.peek().clone() {
            Tok::LParen => {
                self.enter()?;
                self.advance();
                let inner = self.field_expr(0)?;
                self.expect(&Tok::RParen, &["`)`", "an operator"])?;
                self.leave();
                Ok(inner)
            }
            Tok::Str(s) => {
                self.advance();
                literal(Literal::Str(s))
            }
            Tok::Int(i) => {
                self.advance();
                literal(Literal::Int(i))
            }
            Tok::Float(f) => {
                self.advance();
                literal(Literal::Float(f))
            }
            Tok::Duration(d) => {
                self.advance();
                literal(Literal::Duration(d))
            }
            Tok::Ident(w) if keyword_literal(&w).is_some() => {
                self.advance();
                literal(keyword_literal(&w).unwrap_or(Literal::Nil))
            }
            Tok::Ident(w) if AggregateFn::lookup(&w).is_some() || MetricsFn::NAMES.contains(&w.as_str()) => Err(
                TraceQlError::new(here, format!("`{w}` cannot be used inside a spanset filter")).with_hint(format!(
                    "aggregates go in a pipeline stage after the filter: `{{ ... }} | {w}({}) > 1`",
                    if w == "count" { "" } else { "..." }
                )),
            ),
            Tok::Ident(w) if ["and", "or", "not"].contains(&w.as_str()) => Err(self.unexpected(&VALUE)),
            Tok::Ident(_) | Tok::ScopedIntrinsic { .. } | Tok::Attribute { .. } => {
                self.field_ref().map(FieldExpr::Field)
            }
            _ => Err(self.unexpected(&VALUE)),
        }
    }

    /// An intrinsic (`name`, `span:name`) or an attribute (`span.x`, `.x`).
    pub(crate) fn field_ref(&mut self) -> PResult<FieldRef> {
        let here = self.here();
        match self.peek().clone() {
            Tok::Attribute { scope, name } => {
                self.advance();
                Ok(FieldRef::Attribute(Attribute {
                    scope,
                    name,
                    span: Span(here),
                }))
            }
            Tok::Ident(w) => match Intrinsic::lookup(None, &w) {
                Some(intrinsic) => {
                    self.advance();
                    Ok(FieldRef::Intrinsic {
                        intrinsic,
                        span: Span(here),
                    })
                }
                None => Err(TraceQlError::new(here, format!("unknown intrinsic `{w}`"))
                    .with_hint_opt(did_you_mean(&w, known_words()))
                    .with_hint(format!(
                        "an attribute is written with a scope or a leading dot: `span.{w}` or `.{w}`"
                    ))),
            },
            Tok::ScopedIntrinsic { scope, name } => match Intrinsic::lookup(Some(&scope), &name) {
                Some(intrinsic) => {
                    self.advance();
                    Ok(FieldRef::Intrinsic {
                        intrinsic,
                        span: Span(here),
                    })
                }
                None => {
                    let full: Vec<String> = SCOPED_INTRINSICS
                        .iter()
                        .filter(|(s, _, _)| *s == scope)
                        .map(|(s, n, _)| format!("{s}:{n}"))
                        .collect();
                    let written = format!("{scope}:{name}");
                    let mut err = TraceQlError::new(here, format!("unknown intrinsic `{written}`"))
                        .with_expected(full.iter().map(|n| format!("`{n}`")))
                        .with_hint_opt(did_you_mean(&written, full.iter().map(String::as_str)));
                    if scope == "span" || scope == "event" || scope == "link" || scope == "instrumentation" {
                        err = err.with_hint(format!("attributes use a dot: `{scope}.{name}`"));
                    }
                    Err(err)
                }
            },
            _ => Err(self.unexpected(&["an attribute", "an intrinsic"])),
        }
    }

    /// `( field, ... )`, at least one.
    pub(crate) fn field_ref_list(&mut self) -> PResult<Vec<FieldRef>> {
        self.expect(&Tok::LParen, &["`(`"])?;
        let mut fields = vec![self.field_ref()?];
        while self.eat(&Tok::Comma).is_some() {
            fields.push(self.field_ref()?);
        }
        self.expect(&Tok::RParen, &["`,`", "`)`"])?;
        Ok(fields)
    }

    /// A literal (hint values): a string, a number (optionally negative), a duration or a keyword
    /// literal.
    pub(crate) fn literal(&mut self) -> PResult<Literal> {
        let negative = self.eat(&Tok::Minus).is_some();
        let value = match self.peek().clone() {
            Tok::Int(i) => Literal::Int(if negative { -i } else { i }),
            Tok::Float(f) => Literal::Float(if negative { -f } else { f }),
            Tok::Str(s) if !negative => Literal::Str(s),
            Tok::Duration(d) if !negative => Literal::Duration(d),
            Tok::Ident(w) if !negative && keyword_literal(&w).is_some() => keyword_literal(&w).unwrap_or(Literal::Nil),
            _ => return Err(self.unexpected(&["a literal"])),
        };
        self.advance();
        Ok(value)
    }
}

/// What may start a value in a field expression, as listed in errors.
const VALUE: [&str; 6] = ["an attribute", "an intrinsic", "a literal", "`(`", "`-`", "`!`"];
