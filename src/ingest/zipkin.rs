//! Zipkin v2 JSON: a top-level array of spans, streamed one span at a time.
//!
//! Rules:
//! - A missing `kind` is [`SpanKind::Internal`] (Zipkin v2 defines an absent kind as a local span);
//!   `CLIENT`, `SERVER`, `PRODUCER` and `CONSUMER` (any case) map to their kinds; anything else
//!   rejects the span.
//! - `timestamp` and `duration` are microseconds; like zipkin2's `Span.Builder`, a value of 0 or less
//!   means absent. The end is known only when both are present.
//! - A `parentId` that is empty or all zeros means a root (zipkin2 normalises it to null).
//! - Service: `localEndpoint.serviceName` as given; missing or empty is `unknown_service`. The local
//!   endpoint's `ipv4`, `ipv6`, `port` are resource attributes `zipkin.local_endpoint.*`, one shared
//!   `Arc` per distinct endpoint address.
//! - Span attributes, in this order: the tags as strings in input order; `peer.service` (remote
//!   `serviceName`) and `zipkin.remote_endpoint.ipv4`, `.ipv6`, `.port` (an integer);
//!   `zipkin.shared` and `zipkin.debug` (true, only when set).
//! - A tag `error` (any value) sets status error, with its value as the message when non-empty.
//! - Annotations are events named by their `value`.
//! - Shared client/server halves keep their common span id; they are not merged here.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use super::json_stream::{element_error, for_each_element, parse_element, ArrayAt};
use super::{parse_hex_id, push_checked, Attr, Event, Span, SpanKind, SpanSink, StatusCode, Value};
use crate::error::{Error, Result};

const UNKNOWN_SERVICE: &str = "unknown_service";
/// Bounds the resource cache on inputs with very many distinct endpoints.
const MAX_CACHED_ENDPOINTS: usize = 4096;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ZSpan {
    trace_id: Option<String>,
    id: Option<String>,
    parent_id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    timestamp: Option<i64>,
    duration: Option<i64>,
    local_endpoint: Option<Endpoint>,
    remote_endpoint: Option<Endpoint>,
    annotations: Option<Vec<Annotation>>,
    tags: Option<Tags>,
    debug: Option<bool>,
    shared: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Endpoint {
    service_name: Option<String>,
    ipv4: Option<String>,
    ipv6: Option<String>,
    port: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Annotation {
    timestamp: Option<i64>,
    value: Option<String>,
}

/// Tags in input order (serde_json's map would sort them).
#[derive(Default)]
struct Tags(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Tags, D::Error> {
        d.deserialize_map(TagsVisitor)
    }
}

struct TagsVisitor;

impl<'de> Visitor<'de> for TagsVisitor {
    type Value = Tags;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of string tags")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Tags, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<String>()? {
            // Some tracers write numbers and booleans unquoted; their text is what Zipkin shows.
            let value = match map.next_value::<Json>()? {
                Json::String(s) => s,
                v @ (Json::Number(_) | Json::Bool(_)) => v.to_string(),
                v => {
                    return Err(de::Error::custom(format_args!(
                        "tag {key:?}: expected a string value, found {v}"
                    )))
                }
            };
            out.push((key, value));
        }
        Ok(Tags(out))
    }
}

/// A conversion failure: JSON path and message.
struct Bad(String, String);

type Conv<T> = std::result::Result<T, Bad>;

type EndpointKey = (Option<String>, Option<String>, Option<i64>);

pub(crate) fn decode<R: Read>(name: &str, reader: R, sink: &mut dyn SpanSink) -> Result<()> {
    let mut dec = Decoder {
        name,
        sink,
        resources: HashMap::new(),
    };
    for_each_element(name, reader, ArrayAt::Root, &mut |i, raw| dec.element(i, raw))?;
    Ok(())
}

struct Decoder<'a> {
    name: &'a str,
    sink: &'a mut dyn SpanSink,
    resources: HashMap<EndpointKey, Arc<Vec<Attr>>>,
}

impl Decoder<'_> {
    fn element(&mut self, i: usize, raw: &RawValue) -> Result<()> {
        let at = format!("$[{i}]");
        let z = match parse_element::<ZSpan>(raw) {
            Ok(z) => z,
            Err(e) => return self.sink.reject(element_error(self.name, &at, &e)),
        };
        match self.convert(z, &at) {
            Ok(span) => push_checked(self.sink, self.name, || at, span),
            Err(Bad(path, msg)) => self.sink.reject(Error::decode(self.name, path, msg)),
        }
    }

    fn convert(&mut self, z: ZSpan, at: &str) -> Conv<Span> {
        let trace_id = hex_id(z.trace_id.as_deref(), 32, "trace", || format!("{at}.traceId"))?.unwrap_or(0);
        let span_id = hex_id(z.id.as_deref(), 16, "span", || format!("{at}.id"))?.unwrap_or(0) as u64;
        let parent = hex_id(z.parent_id.as_deref(), 16, "span", || format!("{at}.parentId"))?;
        let parent_span_id = parent.filter(|&p| p != 0).map(|p| p as u64);
        let kind = match z.kind.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None => SpanKind::Internal,
            Some("CLIENT") => SpanKind::Client,
            Some("SERVER") => SpanKind::Server,
            Some("PRODUCER") => SpanKind::Producer,
            Some("CONSUMER") => SpanKind::Consumer,
            Some(_) => {
                let msg = format!(
                    "unknown span kind {:?}; expected CLIENT, SERVER, PRODUCER or CONSUMER",
                    z.kind.unwrap_or_default()
                );
                return Err(Bad(format!("{at}.kind"), msg));
            }
        };
        let start_ns = micros(z.timestamp, || format!("{at}.timestamp"))?;
        let end_ns = match (start_ns, micros(z.duration, || format!("{at}.duration"))?) {
            (Some(s), Some(d)) => Some(s.checked_add(d).ok_or_else(|| {
                Bad(
                    format!("{at}.duration"),
                    "timestamp plus duration is out of range".into(),
                )
            })?),
            _ => None,
        };
        let mut events = Vec::new();
        for (k, a) in z.annotations.unwrap_or_default().into_iter().enumerate() {
            let time_ns = micros(a.timestamp, || format!("{at}.annotations[{k}].timestamp"))?;
            let name = a.value.unwrap_or_default();
            events.push(Event {
                time_ns,
                name,
                ..Event::default()
            });
        }

        let tags = z.tags.unwrap_or_default().0;
        let (mut status, mut status_message) = (StatusCode::Unset, None);
        if let Some((_, v)) = tags.iter().find(|(k, _)| k == "error") {
            status = StatusCode::Error;
            status_message = Some(v.clone()).filter(|v| !v.is_empty());
        }
        let mut attributes: Vec<Attr> = tags.into_iter().map(|(k, v)| Attr::new(k, Value::Str(v))).collect();
        if let Some(r) = z.remote_endpoint {
            if let Some(s) = r.service_name.filter(|s| !s.is_empty()) {
                attributes.push(Attr::new("peer.service", Value::Str(s)));
            }
            address_attrs(&mut attributes, "zipkin.remote_endpoint", r.ipv4, r.ipv6, r.port);
        }
        if z.shared == Some(true) {
            attributes.push(Attr::new("zipkin.shared", Value::Bool(true)));
        }
        if z.debug == Some(true) {
            attributes.push(Attr::new("zipkin.debug", Value::Bool(true)));
        }

        let local = z.local_endpoint.unwrap_or_default();
        let service = local.service_name.filter(|s| !s.is_empty());
        let service = service.unwrap_or_else(|| UNKNOWN_SERVICE.into());
        let resource = self.resource((local.ipv4, local.ipv6, local.port));
        Ok(Span {
            trace_id,
            span_id,
            parent_span_id,
            name: z.name.unwrap_or_default(),
            service,
            kind,
            start_ns,
            end_ns,
            status,
            status_message,
            attributes,
            resource,
            events,
            ..Span::default()
        })
    }

    fn resource(&mut self, key: EndpointKey) -> Arc<Vec<Attr>> {
        if let Some(r) = self.resources.get(&key) {
            return r.clone();
        }
        if self.resources.len() >= MAX_CACHED_ENDPOINTS {
            self.resources.clear();
        }
        let mut attrs = Vec::new();
        address_attrs(&mut attrs, "zipkin.local_endpoint", key.0.clone(), key.1.clone(), key.2);
        let r = Arc::new(attrs);
        self.resources.insert(key, r.clone());
        r
    }
}

fn address_attrs(out: &mut Vec<Attr>, prefix: &str, ipv4: Option<String>, ipv6: Option<String>, port: Option<i64>) {
    if let Some(ip) = ipv4 {
        out.push(Attr::new(format!("{prefix}.ipv4"), Value::Str(ip)));
    }
    if let Some(ip) = ipv6 {
        out.push(Attr::new(format!("{prefix}.ipv6"), Value::Str(ip)));
    }
    if let Some(port) = port {
        out.push(Attr::new(format!("{prefix}.port"), Value::Int(port)));
    }
}

/// A hex id, `None` when missing or empty (left for `validate` to reject where required).
fn hex_id(s: Option<&str>, digits: usize, what: &str, at: impl FnOnce() -> String) -> Conv<Option<u128>> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_hex_id(s, digits).map(Some).ok_or_else(|| {
            Bad(
                at(),
                format!("expected a hex {what} id of at most {digits} digits, found {s:?}"),
            )
        }),
    }
}

/// Microseconds to nanoseconds; 0 or less is absent, as in zipkin2.
fn micros(us: Option<i64>, at: impl FnOnce() -> String) -> Conv<Option<i64>> {
    match us.filter(|&us| us > 0) {
        None => Ok(None),
        Some(us) => us
            .checked_mul(1000)
            .map(Some)
            .ok_or_else(|| Bad(at(), format!("{us} microseconds is out of range"))),
    }
}

#[cfg(test)]
mod tests;
