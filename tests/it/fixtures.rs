//! Every real fixture ingests, with counts and field values that were worked out from the raw JSON
//! with a separate script (python's json module), not from our decoders.

use tracecheck::engine;

use super::common::{column_strings, fixtures, scalar_i64};

/// (file, spans, traces, services) as counted from the raw JSON. Zipkin client/server halves that
/// share an id are two spans. The two otlp2jaeger files each hold the same span twice, field for
/// field (checked with python's `==` on the parsed objects): an exact duplicate, kept once.
const COUNTS: &[(&str, i64, i64, i64)] = &[
    ("zipkin/ascend.json", 8, 1, 3),
    ("zipkin/messaging-kafka.json", 28, 1, 2),
    ("zipkin/messaging2.json", 11, 1, 4),
    ("zipkin/skew.json", 4, 1, 2),
    ("zipkin/smartthings-mobile-web-install.json", 1041, 1, 16),
    ("zipkin/smartthings-oauth-authorization.json", 175, 1, 8),
    ("zipkin/yelp.json", 16, 1, 6),
    ("jaeger/ui_01.json", 5, 1, 2),
    ("jaeger/anonymizer_trace_success.json", 2, 1, 2),
    ("jaeger/otlp2jaeger-out.json", 1, 1, 1),
    ("jaeger-ui/oltp2jaeger-multi-out.json", 4, 1, 1),
    ("jaeger-ui/genaiTestTrace.json", 57, 1, 10),
    ("jaeger-ui/spanAmongEachOtherGroupedAndSpans.json", 17, 1, 2),
    ("jaeger-ui/traceGraph_testTrace.json", 11, 1, 2),
    ("otlp/opentelemetry-proto_examples_trace.json", 1, 1, 1),
    ("jaeger/otlp2jaeger-in.json", 1, 1, 1),
    ("jaeger-ui/otlp2jaeger-multi-in-combined.json", 4, 1, 1),
    ("jaeger/integration/traces/example_trace.json", 5, 1, 3),
    ("jaeger/integration/traces/multi_index_trace.json", 2, 1, 1),
    ("jaeger/integration/traces/opname_maxdur_trace.json", 2, 1, 1),
];

#[tokio::test]
async fn every_fixture_ingests_with_independent_counts() {
    let mut failures = Vec::new();
    for (file, spans, traces, services) in COUNTS {
        let path = fixtures().join(file);
        let ctx = engine::open(&[path]).await.unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = (
            scalar_i64(&ctx, "SELECT count(*) FROM spans").await,
            scalar_i64(&ctx, "SELECT count(DISTINCT trace_id) FROM spans").await,
            scalar_i64(&ctx, "SELECT count(DISTINCT service) FROM spans").await,
        );
        if got != (*spans, *traces, *services) {
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
    // 1041+175+28+16+11+8+4 Zipkin, 5+2+2+4+57+17+11 Jaeger, 1+2+4 OTLP, 38 integration-suite spans;
    // otlp2jaeger-in and -out hold one and the same span four times in all: three are exact
    // duplicates of the first (same trace, id, parent, name, kind, start, end).
    let expected = 1283 + 98 + 7 + 38 - 3;
    assert_eq!(scalar_i64(&ctx, "SELECT count(*) FROM spans").await, expected);
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
    // 87 spans without kind are local spans; 2 spans carry an `error` tag (counted in the raw JSON).
    assert_eq!(
        scalar_i64(&ctx, "SELECT count(*) FROM spans WHERE kind = 'internal'").await,
        87
    );
    assert_eq!(
        scalar_i64(&ctx, "SELECT count(*) FROM spans WHERE status = 'error'").await,
        2
    );
    assert_eq!(
        scalar_i64(&ctx, "SELECT count(*) FROM spans WHERE kind = 'server'").await,
        326
    );
    // 84 spans lack a timestamp and 175 a duration in the raw JSON.
    assert_eq!(
        scalar_i64(&ctx, "SELECT count(*) FROM spans WHERE start_time IS NULL").await,
        84
    );
    assert_eq!(
        scalar_i64(&ctx, "SELECT count(*) FROM spans WHERE duration IS NULL").await,
        175
    );
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
