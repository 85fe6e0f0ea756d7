//! Tokens → [`Query`]: recursive descent, with precedence climbing for the three kinds of
//! expressions (spanset, field, scalar).
//!
//! Precedence, loosest first, as in Tempo's grammar (`pkg/traceql/expr.y`, whose `%left`/`%right`
//! declarations give one table for all expressions):
//!
//! | level | operators | associativity |
//! | --- | --- | --- |
//! | pipeline | `\|` | left (a sequence of stages) |
//! | 1 | `&&` `\|\|` (spansets and fields alike: **the same level**, so `a \|\| b && c` is `(a \|\| b) && c`) | left |
//! | 2 | field comparisons `= != < <= > >= =~ !~`; spanset structure `> < >> << ~ !> !< !>> !<< !~ &> &< &>> &<< &~` | left |
//! | 3 | `+ -` | left |
//! | 4 | prefix `!` | — |
//! | 5 | `* / %` | left |
//! | 6 | `^` | right |
//!
//! So `{ .a } && { .b } > { .c }` is `{ .a } && ({ .b } > { .c })`, `{ .a = 1 || .b = 2 }` compares
//! before it combines, and `1 + 2 * 3 ^ 2 ^ 2` is `1 + (2 * (3 ^ (2 ^ 2)))`. Prefix `-` and `!` in
//! field expressions take an operand of level 5 (Tempo gives `-` the level of binary `-` and `!`
//! level 4), so `-.a * 2` is `-(.a * 2)` and `!.a = .b` is `(!.a) = .b`. In scalar filters
//! (`| count() > 2`) a prefix `-` binds tightest, as Tempo's `UMINUS`: `-2 ^ 2` is `(-2) ^ 2` there.
//!
//! Where this parser accepts more than Tempo's grammar: spanset operators combine any spanset
//! operands (Tempo allows `({ } | count() > 1) && { }` only with both sides parenthesised
//! pipelines), and `by(...)` takes several expressions.

use std::ops::Range;

use super::ast::*;
use super::error::TraceQlError;
use super::lexer::{self, describe, Tok, Token};
use crate::model::cursor::Cursor;

mod field;
mod metrics;
mod scalar;

pub(crate) type PResult<T> = Result<T, TraceQlError>;

/// How deeply expressions may nest (parentheses, prefix operators): the later stages walk the AST
/// recursively, so a limit here, with a clear error, keeps a pathological query from overflowing the
/// stack; no real query comes near it.
pub(crate) const MAX_NESTING: usize = 64;

/// Parses a TraceQL query.
///
/// ```
/// let q = tracecheck::traceql::parser::parse("{ resource.service.name = \"api\" && status = error }").unwrap();
/// assert_eq!(q.to_string(), "{ ((resource.service.name = \"api\") && (span:status = error)) }");
/// ```
pub fn parse(source: &str) -> Result<Query, TraceQlError> {
    let tokens = lexer::lex(source)?;
    let mut parser = Parser {
        cursor: Cursor::new(source, tokens),
        nesting: 0,
    };
    parser.query()
}

pub(crate) struct Parser<'a> {
    /// The source, its tokens and the position (the model parser's cursor); the parser derefs to it.
    cursor: Cursor<'a, Token>,
    nesting: usize,
}

impl<'a> std::ops::Deref for Parser<'a> {
    type Target = Cursor<'a, Token>;
    fn deref(&self) -> &Self::Target {
        &self.cursor
    }
}

impl std::ops::DerefMut for Parser<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.cursor
    }
}

// Cursor helpers of TraceQL.
impl Parser<'_> {
    pub(crate) fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    /// Consumes `tok` or fails with "expected `what`, found ...". When the next token starts a new
    /// line, the mistake is at the end of the previous line (a missing `}` or `)`), so the error
    /// points there.
    pub(crate) fn expect(&mut self, tok: &Tok, what: &[&str]) -> PResult<Range<usize>> {
        self.eat(tok).ok_or_else(|| {
            let mut err = self.unexpected(what);
            if let Some(end) = self.missing_at_line_end() {
                err.span = end..end;
            }
            err
        })
    }

    /// "expected X, found Y" at the next token, with a hint for common slips.
    pub(crate) fn unexpected<S: AsRef<str>>(&self, expected: &[S]) -> TraceQlError {
        let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
        let found = describe(self.peek());
        let list = match expected.as_slice() {
            [one] => one.to_string(),
            [init @ .., last] => format!("one of {} or {last}", init.join(", ")),
            [] => "something else".to_string(),
        };
        TraceQlError::new(self.here(), format!("expected {list}, found {found}"))
            .with_expected(expected)
            .with_hint_opt(self.slip_hint())
    }

    /// A hint for a common slip at the next token.
    fn slip_hint(&self) -> Option<String> {
        let prev = self.previous();
        match (prev.map(|t| (&t.tok, t.span.clone())), self.peek()) {
            (Some((Tok::Int(_) | Tok::Float(_), number)), Tok::Ident(unit))
                if ["ns", "us", "ms", "s", "m", "h", "d", "w", "y"].contains(&unit.as_str()) =>
            {
                let number = &self.source[number];
                Some(format!(
                    "a duration is written without a space before its unit: `{number}{unit}`"
                ))
            }
            (Some((Tok::Eq, _)), Tok::Eq) => Some("equality is written with one `=`".to_string()),
            (_, Tok::Ident(w)) if w == "and" => Some("`and` is written `&&`".to_string()),
            (_, Tok::Ident(w)) if w == "or" => Some("`or` is written `||`".to_string()),
            (_, Tok::Ident(w)) if w == "not" => Some("`not` is written `!`".to_string()),
            _ => None,
        }
    }

    /// Enters a parenthesis or prefix operator, failing past [`MAX_NESTING`].
    pub(crate) fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(TraceQlError::new(
                self.here(),
                format!("expression nested more than {MAX_NESTING} levels deep"),
            ));
        }
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.nesting -= 1;
    }
}

// Query, pipeline, stages and spanset expressions.
impl Parser<'_> {
    fn query(&mut self) -> PResult<Query> {
        let start = self.here().start;
        if self.peek() == &Tok::Eof {
            return Err(TraceQlError::new(self.here(), "empty query")
                .with_expected(["`{`"])
                .with_hint("`{ }` selects every span"));
        }
        let pipeline = self.pipeline(false)?;
        let mut metrics = None;
        let mut second_stage = Vec::new();
        if self.peek() == &Tok::Pipe {
            self.advance();
            metrics = Some(self.metrics()?);
            while self.eat(&Tok::Pipe).is_some() {
                second_stage.push(self.second_stage()?);
            }
        }
        let hints = if self.is_ident("with") {
            self.hints()?
        } else {
            Vec::new()
        };
        if self.peek() != &Tok::Eof {
            let mut expected = vec!["`|`"];
            if metrics.is_none() && matches!(pipeline.stages.last(), Some(Stage::Spanset(_))) {
                expected.push("a spanset operator");
            }
            if hints.is_empty() {
                expected.push("`with (...)`");
            }
            expected.push("end of query");
            let mut err = self.unexpected(&expected);
            if self.peek() == &Tok::RParen {
                err = err.with_hint("this `)` has no matching `(`");
            }
            return Err(err);
        }
        Ok(Query {
            pipeline,
            metrics,
            second_stage,
            hints,
            span: self.since(start),
        })
    }

    /// Stages separated by `|`. At the top level (`nested` false) it stops before `|` followed by a
    /// metrics function; inside parentheses that is an error.
    fn pipeline(&mut self, nested: bool) -> PResult<Pipeline> {
        let start = self.here().start;
        let mut stages = vec![self.stage()?];
        while self.peek() == &Tok::Pipe {
            if let Tok::Ident(name) = self.peek_at(1).clone()
                && MetricsFn::NAMES.contains(&name.as_str())
            {
                if nested {
                    self.advance();
                    return Err(TraceQlError::new(
                        self.here(),
                        format!("`{name}` can only end the whole query, not a pipeline in parentheses"),
                    ));
                }
                break;
            }
            self.advance();
            stages.push(self.stage()?);
        }
        Ok(Pipeline {
            stages,
            span: self.since(start),
        })
    }

    fn stage(&mut self) -> PResult<Stage> {
        let start = self.here().start;
        match self.peek().clone() {
            Tok::Ident(w) if w == "by" => {
                self.advance();
                self.expect(&Tok::LParen, &["`(`"])?;
                let mut exprs = vec![self.field_expr(0)?];
                while self.eat(&Tok::Comma).is_some() {
                    exprs.push(self.field_expr(0)?);
                }
                self.expect(&Tok::RParen, &["`,`", "`)`", "an operator"])?;
                Ok(Stage::By {
                    exprs,
                    span: self.since(start),
                })
            }
            Tok::Ident(w) if w == "select" => {
                self.advance();
                let fields = self.field_ref_list()?;
                Ok(Stage::Select {
                    fields,
                    span: self.since(start),
                })
            }
            Tok::Ident(w) if w == "coalesce" => {
                self.advance();
                self.expect(&Tok::LParen, &["`(`"])?;
                self.expect(&Tok::RParen, &["`)`"])
                    .map_err(|e| e.with_hint("`coalesce()` takes no arguments"))?;
                Ok(Stage::Coalesce {
                    span: self.since(start),
                })
            }
            Tok::Ident(w) if AggregateFn::lookup(&w).is_some() => self.scalar_filter().map(Stage::ScalarFilter),
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Minus => {
                self.scalar_filter().map(Stage::ScalarFilter)
            }
            Tok::LParen if self.paren_starts_scalar() => self.scalar_or_spanset_stage(),
            Tok::LBrace | Tok::LParen => self.spanset_expr(1).map(Stage::Spanset),
            Tok::Ident(w) if MetricsFn::NAMES.contains(&w.as_str()) => Err(TraceQlError::new(
                self.here(),
                format!("`{w}` needs spans to measure before it"),
            )
            .with_hint(format!("start with a spanset filter: `{{ }} | {w}(...)`"))),
            Tok::Ident(w) if !["and", "or", "not"].contains(&w.as_str()) => {
                let names = ["by", "select", "coalesce", "count", "avg", "min", "max", "sum"]
                    .into_iter()
                    .chain(MetricsFn::NAMES);
                Err(TraceQlError::new(self.here(), format!("unknown function `{w}`"))
                    .with_expected(STAGE_START)
                    .with_hint_opt(crate::diag::did_you_mean(&w, names)))
            }
            _ => Err(self.unexpected(&STAGE_START)),
        }
    }

    /// A stage starting with `(` and then an aggregate or a number: a scalar filter such as
    /// `(count() + 1) > 2`, or else a parenthesised pipeline starting with one, such as
    /// `(count() > 1 | { .a }) && { .b }`. Of two failures, the one that got further is reported.
    fn scalar_or_spanset_stage(&mut self) -> PResult<Stage> {
        let (pos, nesting) = (self.pos, self.nesting);
        let scalar_err = match self.scalar_filter() {
            Ok(filter) => return Ok(Stage::ScalarFilter(filter)),
            Err(e) => e,
        };
        (self.pos, self.nesting) = (pos, nesting);
        self.spanset_expr(1).map(Stage::Spanset).map_err(|e| {
            if e.span.start >= scalar_err.span.start {
                e
            } else {
                scalar_err
            }
        })
    }

    /// Whether the `(` at the cursor opens a scalar expression (`(count() + 1) > 2`) rather than a
    /// spanset expression or pipeline: the first token after the opening parentheses tells.
    fn paren_starts_scalar(&self) -> bool {
        let mut i = 0;
        while self.peek_at(i) == &Tok::LParen {
            i += 1;
        }
        match self.peek_at(i) {
            Tok::Ident(w) => AggregateFn::lookup(w).is_some() && self.peek_at(i + 1) == &Tok::LParen,
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Minus => true,
            _ => false,
        }
    }

    /// Spanset expressions by precedence climbing: level 1 `&&` `||`, level 2 structural operators.
    fn spanset_expr(&mut self, min_level: u8) -> PResult<SpansetExpr> {
        let mut lhs = self.spanset_operand()?;
        while let Some((op, level)) = spanset_op(self.peek()) {
            if level < min_level {
                break;
            }
            self.advance();
            let rhs = self.spanset_expr(level + 1)?;
            let span = lhs.span().to(rhs.span());
            lhs = SpansetExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                span,
            };
        }
        Ok(lhs)
    }

    /// `{ ... }` or a parenthesised pipeline (which is a plain group when it is one spanset stage).
    fn spanset_operand(&mut self) -> PResult<SpansetExpr> {
        match self.peek() {
            Tok::LBrace => self.spanset_filter().map(SpansetExpr::Filter),
            Tok::LParen => {
                let start = self.here().start;
                self.enter()?;
                self.advance();
                let mut inner = self.pipeline(true)?;
                self.expect(&Tok::RParen, &["`)`", "`|`", "a spanset operator"])?;
                self.leave();
                inner.span = self.since(start);
                if inner.stages.len() == 1 && matches!(inner.stages[0], Stage::Spanset(_)) {
                    let Some(Stage::Spanset(e)) = inner.stages.pop() else {
                        unreachable!()
                    };
                    Ok(e)
                } else {
                    Ok(SpansetExpr::Pipeline(Box::new(inner)))
                }
            }
            _ => Err(self.unexpected(&["`{`", "`(`"])),
        }
    }

    pub(crate) fn spanset_filter(&mut self) -> PResult<SpansetFilter> {
        let start = self.expect(&Tok::LBrace, &["`{`"])?.start;
        if self.eat(&Tok::RBrace).is_some() {
            return Ok(SpansetFilter {
                cond: None,
                span: self.since(start),
            });
        }
        let cond = self.field_expr(0)?;
        self.expect(&Tok::RBrace, &["`}`", "an operator"])?;
        Ok(SpansetFilter {
            cond: Some(cond),
            span: self.since(start),
        })
    }
}

/// What may start a pipeline stage, as listed in errors.
const STAGE_START: [&str; 6] = [
    "`{`",
    "`(`",
    "`by(...)`",
    "`select(...)`",
    "`coalesce()`",
    "an aggregate such as `count()`",
];

/// A spanset operator and its precedence level (see the module documentation).
fn spanset_op(tok: &Tok) -> Option<(SpansetOp, u8)> {
    let op = match tok {
        Tok::AndAnd => return Some((SpansetOp::And, 1)),
        Tok::OrOr => return Some((SpansetOp::Or, 1)),
        Tok::Gt => SpansetOp::Child,
        Tok::Lt => SpansetOp::Parent,
        Tok::GtGt => SpansetOp::Descendant,
        Tok::LtLt => SpansetOp::Ancestor,
        Tok::Tilde => SpansetOp::Sibling,
        Tok::NotGt => SpansetOp::NotChild,
        Tok::NotLt => SpansetOp::NotParent,
        Tok::NotGtGt => SpansetOp::NotDescendant,
        Tok::NotLtLt => SpansetOp::NotAncestor,
        Tok::NotTilde => SpansetOp::NotSibling,
        Tok::AmpGt => SpansetOp::UnionChild,
        Tok::AmpLt => SpansetOp::UnionParent,
        Tok::AmpGtGt => SpansetOp::UnionDescendant,
        Tok::AmpLtLt => SpansetOp::UnionAncestor,
        Tok::AmpTilde => SpansetOp::UnionSibling,
        _ => return None,
    };
    Some((op, 2))
}
