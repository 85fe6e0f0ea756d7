//! Every real fixture ingests, with counts and field values worked out from the raw JSON, not from
//! our decoders: the counts by [`raw_spans`] below (serde_json and a few lines per format), the
//! field values read from the files by eye.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use tracecheck::engine;

use super::common::{column_strings, fixtures, scalar_i64};

/// The fixtures whose spans, traces and services are counted, each read alone.
const FILES: &[&str] = &[
    "zipkin/ascend.json",
    "zipkin/messaging-kafka.json",
    "zipkin/messaging2.json",
    "zipkin/skew.json",
    "zipkin/smartthings-mobile-web-install.json",
    "zipkin/smartthings-oauth-authorization.json",
    "zipkin/yelp.json",
    "jaeger/ui_01.json",
    "jaeger/anonymizer_trace_success.json",
    "jaeger/otlp2jaeger-out.json",
    "jaeger-ui/oltp2jaeger-multi-out.json",
    "jaeger-ui/genaiTestTrace.json",
    "jaeger-ui/spanAmongEachOtherGroupedAndSpans.json",
    "jaeger-ui/traceGraph_testTrace.json",
    "otlp/opentelemetry-proto_examples_trace.json",
    "jaeger/otlp2jaeger-in.json",
    "jaeger-ui/otlp2jaeger-multi-in-combined.json",
    "jaeger/integration/traces/example_trace.json",
    "jaeger/integration/traces/multi_index_trace.json",
    "jaeger/integration/traces/opname_maxdur_trace.json",
];

/// A span as the raw JSON states it: ids lower-case hex, padded to 32 and 16 digits; times in ns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RawSpan {
    pub(super) trace_id: String,
    pub(super) span_id: String,
    /// Empty for a root.
    pub(super) parent_id: String,
    pub(super) name: String,
    pub(super) start_ns: Option<i64>,
    pub(super) end_ns: Option<i64>,
    pub(super) service: Option<String>,
}

fn hex(v: &Value, width: usize) -> String {
    let s = v.as_str().unwrap_or_default().to_ascii_lowercase();
    if s.is_empty() {
        s
    } else {
        format!("{s:0>width$}")
    }
}

/// An integer given as a JSON number or a string (OTLP/JSON writes 64-bit integers as strings).
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A Jaeger UI trace (`{"traceID", "spans", "processes"}`) or bare spans with an embedded `process`.
/// The parent is the first `CHILD_OF` reference into the same trace; times are in µs.
fn jaeger_spans(spans: &[Value], processes: &Value, out: &mut Vec<RawSpan>) {
    for s in spans {
        let process = s
            .get("process")
            .unwrap_or(&processes[s["processID"].as_str().unwrap_or_default()]);
        let parent = s["references"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["refType"] == "CHILD_OF" && r["traceID"] == s["traceID"])
            .map_or(String::new(), |r| hex(&r["spanID"], 16));
        let start = int(&s["startTime"]).map(|us| us * 1000);
        out.push(RawSpan {
            trace_id: hex(&s["traceID"], 32),
            span_id: hex(&s["spanID"], 16),
            parent_id: parent,
            name: s["operationName"].as_str().unwrap_or_default().to_string(),
            start_ns: start,
            end_ns: start.zip(int(&s["duration"])).map(|(t, d)| t + d * 1000),
            service: process["serviceName"].as_str().map(str::to_string),
        });
    }
}

/// The spans of a real fixture (Zipkin v2, Jaeger UI or OTLP/JSON), read with serde_json and
/// nothing of tracecheck's, in file order without exact duplicates: a span whose trace, id,
/// parent, name, start and end repeat an earlier one (tracecheck keeps such a span once, see
/// `store/assemble.rs`; the otlp2jaeger files each hold one span twice, field for field). Zipkin
/// client/server halves that share an id differ in times and stay two spans.
pub(super) fn raw_spans(path: &Path) -> Vec<RawSpan> {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut all = Vec::new();
    match &doc {
        // Zipkin v2: an array of spans with `traceId`; times in µs.
        Value::Array(spans) if spans.iter().all(|s| s.get("traceId").is_some()) => {
            for s in spans {
                let start = int(&s["timestamp"]).map(|us| us * 1000);
                all.push(RawSpan {
                    trace_id: hex(&s["traceId"], 32),
                    span_id: hex(&s["id"], 16),
                    parent_id: hex(&s["parentId"], 16),
                    name: s["name"].as_str().unwrap_or_default().to_string(),
                    start_ns: start,
                    end_ns: start.zip(int(&s["duration"])).map(|(t, d)| t + d * 1000),
                    service: s["localEndpoint"]["serviceName"].as_str().map(str::to_string),
                });
            }
        }
        Value::Array(spans) => jaeger_spans(spans, &Value::Null, &mut all),
        Value::Object(o) if o.contains_key("resourceSpans") => {
            for rs in o["resourceSpans"].as_array().unwrap() {
                let service = rs["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["key"] == "service.name")
                    .and_then(|a| a["value"]["stringValue"].as_str())
                    .map(str::to_string);
                for ss in rs["scopeSpans"].as_array().unwrap() {
                    for s in ss["spans"].as_array().unwrap() {
                        all.push(RawSpan {
                            trace_id: hex(&s["traceId"], 32),
                            span_id: hex(&s["spanId"], 16),
                            parent_id: hex(&s["parentSpanId"], 16),
                            name: s["name"].as_str().unwrap_or_default().to_string(),
                            start_ns: int(&s["startTimeUnixNano"]),
                            end_ns: int(&s["endTimeUnixNano"]),
                            service: service.clone(),
                        });
                    }
                }
            }
        }
        Value::Object(o) if o.contains_key("data") => {
            for t in o["data"].as_array().unwrap() {
                jaeger_spans(t["spans"].as_array().unwrap(), &t["processes"], &mut all);
            }
        }
        Value::Object(_) => jaeger_spans(doc["spans"].as_array().unwrap(), &doc["processes"], &mut all),
        _ => panic!("{}: not a trace file", path.display()),
    }
    distinct(all)
}

/// `spans` without the ones whose trace, id, parent, name, start and end repeat an earlier span.
pub(super) fn distinct(mut spans: Vec<RawSpan>) -> Vec<RawSpan> {
    let mut seen = BTreeSet::new();
    spans.retain(|s| {
        seen.insert((
            s.trace_id.clone(),
            s.span_id.clone(),
            s.parent_id.clone(),
            s.name.clone(),
            s.start_ns,
            s.end_ns,
        ))
    });
    spans
}

/// The spans of a Zipkin v2 file as JSON objects.
pub(super) fn zipkin_json(path: &Path) -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (spans, traces, services) of `spans`.
pub(super) fn raw_counts(spans: &[RawSpan]) -> (i64, i64, i64) {
    let distinct = |f: fn(&RawSpan) -> Option<&str>| spans.iter().map(f).collect::<BTreeSet<_>>().len() as i64;
    (
        spans.len() as i64,
        distinct(|s| Some(&s.trace_id)),
        distinct(|s| s.service.as_deref()),
    )
}

#[tokio::test]
async fn every_fixture_ingests_with_independent_counts() {
    let mut failures = Vec::new();
    for file in FILES {
        let path = fixtures().join(file);
        let (spans, traces, services) = raw_counts(&raw_spans(&path));
        assert!(spans > 0, "{file}: no spans read from the raw JSON");
        let ctx = engine::open(&[path]).await.unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = (
            scalar_i64(&ctx, "SELECT count(*) FROM spans").await,
            scalar_i64(&ctx, "SELECT count(DISTINCT trace_id) FROM spans").await,
            scalar_i64(&ctx, "SELECT count(DISTINCT service) FROM spans").await,
        );
        if got != (spans, traces, services) {
            failures.push(format!("{file}: expected {:?}, got {got:?}", (spans, traces, services)));
        }
        // After assembly, span ids are unique within a trace and the nested set is consistent.
        let dup = scalar_i64(
            &ctx,
            "SELECT count(*) FROM (SELECT trace_id, span_id FROM spans GROUP BY 1, 2 HAVING count(*) > 1)",
        )
        .await;
        let bad_nest = scalar_i64(
            &ctx,
            "SELECT count(*) FROM spans WHERE nested_left >= nested_right OR nested_left < 1",
        )
        .await;
        if dup != 0 || bad_nest != 0 {
            failures.push(format!("{file}: {dup} duplicate ids, {bad_nest} bad nested intervals"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn every_fixture_file_in_the_folder_ingests() {
    // Including the Jaeger suite's 32 traces: every trace file under fixtures/ decodes at once
    // (the suite's queries.json is not a trace file).
    let inputs: Vec<_> = ["zipkin", "jaeger-ui", "otlp", "jaeger/integration/traces"]
        .iter()
        .map(|d| fixtures().join(d))
        .chain(
            [
                "ui_01.json",
                "anonymizer_trace_success.json",
                "otlp2jaeger-out.json",
                "otlp2jaeger-in.json",
            ]
            .iter()
            .map(|f| fixtures().join("jaeger").join(f)),
        )
        .collect();
    let ctx = engine::open(&inputs).await.expect("all fixtures ingest");
    // The spans of every file, read from the raw JSON; a span stated in several files counts once:
    // otlp2jaeger-in (OTLP) and -out (its Jaeger conversion) hold one and the same span four times
    // in all; in the other conversion pair the Jaeger side cuts the end times to whole µs, so its
    // spans are not duplicates of the OTLP ones.
    let mut files = Vec::new();
    for input in &inputs {
        if input.is_dir() {
            let mut listed: Vec<_> = std::fs::read_dir(input)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            listed.sort();
            files.extend(listed);
        } else {
            files.push(input.clone());
        }
    }
    let raw = distinct(files.iter().flat_map(|f| raw_spans(f)).collect());
    let (spans, traces, _) = raw_counts(&raw);
    assert_eq!(scalar_i64(&ctx, "SELECT count(*) FROM spans").await, spans);
    assert_eq!(
        scalar_i64(&ctx, "SELECT count(DISTINCT trace_id) FROM spans").await,
        traces
    );
}

#[tokio::test]
async fn jaeger_tag_types_and_references() {
    let ctx = engine::open(&[fixtures().join("jaeger/ui_01.json")]).await.unwrap();
    // ui_01's second span carries one tag of every Jaeger type (values read from the file).
    let rows = column_strings(
        &ctx,
        "SELECT key || ':' || type || ':' || value FROM tags WHERE scope = 'span' AND key IN \
         ('peer.ipv4','error','temperature','javascript_limit','blob','peer.service') ORDER BY key",
    )
    .await;
    assert_eq!(
        rows,
        [
            "blob:bytes:AAAwOQ==",
            "error:bool:true",
            "javascript_limit:int:9223372036854775222",
            "peer.ipv4:int:23456",
            "peer.service:string:service-y",
            "temperature:double:72.5",
        ]
    );
    // Span 4 has CHILD_OF (other trace), CHILD_OF span 2, FOLLOWS_FROM span 2: the parent is the first
    // CHILD_OF in the same trace; every reference is in refs.
    let parent = column_strings(&ctx, "SELECT parent_span_id FROM spans WHERE name = 'reference-test'").await;
    assert_eq!(parent, ["0000000000000002"]);
    let refs = column_strings(
        &ctx,
        "SELECT r.ref_type || ':' || r.ref_trace_id || ':' || r.ref_span_id FROM refs r JOIN spans s \
         ON r.trace_id = s.trace_id AND r.span_id = s.span_id WHERE s.name = 'reference-test' ORDER BY r.position",
    )
    .await;
    assert_eq!(
        refs,
        [
            "child_of:00000000000000000000000000000001:0000000000000002",
            "child_of:000000000000000000000000000000ff:00000000000000ff",
            "follows_from:00000000000000000000000000000001:0000000000000002",
        ]
    );
    // Two logs on the first span; the `event` field names the first.
    let logs = column_strings(&ctx, "SELECT name FROM logs ORDER BY span_id, position").await;
    assert_eq!(logs[0], "some-event");
}

#[tokio::test]
async fn zipkin_halves_and_missing_fields() {
    let ctx = engine::open(&[fixtures().join("zipkin/smartthings-mobile-web-install.json")])
        .await
        .unwrap();
    // Counted in the raw JSON: spans without kind are local spans, spans with an `error` tag (any
    // value) are errors, and some spans lack a timestamp or a duration.
    let raw = zipkin_json(&fixtures().join("zipkin/smartthings-mobile-web-install.json"));
    let count = |f: &dyn Fn(&Value) -> bool| raw.iter().filter(|s| f(s)).count() as i64;
    let cases: [(&str, i64); 5] = [
        ("kind = 'internal'", count(&|s| s.get("kind").is_none())),
        ("status = 'error'", count(&|s| s["tags"].get("error").is_some())),
        ("kind = 'server'", count(&|s| s["kind"] == "SERVER")),
        ("start_time IS NULL", count(&|s| s.get("timestamp").is_none())),
        ("duration IS NULL", count(&|s| s.get("duration").is_none())),
    ];
    for (condition, want) in cases {
        assert!(want > 0, "{condition}: the fixture has such spans");
        assert_eq!(
            scalar_i64(&ctx, &format!("SELECT count(*) FROM spans WHERE {condition}")).await,
            want,
            "{condition}"
        );
    }
    // The 64-bit trace id is left-padded.
    let ids = column_strings(&ctx, "SELECT DISTINCT trace_id FROM spans").await;
    assert_eq!(ids.len(), 1);
    assert!(ids[0].starts_with("0000000000000000") && ids[0].len() == 32, "{ids:?}");
}

#[tokio::test]
async fn otlp_example_fields() {
    let ctx = engine::open(&[fixtures().join("otlp/opentelemetry-proto_examples_trace.json")])
        .await
        .unwrap();
    let row = column_strings(
        &ctx,
        "SELECT trace_id || '|' || span_id || '|' || parent_span_id || '|' || name || '|' || service || '|' || kind \
         || '|' || CAST(duration AS VARCHAR) || '|' || scope_name || '|' || scope_version FROM spans",
    )
    .await;
    assert_eq!(
        row,
        ["5b8efff798038103d269b633813fc60c|eee19b7ec3c1b174|eee19b7ec3c1b173|I'm a server span|my.service|server|1000000000|my.library|1.0.0"]
    );
    let scopes = column_strings(
        &ctx,
        "SELECT scope || ':' || key || '=' || value FROM tags ORDER BY scope, key",
    )
    .await;
    assert_eq!(
        scopes,
        [
            "resource:service.name=my.service",
            "scope:my.scope.attribute=some scope attribute",
            "span:my.span.attr=some value"
        ]
    );
}
