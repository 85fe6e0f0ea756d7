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
        (decode("z.json", json, &mut sink), sink)
    }

    fn fixture(name: &str) -> Vec<Span> {
        let path = format!("{}/../shared/fixtures/zipkin/{name}", env!("CARGO_MANIFEST_DIR"));
        let (res, sink) = run(&std::fs::read(path).unwrap(), false);
        res.unwrap();
        sink.spans
    }

    /// trace/span^parent name @service kind status start+duration (ns; -1 when absent).
    fn brief(s: &Span) -> String {
        let parent = s.parent_span_id.map_or("-".into(), |p| format!("{p:x}"));
        let (kind, status) = (s.kind.as_str(), s.status.as_str());
        let (start, dur) = (s.start_ns.unwrap_or(-1), s.duration_ns().unwrap_or(-1));
        format!(
            "{:x}/{:x}^{parent} {} @{} {kind} {status} {start}+{dur}",
            s.trace_id, s.span_id, s.name, s.service
        )
    }

    fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a Value> {
        s.attributes.iter().find(|a| a.key == key).map(|a| &a.value)
    }

    fn str(s: &str) -> Value {
        Value::Str(s.into())
    }

    // Expected values in these tests were computed from the raw fixtures with python3's json module.

    /// A fixture, its span count, and some spans by index.
    type Case = (&'static str, usize, &'static [(usize, &'static str)]);

    #[test]
    fn fixtures() {
        let cases: [Case; 7] = [
            ("smartthings-oauth-authorization.json", 175, &[
                (0, "8ce82b2e9ed820ba/c8a2bcb3011b9fcd^54456c991996a6c7 access_token-store-without-refresh @auth \
                     client unset 1543334727215550000+3816000"),
                (159, "8ce82b2e9ed820ba/c47bff7f7964b321^be232464081e613d post /sso/authenticate @auth server error \
                       1543334661606025000+3041000"),
            ]),
            ("messaging-kafka.json", 28, &[
                (0, "562809467078eab/562809467078eab^- poll @servicea consumer unset 1541405397200023000+26000"),
                (23, "562809467078eab/2f77d5b0b8e0de35^b4a2a87ee7f003bc on-message @serviceb internal error \
                      1541405397453001000+310000"),
            ]),
            ("yelp.json", 16, &[
                (13, "a03ee8fff1dcd9b9/668ed78ad94b35a1^2e8cfb154b59a41f post api proxy proxy @yelp_main/api_proxy \
                      server unset 1571896375264995000+88935000"),
            ]),
            ("messaging2.json", 11, &[
                (0, "d1a94ebc9256244/939e2fdc360a1201^153a596db406c83 post @transfer-service client unset \
                     1540799213008149000+779592000"),
            ]),
            ("ascend.json", 8, &[
                (1, "ef86c83c0a05a6d6/c21c6c51ac71b3ba^ecc00062ceef4bf0 get @content-service client unset \
                     1531282088556600000+8965000"),
            ]),
            ("skew.json", 4, &[
                (0, "1e223ff1f80f1c69/43210ae0c10d1234^74280ae0c10d8062 async @serviceb internal unset \
                     1470150004008762000+65000000"),
                (2, "1e223ff1f80f1c69/bf396325699c84bf^- get @servicea server unset 1470150004071068000+99411000"),
            ]),
            ("smartthings-mobile-web-install.json", 1041, &[
                (0, "14b60fd9ae504820/a0dc23f22c4fee3f^cfcd115a2af18bd9 post @platformapi internal unset -1+-1"),
                (1, "14b60fd9ae504820/60e1ace16723844a^17bfc73a014d42c post /events @pusher client unset \
                     1543549826259342000+2120000"),
                (45, "14b60fd9ae504820/71687cb74971c332^ce7bd8ffe2892e48 get circuitbreakers/_entitytype_/_entityid_ \
                      @alice server error 1543549825697031000+1501000"),
                (46, "14b60fd9ae504820/71687cb74971c332^ce7bd8ffe2892e48 get @execution client error \
                      1543549825693593000+3858000"),
                (1025, "14b60fd9ae504820/9d73c7b6cfb4ed18^14b60fd9ae504820  @strongman server unset \
                        1543549524707831000+-1"),
                (1040, "14b60fd9ae504820/14b60fd9ae504820^- get /login/tokenauth @coreSrv server unset \
                        1543549524565942000+36713000"),
            ]),
        ];
        for (name, count, picks) in cases {
            let s = fixture(name);
            assert_eq!(s.len(), count, "{name}");
            for (i, want) in picks {
                assert_eq!(brief(&s[*i]), *want, "{name}[{i}]");
            }
        }
    }

    #[test]
    fn smartthings_install_details() {
        let s = fixture("smartthings-mobile-web-install.json");
        let count = |f: &dyn Fn(&Span) -> bool| s.iter().filter(|x| f(x)).count();
        assert_eq!(count(&|x| x.start_ns.is_none()), 84);
        assert_eq!(count(&|x| x.end_ns.is_none()), 175);
        assert_eq!(count(&|x| x.kind == SpanKind::Internal), 87);
        assert_eq!(count(&|x| attr(x, "zipkin.shared").is_some()), 294);
        assert_eq!(count(&|x| x.status == StatusCode::Error), 2);
        assert_eq!(count(&|x| x.parent_span_id.is_none()), 1);
        assert_eq!(s.iter().map(|x| x.events.len()).sum::<usize>(), 92);
        assert_eq!(
            s.iter()
                .map(|x| x.attributes.iter().filter(|a| !a.key.starts_with("zipkin.")).count())
                .sum::<usize>(),
            2696 + 258
        );
        let services: std::collections::BTreeSet<_> = s.iter().map(|x| x.service.as_str()).collect();
        assert_eq!(services.len(), 16);

        let resource = [
            Attr::new("zipkin.local_endpoint.ipv4", str("10.104.90.167")),
            Attr::new("zipkin.local_endpoint.port", Value::Int(8140)),
        ];
        assert_eq!(*s[0].resource, resource);
        assert_eq!(s[45].status_message.as_deref(), Some("404"));
        assert_eq!(attr(&s[45], "zipkin.remote_endpoint.ipv4"), Some(&str("10.6.157.182")));
        assert_eq!(attr(&s[45], "zipkin.shared"), Some(&Value::Bool(true)));
        let events: Vec<_> = s[1].events.iter().map(|e| (e.time_ns, e.name.as_str())).collect();
        let t = Some(1_543_549_826_261_000_000);
        assert_eq!(
            events,
            [
                (t, "Body Part Received"),
                (t, "Headers Received"),
                (t, "Status Received")
            ]
        );
        // Spans on one host share their resource.
        let same_host: Vec<_> = s.iter().filter(|x| x.resource == s[0].resource).collect();
        assert!(same_host.len() > 1 && same_host.iter().all(|x| Arc::ptr_eq(&x.resource, &s[0].resource)));
    }

    #[test]
    fn attributes_in_order() {
        let s = fixture("messaging-kafka.json");
        assert_eq!(
            s[0].attributes,
            [
                Attr::new("kafka.topic", str("messages")),
                Attr::new("peer.service", str("kafka"))
            ]
        );
        assert!(s[0].resource.is_empty());
        assert_eq!(
            (s[23].status_message.as_deref(), s[27].status),
            (Some("some error"), StatusCode::Error)
        );
        assert_eq!(s[27].status_message, None);

        let s = fixture("yelp.json");
        let keys: Vec<_> = s[0].attributes.iter().map(|a| a.key.as_str()).collect();
        let want = [
            "client_status_code",
            "http.uri.client",
            "request_budget",
            "tracer",
            "peer.service",
        ];
        assert_eq!(keys, [&want[..], &["zipkin.remote_endpoint.port"]].concat());
        assert_eq!(attr(&s[0], "zipkin.remote_endpoint.port"), Some(&Value::Int(31882)));
        assert_eq!(s[13].events[0].name, "py_zipkin.logging_end");

        let json = r#"[{"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"A","parentId":"0000000000000000",
            "kind":"producer","timestamp":0,"duration":5,"debug":true,
            "tags":{"z":"1","a":2,"error":"","m":true},"localEndpoint":{"serviceName":"","ipv6":"::1"}}]"#;
        let (res, sink) = run(json.as_bytes(), false);
        res.unwrap();
        let s = &sink.spans[0];
        assert_eq!(
            brief(s),
            "463ac35c9f6413ad48485a3953bb6124/a^-  @unknown_service producer error -1+-1"
        );
        let tags: Vec<_> = s.attributes.iter().map(|a| (a.key.as_str(), &a.value)).collect();
        let (one, two, empty, yes) = (str("1"), str("2"), str(""), str("true"));
        let debug = Value::Bool(true);
        assert_eq!(
            tags,
            [
                ("z", &one),
                ("a", &two),
                ("error", &empty),
                ("m", &yes),
                ("zipkin.debug", &debug)
            ]
        );
        assert_eq!(
            (*s.resource).clone(),
            [Attr::new("zipkin.local_endpoint.ipv6", str("::1"))]
        );
    }

    #[test]
    fn bad_inputs() {
        let cases = [
            (
                r#"[{"traceId":"1","id":"1","kind":"LOCAL"}]"#,
                "$[0].kind: unknown span kind \"LOCAL\"; expected CLIENT, SERVER, PRODUCER or CONSUMER",
            ),
            (
                r#"[{"traceId":"1","id":"1"},{"traceId":"1","id":"12345678901234567"}]"#,
                "$[1].id: expected a hex span id of at most 16 digits, found \"12345678901234567\"",
            ),
            (
                r#"[{"traceId":"g1","id":"1"}]"#,
                "$[0].traceId: expected a hex trace id of at most 32 digits, found \"g1\"",
            ),
            (
                r#"[{"traceId":"1","id":"1","parentId":"x"}]"#,
                "$[0].parentId: expected a hex span id",
            ),
            (
                r#"[{"traceId":"1","id":"1","timestamp":"now"}]"#,
                "$[0]: invalid type: string \"now\", expected i64",
            ),
            (
                r#"[{"traceId":"1","id":"1","tags":{"k":{"x":1}}}]"#,
                "$[0]: tag \"k\": expected a string value",
            ),
            (
                r#"[{"traceId":"1","id":"1","tags":["k"]}]"#,
                "$[0]: invalid type: sequence, expected an object of string",
            ),
            (r#"[{"traceId":"0","id":"1"}]"#, "$[0]: missing or all-zero trace id"),
            (r#"[{"traceId":"1"}]"#, "$[0]: missing or all-zero span id"),
            (
                r#"[{"traceId":"1","id":"1","timestamp":5,"duration":9223372036854776}]"#,
                "$[0].duration: 9223372036854776 microseconds is out of range",
            ),
            (
                "[{\"traceId\":\"1\",\"id\":\"1\"},\n  {\"traceId\":",
                "line 2, column 13: EOF while parsing a value",
            ),
            (
                r#"{"traceId":"1"}"#,
                "line 1, column 1: invalid type: map, expected a JSON array",
            ),
        ];
        for (json, want) in cases {
            let got = run(json.as_bytes(), false).0.unwrap_err().to_string();
            assert!(
                got.starts_with(&format!("z.json: {want}")),
                "{json}\n got: {got}\nwant: {want}"
            );
        }
        let json =
            r#"[{"traceId":"1","id":"1"},{"traceId":"1","id":"2","kind":"?"},{"id":3},{"traceId":"1","id":"4"}]"#;
        let (res, sink) = run(json.as_bytes(), true);
        assert!(res.is_ok() && sink.rejects.len() == 2);
        assert_eq!(sink.spans.iter().map(|s| s.span_id).collect::<Vec<_>>(), [1, 4]);
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
    fn spans_are_streamed() {
        let mut sink = Sink::default();
        let err = decode(
            "z.json",
            Cut(br#"[{"traceId":"1","id":"1"},{"traceId":"1","id":"2"},"#),
            &mut sink,
        );
        let err = err.unwrap_err().to_string();
        assert!(err.contains("connection reset") && sink.spans.len() == 2, "{err}");
    }
}
