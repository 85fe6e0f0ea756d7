//! `ExportTraceServiceRequest` → canonical OTLP/JSON.
//!
//! The OTLP specification's JSON encoding is the proto3 JSON mapping with three exceptions: trace and
//! span ids are lowercase hex (not base64), enums are integers (not names), and keys are
//! lowerCamelCase only. As in proto3 JSON, 64-bit integers are decimal strings, bytes are base64 and
//! fields holding their default value are omitted — except the members of `AnyValue`'s oneof, which
//! are written whenever set (`{"intValue": "0"}` differs from an empty value), and `KeyValue.key`,
//! which is always written.

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as pb;
use serde_json::{Map, Value as J};

/// Canonical OTLP/JSON per the OTLP spec: lowerCamelCase keys, trace/span ids as lowercase hex (not
/// base64), enums as integers, 64-bit integers (timestamps, `intValue`) as decimal strings,
/// `bytesValue` as base64, empty and default fields omitted.
///
/// ```
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
/// let span = Span { trace_id: vec![1; 16], span_id: vec![2; 8], name: "get".into(), kind: 2,
///                   start_time_unix_nano: 1_700_000_000_000_000_000, ..Default::default() };
/// let req = ExportTraceServiceRequest { resource_spans: vec![ResourceSpans {
///     scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }], ..Default::default() }] };
/// let json = tracecheck::export::request_to_json(&req);
/// let s = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
/// assert_eq!(s["traceId"], "01010101010101010101010101010101");
/// assert_eq!(s["kind"], 2);
/// assert_eq!(s["startTimeUnixNano"], "1700000000000000000");
/// assert!(s.get("parentSpanId").is_none());
/// ```
pub fn request_to_json(req: &ExportTraceServiceRequest) -> J {
    let mut o = Obj::default();
    o.list("resourceSpans", req.resource_spans.iter().map(resource_spans).collect());
    o.0.into()
}

/// A JSON object under construction that leaves out default values.
#[derive(Default)]
struct Obj(Map<String, J>);

impl Obj {
    fn put(&mut self, key: &str, v: J) {
        self.0.insert(key.to_string(), v);
    }
    fn string(&mut self, key: &str, s: &str) {
        if !s.is_empty() {
            self.put(key, J::String(s.to_string()));
        }
    }
    fn hex(&mut self, key: &str, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.put(key, J::String(hex(bytes)));
        }
    }
    fn u32(&mut self, key: &str, n: u32) {
        if n != 0 {
            self.put(key, J::from(n));
        }
    }
    fn i32(&mut self, key: &str, n: i32) {
        if n != 0 {
            self.put(key, J::from(n));
        }
    }
    /// A 64-bit integer: a decimal string.
    fn u64(&mut self, key: &str, n: u64) {
        if n != 0 {
            self.put(key, J::String(n.to_string()));
        }
    }
    fn list(&mut self, key: &str, items: Vec<J>) {
        if !items.is_empty() {
            self.put(key, J::Array(items));
        }
    }
    fn attributes(&mut self, key: &str, kvs: &[KeyValue]) {
        self.list(key, kvs.iter().map(key_value).collect());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn resource_spans(rs: &pb::ResourceSpans) -> J {
    let mut o = Obj::default();
    if let Some(r) = &rs.resource {
        o.put("resource", resource(r));
    }
    o.list("scopeSpans", rs.scope_spans.iter().map(scope_spans).collect());
    o.string("schemaUrl", &rs.schema_url);
    o.0.into()
}

fn resource(r: &Resource) -> J {
    let mut o = Obj::default();
    o.attributes("attributes", &r.attributes);
    o.u32("droppedAttributesCount", r.dropped_attributes_count);
    o.0.into()
}

fn scope_spans(ss: &pb::ScopeSpans) -> J {
    let mut o = Obj::default();
    if let Some(s) = &ss.scope {
        o.put("scope", scope(s));
    }
    o.list("spans", ss.spans.iter().map(span).collect());
    o.string("schemaUrl", &ss.schema_url);
    o.0.into()
}

fn scope(s: &InstrumentationScope) -> J {
    let mut o = Obj::default();
    o.string("name", &s.name);
    o.string("version", &s.version);
    o.attributes("attributes", &s.attributes);
    o.u32("droppedAttributesCount", s.dropped_attributes_count);
    o.0.into()
}

fn span(s: &pb::Span) -> J {
    let mut o = Obj::default();
    o.hex("traceId", &s.trace_id);
    o.hex("spanId", &s.span_id);
    o.string("traceState", &s.trace_state);
    o.hex("parentSpanId", &s.parent_span_id);
    o.u32("flags", s.flags);
    o.string("name", &s.name);
    o.i32("kind", s.kind);
    o.u64("startTimeUnixNano", s.start_time_unix_nano);
    o.u64("endTimeUnixNano", s.end_time_unix_nano);
    o.attributes("attributes", &s.attributes);
    o.u32("droppedAttributesCount", s.dropped_attributes_count);
    o.list("events", s.events.iter().map(event).collect());
    o.u32("droppedEventsCount", s.dropped_events_count);
    o.list("links", s.links.iter().map(link).collect());
    o.u32("droppedLinksCount", s.dropped_links_count);
    if let Some(st) = &s.status {
        let mut so = Obj::default();
        so.string("message", &st.message);
        so.i32("code", st.code);
        o.put("status", so.0.into());
    }
    o.0.into()
}

fn event(e: &pb::span::Event) -> J {
    let mut o = Obj::default();
    o.u64("timeUnixNano", e.time_unix_nano);
    o.string("name", &e.name);
    o.attributes("attributes", &e.attributes);
    o.u32("droppedAttributesCount", e.dropped_attributes_count);
    o.0.into()
}

fn link(l: &pb::span::Link) -> J {
    let mut o = Obj::default();
    o.hex("traceId", &l.trace_id);
    o.hex("spanId", &l.span_id);
    o.string("traceState", &l.trace_state);
    o.attributes("attributes", &l.attributes);
    o.u32("droppedAttributesCount", l.dropped_attributes_count);
    o.u32("flags", l.flags);
    o.0.into()
}

fn key_value(kv: &KeyValue) -> J {
    let mut o = Obj::default();
    // Always written, even when empty: a KeyValue without its key is meaningless to readers.
    o.put("key", J::String(kv.key.clone()));
    if let Some(v) = &kv.value {
        o.put("value", any(v));
    }
    o.0.into()
}

fn any(v: &AnyValue) -> J {
    use any_value::Value as V;
    let mut o = Obj::default();
    match &v.value {
        None => {}
        Some(V::StringValue(s)) => o.put("stringValue", J::String(s.clone())),
        Some(V::BoolValue(b)) => o.put("boolValue", J::Bool(*b)),
        Some(V::IntValue(i)) => o.put("intValue", J::String(i.to_string())),
        Some(V::DoubleValue(d)) => o.put("doubleValue", double(*d)),
        Some(V::BytesValue(b)) => o.put(
            "bytesValue",
            J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        ),
        Some(V::ArrayValue(a)) => {
            let mut ao = Obj::default();
            ao.list("values", a.values.iter().map(any).collect());
            o.put("arrayValue", ao.0.into());
        }
        Some(V::KvlistValue(kv)) => {
            let mut ko = Obj::default();
            ko.attributes("values", &kv.values);
            o.put("kvlistValue", ko.0.into());
        }
        Some(V::StringValueStrindex(i)) => o.put("stringValueStrindex", J::from(*i)),
    }
    o.0.into()
}

/// A double: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"` as proto3 JSON writes them.
fn double(d: f64) -> J {
    match serde_json::Number::from_f64(d) {
        Some(n) => J::Number(n),
        None if d.is_nan() => J::String("NaN".into()),
        None if d > 0.0 => J::String("Infinity".into()),
        None => J::String("-Infinity".into()),
    }
}
