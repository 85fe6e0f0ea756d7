//! OTLP protobuf: one `ExportTraceServiceRequest` per input, or a stream of length-delimited requests.
//!
//! A single request is not decoded whole: its top-level fields are read one at a time and each
//! `ResourceSpans` is decoded and converted before the next is read, so memory holds one resource's
//! spans, not the file.

use std::io::{BufRead, Read};
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as pb;
use prost::Message;

use super::span::{Attr, Event, Ref, RefType, Span, SpanKind, StatusCode, Value};
use super::{push_checked, SpanSink};
use crate::error::{Error, Result};
use crate::schema::REF_TYPE_KEY;

/// Largest single protobuf record accepted (a guard against corrupt length prefixes).
const MAX_RECORD: u64 = 1 << 30;

/// Counts bytes consumed so errors can name the offset.
struct Counted<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> Counted<R> {
    /// `inner`, read from its start (offset 0).
    fn new(inner: R) -> Counted<R> {
        Counted { inner, offset: 0 }
    }

    /// Reads a varint; `Ok(None)` at a clean end of input.
    fn varint(&mut self, name: &str) -> Result<Option<u64>> {
        let start = self.offset;
        let mut value = 0u64;
        for i in 0..10 {
            let mut b = [0u8; 1];
            let n = self.inner.read(&mut b).map_err(|e| Error::io(name, e))?;
            if n == 0 {
                if i == 0 {
                    return Ok(None);
                }
                return Err(Error::decode(
                    name,
                    format!("byte {start}"),
                    "input ends inside a varint",
                ));
            }
            self.offset += 1;
            value |= u64::from(b[0] & 0x7f) << (7 * i);
            if b[0] & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err(Error::decode(
            name,
            format!("byte {start}"),
            "varint longer than 10 bytes",
        ))
    }

    fn bytes(&mut self, name: &str, len: u64) -> Result<Vec<u8>> {
        if len > MAX_RECORD {
            return Err(Error::decode(
                name,
                format!("byte {}", self.offset),
                format!("record length {len} exceeds the 1 GiB limit"),
            ));
        }
        // Read as the bytes arrive rather than allocated up front: a corrupt (or hostile) length
        // prefix in a tiny input must not claim a gigabyte before the input runs out.
        let mut buf = Vec::with_capacity(len.min(1 << 20) as usize);
        (&mut self.inner)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(name, e))?;
        if (buf.len() as u64) < len {
            return Err(Error::decode(
                name,
                format!("byte {}", self.offset),
                format!("input ends inside a {len}-byte record (truncated file?)"),
            ));
        }
        self.offset += len;
        Ok(buf)
    }
}

/// `ResourceSpans` as senders of OTLP before 0.19 (2022) may still write it: spans under field
/// 1000, `instrumentation_library_spans`, whose messages have the fields of `ScopeSpans` (an
/// `InstrumentationLibrary` is a scope's name and version). The generated type has no field 1000
/// and would drop those spans silently.
#[derive(Clone, PartialEq, prost::Message)]
struct ResourceSpansCompat {
    #[prost(message, optional, tag = "1")]
    resource: Option<opentelemetry_proto::tonic::resource::v1::Resource>,
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<pb::ScopeSpans>,
    #[prost(string, tag = "3")]
    schema_url: String,
    #[prost(message, repeated, tag = "1000")]
    instrumentation_library_spans: Vec<pb::ScopeSpans>,
}

impl From<ResourceSpansCompat> for pb::ResourceSpans {
    fn from(c: ResourceSpansCompat) -> Self {
        let mut scope_spans = c.scope_spans;
        scope_spans.extend(c.instrumentation_library_spans);
        pb::ResourceSpans {
            resource: c.resource,
            scope_spans,
            schema_url: c.schema_url,
        }
    }
}

/// `ExportTraceServiceRequest` with [`ResourceSpansCompat`] inside.
#[derive(Clone, PartialEq, prost::Message)]
struct RequestCompat {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpansCompat>,
}

/// Decodes an `ExportTraceServiceRequest`, legacy `instrumentation_library_spans` included.
pub(crate) fn decode_request(body: &[u8]) -> std::result::Result<ExportTraceServiceRequest, prost::DecodeError> {
    let req = RequestCompat::decode(body)?;
    Ok(ExportTraceServiceRequest {
        resource_spans: req.resource_spans.into_iter().map(Into::into).collect(),
    })
}

/// Decodes one `ExportTraceServiceRequest`, streaming its `resource_spans`.
pub(crate) fn decode_message<R: BufRead>(name: &str, reader: R, sink: &mut dyn SpanSink) -> Result<()> {
    let mut r = Counted::new(reader);
    let mut index = 0usize;
    loop {
        let at = r.offset;
        let Some(tag) = r.varint(name)? else { return Ok(()) };
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                r.varint(name)?
                    .ok_or_else(|| Error::decode(name, format!("byte {}", r.offset), "input ends inside a field"))?;
            }
            1 => drop(r.bytes(name, 8)?),
            5 => drop(r.bytes(name, 4)?),
            2 => {
                let len = r
                    .varint(name)?
                    .ok_or_else(|| Error::decode(name, format!("byte {}", r.offset), "input ends inside a field"))?;
                let body = r.bytes(name, len)?;
                if field == 1 {
                    let rs = ResourceSpansCompat::decode(body.as_slice()).map_err(|e| {
                        Error::decode(
                            name,
                            format!("byte {at}"),
                            format!("resource_spans[{index}] is not a valid ResourceSpans message: {e}"),
                        )
                    })?;
                    convert_resource_spans(name, &format!("resource_spans[{index}]"), rs.into(), sink)?;
                    index += 1;
                }
            }
            _ => {
                return Err(Error::decode(
                    name,
                    format!("byte {at}"),
                    format!("invalid protobuf wire type {wire} (field {field}); not an OTLP ExportTraceServiceRequest"),
                ))
            }
        }
    }
}

/// Decodes varint-length-prefixed `ExportTraceServiceRequest`s until the end of input.
pub(crate) fn decode_delimited<R: BufRead>(name: &str, reader: R, sink: &mut dyn SpanSink) -> Result<()> {
    let mut r = Counted::new(reader);
    let mut index = 0usize;
    loop {
        let at = r.offset;
        let Some(len) = r.varint(name)? else { return Ok(()) };
        let body = r.bytes(name, len)?;
        let req = decode_request(body.as_slice()).map_err(|e| {
            Error::decode(
                name,
                format!("byte {at}"),
                format!("message {index} is not a valid ExportTraceServiceRequest: {e}"),
            )
        })?;
        convert_request(name, &format!("message[{index}]."), req, sink)?;
        index += 1;
    }
}

/// Converts a decoded request (from a file, or later from the collector).
pub(crate) fn convert_request(
    name: &str,
    prefix: &str,
    req: ExportTraceServiceRequest,
    sink: &mut dyn SpanSink,
) -> Result<()> {
    for (i, rs) in req.resource_spans.into_iter().enumerate() {
        convert_resource_spans(name, &format!("{prefix}resource_spans[{i}]"), rs, sink)?;
    }
    Ok(())
}

/// Converts one resource's spans and pushes them.
pub(crate) fn convert_resource_spans(
    name: &str,
    at: &str,
    rs: pb::ResourceSpans,
    sink: &mut dyn SpanSink,
) -> Result<()> {
    let resource: Vec<Attr> = rs.resource.map(|r| attrs(r.attributes)).unwrap_or_default();
    let service = service_name(&resource);
    let resource = Arc::new(resource);
    for (si, ss) in rs.scope_spans.into_iter().enumerate() {
        let (scope_name, scope_version, scope_attrs) = match ss.scope {
            Some(s) => (non_empty(s.name), non_empty(s.version), attrs(s.attributes)),
            None => (None, None, Vec::new()),
        };
        let scope_attrs = Arc::new(scope_attrs);
        for (i, s) in ss.spans.into_iter().enumerate() {
            let path = || format!("{at}.scope_spans[{si}].spans[{i}]");
            match convert_span(s, &service, &resource, &scope_name, &scope_version, &scope_attrs) {
                Ok(span) => push_checked(sink, name, path, span)?,
                Err(msg) => sink.reject(Error::decode(name, path(), msg))?,
            }
        }
    }
    Ok(())
}

/// `service.name` of a resource, or `unknown_service` as the OpenTelemetry SDKs default.
pub(crate) fn service_name(resource: &[Attr]) -> String {
    resource
        .iter()
        .find(|a| a.key == "service.name")
        .and_then(|a| match &a.value {
            Value::Str(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "unknown_service".to_string())
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// A trace id from 16 bytes (8 bytes are accepted and zero-extended, as some Jaeger bridges send).
pub(crate) fn trace_id_bytes(b: &[u8]) -> std::result::Result<u128, String> {
    match b.len() {
        16 => Ok(u128::from_be_bytes(b.try_into().expect("16 bytes"))),
        8 => Ok(u128::from(u64::from_be_bytes(b.try_into().expect("8 bytes")))),
        n => Err(format!("trace id has {n} bytes, expected 16")),
    }
}

/// A span id from 8 bytes; empty means none.
pub(crate) fn span_id_bytes(b: &[u8]) -> std::result::Result<Option<u64>, String> {
    match b.len() {
        0 => Ok(None),
        8 => Ok(Some(u64::from_be_bytes(b.try_into().expect("8 bytes")))),
        n => Err(format!("span id has {n} bytes, expected 8")),
    }
}

fn nanos(v: u64) -> std::result::Result<Option<i64>, String> {
    match v {
        0 => Ok(None),
        v => i64::try_from(v)
            .map(Some)
            .map_err(|_| format!("timestamp {v} ns is past the year 2262")),
    }
}

pub(crate) fn convert_span(
    s: pb::Span,
    service: &str,
    resource: &Arc<Vec<Attr>>,
    scope_name: &Option<String>,
    scope_version: &Option<String>,
    scope_attrs: &Arc<Vec<Attr>>,
) -> std::result::Result<Span, String> {
    let trace_id = trace_id_bytes(&s.trace_id)?;
    let span_id = span_id_bytes(&s.span_id)?.ok_or("missing span id")?;
    let parent_span_id = span_id_bytes(&s.parent_span_id)?;
    let kind = SpanKind::from_otlp_code(i64::from(s.kind)).ok_or_else(|| format!("unknown span kind {}", s.kind))?;
    let (status, status_message) = match s.status {
        Some(st) => (
            StatusCode::from_otlp_code(i64::from(st.code)).ok_or_else(|| format!("unknown status code {}", st.code))?,
            non_empty(st.message),
        ),
        None => (StatusCode::Unset, None),
    };
    let mut events = Vec::with_capacity(s.events.len());
    for e in s.events {
        events.push(Event {
            time_ns: nanos(e.time_unix_nano)?,
            name: e.name,
            attributes: attrs(e.attributes),
            dropped_attributes_count: e.dropped_attributes_count,
        });
    }
    let mut refs = Vec::with_capacity(s.links.len());
    for l in s.links {
        let mut attributes = attrs(l.attributes);
        // A Jaeger reference exported by tracecheck (see `export`): back to its own type.
        let ref_type = match attributes.iter().position(|a| a.key == REF_TYPE_KEY) {
            Some(i) => match &attributes[i].value {
                Value::Str(t) if t == "follows_from" || t == "child_of" => {
                    let t = if t == "follows_from" {
                        RefType::FollowsFrom
                    } else {
                        RefType::ChildOf
                    };
                    attributes.remove(i);
                    t
                }
                _ => RefType::Link,
            },
            None => RefType::Link,
        };
        refs.push(Ref {
            ref_type,
            trace_id: trace_id_bytes(&l.trace_id).map_err(|m| format!("link: {m}"))?,
            span_id: span_id_bytes(&l.span_id)
                .map_err(|m| format!("link: {m}"))?
                .ok_or("link without span id")?,
            trace_state: non_empty(l.trace_state),
            attributes,
            dropped_attributes_count: l.dropped_attributes_count,
        });
    }
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name: s.name,
        service: service.to_string(),
        kind,
        start_ns: nanos(s.start_time_unix_nano)?,
        end_ns: nanos(s.end_time_unix_nano)?,
        status,
        status_message,
        scope_name: scope_name.clone(),
        scope_version: scope_version.clone(),
        trace_state: non_empty(s.trace_state),
        flags: (s.flags != 0).then_some(s.flags),
        attributes: attrs(s.attributes),
        resource: resource.clone(),
        scope_attributes: scope_attrs.clone(),
        events,
        refs,
        dropped_attributes_count: s.dropped_attributes_count,
        dropped_events_count: s.dropped_events_count,
        dropped_links_count: s.dropped_links_count,
    })
}

pub(crate) fn attrs(kvs: Vec<KeyValue>) -> Vec<Attr> {
    kvs.into_iter()
        .map(|kv| Attr {
            key: kv.key,
            value: any_value(kv.value),
        })
        .collect()
}

fn any_value(v: Option<AnyValue>) -> Value {
    match v.and_then(|v| v.value) {
        None => Value::Empty,
        Some(any_value::Value::StringValue(s)) => Value::Str(s),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(b),
        Some(any_value::Value::IntValue(i)) => Value::Int(i),
        Some(any_value::Value::DoubleValue(d)) => Value::Double(d),
        Some(any_value::Value::BytesValue(b)) => Value::Bytes(b),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.into_iter().map(|v| any_value(Some(v))).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Map(attrs(kv.values)),
        #[allow(unreachable_patterns)]
        Some(_) => Value::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that remembers the largest buffer it was asked to fill.
    struct Widest<R> {
        inner: R,
        widest: usize,
    }

    impl<R: Read> Read for Widest<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.widest = self.widest.max(buf.len());
            self.inner.read(buf)
        }
    }

    /// A 106-byte input declaring a record of almost 1 GiB fails as truncated without ever asking
    /// for (so without allocating) a buffer of the declared size.
    #[test]
    fn a_huge_declared_length_allocates_only_what_arrives() {
        let mut r = Counted::new(Widest {
            inner: &[7u8; 100][..],
            widest: 0,
        });
        let err = r.bytes("x.pb", (1 << 30) - 1).unwrap_err().to_string();
        assert!(err.contains("input ends inside a 1073741823-byte record"), "{err}");
        assert!(r.inner.widest < 1 << 21, "asked for {} bytes at once", r.inner.widest);
    }
}
