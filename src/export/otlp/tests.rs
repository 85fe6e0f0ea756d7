//! Round trips: fixture → tables → OTLP → compared with the fixture; OTLP → tables → OTLP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use prost::Message;
use serde_json::{json, Value as J};

use crate::export::{parts_to_request, request_to_json, request_to_proto};
use crate::ingest::{
    decode_bytes, decode_file, Attr, Event, RawTables, Ref, RefType, Span, SpanKind, SpanSink, StatusCode, Value,
};
use crate::schema::REF_TYPE_KEY;
use crate::store::assemble;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real");

/// The OTLP JSON fixtures of the round trip.
fn otlp_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "otlp/opentelemetry-proto_examples_trace.json",
        "jaeger/otlp2jaeger-in.json",
        "jaeger-ui/otlp2jaeger-multi-in-combined.json",
    ]
    .iter()
    .map(|f| Path::new(FIXTURES).join(f))
    .collect();
    let dir = Path::new(FIXTURES).join("jaeger/integration/traces");
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .collect();
    traces.sort();
    assert!(
        traces.len() >= 30,
        "expected the Jaeger integration traces in {}",
        dir.display()
    );
    files.extend(traces);
    files
}

fn export_raw(raw: RawTables) -> ExportTraceServiceRequest {
    let (parts, _) = assemble(raw, usize::MAX).expect("assemble");
    parts_to_request(&parts).expect("export")
}

fn export_file(path: &Path) -> ExportTraceServiceRequest {
    let mut raw = RawTables::new(false);
    decode_file(path, &mut raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    export_raw(raw)
}

fn export_bytes(bytes: &[u8]) -> ExportTraceServiceRequest {
    let mut raw = RawTables::new(false);
    decode_bytes("<export>", bytes, &mut raw).expect("re-ingest");
    export_raw(raw)
}

// ---- normalisation of OTLP/JSON: absent = default, lowercase hex, int64 as strings, stable order ----

fn list(v: &J) -> Vec<J> {
    v.as_array().cloned().unwrap_or_default()
}

fn text(v: &J) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A 64-bit integer written as a string or a number.
fn int(v: &J) -> i128 {
    match v {
        J::String(s) => s.parse().unwrap_or_else(|_| panic!("not an integer: {s:?}")),
        J::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .expect("integer"),
        _ => 0,
    }
}

/// An enum written as a number or a name (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`).
fn enum_code(v: &J, parse: impl Fn(&str) -> Option<i32>) -> i128 {
    match v {
        J::String(s) => i128::from(parse(s).expect("known enum name")),
        other => int(other),
    }
}

/// Inserts `v` unless it is a default (empty string, zero, empty list or object, null).
fn put(o: &mut serde_json::Map<String, J>, key: &str, v: J) {
    let default = match &v {
        J::Null => true,
        J::String(s) => s.is_empty() || s == "0",
        J::Number(n) => n.as_f64() == Some(0.0),
        J::Array(a) => a.is_empty(),
        J::Object(m) => m.is_empty(),
        J::Bool(b) => !b,
    };
    if !default {
        o.insert(key.to_string(), v);
    }
}

fn norm_any(v: &J) -> J {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(s) = v.get("stringValue") {
        json!({ "string": s })
    } else if let Some(b) = v.get("boolValue") {
        json!({ "bool": b })
    } else if let Some(i) = v.get("intValue") {
        json!({ "int": int(i).to_string() })
    } else if let Some(d) = v.get("doubleValue") {
        match d {
            J::String(s) => json!({ "double": s }),
            n => json!({ "double": n.as_f64().expect("number") }),
        }
    } else if let Some(b) = v.get("bytesValue") {
        json!({ "bytes": b64.encode(b64.decode(text(b)).expect("base64")) })
    } else if let Some(a) = v.get("arrayValue") {
        json!({ "array": list(&a["values"]).iter().map(norm_any).collect::<Vec<_>>() })
    } else if let Some(kv) = v.get("kvlistValue") {
        json!({ "kvlist": norm_attrs(&kv["values"]) })
    } else {
        J::Null
    }
}

fn norm_attrs(v: &J) -> J {
    J::Array(
        list(v)
            .iter()
            .map(|kv| json!([text(&kv["key"]), norm_any(&kv["value"])]))
            .collect(),
    )
}

fn norm_span(s: &J) -> J {
    let mut o = serde_json::Map::new();
    for id in ["traceId", "spanId", "parentSpanId"] {
        put(&mut o, id, J::String(text(&s[id]).to_ascii_lowercase()));
    }
    put(&mut o, "traceState", s["traceState"].clone());
    put(&mut o, "flags", json!(int(&s["flags"]).to_string()));
    put(&mut o, "name", s["name"].clone());
    let kind = enum_code(&s["kind"], |n| SpanKind::parse(n).map(SpanKind::otlp_code));
    put(&mut o, "kind", json!(kind.to_string()));
    for t in ["startTimeUnixNano", "endTimeUnixNano"] {
        put(&mut o, t, json!(int(&s[t]).to_string()));
    }
    put(&mut o, "attributes", norm_attrs(&s["attributes"]));
    for c in ["droppedAttributesCount", "droppedEventsCount", "droppedLinksCount"] {
        put(&mut o, c, json!(int(&s[c]).to_string()));
    }
    let events: Vec<J> = list(&s["events"])
        .iter()
        .map(|e| {
            let mut eo = serde_json::Map::new();
            put(&mut eo, "timeUnixNano", json!(int(&e["timeUnixNano"]).to_string()));
            put(&mut eo, "name", e["name"].clone());
            put(&mut eo, "attributes", norm_attrs(&e["attributes"]));
            put(
                &mut eo,
                "droppedAttributesCount",
                json!(int(&e["droppedAttributesCount"]).to_string()),
            );
            J::Object(eo)
        })
        .collect();
    put(&mut o, "events", J::Array(events));
    let links: Vec<J> = list(&s["links"])
        .iter()
        .map(|l| {
            let mut lo = serde_json::Map::new();
            put(&mut lo, "traceId", J::String(text(&l["traceId"]).to_ascii_lowercase()));
            put(&mut lo, "spanId", J::String(text(&l["spanId"]).to_ascii_lowercase()));
            put(&mut lo, "traceState", l["traceState"].clone());
            put(&mut lo, "attributes", norm_attrs(&l["attributes"]));
            put(
                &mut lo,
                "droppedAttributesCount",
                json!(int(&l["droppedAttributesCount"]).to_string()),
            );
            put(&mut lo, "flags", json!(int(&l["flags"]).to_string()));
            J::Object(lo)
        })
        .collect();
    put(&mut o, "links", J::Array(links));
    let mut st = serde_json::Map::new();
    put(&mut st, "message", s["status"]["message"].clone());
    let code = enum_code(&s["status"]["code"], |n| {
        StatusCode::parse(n).map(StatusCode::otlp_code)
    });
    put(&mut st, "code", json!(code.to_string()));
    put(&mut o, "status", J::Object(st));
    J::Object(o)
}

/// Every span with its resource and scope, sorted, exact duplicates once (assembly drops export
/// retries). `schemaUrl` is not stored by ingest and not compared.
fn flatten(req: &J) -> Vec<J> {
    let mut out = Vec::new();
    for rs in list(&req["resourceSpans"]) {
        let resource = norm_attrs(&rs["resource"]["attributes"]);
        let scopes = if rs.get("scopeSpans").is_some() {
            &rs["scopeSpans"]
        } else {
            &rs["instrumentationLibrarySpans"]
        };
        for ss in list(scopes) {
            let sc = &ss["scope"];
            let scope = json!({ "name": text(&sc["name"]), "version": text(&sc["version"]), "attributes": norm_attrs(&sc["attributes"]) });
            for s in list(&ss["spans"]) {
                out.push(json!({ "resource": resource, "scope": scope, "span": norm_span(&s) }));
            }
        }
    }
    out.sort_by_cached_key(|v| v.to_string());
    out.dedup();
    out
}

/// The request with resources, scopes and spans in a canonical order (spans by trace and span id).
fn canonical(mut req: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    for rs in &mut req.resource_spans {
        for ss in &mut rs.scope_spans {
            ss.spans
                .sort_by(|a, b| (&a.trace_id, &a.span_id).cmp(&(&b.trace_id, &b.span_id)));
        }
        rs.scope_spans
            .sort_by_cached_key(|ss| ss.scope.as_ref().map(Message::encode_to_vec).unwrap_or_default());
    }
    req.resource_spans
        .sort_by_cached_key(|rs| rs.resource.as_ref().map(Message::encode_to_vec).unwrap_or_default());
    req
}

/// Equal requests up to order. Compared as protobuf bytes: a NaN attribute is equal to itself there.
fn assert_same(got: ExportTraceServiceRequest, want: ExportTraceServiceRequest, what: &str) {
    let (got, want) = (canonical(got), canonical(want));
    assert!(
        got.encode_to_vec() == want.encode_to_vec(),
        "{what}: requests differ\ngot  {got:?}\nwant {want:?}"
    );
}

#[test]
fn otlp_fixtures_round_trip_through_the_tables() {
    for path in otlp_fixtures() {
        let name = path.display().to_string();
        let original: J = serde_json::from_slice(&std::fs::read(&path).expect("read fixture")).expect("fixture JSON");
        let req = export_file(&path);
        let exported = request_to_json(&req);
        let (want, got) = (flatten(&original), flatten(&exported));
        assert!(!want.is_empty(), "{name}: no spans in the fixture");
        assert_eq!(want.len(), got.len(), "{name}: span count");
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(w, g, "{name}: span differs\nwant {w:#}\ngot  {g:#}");
        }
        // Grouping: one ResourceSpans per distinct resource, one ScopeSpans per distinct scope in it.
        let mut resources: Vec<String> = want.iter().map(|s| s["resource"].to_string()).collect();
        resources.dedup();
        resources.sort();
        resources.dedup();
        let mut scopes: Vec<String> = want
            .iter()
            .map(|s| format!("{}{}", s["resource"], s["scope"]))
            .collect();
        scopes.sort();
        scopes.dedup();
        assert_eq!(req.resource_spans.len(), resources.len(), "{name}: resources");
        assert_eq!(
            req.resource_spans.iter().map(|r| r.scope_spans.len()).sum::<usize>(),
            scopes.len(),
            "{name}: scopes"
        );

        // Protobuf and JSON exports ingest back to the same request.
        let again = export_bytes(&request_to_proto(&req));
        assert_same(again, req.clone(), &format!("{name}: protobuf round trip"));
        let again = export_bytes(exported.to_string().as_bytes());
        assert_same(again, req, &format!("{name}: JSON round trip"));
    }
}

#[test]
fn other_formats_export_to_a_fixed_point() {
    // Jaeger and Zipkin inputs: their export, ingested again, exports to the same request.
    let mut checked = 0;
    for dir in ["jaeger", "jaeger-ui", "zipkin"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(FIXTURES).join(dir))
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        for path in files {
            let mut raw = RawTables::new(true);
            if decode_file(&path, &mut raw).is_err() || raw.span_count() == 0 {
                continue; // not a trace file ingest accepts (e.g. UI fixtures with made-up ids)
            }
            let req = export_raw(raw);
            let again = export_bytes(&request_to_proto(&req));
            assert_same(again, req, &format!("{}: protobuf round trip", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} fixtures checked");
}

fn attr(key: &str, value: Value) -> Attr {
    Attr::new(key, value)
}

fn event(time_ns: Option<i64>, name: &str, attributes: Vec<Attr>) -> Event {
    Event {
        time_ns,
        name: name.into(),
        attributes,
        dropped_attributes_count: 0,
    }
}

fn reference(ref_type: RefType, trace_id: u128, span_id: u64, state: Option<&str>, attributes: Vec<Attr>) -> Ref {
    let trace_state = state.map(str::to_string);
    Ref {
        ref_type,
        trace_id,
        span_id,
        trace_state,
        attributes,
        dropped_attributes_count: 0,
    }
}

fn rich_span() -> Span {
    Span {
        trace_id: 0xabc,
        span_id: 0x11,
        parent_span_id: Some(0x10),
        name: "withdraw".into(),
        service: "bank".into(),
        kind: SpanKind::Server,
        start_ns: Some(1_000),
        end_ns: Some(5_000),
        status: StatusCode::Error,
        status_message: Some("insufficient funds".into()),
        scope_name: Some("lib".into()),
        scope_version: Some("2.0".into()),
        trace_state: Some("k=v".into()),
        flags: Some(1),
        attributes: vec![
            attr("s", Value::Str(String::new())),
            attr("i", Value::Int(i64::MIN)),
            attr("d", Value::Double(f64::NAN)),
            attr("b", Value::Bool(false)),
            attr("x", Value::Bytes(vec![0, 255, 7])),
            attr(
                "a",
                Value::Array(vec![
                    Value::Int(1),
                    Value::Double(1.0),
                    Value::Str("z".into()),
                    Value::Empty,
                ]),
            ),
            attr(
                "m",
                Value::Map(vec![attr("k", Value::Bool(true)), attr("n", Value::Array(vec![]))]),
            ),
            attr("e", Value::Empty),
            attr("i", Value::Int(2)),
        ],
        resource: Arc::new(vec![attr("host", Value::Str("h1".into()))]),
        scope_attributes: Arc::new(vec![attr("scope.attr", Value::Int(3))]),
        events: vec![
            event(Some(2_000), "first", vec![attr("p", Value::Int(1))]),
            event(None, "", vec![]),
            event(Some(3_000), "third", vec![attr("q", Value::Str("r".into()))]),
        ],
        refs: vec![
            reference(RefType::Link, 0xdef, 0x22, Some("a=b"), vec![attr("l", Value::Int(9))]),
            reference(RefType::FollowsFrom, 0xabc, 0x09, None, vec![]),
            reference(RefType::ChildOf, 0xabc, 0x08, None, vec![]),
        ],
        dropped_attributes_count: 4,
        dropped_events_count: 5,
        dropped_links_count: 6,
    }
}

fn s(v: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    })
}

#[test]
fn every_stored_field_is_exported() {
    let mut raw = RawTables::new(false);
    raw.push(rich_span()).unwrap();
    let req = export_raw(raw);
    assert_eq!(req.resource_spans.len(), 1);
    let rs = &req.resource_spans[0];
    let res: Vec<_> = rs
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone()))
        .collect();
    // service.name comes first (the input named a service but no such resource attribute).
    assert_eq!(res, vec![("service.name", s("bank")), ("host", s("h1"))]);
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (
            scope.name.as_str(),
            scope.version.as_str(),
            scope.attributes[0].key.as_str()
        ),
        ("lib", "2.0", "scope.attr")
    );
    let sp = &rs.scope_spans[0].spans[0];
    assert_eq!(sp.trace_id, 0xabcu128.to_be_bytes().to_vec());
    assert_eq!(sp.span_id, 0x11u64.to_be_bytes().to_vec());
    assert_eq!(sp.parent_span_id, 0x10u64.to_be_bytes().to_vec());
    assert_eq!(
        (sp.kind, sp.start_time_unix_nano, sp.end_time_unix_nano, sp.flags),
        (2, 1_000, 5_000, 1)
    );
    assert_eq!((sp.trace_state.as_str(), sp.name.as_str()), ("k=v", "withdraw"));
    assert_eq!(
        (
            sp.dropped_attributes_count,
            sp.dropped_events_count,
            sp.dropped_links_count
        ),
        (4, 5, 6)
    );
    let status = sp.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "insufficient funds"));
    let keys: Vec<&str> = sp.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["s", "i", "d", "b", "x", "a", "m", "e", "i"]);
    assert_eq!(
        sp.events
            .iter()
            .map(|e| (e.name.as_str(), e.time_unix_nano, e.attributes.len()))
            .collect::<Vec<_>>(),
        [("first", 2_000, 1), ("", 0, 0), ("third", 3_000, 1)]
    );
    assert_eq!(sp.events[2].attributes[0].key, "q");
    assert_eq!(sp.links.len(), 3);
    assert_eq!(
        (sp.links[0].trace_state.as_str(), sp.links[0].attributes.len()),
        ("a=b", 1)
    );
    assert_eq!(sp.links[0].trace_id, 0xdefu128.to_be_bytes().to_vec());
    for (link, ty) in sp.links[1..].iter().zip(["follows_from", "child_of"]) {
        assert_eq!(
            link.attributes.last().map(|kv| (kv.key.as_str(), kv.value.clone())),
            Some((REF_TYPE_KEY, s(ty)))
        );
    }
    assert_eq!(sp.links[2].span_id, 0x08u64.to_be_bytes().to_vec());

    let json = request_to_json(&req);
    let a = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
    let values: Vec<J> = list(a).iter().map(|kv| kv["value"].clone()).collect();
    assert_eq!(values[0], json!({ "stringValue": "" }));
    assert_eq!(values[1], json!({ "intValue": i64::MIN.to_string() }));
    assert_eq!(values[2], json!({ "doubleValue": "NaN" }));
    assert_eq!(values[3], json!({ "boolValue": false }));
    assert_eq!(values[4], json!({ "bytesValue": "AP8H" }));
    assert_eq!(
        values[5],
        json!({ "arrayValue": { "values": [{ "intValue": "1" }, { "doubleValue": 1.0 }, { "stringValue": "z" }, {}] } })
    );
    assert_eq!(
        values[6],
        json!({ "kvlistValue": { "values": [{ "key": "k", "value": { "boolValue": true } }, { "key": "n", "value": { "arrayValue": {} } }] } })
    );
    assert_eq!(values[7], json!({}));

    // Ingesting the export gives the same request (Jaeger references are links by then).
    let again = export_bytes(&request_to_proto(&req));
    assert_same(again, req, "rich span");
}

#[test]
fn empty_parts_give_an_empty_request() {
    let req = parts_to_request(&[]).unwrap();
    assert!(req.resource_spans.is_empty());
    assert_eq!(request_to_json(&req), json!({}));
}
