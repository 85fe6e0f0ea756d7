//! Field expressions of one filter (or aggregate, `by`, `select`, metrics field) → [`Val`]s and
//! conditions, recording the joins each field needs.

use super::joins::Joins;
use super::ops::{arithmetic, compare, is_arithmetic, regex_match};
use super::value::{literal, Val};
use crate::model::ast::Span;
use crate::traceql::ast::{Attribute, AttributeScope, BinaryOp, FieldExpr, FieldRef, Intrinsic, UnaryOp};
use crate::traceql::TraceQlError;

type CResult<T> = std::result::Result<T, TraceQlError>;

/// Compiles field expressions of one filter (or one aggregate, `by`, `select`), recording the
/// joins they need in `joins`.
pub(super) struct FieldCompiler<'a> {
    pub joins: &'a mut Joins,
}

impl FieldCompiler<'_> {
    /// A filter condition, in SQL's three-valued logic: a comparison is TRUE or FALSE (false with
    /// an absent operand), while a value that is not a boolean (`{ span.n }`, `!span.absent`) is
    /// unknown (NULL), and stays unknown through `!` — `{ !(!span.absent) }` matches nothing, as in
    /// the reference evaluator. A filter keeps the spans where its condition is TRUE.
    pub fn condition(&mut self, e: &FieldExpr) -> CResult<String> {
        self.condition_in(e, false)
    }

    /// [`condition`](Self::condition); `total`: comparisons must be TRUE or FALSE (under `!`, or
    /// as a value), else they may be NULL for FALSE, which only a positive context may use.
    fn condition_in(&mut self, e: &FieldExpr, total: bool) -> CResult<String> {
        Ok(match e {
            FieldExpr::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
                ..
            } => {
                format!("({} AND {})", self.condition_in(lhs, total)?, self.condition_in(rhs, total)?)
            }
            FieldExpr::Binary {
                op: BinaryOp::Or,
                lhs,
                rhs,
                ..
            } => {
                format!("({} OR {})", self.condition_in(lhs, total)?, self.condition_in(rhs, total)?)
            }
            FieldExpr::Binary {
                op: op @ (BinaryOp::Regex | BinaryOp::NotRegex),
                lhs,
                rhs,
                span,
            } => {
                let l = self.value(lhs)?;
                regex_match(*op, &l, rhs, span, total)?
            }
            FieldExpr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                let l = self.value(lhs)?;
                let r = self.value(rhs)?;
                compare(*op, &l, &r, total)
            }
            FieldExpr::Unary {
                op: UnaryOp::Not,
                operand,
                ..
            // `!x` of an absent or non-boolean x is unknown, so never matches (Decision 5).
            } => format!("(NOT {})", self.condition_in(operand, true)?),
            _ => {
                let v = self.value(e)?;
                v.b.unwrap_or_else(|| "NULL".into())
            }
        })
    }

    /// The value of an expression.
    pub fn value(&mut self, e: &FieldExpr) -> CResult<Val> {
        Ok(match e {
            FieldExpr::Literal { value, .. } => literal(value),
            FieldExpr::Field(f) => self.field(f)?,
            FieldExpr::Unary {
                op: UnaryOp::Neg,
                operand,
                ..
            } => {
                let v = self.value(operand)?;
                Val {
                    i: v.i.map(|x| format!("(-{x})")),
                    f: v.f.map(|x| format!("(-{x})")),
                    d: v.d.map(|x| format!("(-{x})")),
                    ..Val::default()
                }
            }
            FieldExpr::Binary { op, lhs, rhs, .. } if is_arithmetic(*op) => {
                let l = self.value(lhs)?;
                let r = self.value(rhs)?;
                arithmetic(*op, &l, &r)
            }
            // Comparisons and logic as values: booleans.
            _ => Val {
                b: Some(self.condition_in(e, true)?),
                ..Val::default()
            },
        })
    }

    /// An intrinsic or attribute of the current span (alias `s`).
    pub fn field(&mut self, f: &FieldRef) -> CResult<Val> {
        match f {
            FieldRef::Intrinsic { intrinsic, span } => self.intrinsic(*intrinsic, span),
            FieldRef::Attribute(a) => Ok(self.attribute(a)),
        }
    }

    fn intrinsic(&mut self, i: Intrinsic, _span: &Span) -> CResult<Val> {
        let s = |sql: String| Val {
            s: Some(sql),
            ..Val::default()
        };
        Ok(match i {
            Intrinsic::SpanName => s("s.name".into()),
            Intrinsic::SpanStatus => Val {
                status: Some("s.status".into()),
                ..Val::default()
            },
            // Tempo stores an empty message, never none (Decision 4).
            Intrinsic::SpanStatusMessage => s("COALESCE(s.status_message, '')".into()),
            Intrinsic::SpanKind => Val {
                kind: Some("s.kind".into()),
                ..Val::default()
            },
            Intrinsic::SpanDuration => Val {
                d: Some("s.duration".into()),
                ..Val::default()
            },
            Intrinsic::SpanId => s("s.span_id".into()),
            Intrinsic::SpanParentId => s("s.parent_span_id".into()),
            Intrinsic::SpanChildCount => {
                self.joins.child_count = true;
                Val {
                    i: Some("COALESCE(cc.n, 0)".into()),
                    ..Val::default()
                }
            }
            Intrinsic::TraceRootName => {
                self.joins.trace = true;
                s("tr.root_name".into())
            }
            Intrinsic::TraceRootService => {
                self.joins.trace = true;
                s("tr.root_service".into())
            }
            Intrinsic::TraceDuration => {
                self.joins.trace = true;
                Val {
                    d: Some("tr.duration".into()),
                    ..Val::default()
                }
            }
            Intrinsic::TraceId => s("s.trace_id".into()),
            Intrinsic::EventName => {
                self.joins.events = true;
                s("e.name".into())
            }
            Intrinsic::EventTimeSinceStart => {
                self.joins.events = true;
                Val {
                    d: Some("(CAST(e.time AS BIGINT) - CAST(s.start_time AS BIGINT))".into()),
                    ..Val::default()
                }
            }
            Intrinsic::LinkTraceId => {
                self.joins.links = true;
                s("l.ref_trace_id".into())
            }
            Intrinsic::LinkSpanId => {
                self.joins.links = true;
                s("l.ref_span_id".into())
            }
            Intrinsic::InstrumentationName => s("s.scope_name".into()),
            Intrinsic::InstrumentationVersion => s("s.scope_version".into()),
        })
    }

    fn attribute(&mut self, a: &Attribute) -> Val {
        let stored = |alias: &str| Val {
            s: Some(format!("{alias}.str_value")),
            i: Some(format!("{alias}.int_value")),
            f: Some(format!("{alias}.double_value")),
            b: Some(format!("{alias}.bool_value")),
            present: Some(format!("({alias}.key IS NOT NULL)")),
            float_text: Some(format!("{alias}.value")),
            ..Val::default()
        };
        match a.scope {
            AttributeScope::Span | AttributeScope::Resource | AttributeScope::Instrumentation => {
                stored(&self.joins.attribute(a.scope, &a.name))
            }
            AttributeScope::Event => {
                self.joins.events = true;
                stored(&self.joins.attribute(a.scope, &a.name))
            }
            AttributeScope::Link => {
                self.joins.links = true;
                stored(&self.joins.attribute(a.scope, &a.name))
            }
            // The span's attribute if it has one, of whatever type, else the resource's (Decision 10).
            AttributeScope::Unscoped => {
                let sa = self.joins.attribute(AttributeScope::Span, &a.name);
                let ra = self.joins.attribute(AttributeScope::Resource, &a.name);
                let pick =
                    |column: &str| format!("CASE WHEN {sa}.key IS NULL THEN {ra}.{column} ELSE {sa}.{column} END");
                Val {
                    s: Some(pick("str_value")),
                    i: Some(pick("int_value")),
                    f: Some(pick("double_value")),
                    b: Some(pick("bool_value")),
                    present: Some(format!("({sa}.key IS NOT NULL OR {ra}.key IS NOT NULL)")),
                    float_text: Some(pick("value")),
                    ..Val::default()
                }
            }
        }
    }
}
