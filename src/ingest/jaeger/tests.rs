//! Tests of the jaeger decoder, against the real fixtures and hand-made bad inputs.
use super::*;

use crate::ingest::test_sink::CollectSink as Sink;

fn run(json: &[u8], keep_going: bool) -> (Result<()>, Sink) {
    let mut sink = Sink {
        keep_going,
        ..Sink::default()
    };
    (decode("t.json", json, &mut sink), sink)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/real/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
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
        sink.rejects.iter().map(ToString::to_string).collect::<Vec<_>>(),
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
