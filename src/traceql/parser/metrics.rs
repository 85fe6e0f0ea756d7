//! The end of a query: a metrics function (`| rate() by (...)`), second-stage functions
//! (`| topk(5)`) and hints (`with (...)`).

use super::{PResult, Parser};
use crate::diag::did_you_mean;
use crate::traceql::ast::*;
use crate::traceql::error::TraceQlError;
use crate::traceql::lexer::Tok;

impl Parser<'_> {
    /// A metrics function and its optional `by (...)`; the `|` before it is consumed.
    pub(crate) fn metrics(&mut self) -> PResult<Metrics> {
        let here = self.here();
        let Tok::Ident(name) = self.peek().clone() else {
            return Err(self.unexpected(&["a metrics function"]));
        };
        self.advance();
        self.expect(&Tok::LParen, &["`(`"])?;
        let func = match name.as_str() {
            "rate" | "count_over_time" => {
                if self.peek() != &Tok::RParen {
                    return Err(self
                        .unexpected(&["`)`"])
                        .with_hint(format!("`{name}()` takes no argument")));
                }
                if name == "rate" {
                    MetricsFn::Rate
                } else {
                    MetricsFn::CountOverTime
                }
            }
            "min_over_time" => MetricsFn::MinOverTime(self.metrics_field(&name)?),
            "max_over_time" => MetricsFn::MaxOverTime(self.metrics_field(&name)?),
            "avg_over_time" => MetricsFn::AvgOverTime(self.metrics_field(&name)?),
            "sum_over_time" => MetricsFn::SumOverTime(self.metrics_field(&name)?),
            "histogram_over_time" => MetricsFn::HistogramOverTime(self.metrics_field(&name)?),
            "quantile_over_time" => {
                let field = self.metrics_field(&name)?;
                let mut quantiles = Vec::new();
                while self.eat(&Tok::Comma).is_some() {
                    quantiles.push(match *self.peek() {
                        Tok::Float(f) => f,
                        // Quantiles are 0 or 1 when integers: exact as floats.
                        Tok::Int(i) => i as f64,
                        _ => return Err(self.unexpected(&["a quantile such as `0.99`"])),
                    });
                    self.advance();
                }
                if quantiles.is_empty() {
                    return Err(self.unexpected(&["`,`"]).with_hint(
                        "`quantile_over_time` needs at least one quantile: `quantile_over_time(duration, 0.99)`",
                    ));
                }
                MetricsFn::QuantileOverTime { field, quantiles }
            }
            "compare" => {
                let selection = self.spanset_filter()?;
                let mut numbers = Vec::new();
                while self.eat(&Tok::Comma).is_some() {
                    let Tok::Int(i) = *self.peek() else {
                        return Err(self.unexpected(&["an integer"]));
                    };
                    self.advance();
                    numbers.push(i);
                }
                let (top_n, range) = match numbers.as_slice() {
                    [] => (None, None),
                    [n] => (Some(*n), None),
                    [n, start, end] => (Some(*n), Some((*start, *end))),
                    _ => {
                        return Err(TraceQlError::new(self.here(), "`compare` takes 1, 2 or 4 arguments")
                            .with_hint("`compare({ selection })`, `compare({ selection }, top_n)` or `compare({ selection }, top_n, start, end)`"))
                    }
                };
                MetricsFn::Compare {
                    selection,
                    top_n,
                    range,
                }
            }
            _ => {
                return Err(TraceQlError::new(here, format!("unknown metrics function `{name}`"))
                    .with_hint_opt(did_you_mean(&name, MetricsFn::NAMES)))
            }
        };
        self.expect(&Tok::RParen, &["`)`"])?;
        let by = if self.is_ident("by") {
            self.advance();
            self.field_ref_list()?
        } else {
            Vec::new()
        };
        Ok(Metrics {
            func,
            by,
            span: self.since(here.start),
        })
    }

    /// The field argument of a metrics function.
    fn metrics_field(&mut self, name: &str) -> PResult<FieldRef> {
        if self.peek() == &Tok::RParen {
            return Err(self
                .unexpected(&["an attribute", "an intrinsic"])
                .with_hint(format!("`{name}` needs the field to measure, e.g. `{name}(duration)`")));
        }
        self.field_ref()
    }

    /// `topk(k)` or `bottomk(k)`; the `|` before it is consumed.
    pub(crate) fn second_stage(&mut self) -> PResult<SecondStage> {
        let start = self.here().start;
        let top = match self.peek() {
            Tok::Ident(w) if w == "topk" => true,
            Tok::Ident(w) if w == "bottomk" => false,
            _ => {
                return Err(self
                    .unexpected(&["`topk(...)`", "`bottomk(...)`"])
                    .with_hint("after a metrics function only `topk` and `bottomk` may follow"))
            }
        };
        self.advance();
        self.expect(&Tok::LParen, &["`(`"])?;
        let Tok::Int(k) = *self.peek() else {
            return Err(self.unexpected(&["an integer"]));
        };
        self.advance();
        self.expect(&Tok::RParen, &["`)`"])?;
        let span = self.since(start);
        Ok(if top {
            SecondStage::TopK { k, span }
        } else {
            SecondStage::BottomK { k, span }
        })
    }

    /// `with (name = literal, ...)`, the cursor on `with`.
    pub(crate) fn hints(&mut self) -> PResult<Vec<Hint>> {
        self.advance();
        self.expect(&Tok::LParen, &["`(`"])?;
        let mut hints = Vec::new();
        loop {
            let start = self.here().start;
            let Tok::Ident(name) = self.peek().clone() else {
                return Err(self.unexpected(&["a hint name"]));
            };
            self.advance();
            self.expect(&Tok::Eq, &["`=`"])?;
            let value = self.literal()?;
            hints.push(Hint {
                name,
                value,
                span: self.since(start),
            });
            if self.eat(&Tok::Comma).is_none() {
                break;
            }
        }
        self.expect(&Tok::RParen, &["`,`", "`)`"])?;
        Ok(hints)
    }
}
