//! An estimate of the memory a decoded span holds, for bounding the collector's buffer by bytes
//! (`--max-buffer-memory`) and not only by span count: spans vary from a few hundred bytes to
//! megabytes (large attributes, many events), so a count alone bounds nothing.

use std::mem::size_of;

use crate::ingest::{Attr, Span, Value};

/// Heap and inline bytes of `span`. Resource and scope attributes are shared by the spans of one
/// request: each span is charged its share.
///
/// ```
/// use tracecheck::ingest::{Attr, Span, Value};
/// let small = Span::default();
/// let big = Span { attributes: vec![Attr::new("body", Value::Str("x".repeat(10_000)))], ..Default::default() };
/// assert!(tracecheck::collect::span_bytes(&big) > tracecheck::collect::span_bytes(&small) + 10_000);
/// ```
pub fn span_bytes(span: &Span) -> usize {
    let shared = |attrs: &std::sync::Arc<Vec<Attr>>| attrs_bytes(attrs) / std::sync::Arc::strong_count(attrs).max(1);
    size_of::<Span>()
        + span.name.capacity()
        + span.service.capacity()
        + opt(&span.status_message)
        + opt(&span.scope_name)
        + opt(&span.scope_version)
        + opt(&span.trace_state)
        + attrs_bytes(&span.attributes)
        + shared(&span.resource)
        + shared(&span.scope_attributes)
        + span
            .events
            .iter()
            .map(|e| size_of_val(e) + e.name.capacity() + attrs_bytes(&e.attributes))
            .sum::<usize>()
        + span
            .refs
            .iter()
            .map(|r| size_of_val(r) + opt(&r.trace_state) + attrs_bytes(&r.attributes))
            .sum::<usize>()
}

fn opt(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::capacity)
}

fn attrs_bytes(attrs: &[Attr]) -> usize {
    attrs
        .iter()
        .map(|a| size_of::<Attr>() + a.key.capacity() + value_bytes(&a.value))
        .sum()
}

fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.capacity(),
        Value::Bytes(b) => b.capacity(),
        Value::Array(items) => items.iter().map(|i| size_of::<Value>() + value_bytes(i)).sum(),
        Value::Map(attrs) => attrs_bytes(attrs),
        Value::Int(_) | Value::Double(_) | Value::Bool(_) | Value::Empty => 0,
    }
}
