//! `check` blocks: aggregate rules (part of the parser).
//!
//! Decisions:
//! - A `check` block holds one or more rules, each `AGG(SOURCE) [by F, ...] [per DURATION] OP
//!   THRESHOLD`; rules start with the aggregate's name, so no separators are needed.
//! - `count`, `rate` and `error_rate` take spans (`count(span(...))`); `avg`, `min`, `max`, `sum` and
//!   percentiles take a value (`avg(span(...).duration)` or `p99(trace.duration)`, one value per trace).
//! - Percentiles are `p` and digits: the first two digits are whole percent and the rest decimals
//!   (`p50` = 50, `p999` = 99.9, `p9999` = 99.99, `p5` = 5); `p100` is the maximum.
//! - Thresholds are numbers with an optional `%` or `/s`, durations, or `baseline` optionally adjusted
//!   with `* NUMBER` or `+ QUANTITY`.
//! - There are no `let`s in checks; selectors are written inline.

use super::{PResult, Parser, CMP_OPS};
use crate::model::ast::*;
use crate::model::diag::{did_you_mean, ModelError};
use crate::model::lexer::{Keyword, Tok};

/// Aggregate names as listed in errors.
const AGGREGATES: [&str; 12] = [
    "count",
    "rate",
    "avg",
    "min",
    "max",
    "sum",
    "p50",
    "p90",
    "p95",
    "p99",
    "pN",
    "error_rate",
];

impl Parser<'_> {
    pub(crate) fn check(&mut self, comments: Comments) -> PResult<Check> {
        let start = self.advance().span.start;
        let title = self.title()?;
        let open = self.expect_tok(&Tok::LBrace, "`{`")?;
        self.lets.clear();
        let mut rules = Vec::new();
        let trailing_comments = loop {
            let comments = self.take_comments();
            match self.peek() {
                Tok::Ident(_) => rules.push(self.check_rule(comments)?),
                Tok::RBrace => {
                    self.advance();
                    break comments;
                }
                tok => {
                    let clause = matches!(tok, Tok::Keyword(Keyword::Let | Keyword::When | Keyword::Expect));
                    let err = self.unexpected(&["an aggregate such as `count(...)`", "`}`"]);
                    let err = if clause {
                        err.with_hint("`let`, `when` and `expect` belong in `model` blocks")
                    } else {
                        err
                    };
                    return Err(self.unclosed(err, &open));
                }
            }
        };
        if rules.is_empty() {
            return Err(
                ModelError::new(title.span.range(), format!("check {:?} has no rule", title.node))
                    .with_hint("add a rule such as: p99(span(name = \"...\").duration) < 250ms"),
            );
        }
        Ok(Check {
            title,
            rules,
            comments,
            trailing_comments,
            span: self.since(start),
        })
    }

    fn check_rule(&mut self, comments: Comments) -> PResult<CheckRule> {
        let start = self.here().start;
        let Tok::Ident(name) = self.peek().clone() else {
            return Err(self.unexpected(&AGGREGATES));
        };
        let name_span = self.here();
        let Some(agg) = Aggregate::from_name(&name) else {
            let mut err = ModelError::new(name_span, format!("unknown aggregate `{name}`"))
                .with_expected(AGGREGATES.map(|a| format!("`{a}`")));
            if let Some(hint) = did_you_mean(&name, AGGREGATES) {
                err = err.with_hint(hint);
            }
            return Err(err);
        };
        if let Aggregate::Percentile(p) = agg
            && p > 100.0
        {
            return Err(ModelError::new(name_span, "a percentile is at most 100"));
        }
        let aggregate = Spanned::at(agg, self.advance().span);
        self.expect_tok(&Tok::LParen, "`(`")?;
        let source = self.agg_source(agg, &name)?;
        self.expect_tok(&Tok::RParen, "`)`")?;
        let mut by = Vec::new();
        if self.eat_kw(Keyword::By).is_some() {
            by.push(self.field()?);
            while self.eat(&Tok::Comma).is_some() {
                by.push(self.field()?);
            }
        }
        let mut per = None;
        if self.eat_kw(Keyword::Per).is_some() {
            match *self.peek() {
                Tok::Duration(d) if d > 0 => per = Some(Spanned::at(d, self.advance().span)),
                _ => return Err(self.unexpected(&["a duration such as `1m`"])),
            }
        }
        if self.cmp_op_next().is_none() {
            let mut expected = CMP_OPS.map(String::from).to_vec();
            if by.is_empty() && per.is_none() {
                expected.push("`by`".into());
            }
            if per.is_none() {
                expected.push("`per`".into());
            }
            return Err(self.unexpected_after(&expected));
        }
        let op = self.cmp_op()?;
        let threshold = self.threshold()?;
        Ok(CheckRule {
            aggregate,
            source,
            by,
            per,
            op,
            threshold,
            comments,
            span: self.since(start),
        })
    }

    /// The argument of an aggregate, checked against what the aggregate takes.
    fn agg_source(&mut self, agg: Aggregate, name: &str) -> PResult<AggSource> {
        let source = match self.peek() {
            Tok::Keyword(Keyword::Trace) => {
                let field = self.field()?;
                AggSource::Value(FieldRef {
                    selector: None,
                    span: field.span.clone(),
                    field,
                })
            }
            Tok::Keyword(Keyword::Span) => {
                let selector = self.inline_selector()?;
                if self.eat(&Tok::Dot).is_some() {
                    let field = self.field()?;
                    AggSource::Value(FieldRef {
                        span: selector.span().to(&field.span),
                        selector: Some(selector),
                        field,
                    })
                } else {
                    AggSource::Spans(selector)
                }
            }
            _ => {
                let err = self.unexpected(&["`span(...)`", "`trace.`"]);
                return Err(match self.peek() {
                    Tok::Ident(_) => err.with_hint("checks have no `let`; select spans inline"),
                    _ => err,
                });
            }
        };
        match (&source, agg.counts_spans()) {
            (AggSource::Value(v), true) => Err(ModelError::new(
                v.field.span.range(),
                format!("`{name}` counts spans and takes no field"),
            )
            .with_expected(["`)`"])
            .with_hint(format!(
                "write {name}(span(...)); avg, min, max, sum and percentiles aggregate a field"
            ))),
            (AggSource::Spans(s), false) => Err(ModelError::new(
                s.span().range(),
                format!("`{name}` needs a value to aggregate"),
            )
            .with_expected(["`.` and a field"])
            .with_hint(format!("name a field, e.g. {name}(span(...).duration)"))),
            _ => Ok(source),
        }
    }

    fn threshold(&mut self) -> PResult<Threshold> {
        let start = self.here().start;
        if self.eat_kw(Keyword::Baseline).is_none() {
            return Ok(Threshold::Value(self.quantity()?));
        }
        let op = match self.peek() {
            Tok::Star => Some(ArithOp::Mul),
            Tok::Plus => Some(ArithOp::Add),
            Tok::Minus | Tok::Slash => {
                return Err(ModelError::new(self.here(), "only `*` and `+` adjust a baseline")
                    .with_expected(["`*`", "`+`"])
                    .with_hint("write e.g. baseline * 0.9 instead of subtracting"))
            }
            _ => None,
        };
        let adjust = match op {
            Some(op) => {
                self.advance();
                Some((op, self.quantity()?))
            }
            None => None,
        };
        Ok(Threshold::Baseline {
            adjust,
            span: self.since(start),
        })
    }

    fn quantity(&mut self) -> PResult<Spanned<Quantity>> {
        let start = self.here().start;
        let negative = self.eat(&Tok::Minus).is_some();
        let sign = if negative { -1.0 } else { 1.0 };
        let value = match *self.peek() {
            Tok::Int(n) => n as f64 * sign,
            Tok::Float(f) => f * sign,
            Tok::Duration(d) => {
                self.advance();
                let d = if negative { -d } else { d };
                return Ok(Spanned::at(Quantity::Duration(d), self.since(start)));
            }
            _ => {
                return Err(self.unexpected(&[
                    "a number",
                    "a duration",
                    "a percentage",
                    "a rate such as `100/s`",
                    "`baseline`",
                ]))
            }
        };
        self.advance();
        let q = if self.eat(&Tok::Percent).is_some() {
            Quantity::Percent(value)
        } else if self.eat(&Tok::Slash).is_some() {
            if !matches!(self.peek(), Tok::Ident(s) if s == "s") {
                return Err(self.unexpected(&["`s`"]).with_hint("rates are per second, e.g. 100/s"));
            }
            self.advance();
            Quantity::PerSecond(value)
        } else {
            Quantity::Number(value)
        };
        Ok(Spanned::at(q, self.since(start)))
    }
}
