//! Jaeger JSON, the query-API / UI form, in its three shapes: the `/api/traces` envelope
//! `{"data": [trace, ...], "total": .., ...}`, one bare trace `{"traceID", "spans", "processes"}`, and
//! a list of spans that each embed their `"process"` (what `jaeger-anonymizer` writes).
//!
//! Envelope traces are streamed one at a time; a bare trace is read whole because its `processes`
//! may come after its `spans`. Either way each span is parsed and converted on its own, so one bad
//! span is rejected alone (`--keep-going` skips it).
//!
//! Rules:
//! - Shape: `[` is the span list. For `{` the top-level keys are scanned in order: `data` means the
//!   envelope; `traceID`, `spans` or `processes` a bare trace; failing both, `total`, `limit`,
//!   `offset` or `errors` mean the envelope, and anything else a bare trace.
//! - Parent: the first `CHILD_OF` reference in the span's own trace, else the first `FOLLOWS_FROM` in
//!   it (Jaeger's rule). It becomes `parent_span_id`; every other reference goes to `refs` in order.
//!   `refType` is matched in any case; a missing one is `CHILD_OF` (protobuf JSON omits the zero enum
//!   value), any other rejects the span. A reference without `traceID` is to the span's trace; one
//!   to span id 0 means "none" and is dropped.
//! - Ids: the span's `traceID`, else the trace object's; a missing id is left for `validate`.
//! - Times are microseconds; a span without `startTime` has neither start nor end.
//! - Tags keep their type; `int64` and `float64` may be JSON strings (JavaScript loses precision
//!   past 2^53), `bool` may be `"true"`, `binary` is base64 (kept as a string when it is not), a
//!   `null` value is [`Value::Empty`], a `string` tag holding a number or boolean keeps its JSON text,
//!   and a tag without `type` takes the JSON value's type. Tag values of the wrong type reject the span.
//! - Promoted, and still kept as tags: `span.kind` (no tag: unspecified, as in the OpenTelemetry
//!   collector's Jaeger translator); `otel.status_code` (wins over `error`), the
//!   `error` tag (true or "true") as status error, `otel.status_description`;
//!   `otel.scope.*` (else `otel.library.*`) as scope name and version.
//! - A log becomes an event named by its `event` field; all fields stay its attributes.
//! - Span `warnings` become one span attribute `warnings` (an array of strings) when non-empty;
//!   trace-level warnings describe the query, not a span, and are dropped.
//! - Process: `processID` looked up in the trace's `processes`, else the span's embedded `process`;
//!   neither rejects the span (so does a process with bad tags, but only the spans using it). The
//!   service is its `serviceName` (`unknown_service` when missing or empty); its tags are resource
//!   attributes, one shared `Arc` per process.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use super::json_stream::{element_error, for_each_element, json_error, parse_element, ArrayAt};
use super::{
    id_from_text, parse_hex_id, push_checked, Attr, Event, Ref, RefType, Span, SpanKind, SpanSink, StatusCode, Value,
};
use crate::error::{Error, Result};
use sniff::{sniff, Shape};

const UNKNOWN_SERVICE: &str = "unknown_service";

// Field names as Jaeger spells them; `Option` everywhere because Jaeger writes `null` for empty lists.
#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
struct JTrace<'a> {
    traceID: Option<String>,
    #[serde(borrow)]
    spans: Option<Vec<&'a RawValue>>,
    processes: Option<HashMap<String, JProcess>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
struct JProcess {
    serviceName: Option<String>,
    tags: Option<Vec<JTag>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
struct JSpan {
    traceID: Option<String>,
    spanID: Option<String>,
    operationName: Option<String>,
    references: Option<Vec<JRef>>,
    flags: Option<u32>,
    startTime: Option<i64>,
    duration: Option<i64>,
    tags: Option<Vec<JTag>>,
    logs: Option<Vec<JLog>>,
    processID: Option<String>,
    process: Option<JProcess>,
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
struct JRef {
    refType: Option<String>,
    traceID: Option<String>,
    spanID: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JTag {
    key: String,
    #[serde(rename = "type")]
    ty: Option<String>,
    value: Json,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JLog {
    timestamp: Option<i64>,
    fields: Option<Vec<JTag>>,
}

/// A conversion failure: JSON path and message.
#[derive(Clone, Debug)]
struct Bad(String, String);

type Conv<T> = std::result::Result<T, Bad>;

#[derive(Clone)]
struct Proc {
    service: String,
    resource: Arc<Vec<Attr>>,
}

type Processes = HashMap<String, Conv<Proc>>;

pub(crate) fn decode<R: Read>(name: &str, mut reader: R, sink: &mut dyn SpanSink) -> Result<()> {
    let (shape, head) = sniff(name, &mut reader)?;
    let input = Cursor::new(head).chain(reader);
    let mut dec = Decoder {
        name,
        sink,
        last_process: None,
    };
    match shape {
        Shape::Spans => {
            let none = HashMap::new();
            for_each_element(name, input, ArrayAt::Root, &mut |i, raw| {
                dec.span(raw, format!("$[{i}]"), &Ok(None), &none)
            })?;
        }
        Shape::Envelope => {
            for_each_element(name, input, ArrayAt::Field("data"), &mut |i, raw| {
                let at = format!("$.data[{i}]");
                // Spans borrow from the trace's text rather than being copied out of it.
                match serde_json::from_str::<JTrace>(raw.get()) {
                    Ok(trace) => dec.trace(trace, &at),
                    Err(e) => dec.sink.reject(element_error(name, &at, &e)),
                }
            })?;
        }
        Shape::Trace => {
            let bytes = super::read_all(name, input)?;
            match serde_json::from_slice::<JTrace>(&bytes) {
                Ok(trace) => dec.trace(trace, "$")?,
                // Wrong types in a well-formed trace spoil only this trace; broken syntax is fatal.
                Err(e) if e.is_data() => dec.sink.reject(json_error(name, &e))?,
                Err(e) => return Err(json_error(name, &e)),
            }
        }
    }
    Ok(())
}

struct Decoder<'a> {
    name: &'a str,
    sink: &'a mut dyn SpanSink,
    /// The last embedded process, so that consecutive spans of one process share their resource.
    last_process: Option<Proc>,
}

impl Decoder<'_> {
    fn trace(&mut self, trace: JTrace<'_>, at: &str) -> Result<()> {
        // Spans without their own traceID belong to the trace's.
        let trace_id = hex_id(trace.traceID.as_deref(), 32, "trace", || format!("{at}.traceID"));
        let mut processes = Processes::new();
        for (key, p) in trace.processes.unwrap_or_default() {
            let proc = process(p, || format!("{at}.processes.{key}"));
            processes.insert(key, proc);
        }
        for (j, raw) in trace.spans.unwrap_or_default().iter().enumerate() {
            self.span(raw, format!("{at}.spans[{j}]"), &trace_id, &processes)?;
        }
        Ok(())
    }

    fn span(&mut self, raw: &RawValue, at: String, trace_id: &Conv<Option<u128>>, procs: &Processes) -> Result<()> {
        let js = match parse_element::<JSpan>(raw) {
            Ok(js) => js,
            Err(e) => return self.sink.reject(element_error(self.name, &at, &e)),
        };
        match self.convert(js, &at, trace_id, procs) {
            Ok(span) => push_checked(self.sink, self.name, || at, span),
            Err(Bad(path, msg)) => self.sink.reject(Error::decode(self.name, path, msg)),
        }
    }

    fn convert(&mut self, js: JSpan, at: &str, trace_id: &Conv<Option<u128>>, procs: &Processes) -> Conv<Span> {
        let trace_id = match hex_id(js.traceID.as_deref(), 32, "trace", || format!("{at}.traceID"))? {
            Some(id) => id,
            None => trace_id.clone()?.unwrap_or(0),
        };
        let span_id = hex_id(js.spanID.as_deref(), 16, "span", || format!("{at}.spanID"))?.unwrap_or(0) as u64;
        let proc = self.resolve_process(js.processID, js.process, procs, at)?;
        let (parent_span_id, refs) = references(js.references.unwrap_or_default(), trace_id, at)?;
        let start_ns = micros(js.startTime, || format!("{at}.startTime"))?;
        let end_ns = match (start_ns, micros(js.duration, || format!("{at}.duration"))?) {
            (Some(start), Some(d)) => Some(start.checked_add(d).ok_or_else(|| out_of_range(at, "duration"))?),
            _ => None,
        };
        let mut attributes = attrs(js.tags.unwrap_or_default(), |i| format!("{at}.tags[{i}]"))?;
        let mut events = Vec::new();
        for (k, log) in js.logs.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{at}.logs[{k}]");
            let time_ns = micros(log.timestamp, || format!("{at}.timestamp"))?;
            let fields = attrs(log.fields.unwrap_or_default(), |i| format!("{at}.fields[{i}]"))?;
            let name = fields.iter().find(|a| a.key == "event").and_then(|a| text(&a.value));
            let name = name.unwrap_or_default();
            events.push(Event {
                time_ns,
                name,
                attributes: fields,
                ..Event::default()
            });
        }
        let mut span = Span {
            trace_id,
            span_id,
            parent_span_id,
            name: js.operationName.unwrap_or_default(),
            service: proc.service,
            start_ns,
            end_ns,
            flags: js.flags,
            resource: proc.resource,
            events,
            refs,
            ..Span::default()
        };
        promote(&mut span, &attributes);
        if let Some(w) = js.warnings.filter(|w| !w.is_empty()) {
            let list = Value::Array(w.into_iter().map(Value::Str).collect());
            attributes.push(Attr::new("warnings", list));
        }
        span.attributes = attributes;
        Ok(span)
    }

    /// The span's process: `processID` looked up in the trace's `processes`, else the embedded
    /// `process` (the UI's transformed traces carry both; the span-list form only the latter).
    fn resolve_process(
        &mut self,
        id: Option<String>,
        own: Option<JProcess>,
        procs: &Processes,
        at: &str,
    ) -> Conv<Proc> {
        if let Some(found) = id.as_ref().and_then(|id| procs.get(id)) {
            return found.clone();
        }
        let Some(own) = own else {
            return Err(match id {
                Some(id) => Bad(
                    format!("{at}.processID"),
                    format!("no process {id:?} in \"processes\" and no \"process\""),
                ),
                None => Bad(at.into(), "expected a \"processID\" or an embedded \"process\"".into()),
            });
        };
        let p = process(own, || format!("{at}.process"))?;
        match &self.last_process {
            Some(last) if last.service == p.service && last.resource == p.resource => return Ok(last.clone()),
            _ => self.last_process = Some(p.clone()),
        }
        Ok(p)
    }
}

fn process(p: JProcess, at: impl Fn() -> String) -> Conv<Proc> {
    let service = p.serviceName.filter(|s| !s.is_empty());
    let resource = attrs(p.tags.unwrap_or_default(), |i| format!("{}.tags[{i}]", at()))?;
    Ok(Proc {
        service: service.unwrap_or_else(|| UNKNOWN_SERVICE.into()),
        resource: Arc::new(resource),
    })
}

fn references(list: Vec<JRef>, trace_id: u128, at: &str) -> Conv<(Option<u64>, Vec<Ref>)> {
    let mut refs = Vec::with_capacity(list.len());
    for (i, r) in list.into_iter().enumerate() {
        let at = format!("{at}.references[{i}]");
        let ref_type = match r.refType.as_deref() {
            None => RefType::ChildOf,
            Some(t) if t.eq_ignore_ascii_case("CHILD_OF") => RefType::ChildOf,
            Some(t) if t.eq_ignore_ascii_case("FOLLOWS_FROM") => RefType::FollowsFrom,
            Some(t) => {
                let msg = format!("unknown reference type {t:?}; expected \"CHILD_OF\" or \"FOLLOWS_FROM\"");
                return Err(Bad(format!("{at}.refType"), msg));
            }
        };
        let ref_trace = hex_id(r.traceID.as_deref(), 32, "trace", || format!("{at}.traceID"))?;
        let Some(span_id) = hex_id(r.spanID.as_deref(), 16, "span", || format!("{at}.spanID"))? else {
            return Err(Bad(at, "expected a \"spanID\" in the reference".into()));
        };
        if span_id != 0 {
            refs.push(Ref {
                ref_type,
                trace_id: ref_trace.unwrap_or(trace_id),
                span_id: span_id as u64,
                trace_state: None,
                attributes: Vec::new(),
                dropped_attributes_count: 0,
            });
        }
    }
    let parent = |t: RefType| refs.iter().position(|r| r.ref_type == t && r.trace_id == trace_id);
    let parent = parent(RefType::ChildOf).or_else(|| parent(RefType::FollowsFrom));
    Ok((parent.map(|i| refs.remove(i).span_id), refs))
}

fn promote(span: &mut Span, attributes: &[Attr]) {
    let (mut error, mut status, mut scope_name, mut scope_version) = (false, None, None, None);
    for a in attributes {
        let s = match &a.value {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        };
        match (a.key.as_str(), s) {
            ("span.kind", Some(s)) => span.kind = SpanKind::parse(s).unwrap_or(span.kind),
            ("error", _) => error |= a.value == Value::Bool(true) || s.is_some_and(|s| s.eq_ignore_ascii_case("true")),
            ("otel.status_code", Some(s)) => status = StatusCode::parse(s).or(status),
            ("otel.status_description", Some(s)) => span.status_message = Some(s.to_string()),
            ("otel.scope.name", Some(s)) => scope_name = Some(s),
            ("otel.library.name", Some(s)) => scope_name = scope_name.or(Some(s)),
            ("otel.scope.version", Some(s)) => scope_version = Some(s),
            ("otel.library.version", Some(s)) => scope_version = scope_version.or(Some(s)),
            _ => {}
        }
    }
    span.status = status.unwrap_or(if error { StatusCode::Error } else { StatusCode::Unset });
    span.scope_name = scope_name.map(str::to_string);
    span.scope_version = scope_version.map(str::to_string);
}
fn attrs(tags: Vec<JTag>, at: impl Fn(usize) -> String) -> Conv<Vec<Attr>> {
    let mut out = Vec::with_capacity(tags.len());
    for (i, t) in tags.into_iter().enumerate() {
        let value = tag_value(&t.key, t.ty.as_deref(), t.value).map_err(|msg| Bad(at(i), msg))?;
        out.push(Attr { key: t.key, value });
    }
    Ok(out)
}

fn tag_value(key: &str, ty: Option<&str>, value: Json) -> std::result::Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Empty);
    }
    let Some(ty) = ty else { return Ok(infer(value)) };
    let (expected, got) = match ty.to_ascii_lowercase().as_str() {
        "string" => match value {
            Json::String(s) => return Ok(Value::Str(s)),
            v @ (Json::Number(_) | Json::Bool(_)) => return Ok(Value::Str(v.to_string())),
            v => ("a string", v),
        },
        "bool" => match &value {
            Json::Bool(b) => return Ok(Value::Bool(*b)),
            Json::String(s) if s.eq_ignore_ascii_case("true") => return Ok(Value::Bool(true)),
            Json::String(s) if s.eq_ignore_ascii_case("false") => return Ok(Value::Bool(false)),
            _ => ("true or false", value),
        },
        "int64" => match json_int(&value) {
            Some(n) => return Ok(Value::Int(n)),
            None => ("a 64-bit integer (number or string)", value),
        },
        "float64" => match &value {
            Json::Number(n) => return Ok(Value::Double(n.as_f64().unwrap_or(f64::NAN))),
            Json::String(s) => match s.trim().parse() {
                Ok(f) => return Ok(Value::Double(f)),
                Err(_) => ("a number", value),
            },
            _ => ("a number", value),
        },
        "binary" => match value {
            Json::String(s) => {
                return Ok(match base64::engine::general_purpose::STANDARD.decode(&s) {
                    Ok(bytes) => Value::Bytes(bytes),
                    Err(_) => Value::Str(s),
                })
            }
            v => ("base64 text", v),
        },
        other => {
            return Err(format!(
                "tag {key:?} has unknown type {other:?}; expected string, bool, int64, float64 or binary"
            ))
        }
    };
    Err(format!("tag {key:?} of type {ty:?}: expected {expected}, found {got}"))
}

fn json_int(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn infer(value: Json) -> Value {
    match value {
        Json::String(s) => Value::Str(s),
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Double(n.as_f64().unwrap_or(f64::NAN))),
        other => Value::Str(other.to_string()),
    }
}

/// A scalar as the text an event name needs.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::Double(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A hex id, `None` when missing or empty (left for `validate` to reject where required). Text that
/// is not hex at all (Jaeger UI test data uses `trace-123`) is hashed by [`id_from_text`]; a hex id
/// that is merely too long is an error.
fn hex_id(s: Option<&str>, digits: usize, what: &str, at: impl FnOnce() -> String) -> Conv<Option<u128>> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if !s.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(id_from_text(s, digits))),
        Some(s) => parse_hex_id(s, digits).map(Some).ok_or_else(|| {
            Bad(
                at(),
                format!("expected a hex {what} id of at most {digits} digits, found {s:?}"),
            )
        }),
    }
}

fn micros(us: Option<i64>, at: impl FnOnce() -> String) -> Conv<Option<i64>> {
    match us {
        None => Ok(None),
        Some(us) => us
            .checked_mul(1000)
            .map(Some)
            .ok_or_else(|| Bad(at(), format!("{us} microseconds is out of range"))),
    }
}

fn out_of_range(at: &str, field: &str) -> Bad {
    Bad(format!("{at}.{field}"), "the end time is out of range".into())
}

mod proto_json;
mod sniff;
#[cfg(test)]
mod tests;

pub(crate) use proto_json::decode as decode_proto_json;
