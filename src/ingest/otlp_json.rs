//! OTLP JSON: canonical OTLP/JSON (hex ids, integer enums), the protobuf-JSON mapping (base64 ids,
//! `SPAN_KIND_*` / `STATUS_CODE_*` strings, snake_case field names), the legacy
//! `instrumentationLibrarySpans`, and the wrappers Tempo and Jaeger api_v3 put around resource spans.
//! JSON lines (the collector's file exporter) are split into documents before this decoder runs.
//!
//! Each span is mapped onto the protobuf types and converted by the protobuf decoder's code, so both
//! encodings have exactly the same meaning.

use std::io::Read;
use std::sync::Arc;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1 as pb;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::json_stream::{element_error, for_each_element, message_of, ArrayAt};
use super::otlp_proto::{attrs, convert_span, service_name};
use super::span::{SpanKind, StatusCode};
use super::{push_checked, SpanSink};
use crate::error::{Error, Result};

/// Decodes one OTLP JSON document, streamed by resource: a request `{"resourceSpans": [...]}`,
/// Tempo's `{"batches": [...]}` or `{"trace": {...}}`, or Jaeger api_v3's `{"result": {...}}`.
/// `label` names the array in positions (`$.resourceSpans`, `$.batches`, ...).
pub(crate) fn decode<R: Read>(name: &str, reader: R, label: &str, sink: &mut dyn SpanSink) -> Result<()> {
    let mut on_resource = |i: usize, raw: &RawValue| -> Result<()> {
        let path = format!("{label}[{i}]");
        match parse_resource(raw) {
            Ok(parsed) => convert_resource(name, &path, parsed, sink),
            Err(e) => sink.reject(element_error(name, &path, &e)),
        }
    };
    let at = ArrayAt::Within {
        wrappers: &["trace", "result"],
        fields: &["resourceSpans", "resource_spans", "batches"],
    };
    for_each_element(name, reader, at, &mut on_resource)?;
    Ok(())
}

type Parts<T> = std::result::Result<T, String>;

/// One resource as parsed: each part, or why it could not be read.
struct Parsed {
    resource: Parts<ResourceJ>,
    scopes: Vec<(Parts<ScopeJ>, Vec<Parts<SpanJ>>)>,
}

/// Parses one resource. A resource is parsed whole first (one pass over its text, the common
/// case); only when something in it has the wrong shape is it parsed again level by level —
/// resource, scopes, then each span from its raw text — so that just the bad part is rejected.
fn parse_resource(raw: &RawValue) -> std::result::Result<Parsed, serde_json::Error> {
    if let Ok(rs) = serde_json::from_str::<ResourceSpansT>(raw.get()) {
        let scopes = rs
            .scope_spans
            .into_iter()
            .map(|ss| (Ok(ss.scope.unwrap_or_default()), ss.spans.into_iter().map(Ok).collect()));
        return Ok(Parsed {
            resource: Ok(rs.resource.unwrap_or_default()),
            scopes: scopes.collect(),
        });
    }
    fn part<T: serde::de::DeserializeOwned + Default>(raw: Option<&RawValue>) -> Parts<T> {
        raw.map(|r| serde_json::from_str::<T>(r.get()).map_err(|e| message_of(&e)))
            .transpose()
            .map(Option::unwrap_or_default)
    }
    let rs = serde_json::from_str::<ResourceSpansJ>(raw.get())?;
    let scopes = rs.scope_spans.into_iter().map(|ss| {
        let spans = ss
            .spans
            .iter()
            .map(|s| serde_json::from_str::<SpanJ>(s.get()).map_err(|e| message_of(&e)));
        (part::<ScopeJ>(ss.scope), spans.collect())
    });
    Ok(Parsed {
        resource: part::<ResourceJ>(rs.resource),
        scopes: scopes.collect(),
    })
}

/// Converts one resource's spans. A span that could not be read is rejected alone; a resource or
/// scope that could not be read rejects each of its spans, so the count of rejected records is the
/// count of spans not kept.
fn convert_resource(name: &str, path: &str, parsed: Parsed, sink: &mut dyn SpanSink) -> Result<()> {
    let resource = match parsed.resource.and_then(|r| kvs(r.attributes)) {
        Ok(r) => attrs(r),
        Err(msg) => {
            let spans = parsed.scopes.iter().map(|(_, spans)| spans.len()).sum::<usize>().max(1);
            return reject_each(
                sink,
                || Error::decode(name, format!("{path}.resource"), msg.clone()),
                spans,
            );
        }
    };
    let service = service_name(&resource);
    let resource = Arc::new(resource);
    for (si, (scope, spans)) in parsed.scopes.into_iter().enumerate() {
        let scope_path = format!("{path}.scopeSpans[{si}]");
        let scope = scope.and_then(|scope| Ok((scope.name, scope.version, kvs(scope.attributes)?)));
        let (scope_name, scope_version, scope_attrs) = match scope {
            Ok((n, v, a)) => (
                (!n.is_empty()).then_some(n),
                (!v.is_empty()).then_some(v),
                Arc::new(attrs(a)),
            ),
            Err(msg) => {
                let err = || Error::decode(name, format!("{scope_path}.scope"), msg.clone());
                reject_each(sink, err, spans.len().max(1))?;
                continue;
            }
        };
        for (i, span) in spans.into_iter().enumerate() {
            let span_path = || format!("{scope_path}.spans[{i}]");
            let converted = span
                .and_then(to_pb_span)
                .and_then(|s| convert_span(s, &service, &resource, &scope_name, &scope_version, &scope_attrs));
            match converted {
                Ok(span) => push_checked(sink, name, span_path, span)?,
                Err(msg) => sink.reject(Error::decode(name, span_path(), msg))?,
            }
        }
    }
    Ok(())
}

/// Rejects `n` records (the spans under a part that could not be read) for one error.
fn reject_each(sink: &mut dyn SpanSink, err: impl Fn() -> Error, n: usize) -> Result<()> {
    for _ in 0..n {
        sink.reject(err())?;
    }
    Ok(())
}

/// A resource parsed whole (the fast path of [`parse_resource`]).
#[derive(Deserialize)]
struct ResourceSpansT {
    #[serde(default)]
    resource: Option<ResourceJ>,
    #[serde(
        default,
        alias = "scope_spans",
        alias = "instrumentationLibrarySpans",
        alias = "instrumentation_library_spans",
        rename = "scopeSpans"
    )]
    scope_spans: Vec<ScopeSpansT>,
}

#[derive(Deserialize)]
struct ScopeSpansT {
    #[serde(default, alias = "instrumentationLibrary", alias = "instrumentation_library")]
    scope: Option<ScopeJ>,
    #[serde(default)]
    spans: Vec<SpanJ>,
}

/// A resource with its parts still raw (the careful path of [`parse_resource`]).
#[derive(Deserialize)]
struct ResourceSpansJ<'a> {
    #[serde(default, borrow)]
    resource: Option<&'a RawValue>,
    #[serde(
        default,
        borrow,
        alias = "scope_spans",
        alias = "instrumentationLibrarySpans",
        alias = "instrumentation_library_spans",
        rename = "scopeSpans"
    )]
    scope_spans: Vec<ScopeSpansJ<'a>>,
}

#[derive(Deserialize, Default)]
struct ResourceJ {
    #[serde(default)]
    attributes: Vec<KeyValueJ>,
}

#[derive(Deserialize)]
struct ScopeSpansJ<'a> {
    #[serde(default, borrow, alias = "instrumentationLibrary", alias = "instrumentation_library")]
    scope: Option<&'a RawValue>,
    #[serde(default, borrow)]
    spans: Vec<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct ScopeJ {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    attributes: Vec<KeyValueJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpanJ {
    #[serde(default, alias = "trace_id")]
    trace_id: String,
    #[serde(default, alias = "span_id")]
    span_id: String,
    #[serde(default, alias = "trace_state")]
    trace_state: String,
    #[serde(default, alias = "parent_span_id")]
    parent_span_id: String,
    #[serde(default)]
    flags: u32,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: Option<EnumJ>,
    #[serde(default, alias = "start_time_unix_nano")]
    start_time_unix_nano: Option<U64J>,
    #[serde(default, alias = "end_time_unix_nano")]
    end_time_unix_nano: Option<U64J>,
    #[serde(default)]
    attributes: Vec<KeyValueJ>,
    #[serde(default, alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
    #[serde(default)]
    events: Vec<EventJ>,
    #[serde(default, alias = "dropped_events_count")]
    dropped_events_count: u32,
    #[serde(default)]
    links: Vec<LinkJ>,
    #[serde(default, alias = "dropped_links_count")]
    dropped_links_count: u32,
    #[serde(default)]
    status: Option<StatusJ>,
}

#[derive(Deserialize)]
struct StatusJ {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<EnumJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventJ {
    #[serde(default, alias = "time_unix_nano")]
    time_unix_nano: Option<U64J>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<KeyValueJ>,
    #[serde(default, alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkJ {
    #[serde(default, alias = "trace_id")]
    trace_id: String,
    #[serde(default, alias = "span_id")]
    span_id: String,
    #[serde(default, alias = "trace_state")]
    trace_state: String,
    #[serde(default)]
    attributes: Vec<KeyValueJ>,
    #[serde(default, alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
    #[serde(default)]
    flags: u32,
}

#[derive(Deserialize)]
struct KeyValueJ {
    key: String,
    #[serde(default)]
    value: Option<AnyValueJ>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AnyValueJ {
    #[serde(default, alias = "string_value")]
    string_value: Option<String>,
    #[serde(default, alias = "bool_value")]
    bool_value: Option<bool>,
    #[serde(default, alias = "int_value")]
    int_value: Option<I64J>,
    #[serde(default, alias = "double_value")]
    double_value: Option<F64J>,
    #[serde(default, alias = "array_value")]
    array_value: Option<ArrayJ>,
    #[serde(default, alias = "kvlist_value")]
    kvlist_value: Option<KvListJ>,
    #[serde(default, alias = "bytes_value")]
    bytes_value: Option<String>,
}

#[derive(Deserialize)]
struct ArrayJ {
    #[serde(default)]
    values: Vec<AnyValueJ>,
}

#[derive(Deserialize)]
struct KvListJ {
    #[serde(default)]
    values: Vec<KeyValueJ>,
}

/// Protobuf JSON writes enums as numbers or as their names.
#[derive(Deserialize)]
#[serde(untagged)]
enum EnumJ {
    Num(i64),
    Str(String),
}

/// 64-bit integers are strings in protobuf JSON; numbers are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum U64J {
    Num(u64),
    Str(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum I64J {
    Num(i64),
    Str(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum F64J {
    Num(f64),
    Str(String),
}

fn u64_of(v: Option<U64J>, field: &str) -> std::result::Result<u64, String> {
    match v {
        None => Ok(0),
        Some(U64J::Num(n)) => Ok(n),
        Some(U64J::Str(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("{field}: expected an unsigned integer, found {s:?}")),
    }
}

/// Hex (canonical OTLP/JSON) or base64 (protobuf JSON mapping) id bytes.
fn id_bytes(s: &str, hex_len: usize, field: &str) -> std::result::Result<Vec<u8>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    if s.len() == hex_len && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok((0..hex_len / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
            .collect());
    }
    match base64::engine::general_purpose::STANDARD.decode(s) {
        Ok(b) if b.len() == hex_len / 2 => Ok(b),
        _ => Err(format!(
            "{field}: expected {hex_len} hex digits or base64 of {} bytes, found {s:?}",
            hex_len / 2
        )),
    }
}

fn kind_code(v: Option<EnumJ>) -> std::result::Result<i32, String> {
    match v {
        None => Ok(0),
        Some(EnumJ::Num(n)) => SpanKind::from_otlp_code(n)
            .map(|k| k.otlp_code())
            .ok_or_else(|| format!("kind: unknown span kind {n} (expected 0..=5)")),
        Some(EnumJ::Str(s)) => SpanKind::parse(&s)
            .map(|k| k.otlp_code())
            .ok_or_else(|| format!("kind: unknown span kind {s:?} (expected SPAN_KIND_*)")),
    }
}

fn status_code(v: Option<EnumJ>) -> std::result::Result<i32, String> {
    match v {
        None => Ok(0),
        Some(EnumJ::Num(n)) => StatusCode::from_otlp_code(n)
            .map(|c| c.otlp_code())
            .ok_or_else(|| format!("status.code: unknown status code {n} (expected 0, 1 or 2)")),
        Some(EnumJ::Str(s)) => StatusCode::parse(&s)
            .map(|c| c.otlp_code())
            .ok_or_else(|| format!("status.code: unknown status code {s:?} (expected STATUS_CODE_*)")),
    }
}

fn kvs(v: Vec<KeyValueJ>) -> std::result::Result<Vec<KeyValue>, String> {
    v.into_iter()
        .map(|kv| {
            let value = kv.value.map(|v| any(v, &kv.key)).transpose()?;
            Ok(KeyValue {
                key: kv.key,
                value,
                ..Default::default()
            })
        })
        .collect()
}

fn any(v: AnyValueJ, key: &str) -> std::result::Result<AnyValue, String> {
    use any_value::Value as V;
    let value = if let Some(s) = v.string_value {
        Some(V::StringValue(s))
    } else if let Some(b) = v.bool_value {
        Some(V::BoolValue(b))
    } else if let Some(i) = v.int_value {
        Some(V::IntValue(match i {
            I64J::Num(n) => n,
            I64J::Str(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("attribute {key:?}: intValue {s:?} is not a 64-bit integer"))?,
        }))
    } else if let Some(d) = v.double_value {
        Some(V::DoubleValue(match d {
            F64J::Num(n) => n,
            F64J::Str(s) => match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                _ => s
                    .trim()
                    .parse()
                    .map_err(|_| format!("attribute {key:?}: doubleValue {s:?} is not a number"))?,
            },
        }))
    } else if let Some(a) = v.array_value {
        Some(V::ArrayValue(ArrayValue {
            values: a
                .values
                .into_iter()
                .map(|v| any(v, key))
                .collect::<std::result::Result<_, _>>()?,
        }))
    } else if let Some(kv) = v.kvlist_value {
        Some(V::KvlistValue(KeyValueList {
            values: kvs(kv.values)?,
        }))
    } else if let Some(b) = v.bytes_value {
        Some(V::BytesValue(
            base64::engine::general_purpose::STANDARD
                .decode(&b)
                .map_err(|_| format!("attribute {key:?}: bytesValue is not base64"))?,
        ))
    } else {
        None
    };
    Ok(AnyValue { value })
}

fn to_pb_span(s: SpanJ) -> std::result::Result<pb::Span, String> {
    let mut events = Vec::with_capacity(s.events.len());
    for e in s.events {
        events.push(pb::span::Event {
            time_unix_nano: u64_of(e.time_unix_nano, "events.timeUnixNano")?,
            name: e.name,
            attributes: kvs(e.attributes)?,
            dropped_attributes_count: e.dropped_attributes_count,
        });
    }
    let mut links = Vec::with_capacity(s.links.len());
    for l in s.links {
        links.push(pb::span::Link {
            trace_id: id_bytes(&l.trace_id, 32, "links.traceId")?,
            span_id: id_bytes(&l.span_id, 16, "links.spanId")?,
            trace_state: l.trace_state,
            attributes: kvs(l.attributes)?,
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
        });
    }
    let status = match s.status {
        Some(st) => Some(pb::Status {
            message: st.message,
            code: status_code(st.code)?,
        }),
        None => None,
    };
    if s.trace_id.is_empty() {
        return Err("missing traceId".into());
    }
    Ok(pb::Span {
        trace_id: id_bytes(&s.trace_id, 32, "traceId")?,
        span_id: id_bytes(&s.span_id, 16, "spanId")?,
        trace_state: s.trace_state,
        parent_span_id: id_bytes(&s.parent_span_id, 16, "parentSpanId")?,
        flags: s.flags,
        name: s.name,
        kind: kind_code(s.kind)?,
        start_time_unix_nano: u64_of(s.start_time_unix_nano, "startTimeUnixNano")?,
        end_time_unix_nano: u64_of(s.end_time_unix_nano, "endTimeUnixNano")?,
        attributes: kvs(s.attributes)?,
        dropped_attributes_count: s.dropped_attributes_count,
        events,
        dropped_events_count: s.dropped_events_count,
        links,
        dropped_links_count: s.dropped_links_count,
        status,
    })
}
