//! Tests of the zipkin decoder, against the real fixtures and hand-made bad inputs.
use super::*;

use crate::ingest::test_sink::CollectSink as Sink;

fn run(json: &[u8], keep_going: bool) -> (Result<()>, Sink) {
    let mut sink = Sink {
        keep_going,
        ..Sink::default()
    };
    (decode("z.json", json, &mut sink), sink)
}

fn fixture(name: &str) -> Vec<Span> {
    let path = format!("{}/tests/fixtures/real/zipkin/{name}", env!("CARGO_MANIFEST_DIR"));
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
        (
            "smartthings-oauth-authorization.json",
            175,
            &[
                (
                    0,
                    "8ce82b2e9ed820ba/c8a2bcb3011b9fcd^54456c991996a6c7 access_token-store-without-refresh @auth \
                 client unset 1543334727215550000+3816000",
                ),
                (
                    159,
                    "8ce82b2e9ed820ba/c47bff7f7964b321^be232464081e613d post /sso/authenticate @auth server error \
                   1543334661606025000+3041000",
                ),
            ],
        ),
        (
            "messaging-kafka.json",
            28,
            &[
                (
                    0,
                    "562809467078eab/562809467078eab^- poll @servicea consumer unset 1541405397200023000+26000",
                ),
                (
                    23,
                    "562809467078eab/2f77d5b0b8e0de35^b4a2a87ee7f003bc on-message @serviceb internal error \
                  1541405397453001000+310000",
                ),
            ],
        ),
        (
            "yelp.json",
            16,
            &[(
                13,
                "a03ee8fff1dcd9b9/668ed78ad94b35a1^2e8cfb154b59a41f post api proxy proxy @yelp_main/api_proxy \
                  server unset 1571896375264995000+88935000",
            )],
        ),
        (
            "messaging2.json",
            11,
            &[(
                0,
                "d1a94ebc9256244/939e2fdc360a1201^153a596db406c83 post @transfer-service client unset \
                 1540799213008149000+779592000",
            )],
        ),
        (
            "ascend.json",
            8,
            &[(
                1,
                "ef86c83c0a05a6d6/c21c6c51ac71b3ba^ecc00062ceef4bf0 get @content-service client unset \
                 1531282088556600000+8965000",
            )],
        ),
        (
            "skew.json",
            4,
            &[
                (
                    0,
                    "1e223ff1f80f1c69/43210ae0c10d1234^74280ae0c10d8062 async @serviceb internal unset \
                 1470150004008762000+65000000",
                ),
                (
                    2,
                    "1e223ff1f80f1c69/bf396325699c84bf^- get @servicea server unset 1470150004071068000+99411000",
                ),
            ],
        ),
        (
            "smartthings-mobile-web-install.json",
            1041,
            &[
                (
                    0,
                    "14b60fd9ae504820/a0dc23f22c4fee3f^cfcd115a2af18bd9 post @platformapi internal unset -1+-1",
                ),
                (
                    1,
                    "14b60fd9ae504820/60e1ace16723844a^17bfc73a014d42c post /events @pusher client unset \
                 1543549826259342000+2120000",
                ),
                (
                    45,
                    "14b60fd9ae504820/71687cb74971c332^ce7bd8ffe2892e48 get circuitbreakers/_entitytype_/_entityid_ \
                  @alice server error 1543549825697031000+1501000",
                ),
                (
                    46,
                    "14b60fd9ae504820/71687cb74971c332^ce7bd8ffe2892e48 get @execution client error \
                  1543549825693593000+3858000",
                ),
                (
                    1025,
                    "14b60fd9ae504820/9d73c7b6cfb4ed18^14b60fd9ae504820  @strongman server unset \
                    1543549524707831000+-1",
                ),
                (
                    1040,
                    "14b60fd9ae504820/14b60fd9ae504820^- get /login/tokenauth @coreSrv server unset \
                    1543549524565942000+36713000",
                ),
            ],
        ),
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
    let json = r#"[{"traceId":"1","id":"1"},{"traceId":"1","id":"2","kind":"?"},{"id":3},{"traceId":"1","id":"4"}]"#;
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
