//! Checks on a model AST that the parser performs while parsing, for ASTs made with the
//! [`builder`](super::builder): unique titles and let names, known let names, enum values,
//! aggregate arguments, finite numbers. The parser enforces most of them while parsing; a few
//! (baseline adjustments, finite numbers) are only checked here, so callers validate parsed files too.
//!
//! Errors carry the offending node's span, which is empty (`0..0`) for built nodes; the message names
//! the model or check.

use super::ast::*;
use super::diag::ModelError;

type VResult = Result<(), ModelError>;

fn err(span: &Span, message: String) -> VResult {
    Err(ModelError::new(span.range(), message))
}

impl File {
    /// Validates every block and that titles are unique.
    ///
    /// ```
    /// use tracecheck::model::builder::*;
    /// let file = File::new()
    ///     .with(Model::new("a").expect(span()))
    ///     .with(Model::new("a").expect(span()));
    /// assert!(file.validate().unwrap_err().message.contains("duplicate title"));
    /// ```
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut titles: Vec<&str> = Vec::new();
        for item in &self.items {
            let title = match item {
                Item::Model(m) => {
                    m.validate()?;
                    &m.title
                }
                Item::Check(c) => {
                    c.validate()?;
                    &c.title
                }
            };
            if titles.contains(&title.node.as_str()) {
                err(&title.span, format!("duplicate title {:?}", title.node))?;
            }
            titles.push(&title.node);
        }
        Ok(())
    }
}

impl Model {
    /// Validates the model: lets are unique inline selectors, every name used is a let, enum
    /// values are valid, and there is at least one `expect` (and one condition in a `when`).
    ///
    /// ```
    /// use tracecheck::model::builder::*;
    /// let m = Model::new("m").expect(span().name("a").before(named("w")));
    /// assert_eq!(m.validate().unwrap_err().message, "model \"m\": unknown name `w`");
    /// ```
    pub fn validate(&self) -> Result<(), ModelError> {
        let ctx = |e: ModelError| ModelError {
            message: format!("model {:?}: {}", self.title.node, e.message),
            ..e
        };
        let mut names: Vec<&str> = Vec::new();
        for l in &self.lets {
            if names.contains(&l.name.node.as_str()) {
                err(&l.name.span, format!("duplicate let `{}`", l.name.node)).map_err(ctx)?;
            }
            if let Selector::Ref(r) = &l.selector {
                err(&r.span, format!("let `{}` must be span(...)", l.name.node)).map_err(ctx)?;
            }
            selector(&l.selector, &names).map_err(ctx)?;
            names.push(&l.name.node);
        }
        if let Some(w) = &self.when {
            if w.conditions.is_empty() {
                err(&w.span, "`when` has no condition".into()).map_err(ctx)?;
            }
            for c in &w.conditions {
                condition(c, &names).map_err(ctx)?;
            }
        }
        if self.expects.is_empty() {
            err(&self.title.span, "no `expect` clause".into()).map_err(ctx)?;
        }
        for e in &self.expects {
            term(&e.term, &names).map_err(ctx)?;
        }
        Ok(())
    }
}

impl Check {
    /// Validates the check: at least one rule, aggregates get the argument they take, percentiles
    /// lie in 0..=100, windows are positive, numbers are finite, no let names are used.
    ///
    /// ```
    /// use tracecheck::model::builder::*;
    /// let c = Check::new("c").rule(count(span()).less_than(10.0));
    /// assert!(c.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), ModelError> {
        let ctx = |e: ModelError| ModelError {
            message: format!("check {:?}: {}", self.title.node, e.message),
            ..e
        };
        if self.rules.is_empty() {
            err(&self.title.span, "no rule".into()).map_err(ctx)?;
        }
        for r in &self.rules {
            rule(r).map_err(ctx)?;
        }
        Ok(())
    }
}

fn rule(r: &CheckRule) -> VResult {
    let agg = r.aggregate.node;
    match (&r.source, agg.counts_spans()) {
        (AggSource::Spans(s), false) => err(s.span(), format!("`{agg}` needs a value"))?,
        (AggSource::Value(v), true) => err(&v.span, format!("`{agg}` takes spans, not a field"))?,
        (AggSource::Spans(s), true) => selector(s, &[])?,
        (AggSource::Value(v), false) => field_ref(v, &[])?,
    }
    if let Aggregate::Percentile(p) = agg
        && !(0.0..=100.0).contains(&p)
    {
        err(&r.aggregate.span, format!("percentile {p} is not in 0..=100"))?;
    }
    if let Some(per) = &r.per
        && per.node <= 0
    {
        err(&per.span, "the window of `per` must be positive".into())?;
    }
    match &r.threshold {
        Threshold::Value(q) => quantity(q),
        Threshold::Baseline { adjust: None, .. } => Ok(()),
        Threshold::Baseline {
            adjust: Some((op, q)),
            span,
        } => {
            if !matches!(op, ArithOp::Mul | ArithOp::Add) {
                err(span, "only `*` and `+` adjust a baseline".into())?;
            }
            if *op == ArithOp::Mul && !matches!(q.node, Quantity::Number(_)) {
                err(&q.span, "a baseline is multiplied by a plain number".into())?;
            }
            quantity(q)
        }
    }
}

fn quantity(q: &Spanned<Quantity>) -> VResult {
    let v = match q.node {
        Quantity::Number(v) | Quantity::Percent(v) | Quantity::PerSecond(v) => v,
        Quantity::Duration(_) => 0.0,
    };
    if !v.is_finite() {
        err(&q.span, format!("{v} is not a finite number"))?;
    }
    Ok(())
}

fn term(t: &SpanTerm, names: &[&str]) -> VResult {
    selector(&t.selector, names)?;
    match &t.relation {
        Some(r) => selector(&r.target, names),
        None => Ok(()),
    }
}

fn condition(c: &Condition, names: &[&str]) -> VResult {
    match c {
        Condition::Exists(t) => term(t, names),
        Condition::Compare { left, right, .. } => {
            expr(left, names)?;
            expr(right, names)
        }
    }
}

fn expr(e: &Expr, names: &[&str]) -> VResult {
    match e {
        Expr::Literal(l) => match &l.node {
            Literal::Enum(v) if !KIND_VALUES.contains(&v.as_str()) && !STATUS_VALUES.contains(&v.as_str()) => {
                err(&l.span, format!("`{v}` is not a kind or status value"))
            }
            other => literal(other, &l.span),
        },
        Expr::Field(f) => field_ref(f, names),
        Expr::Neg { expr: inner, .. } => expr(inner, names),
        Expr::Binary { left, right, .. } => {
            expr(left, names)?;
            expr(right, names)
        }
    }
}

fn field_ref(f: &FieldRef, names: &[&str]) -> VResult {
    field(&f.field)?;
    match &f.selector {
        Some(s) => selector(s, names),
        None if f.field.node.is_trace_field() => Ok(()),
        None => err(&f.span, format!("`{}` needs a selector", f.field.node)),
    }
}

fn field(f: &Spanned<Field>) -> VResult {
    match &f.node {
        Field::Tag(k) if k.is_empty() => err(&f.span, "empty tag key".into()),
        _ => Ok(()),
    }
}

fn selector(s: &Selector, names: &[&str]) -> VResult {
    match s {
        Selector::Ref(r) if names.contains(&r.node.as_str()) => Ok(()),
        Selector::Ref(r) => err(&r.span, format!("unknown name `{}`", r.node)),
        Selector::Inline { predicates, .. } => predicates.iter().try_for_each(predicate),
    }
}

fn predicate(p: &Predicate) -> VResult {
    field(&p.field)?;
    if let Literal::Enum(v) = &p.value.node {
        let ok = p
            .field
            .node
            .enum_values()
            .is_some_and(|values| values.contains(&v.as_str()));
        if !ok {
            return err(&p.value.span, format!("`{v}` is not a value of `{}`", p.field.node));
        }
    }
    literal(&p.value.node, &p.value.span)
}

fn literal(l: &Literal, span: &Span) -> VResult {
    match l {
        Literal::Float(f) if !f.is_finite() => err(span, format!("{f} is not a finite number")),
        _ => Ok(()),
    }
}
