//! The spans of one trace with their structure, and the value of every TraceQL field of a span
//! (README "Semantics pinned down": intrinsics, attribute scopes, event/link binding).

use std::collections::{BTreeMap, HashMap};

use tracecheck::ingest::{Attr, Event, Ref, Span};
use tracecheck::traceql::ast::{AttributeScope, FieldRef, Intrinsic};

use super::value::Value;

/// One trace: its spans in data order, and the parent of each among them.
pub struct Trace<'a> {
    pub id: u128,
    pub spans: Vec<&'a Span>,
    /// Index of each span's parent, when the parent id names a span of this trace. An orphan (parent
    /// id not in the data) has `None` here: it is nobody's child, but still its children's parent
    /// (Decision 1).
    parent: Vec<Option<usize>>,
    /// How many spans of the trace name each span as parent.
    child_count: Vec<i64>,
    /// The span without a parent id that starts first (then the smallest span id): it gives
    /// `trace:rootName` and `trace:rootService`.
    root: Option<usize>,
    /// max(end) − min(start) over the trace's spans.
    duration: Option<i64>,
}

/// Splits the spans of a data file into traces, ordered by trace id.
pub fn traces(spans: &[Span]) -> Vec<Trace<'_>> {
    let mut by_id: BTreeMap<u128, Vec<&Span>> = BTreeMap::new();
    for s in spans {
        by_id.entry(s.trace_id).or_default().push(s);
    }
    by_id.into_iter().map(|(id, spans)| Trace::new(id, spans)).collect()
}

impl<'a> Trace<'a> {
    fn new(id: u128, spans: Vec<&'a Span>) -> Trace<'a> {
        let index: HashMap<u64, usize> = spans.iter().enumerate().map(|(i, s)| (s.span_id, i)).collect();
        let parent: Vec<Option<usize>> = spans
            .iter()
            .enumerate()
            // A span naming itself as parent would make a loop; treat it as an orphan.
            .map(|(i, s)| {
                s.parent_span_id
                    .and_then(|p| index.get(&p).copied())
                    .filter(|&p| p != i)
            })
            .collect();
        let mut child_count = vec![0; spans.len()];
        for p in parent.iter().flatten() {
            child_count[*p] += 1;
        }
        let root = (0..spans.len())
            .filter(|&i| spans[i].parent_span_id.is_none())
            .min_by_key(|&i| (spans[i].start_ns.is_none(), spans[i].start_ns, spans[i].span_id));
        let start = spans.iter().filter_map(|s| s.start_ns).min();
        let end = spans.iter().filter_map(|s| s.end_ns).max();
        let duration = start.zip(end).map(|(s, e)| e - s);
        Trace {
            id,
            spans,
            parent,
            child_count,
            root,
            duration,
        }
    }

    pub fn parent(&self, i: usize) -> Option<usize> {
        self.parent[i]
    }

    /// Whether `a` is a proper ancestor of `d`. The walk is bounded by the number of spans, so
    /// parent cycles in bad data end it.
    pub fn is_ancestor(&self, a: usize, d: usize) -> bool {
        let mut cur = self.parent[d];
        for _ in 0..self.spans.len() {
            match cur {
                Some(p) if p == a => return true,
                Some(p) => cur = self.parent[p],
                None => return false,
            }
        }
        false
    }

    /// Whether `a` and `b` are distinct spans with the same parent, that parent being in the data
    /// (orphans under one missing parent are not siblings: Decision 2).
    pub fn are_siblings(&self, a: usize, b: usize) -> bool {
        a != b && self.parent[a].is_some() && self.parent[a] == self.parent[b]
    }
}

/// A span with, when the expression mentions them, the one event and the one link its event and
/// link fields refer to (Decision 11).
#[derive(Clone, Copy)]
pub struct Binding<'a> {
    pub trace: &'a Trace<'a>,
    pub index: usize,
    pub event: Option<&'a Event>,
    pub link: Option<&'a Ref>,
}

impl<'a> Binding<'a> {
    /// Every binding of span `index`: one per event (× one per link) when `events` (`links`) is
    /// asked for, a single binding with no event (link) when the span has none or it is not asked for.
    pub fn all(trace: &'a Trace<'a>, index: usize, events: bool, links: bool) -> Vec<Binding<'a>> {
        let span = trace.spans[index];
        let evs: Vec<Option<&Event>> = if events && !span.events.is_empty() {
            span.events.iter().map(Some).collect()
        } else {
            vec![None]
        };
        let lks: Vec<Option<&Ref>> = if links && !span.refs.is_empty() {
            span.refs.iter().map(Some).collect()
        } else {
            vec![None]
        };
        let mut out = Vec::with_capacity(evs.len() * lks.len());
        for &event in &evs {
            for &link in &lks {
                out.push(Binding {
                    trace,
                    index,
                    event,
                    link,
                });
            }
        }
        out
    }

    fn span(&self) -> &'a Span {
        self.trace.spans[self.index]
    }

    /// The value of a field of the bound span.
    pub fn field(&self, f: &FieldRef) -> Value {
        match f {
            FieldRef::Intrinsic { intrinsic, .. } => self.intrinsic(*intrinsic),
            FieldRef::Attribute(a) => {
                let span = self.span();
                match a.scope {
                    // Span first, whatever the type of its value; then the resource (Decision 10).
                    AttributeScope::Unscoped => {
                        lookup(&span.attributes, &a.name).or_else(|| lookup(&span.resource, &a.name))
                    }
                    AttributeScope::Span => lookup(&span.attributes, &a.name),
                    AttributeScope::Resource => lookup(&span.resource, &a.name),
                    AttributeScope::Instrumentation => lookup(&span.scope_attributes, &a.name),
                    AttributeScope::Event => self.event.and_then(|e| lookup(&e.attributes, &a.name)),
                    AttributeScope::Link => self.link.and_then(|l| lookup(&l.attributes, &a.name)),
                }
                .unwrap_or(Value::Nil)
            }
        }
    }

    fn intrinsic(&self, i: Intrinsic) -> Value {
        let span = self.span();
        let trace = self.trace;
        let opt_str = |s: Option<&String>| s.map_or(Value::Nil, |s| Value::Str(s.clone()));
        match i {
            Intrinsic::SpanName => Value::Str(span.name.clone()),
            Intrinsic::SpanStatus => Value::Status(span.status),
            // No message is the empty string, never nil (Decision 4).
            Intrinsic::SpanStatusMessage => Value::Str(span.status_message.clone().unwrap_or_default()),
            Intrinsic::SpanKind => Value::Kind(span.kind),
            Intrinsic::SpanDuration => span.duration_ns().map_or(Value::Nil, Value::Duration),
            Intrinsic::SpanId => Value::Str(format!("{:016x}", span.span_id)),
            // A root has no parent id: nil (Decision 3). An orphan keeps the id it names.
            Intrinsic::SpanParentId => span
                .parent_span_id
                .map_or(Value::Nil, |p| Value::Str(format!("{p:016x}"))),
            Intrinsic::SpanChildCount => Value::Int(trace.child_count[self.index]),
            Intrinsic::TraceRootName => trace
                .root
                .map_or(Value::Nil, |r| Value::Str(trace.spans[r].name.clone())),
            Intrinsic::TraceRootService => trace
                .root
                .and_then(|r| lookup(&trace.spans[r].resource, "service.name"))
                .unwrap_or(Value::Nil),
            Intrinsic::TraceDuration => trace.duration.map_or(Value::Nil, Value::Duration),
            Intrinsic::TraceId => Value::Str(format!("{:032x}", trace.id)),
            Intrinsic::EventName => self.event.map_or(Value::Nil, |e| Value::Str(e.name.clone())),
            Intrinsic::EventTimeSinceStart => self
                .event
                .and_then(|e| Some(e.time_ns? - span.start_ns?))
                .map_or(Value::Nil, Value::Duration),
            Intrinsic::LinkTraceId => self
                .link
                .map_or(Value::Nil, |l| Value::Str(format!("{:032x}", l.trace_id))),
            Intrinsic::LinkSpanId => self
                .link
                .map_or(Value::Nil, |l| Value::Str(format!("{:016x}", l.span_id))),
            Intrinsic::InstrumentationName => opt_str(span.scope_name.as_ref()),
            Intrinsic::InstrumentationVersion => opt_str(span.scope_version.as_ref()),
        }
    }
}

/// The first attribute named `key`, if any.
fn lookup(attrs: &[Attr], key: &str) -> Option<Value> {
    attrs.iter().find(|a| a.key == key).map(|a| Value::from_attr(&a.value))
}
