//! Scalar filters: comparisons of aggregates over a spanset (`| count() > 2`).

use super::{PResult, Parser};
use crate::diag::did_you_mean;
use crate::traceql::ast::*;
use crate::traceql::error::TraceQlError;
use crate::traceql::lexer::Tok;

/// The comparison operators of scalar filters.
fn comparison(tok: &Tok) -> Option<BinaryOp> {
    Some(match tok {
        Tok::Eq => BinaryOp::Eq,
        Tok::Ne => BinaryOp::Ne,
        Tok::Lt => BinaryOp::Lt,
        Tok::Le => BinaryOp::Le,
        Tok::Gt => BinaryOp::Gt,
        Tok::Ge => BinaryOp::Ge,
        _ => return None,
    })
}

/// An arithmetic operator, its level (as in field expressions) and whether it is right-associative.
fn arith_op(tok: &Tok) -> Option<(BinaryOp, u8, bool)> {
    Some(match tok {
        Tok::Plus => (BinaryOp::Add, 3, false),
        Tok::Minus => (BinaryOp::Sub, 3, false),
        Tok::Star => (BinaryOp::Mul, 5, false),
        Tok::Slash => (BinaryOp::Div, 5, false),
        Tok::Percent => (BinaryOp::Mod, 5, false),
        Tok::Caret => (BinaryOp::Pow, 6, true),
        _ => return None,
    })
}

impl Parser<'_> {
    /// `scalar cmp scalar`, at least one side with an aggregate.
    pub(crate) fn scalar_filter(&mut self) -> PResult<ScalarFilter> {
        let lhs = self.scalar_expr(0)?;
        let Some(op) = comparison(self.peek()) else {
            let mut err = self.unexpected(&["`=`", "`!=`", "`<`", "`<=`", "`>`", "`>=`", "an arithmetic operator"]);
            if matches!(self.peek(), Tok::Regex | Tok::NotTilde) {
                err = err.with_hint("aggregates are numbers: `=~` and `!~` compare strings");
            } else if matches!(self.peek(), Tok::Pipe | Tok::Eof | Tok::RParen) {
                err = err.with_hint("a pipeline stage of aggregates is a comparison: `| count() > 2`");
            }
            return Err(err);
        };
        self.advance();
        let rhs = self.scalar_expr(0)?;
        let span = lhs.span().to(rhs.span());
        if !lhs.has_aggregate() && !rhs.has_aggregate() {
            return Err(
                TraceQlError::new(span.range(), "this comparison has no aggregate").with_hint(
                    "a pipeline stage compares aggregates of each spanset, e.g. `count() > 2` or `avg(duration) > 1s`",
                ),
            );
        }
        Ok(ScalarFilter { op, lhs, rhs, span })
    }

    fn scalar_expr(&mut self, min_level: u8) -> PResult<ScalarExpr> {
        let mut lhs = self.scalar_prefix()?;
        while let Some((op, level, right)) = arith_op(self.peek()) {
            if level < min_level {
                break;
            }
            self.advance();
            let rhs = self.scalar_expr(if right { level } else { level + 1 })?;
            let span = lhs.span().to(rhs.span());
            lhs = ScalarExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                span,
            };
        }
        Ok(lhs)
    }

    /// A prefix `-` binds tightest in scalar expressions (Tempo's `UMINUS`).
    fn scalar_prefix(&mut self) -> PResult<ScalarExpr> {
        if self.peek() != &Tok::Minus {
            return self.scalar_primary();
        }
        let start = self.here().start;
        self.enter()?;
        self.advance();
        let operand = self.scalar_prefix()?;
        self.leave();
        Ok(ScalarExpr::Neg {
            operand: Box::new(operand),
            span: self.since(start),
        })
    }

    fn scalar_primary(&mut self) -> PResult<ScalarExpr> {
        let here = self.here();
        let value = match self.peek().clone() {
            Tok::LParen => {
                self.enter()?;
                self.advance();
                let inner = self.scalar_expr(0)?;
                self.expect(&Tok::RParen, &["`)`", "an arithmetic operator"])?;
                self.leave();
                return Ok(inner);
            }
            Tok::Ident(w) => match AggregateFn::lookup(&w) {
                Some(func) => return self.aggregate(func).map(ScalarExpr::Aggregate),
                None => {
                    let names = AggregateFn::ALL.map(|(n, _)| n);
                    return Err(TraceQlError::new(here, format!("unknown aggregate `{w}`"))
                        .with_expected(names.iter().map(|n| format!("`{n}`")))
                        .with_hint_opt(did_you_mean(&w, names)));
                }
            },
            Tok::Int(i) => Literal::Int(i),
            Tok::Float(f) => Literal::Float(f),
            Tok::Duration(d) => Literal::Duration(d),
            _ => return Err(self.unexpected(&["an aggregate such as `count()`", "a number", "a duration", "`(`"])),
        };
        self.advance();
        Ok(ScalarExpr::Literal {
            value,
            span: Span(here),
        })
    }

    /// `count()` or `avg(expr)` (and `min`, `max`, `sum`), the name at the cursor.
    fn aggregate(&mut self, func: AggregateFn) -> PResult<Aggregate> {
        let start = self.advance().span.start;
        self.expect(&Tok::LParen, &["`(`"])?;
        let arg = if func == AggregateFn::Count {
            if self.peek() != &Tok::RParen {
                return Err(self.unexpected(&["`)`"]).with_hint("`count()` takes no argument"));
            }
            None
        } else {
            if self.peek() == &Tok::RParen {
                return Err(self
                    .unexpected(&["an attribute", "an intrinsic", "a field expression"])
                    .with_hint(format!(
                        "`{}` needs the field to aggregate, e.g. `{}(duration)`",
                        func.as_str(),
                        func.as_str()
                    )));
            }
            Some(Box::new(self.field_expr(0)?))
        };
        self.expect(&Tok::RParen, &["`)`", "an operator"])?;
        Ok(Aggregate {
            func,
            arg,
            span: self.since(start),
        })
    }
}
