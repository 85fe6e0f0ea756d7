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

#[derive(Debug, PartialEq)]
enum Shape {
    Envelope,
    Trace,
    Spans,
}

/// Reads just enough of the input to tell its shape from the top-level keys; returns the bytes read,
/// which the caller replays in front of the rest of the stream.
fn sniff<R: Read>(name: &str, reader: &mut R) -> Result<(Shape, Vec<u8>)> {
    let mut head = Vec::new();
    let mut scan = KeyScan::default();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(name, e)),
        };
        head.extend_from_slice(&chunk[..n]);
        if let Some(shape) = scan.feed(&head, n == 0) {
            return Ok((shape, head));
        }
    }
}

/// An incremental scanner over the top level of a JSON object.
#[derive(Default)]
struct KeyScan {
    pos: usize,
    started: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
    expect_key: bool,
    key_start: Option<usize>,
    envelope_keys: bool,
}

impl KeyScan {
    fn feed(&mut self, buf: &[u8], eof: bool) -> Option<Shape> {
        while self.pos < buf.len() {
            let (i, b) = (self.pos, buf[self.pos]);
            self.pos += 1;
            if !self.started {
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' => continue,
                    b'{' => (self.started, self.depth, self.expect_key) = (true, 1, true),
                    // '[' is the span list; anything else is left to the parser to report.
                    _ => return Some(Shape::Spans),
                }
                continue;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    match self.key_start.take().map(|s| &buf[s..i]) {
                        Some(b"data") => return Some(Shape::Envelope),
                        Some(b"traceID" | b"spans" | b"processes") => return Some(Shape::Trace),
                        Some(b"total" | b"limit" | b"offset" | b"errors") => self.envelope_keys = true,
                        _ => {}
                    }
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    if self.depth == 1 && self.expect_key {
                        self.key_start = Some(i + 1);
                        self.expect_key = false;
                    }
                }
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(self.undecided());
                    }
                }
                b',' if self.depth == 1 => self.expect_key = true,
                _ => {}
            }
        }
        eof.then(|| if self.started { self.undecided() } else { Shape::Spans })
    }

    fn undecided(&self) -> Shape {
        if self.envelope_keys {
            Shape::Envelope
        } else {
            Shape::Trace
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects spans; with `keep_going` it records rejects instead of failing.
    #[derive(Default)]
    struct Sink {
        spans: Vec<Span>,
        rejects: Vec<String>,
        keep_going: bool,
    }

    impl SpanSink for Sink {
        fn push(&mut self, span: Span) -> Result<()> {
            self.spans.push(span);
            Ok(())
        }
        fn reject(&mut self, err: Error) -> Result<()> {
            if !self.keep_going {
                return Err(err);
            }
            self.rejects.push(err.to_string());
            Ok(())
        }
    }

    fn run(json: &[u8], keep_going: bool) -> (Result<()>, Sink) {
        let mut sink = Sink {
            keep_going,
            ..Sink::default()
        };
        (decode("t.json", json, &mut sink), sink)
    }

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn fixture(path: &str) -> Vec<Span> {
        let (res, sink) = run(&read(path), false);
        res.unwrap();
        sink.spans
    }

    /// trace/span^parent name @service kind status start+duration (ns).
    fn brief(s: &Span) -> String {
        let parent = s.parent_span_id.map_or("-".into(), |p| format!("{p:x}"));
        let (kind, status) = (s.kind.as_str(), s.status.as_str());
        let (start, dur) = (s.start_ns.unwrap_or(-1), s.duration_ns().unwrap_or(-1));
        format!(
            "{:x}/{:x}^{parent} {} @{} {kind} {status} {start}+{dur}",
            s.trace_id, s.span_id, s.name, s.service
        )
    }

    fn briefs(spans: &[Span]) -> Vec<String> {
        spans.iter().map(brief).collect()
    }

    fn attr<'a>(s: &'a Span, key: &str) -> &'a Value {
        &s.attributes.iter().find(|a| a.key == key).unwrap().value
    }

    fn ids(refs: &[Ref]) -> Vec<(RefType, u128, u64)> {
        refs.iter().map(|r| (r.ref_type, r.trace_id, r.span_id)).collect()
    }

    // Expected values in these tests were computed from the raw fixtures with python3's json module.

    #[test]
    fn ui_01_bare_trace() {
        let s = fixture("jaeger/ui_01.json");
        let want = [
            "1/2^- test-general-conversion @service-x unspecified unset 1485467191639875000+5000",
            "1/2^- some-operation @service-x unspecified error 1485467191639875000+5000",
            "1/3^2 some-operation @service-y unspecified unset 1485467191639875000+5000",
            "1/4^2 reference-test @service-y unspecified unset 1485467191639875000+5000",
            "1/5^4 preserveParentID-test @service-y unspecified unset 1485467191639875000+4000",
        ];
        assert_eq!(briefs(&s), want);
        let names: Vec<_> = s[0].events.iter().map(|e| (e.time_ns, e.name.as_str())).collect();
        let t = Some(1_485_467_191_639_875_000);
        assert_eq!(names, [(t, "some-event"), (t, "")]);
        assert_eq!(s[0].events[1].attributes, [Attr::new("x", Value::Str("y".into()))]);
        assert_eq!(s[1].attributes.len(), 6);
        assert_eq!(attr(&s[1], "peer.ipv4"), &Value::Int(23456));
        assert_eq!(attr(&s[1], "temperature"), &Value::Double(72.5));
        assert_eq!(attr(&s[1], "javascript_limit"), &Value::Int(9_223_372_036_854_775_222));
        assert_eq!(attr(&s[1], "blob"), &Value::Bytes(vec![0, 0, 0x30, 0x39]));
        // The CHILD_OF into another trace is not the parent; the FOLLOWS_FROM stays a ref.
        assert_eq!(
            ids(&s[3].refs),
            [(RefType::ChildOf, 0xff, 0xff), (RefType::FollowsFrom, 1, 2)]
        );
        let warning = Value::Array(vec![Value::Str("some span warning".into())]);
        assert_eq!(attr(&s[3], "warnings"), &warning);
        assert!(s[0].attributes.is_empty() && s[2].refs.is_empty());
    }

    #[test]
    fn span_list_and_envelopes() {
        let s = fixture("jaeger/anonymizer_trace_success.json");
        let want = [
            "2be38093ead7a083/7606ddfe69932d34^492770a15935810f a071653098f9250d @16af988c443cff37 server unset \
             1605223981761425000+267037000",
            "2be38093ead7a083/7bd66f09ba90ea3d^7606ddfe69932d34 471418097747d04a @3c220036602f839e client error \
             1605223981965074000+32782000",
        ];
        assert_eq!(briefs(&s), want);
        assert_eq!((s[0].flags, attr(&s[1], "error")), (Some(1), &Value::Bool(true)));

        let s = fixture("jaeger/otlp2jaeger-out.json");
        let one = "83a9efd15c1c98a977e0711cc93ee28b/e127af99e3b3e074^909541b92cf05311 okey-dokey-0 @telemetrygen \
                   server unset 1706678909209712000+123000";
        assert_eq!(briefs(&s), [one, one]);
        assert_eq!(
            (s[0].scope_name.as_deref(), s[0].attributes.len()),
            (Some("telemetrygen"), 4)
        );

        let s = fixture("jaeger-ui/oltp2jaeger-multi-out.json");
        let t = "c620759e5d60fafb8ee0922b30e06bc6";
        let want = [
            format!(
                "{t}/26f5ef9dbb885479^49b8e9efa1e8a3b1 ohboy.do @example-trace \
                internal unset 1711138246978000000+46460000"
            ),
            format!(
                "{t}/e76628f4e6dde174^49b8e9efa1e8a3b1 ohboy.do @example-trace \
                internal unset 1711138247025000000+71355000"
            ),
            format!(
                "{t}/49b8e9efa1e8a3b1^eff3153be6b1fb93 info @example-trace \
                internal unset 1711138246943000000+173150000"
            ),
            format!("{t}/eff3153be6b1fb93^- main @example-trace internal unset 1711138246940000000+176321000"),
        ];
        assert_eq!(briefs(&s), want);
        let scopes: Vec<_> = s
            .iter()
            .map(|s| (s.scope_name.as_deref(), s.scope_version.as_deref()))
            .collect();
        let (ohboy, widgets) = ((Some("ohboy"), None), (Some("widgets"), Some("1.2.3")));
        assert_eq!(scopes, [ohboy, ohboy, widgets, widgets]);
        assert!(s.iter().all(|x| Arc::ptr_eq(&x.resource, &s[0].resource)));
        assert_eq!(s[0].resource.len(), 3);
        assert_eq!(
            s[0].resource[0],
            Attr::new("telemetry.sdk.language", Value::Str("nodejs".into()))
        );
    }

    #[test]
    fn jaeger_ui_traces() {
        let s = fixture("jaeger-ui/genaiTestTrace.json");
        assert_eq!(s.len(), 57);
        let t = "4a1b2c3d4e5f60718293a4b5c6d7e8f9";
        let want = [
            format!("{t}/1^- POST /api/graphql @api-edge server unset 1770000000001000000+44000000000"),
            format!("{t}/2^1 Query.assistantReply @graphql-gateway server unset 1770000000002000000+43000000000"),
        ];
        assert_eq!(briefs(&s[..2]), want);
        let count = |k| s.iter().filter(|x| x.kind == k).count();
        assert_eq!(
            [
                count(SpanKind::Server),
                count(SpanKind::Client),
                count(SpanKind::Internal)
            ],
            [30, 19, 8]
        );
        let errors: Vec<_> = s
            .iter()
            .filter(|x| x.status == StatusCode::Error)
            .map(|x| x.span_id)
            .collect();
        assert_eq!((errors, s[16].service.as_str()), (vec![0x11], "k8s-api"));
        assert_eq!(s.iter().filter(|x| x.service == "coding-agent").count(), 19);
        let ints = s
            .iter()
            .flat_map(|x| &x.attributes)
            .filter(|a| matches!(a.value, Value::Int(_)));
        assert_eq!(ints.count(), 44);
        assert_eq!(s.iter().filter(|x| x.parent_span_id.is_none()).count(), 1);

        let s = fixture("jaeger-ui/spanAmongEachOtherGroupedAndSpans.json");
        let t = "df84e36b9e2ee3815d07f0867a5be1f";
        let want = [
            format!(
                "{t}/6962df17f54c3741^9afcdf2e24e8d70a GET /owners @api-gateway \
                client unset 1573131432955376000+2977000"
            ),
            format!(
                "{t}/9afcdf2e24e8d70a^- GET /api/customer/owners @api-gateway \
                server unset 1573131432955000000+3720000"
            ),
        ];
        assert_eq!((s.len(), briefs(&s[..2])), (17, want.to_vec()));
        assert_eq!(s.iter().filter(|x| x.service == "customers-service").count(), 15);

        // Ids like "trace-123" are not hex: they are hashed, and references between them resolve.
        let bytes = read("jaeger-ui/traceGraph_testTrace.json");
        let (res, sink) = run(&bytes, false);
        res.unwrap();
        assert_eq!(sink.spans.len(), 11);
        let root = crate::ingest::id_from_text("span-1", 16) as u64;
        let children = sink.spans.iter().filter(|s| s.parent_span_id == Some(root)).count();
        assert_eq!(
            children, 5,
            "span-2, span-2_1, span-3, span-6 and span-12 are CHILD_OF span-1"
        );
    }

    #[test]
    fn shapes_and_key_order() {
        let span = r#"{"traceID":"1","spanID":"2","processID":"p"}"#;
        let procs = r#"{"p":{"serviceName":"svc","tags":[{"key":"host","type":"string","value":"h"}]}}"#;
        for json in [
            format!(r#"{{"spans":[{span}],"processes":{procs}}}"#),
            format!(r#"{{"_comment":"{{\"data\":[","processes":{procs},"spans":[{span},{span}]}}"#),
            format!(r#"{{"total":1,"data":[{{"spans":[{span}],"processes":{procs}}}, {{"spans":null}}]}}"#),
        ] {
            let (res, sink) = run(json.as_bytes(), false);
            res.unwrap();
            assert_eq!(brief(&sink.spans[0]), "1/2^-  @svc unspecified unset -1+-1", "{json}");
            assert_eq!(sink.spans[0].resource.len(), 1);
        }
        for empty in [
            &br#"  {"data": null, "total": 0}"#[..],
            b"[]",
            br#"{"traceID":"1","spans":[]}"#,
        ] {
            let (res, sink) = run(empty, false);
            assert!(res.is_ok() && sink.spans.is_empty());
        }
    }

    #[test]
    fn promotions_and_tag_types() {
        let json = r#"[{"traceID":"00000000000000000000000000000abc","spanID":"A","process":{"serviceName":""},
            "references":[{"refType":"FOLLOWS_FROM","spanID":"5"},{"traceID":"9","spanID":"6"}],
            "tags":[{"key":"error","type":"bool","value":true},{"key":"otel.status_code","value":"OK"},
              {"key":"otel.status_description","value":"fine"},{"key":"otel.library.name","value":"lib"},
              {"key":"otel.scope.name","value":"scope"},{"key":"span.kind","value":"producer"},
              {"key":"n","type":"int64","value":"-12"},{"key":"f","type":"float64","value":"1.5"},
              {"key":"b","type":"binary","value":"not base64!"},{"key":"z","type":"string","value":null},
              {"key":"i","value":7}]}]"#;
        let (res, sink) = run(json.as_bytes(), false);
        res.unwrap();
        let s = &sink.spans[0];
        // No CHILD_OF in the span's trace: the FOLLOWS_FROM is the parent; the other-trace CHILD_OF stays.
        assert_eq!(brief(s), "abc/a^5  @unknown_service producer ok -1+-1");
        assert_eq!(ids(&s.refs), [(RefType::ChildOf, 9, 6)]);
        assert_eq!(
            (s.status_message.as_deref(), s.scope_name.as_deref()),
            (Some("fine"), Some("scope"))
        );
        assert_eq!(
            [attr(s, "n"), attr(s, "f"), attr(s, "i")],
            [&Value::Int(-12), &Value::Double(1.5), &Value::Int(7)]
        );
        assert_eq!(
            (attr(s, "b"), attr(s, "z")),
            (&Value::Str("not base64!".into()), &Value::Empty)
        );
        assert_eq!(s.attributes.len(), 11);
    }

    #[test]
    fn bad_inputs() {
        let p = r#""processes":{"p":{"serviceName":"s"}}"#;
        let ok = r#"{"traceID":"1","spanID":"1","process":{}"#;
        let good = r#"{"spanID":"1","processID":"p"}"#;
        let cases = [
            (
                format!(r#"{{"data":[{{"spans":[{good},{{"spanID":"0123456789abcdef0"}}],"traceID":"1",{p}}}]}}"#),
                "$.data[0].spans[1].spanID: expected a hex span id of at most 16 digits, found \"0123456789abcdef0\"",
            ),
            (
                format!(r#"{{"spans":[{ok},"references":[{{"refType":"PARENT","spanID":"2"}}]}}],{p}}}"#),
                "$.spans[0].references[0].refType: unknown reference type \"PARENT\"; \
                 expected \"CHILD_OF\" or \"FOLLOWS_FROM\"",
            ),
            (
                format!(r#"{{"spans":[{{"traceID":"1","spanID":"1","processID":"q"}}],{p}}}"#),
                "$.spans[0].processID: no process \"q\" in \"processes\" and no \"process\"",
            ),
            (
                r#"[{"traceID":"1","spanID":"1"}]"#.into(),
                "$[0]: expected a \"processID\" or an embedded \"process\"",
            ),
            (
                format!(r#"[{ok},"startTime":"soon"}}]"#),
                "$[0]: invalid type: string \"soon\", expected i64",
            ),
            (
                format!(r#"[{ok},"tags":[{{"key":"k","type":"int64","value":"x"}}]}}]"#),
                "$[0].tags[0]: tag \"k\" of type \"int64\": expected a 64-bit integer (number or string), found \"x\"",
            ),
            (
                format!(r#"[{ok},"logs":[{{"fields":[{{"key":"k","type":"uuid","value":"x"}}]}}]}}]"#),
                "$[0].logs[0].fields[0]: tag \"k\" has unknown type \"uuid\"; \
                 expected string, bool, int64, float64 or binary",
            ),
            (
                format!(r#"[{ok},"startTime":10,"duration":-5}}]"#),
                "$[0]: span 0000000000000001 ends before it starts",
            ),
            (
                "{\"data\":[{\"spans\":[\n{\"traceID\":\"1\",".into(),
                "line 2, column 15: EOF while parsing an object",
            ),
            (
                "{\"traceID\":\"1\",\n\"spans\":[{}".into(),
                "line 2, column 11: EOF while parsing a list",
            ),
            (
                r#"{"traceID":"1","spans":5}"#.into(),
                "line 1, column 24: invalid type: integer `5`",
            ),
            (
                r#"{"data":{}}"#.into(),
                "line 1, column 9: invalid type: map, expected a JSON array",
            ),
        ];
        for (json, want) in cases {
            let got = run(json.as_bytes(), false).0.unwrap_err().to_string();
            assert!(
                got.starts_with(&format!("t.json: {want}")),
                "{json}\n got: {got}\nwant: {want}"
            );
        }
        // With --keep-going a bad span is skipped and the rest still arrive.
        let (res, sink) = run(format!(r#"[{ok}}},{{"spanID":7}},{ok}}}]"#).as_bytes(), true);
        assert!(res.is_ok() && sink.spans.len() == 2, "{res:?}");
        assert_eq!(
            sink.rejects,
            ["t.json: $[1]: invalid type: integer `7`, expected a string"]
        );
    }

    /// Hands out `data`, then fails: what was pushed before the failure was decoded from the stream.
    struct Cut<'a>(&'a [u8]);

    impl std::io::Read for Cut<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("connection reset"));
            }
            self.0.read(buf)
        }
    }

    #[test]
    fn envelope_is_streamed() {
        let json = br#"{"data":[{"spans":[{"traceID":"1","spanID":"1","processID":"p"}],"processes":{"p":{}}},"#;
        let mut sink = Sink::default();
        let err = decode("t.json", Cut(json), &mut sink).unwrap_err().to_string();
        assert!(err.contains("connection reset") && sink.spans.len() == 1, "{err}");
    }
}
