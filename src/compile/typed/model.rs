//! The typing pass of `model` blocks: model AST → [`TypedModel`].

use super::{
    Access, Comparison, Condition, Spans, TypedExpect, TypedField, TypedLet, TypedModel, TypedRelation, Value,
};
use crate::compile::types::{arith_ty, cmp_kind, field_ty, literal_ty, mirror, CmpKind, Ty};
use crate::model::ast::{self, CmpOp, Expr, Literal, Model, Predicate, Selector, Spanned};
use crate::model::ModelError;

type TResult<T> = Result<T, ModelError>;

/// Types a model (validated first): the typed form the SQL is built from, or the first error at
/// the offending text.
///
/// ```
/// let file = tracecheck::model::parse_file(r#"model "m" { expect span(duration > 5) }"#).unwrap();
/// let tracecheck::model::Item::Model(m) = &file.items[0] else { unreachable!() };
/// let err = tracecheck::compile::type_model(m).unwrap_err();
/// assert!(err.message.contains("cannot compare a duration with a number"));
/// assert_eq!(&r#"model "m" { expect span(duration > 5) }"#[err.span], "duration > 5");
/// ```
pub fn type_model(model: &Model) -> TResult<TypedModel> {
    model.validate()?;
    let typer = Typer { model };
    let mut lets = Vec::new();
    for l in &model.lets {
        let Selector::Inline { predicates, .. } = &l.selector else {
            return Err(ModelError::new(l.span.range(), "a let must name span(...)"));
        };
        lets.push(TypedLet {
            name: l.name.node.clone(),
            predicates: predicates.iter().map(predicate).collect::<TResult<_>>()?,
        });
    }
    let when = match &model.when {
        Some(w) => w
            .conditions
            .iter()
            .map(|c| typer.condition(c))
            .collect::<TResult<_>>()?,
        None => Vec::new(),
    };
    let expects = model
        .expects
        .iter()
        .map(|e| {
            let (spans, relation) = typer.term(&e.term)?;
            Ok(TypedExpect {
                quantifier: e.quantifier,
                spans,
                relation,
            })
        })
        .collect::<TResult<_>>()?;
    Ok(TypedModel {
        title: model.title.node.clone(),
        lets,
        when,
        expects,
    })
}

/// `FIELD OP LITERAL` inside `span(...)`: a comparison of the span's field with a constant, its
/// errors at the whole predicate.
pub(crate) fn predicate(p: &Predicate) -> TResult<Comparison> {
    let field = TypedField {
        spans: None,
        access: Access::of(&p.field.node),
        ty: field_ty(&p.field.node).map_err(|m| ModelError::new(p.field.span.range(), m))?,
        field: p.field.node.clone(),
    };
    compare(Value::Field(field), p.op.node, literal(&p.value.node)).map_err(|m| ModelError::new(p.span.range(), m))
}

fn literal(l: &Literal) -> Value {
    Value::Literal {
        literal: l.clone(),
        ty: literal_ty(l),
    }
}

struct Typer<'m> {
    model: &'m Model,
}

impl Typer<'_> {
    fn condition(&self, c: &ast::Condition) -> TResult<Condition> {
        Ok(match c {
            ast::Condition::Exists(term) => {
                let (spans, relation) = self.term(term)?;
                Condition::Exists { spans, relation }
            }
            ast::Condition::Compare { left, op, right, span } => {
                let l = self.value(left)?;
                let r = self.value(right)?;
                Condition::Compare(compare(l, op.node, r).map_err(|m| ModelError::new(span.range(), m))?)
            }
        })
    }

    fn term(&self, t: &ast::SpanTerm) -> TResult<(Spans, Option<TypedRelation>)> {
        let spans = self.spans(&t.selector)?;
        let relation = match &t.relation {
            Some(r) => Some(TypedRelation {
                kind: r.kind,
                target: self.spans(&r.target)?,
            }),
            None => None,
        };
        Ok((spans, relation))
    }

    fn spans(&self, s: &Selector) -> TResult<Spans> {
        match s {
            Selector::Ref(name) => Ok(Spans::Let {
                index: self.let_index(name)?,
                name: name.node.clone(),
            }),
            Selector::Inline { predicates, .. } => {
                Ok(Spans::Inline(predicates.iter().map(predicate).collect::<TResult<_>>()?))
            }
        }
    }

    fn let_index(&self, name: &Spanned<String>) -> TResult<usize> {
        self.model
            .lets
            .iter()
            .position(|l| l.name.node == name.node)
            .ok_or_else(|| ModelError::new(name.span.range(), format!("unknown name `{}`", name.node)))
    }

    /// A `when` expression.
    fn value(&self, e: &Expr) -> TResult<Value> {
        match e {
            Expr::Literal(l) => Ok(literal(&l.node)),
            Expr::Field(f) => {
                let trace = f.field.node.is_trace_field();
                let spans = match &f.selector {
                    // `X.trace.F` is the trace of X (the same trace); X is still joined.
                    Some(sel) => Some(self.spans(sel)?),
                    None if trace => None,
                    None => return Err(ModelError::new(f.span.range(), "a field needs a span")),
                };
                let ty = field_ty(&f.field.node).map_err(|m| ModelError::new(f.field.span.range(), m))?;
                Ok(Value::Field(TypedField {
                    spans,
                    field: f.field.node.clone(),
                    access: Access::of(&f.field.node),
                    ty,
                }))
            }
            Expr::Neg { expr, span } => {
                let v = self.value(expr)?;
                let ty = match v.ty() {
                    Ty::Num | Ty::Tag => Ty::Num,
                    Ty::Dur => Ty::Dur,
                    other => {
                        return Err(ModelError::new(
                            span.range(),
                            format!("cannot negate {}", other.describe()),
                        ))
                    }
                };
                Ok(Value::Neg { expr: Box::new(v), ty })
            }
            Expr::Binary { op, left, right, span } => {
                let l = self.value(left)?;
                let r = self.value(right)?;
                let ty = arith_ty(*op, l.ty(), r.ty()).map_err(|m| ModelError::new(span.range(), m))?;
                Ok(Value::Arith {
                    op: *op,
                    left: Box::new(l),
                    right: Box::new(r),
                    ty,
                })
            }
        }
    }
}

/// `left op right`, type-checked.
fn compare(left: Value, op: CmpOp, right: Value) -> Result<Comparison, String> {
    // Put a lone tag on the left so the typing rules need one orientation.
    let swapped = right.ty() == Ty::Tag && left.ty() != Ty::Tag;
    if swapped && matches!(op, CmpOp::Match | CmpOp::Contains) {
        return Err(format!("`{}` needs the tag or string on its left", op.as_str()));
    }
    let (l, o, r) = match swapped {
        true => (&right, mirror(op), &left),
        false => (&left, op, &right),
    };
    let kind = cmp_kind(l.ty(), o, r.ty(), r.text().is_some())?;
    // Numbers, durations and timestamps that were computed (DOUBLE) compare as numbers.
    let how = if kind == CmpKind::Same && (l.computed() || r.computed()) {
        CmpKind::Numeric
    } else {
        kind
    };
    check_enum_text(l, r)?;
    check_enum_text(r, l)?;
    if let (CmpOp::Match, Some(p)) = (o, r.text()) {
        regex::Regex::new(p).map_err(|e| {
            // The regex crate's message draws its own caret over several lines; keep the reason.
            let text = e.to_string();
            let reason = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            format!("invalid regular expression: {}", reason.trim_start_matches("error: "))
        })?;
    }
    Ok(Comparison {
        left,
        op,
        right,
        swapped,
        how,
    })
}

/// An enum field compared with a string constant: the constant must be one of its values.
fn check_enum_text(a: &Value, b: &Value) -> Result<(), String> {
    if let (Ty::Enum, Some(t)) = (a.ty(), b.text()) {
        let all = [ast::KIND_VALUES.as_slice(), ast::STATUS_VALUES.as_slice()];
        if !all.iter().any(|vals| vals.contains(&t)) {
            return Err(format!(
                "{t:?} is not a kind ({}) or a status ({})",
                ast::KIND_VALUES.join(", "),
                ast::STATUS_VALUES.join(", ")
            ));
        }
    }
    Ok(())
}
