//! The span fields a model mentions, and their values on a captured span: a failure message shows
//! exactly the tags the model is about (`amount=300`, `http.status_code=500`) next to each span.

use crate::ingest::{render_value, Promoted, Span, Value};
use crate::model::ast::{Condition, Expr, Field, Selector, SpanTerm};
use crate::model::Model;

/// The fields `model` mentions that vary per span and are not already in every tree row (name,
/// service and duration are), in the order they first occur.
pub(crate) fn mentioned(model: &Model) -> Vec<Field> {
    let mut out = Vec::new();
    for l in &model.lets {
        selector(&l.selector, &mut out);
    }
    if let Some(w) = &model.when {
        for c in &w.conditions {
            match c {
                Condition::Exists(t) => term(t, &mut out),
                Condition::Compare { left, right, .. } => {
                    expr(left, &mut out);
                    expr(right, &mut out);
                }
            }
        }
    }
    for e in &model.expects {
        term(&e.term, &mut out);
    }
    out
}

fn add(field: &Field, out: &mut Vec<Field>) {
    let shown_anyway = matches!(field, Field::Name | Field::Service | Field::Duration);
    let not_per_span = field.is_trace_field()
        || matches!(
            field,
            Field::Start | Field::End | Field::TraceId | Field::SpanId | Field::ParentSpanId | Field::Depth
        );
    if !shown_anyway && !not_per_span && !out.contains(field) {
        out.push(field.clone());
    }
}

fn selector(s: &Selector, out: &mut Vec<Field>) {
    if let Selector::Inline { predicates, .. } = s {
        for p in predicates {
            add(&p.field.node, out);
        }
    }
}

fn term(t: &SpanTerm, out: &mut Vec<Field>) {
    selector(&t.selector, out);
    if let Some(r) = &t.relation {
        selector(&r.target, out);
    }
}

fn expr(e: &Expr, out: &mut Vec<Field>) {
    match e {
        Expr::Literal(_) => {}
        Expr::Field(f) => {
            if let Some(s) = &f.selector {
                selector(s, out);
            }
            add(&f.field.node, out);
        }
        Expr::Neg { expr: inner, .. } => expr(inner, out),
        Expr::Binary { left, right, .. } => {
            expr(left, out);
            expr(right, out);
        }
    }
}

/// `key=value` for each of `fields` the span has, in the model's spelling (`tag("amount")` shows as
/// `amount`); strings quoted. A tag is the span's attribute, else its resource's, as in models.
pub(crate) fn values(span: &Span, fields: &[Field]) -> Vec<String> {
    let promoted = Promoted::from_attributes(&span.attributes);
    let text = |s: &str| format!("{s:?}");
    fields
        .iter()
        .filter_map(|f| {
            let value = match f {
                Field::Kind => Some(span.kind.as_str().to_string()),
                Field::Status => Some(span.status.as_str().to_string()),
                Field::StatusMessage => span.status_message.as_deref().map(text),
                Field::ScopeName => span.scope_name.as_deref().map(text),
                Field::ScopeVersion => span.scope_version.as_deref().map(text),
                Field::HttpMethod => promoted.http_method.as_deref().map(text),
                Field::HttpUrl => promoted.http_url.as_deref().map(text),
                Field::HttpRoute => promoted.http_route.as_deref().map(text),
                Field::HttpStatusCode => promoted.http_status_code.map(|c| c.to_string()),
                Field::DbSystem => promoted.db_system.as_deref().map(text),
                Field::DbName => promoted.db_name.as_deref().map(text),
                Field::DbUser => promoted.db_user.as_deref().map(text),
                Field::DbStatement => promoted.db_statement.as_deref().map(text),
                Field::Tag(key) => span
                    .attributes
                    .iter()
                    .chain(span.resource.iter())
                    .find(|a| &a.key == key)
                    .map(|a| match &a.value {
                        Value::Str(s) => text(s),
                        other => render_value(other),
                    }),
                _ => None,
            }?;
            let key = match f {
                Field::Tag(k) => k.as_str(),
                other => other.path().unwrap_or("?"),
            };
            Some(format!("{key}={value}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ingest::Attr;
    use crate::model::parse_file;
    use crate::model::Item;

    #[test]
    fn the_fields_of_every_clause_in_first_use_order() {
        let file = parse_file(
            r#"model "m" {
                let w = span(kind = server, db.system = "sqlite")
                when span(name = "a").tag("amount") > w.tag("limit") + 1 and trace.duration > 1s
                expect span(http.status_code = 500, duration > 1ms) child of span(status = error)
            }"#,
        )
        .unwrap();
        let Item::Model(m) = &file.items[0] else { unreachable!() };
        let paths: Vec<String> = mentioned(m)
            .iter()
            .map(|f| f.path().map_or_else(|| format!("{f:?}"), str::to_string))
            .collect();
        assert_eq!(
            paths,
            [
                "kind",
                "db.system",
                "Tag(\"amount\")",
                "Tag(\"limit\")",
                "http.status_code",
                "status"
            ]
        );
    }

    #[test]
    fn values_use_promoted_columns_and_resource_tags() {
        let span = Span {
            attributes: vec![
                Attr::new("http.response.status_code", Value::Int(500)),
                Attr::new("amount", Value::Int(300)),
            ],
            resource: Arc::new(vec![Attr::new("region", Value::Str("eu".into()))]),
            ..Span::default()
        };
        let fields = [
            Field::HttpStatusCode,
            Field::Tag("amount".into()),
            Field::Tag("region".into()),
            Field::Tag("absent".into()),
            Field::Status,
        ];
        assert_eq!(
            values(&span, &fields),
            ["http.status_code=500", "amount=300", "region=\"eu\"", "status=unset"]
        );
    }
}
