//! Every trace format as people have it decodes to the same rows as the equivalent OTLP file, field
//! by field; JSON of any other shape is refused with the file named and what it holds.
//!
//! The files in `tests/fixtures/formats/` were written for these tests from each format's
//! specification (see that folder's README): one trace of three spans, told in each format.

use std::path::{Path, PathBuf};

use datafusion::arrow::util::pretty::pretty_format_batches;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tracecheck::engine;

use super::common::{column_strings, query, tracecheck};

fn formats() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats")
}

const TABLES: [&str; 4] = ["spans", "tags", "refs", "logs"];

/// Every row of a table, as printed, sorted (the order of rows is not part of the comparison).
async fn rows(ctx: &datafusion::prelude::SessionContext, table: &str) -> Vec<String> {
    let batches = query(ctx, &format!("SELECT * FROM {table}")).await;
    let text = pretty_format_batches(&batches).unwrap().to_string();
    // The header (column names) and the borders stay in place; the data rows are sorted.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.len() > 4 {
        let end = lines.len() - 1;
        lines[3..end].sort();
    }
    lines
}

async fn all_rows(path: &Path) -> Vec<Vec<String>> {
    let ctx = engine::open(&[path.to_path_buf()])
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for t in TABLES {
        out.push(rows(&ctx, t).await);
    }
    out
}

async fn assert_same_rows(expected: &Path, actual: &Path) {
    let (want, got) = (all_rows(expected).await, all_rows(actual).await);
    for (t, (w, g)) in TABLES.iter().zip(want.iter().zip(&got)) {
        assert_eq!(
            w,
            g,
            "{} vs {}: table {t} differs\nexpected:\n{}\nactual:\n{}",
            expected.display(),
            actual.display(),
            w.join("\n"),
            g.join("\n")
        );
    }
    // The comparison holds something: three spans.
    assert_eq!(want[0].len(), 4 + 3, "three spans in {}", expected.display());
}

#[tokio::test]
async fn otlp_spellings_and_wrappers_decode_to_the_same_rows() {
    let base = formats().join("otlp.json");
    // Every table has rows to compare (pretty tables: 4 lines of borders and header, then rows).
    assert!(all_rows(&base).await.iter().all(|t| t.len() > 4));
    for file in [
        "otlp-protojson.json",   // base64 ids, enum names, snake_case field names
        "otlp-legacy.json",      // instrumentationLibrarySpans / instrumentationLibrary
        "tempo-v1.json",         // {"batches": [...]}, base64 ids, legacy keys
        "tempo-v2.json",         // {"trace": {"resourceSpans": [...]}}
        "jaeger-v3.json",        // {"result": {"resourceSpans": [...]}}
        "otlp-lines.jsonl",      // one request per line
        "jaeger-v3-lines.jsonl", // api_v3's stream, one result per line
        "mixed-lines.jsonl",     // a Tempo batch, then an OTLP request
    ] {
        assert_same_rows(&base, &formats().join(file)).await;
    }
}

#[tokio::test]
async fn json_lines_gzipped_decode_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("lines.jsonl.gz");
    let text = std::fs::read(formats().join("otlp-lines.jsonl")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &text).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_same_rows(&formats().join("otlp.json"), &gz).await;
}

#[tokio::test]
async fn jaeger_api_v2_protobuf_json_matches_the_ui_form() {
    let ui = formats().join("jaeger-ui.json");
    for file in ["jaeger-api-v2-batch.json", "jaeger-api-v2-chunks.jsonl"] {
        assert_same_rows(&ui, &formats().join(file)).await;
    }
}

/// The Jaeger trace against its OTLP equivalent: every span field (at Jaeger's microseconds), the
/// attributes (without the tags Jaeger uses for what OTLP has fields for), references and logs.
#[tokio::test]
async fn jaeger_forms_match_the_equivalent_otlp() {
    const QUERIES: &[&str] = &[
        "SELECT concat_ws('|', trace_id, span_id, coalesce(parent_span_id, '-'), name, service, kind, status, \
         coalesce(status_message, '-'), CAST(flags AS VARCHAR), CAST(CAST(start_time AS BIGINT) / 1000 AS VARCHAR), \
         CAST(duration / 1000 AS VARCHAR), CAST(depth AS VARCHAR)) FROM spans ORDER BY 1",
        "SELECT span_id || ' ' || scope || ' ' || key || ':' || type || '=' || value FROM tags \
         WHERE NOT (scope = 'span' AND key IN ('span.kind', 'otel.status_code', 'otel.status_description')) \
         AND NOT (scope = 'resource' AND key = 'service.name') ORDER BY 1",
        "SELECT concat_ws('|', span_id, CAST(position AS VARCHAR), ref_type, ref_trace_id, ref_span_id) FROM refs ORDER BY 1",
        "SELECT concat_ws('|', span_id, CAST(position AS VARCHAR), CAST(time AS VARCHAR), name, fields) FROM logs ORDER BY 1",
    ];
    let otlp = engine::open(&[formats().join("jaeger-otlp.json")]).await.unwrap();
    for file in [
        "jaeger-ui.json",
        "jaeger-api-v2-batch.json",
        "jaeger-api-v2-chunks.jsonl",
    ] {
        let jaeger = engine::open(&[formats().join(file)]).await.unwrap();
        for sql in QUERIES {
            let (want, got) = (column_strings(&otlp, sql).await, column_strings(&jaeger, sql).await);
            assert!(!want.is_empty(), "{sql}");
            assert_eq!(want, got, "{file}: {sql}");
        }
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Field `field` (wire type 2) holding `body`.
fn len_field(field: u64, body: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(body.len() as u64, out);
    out.extend_from_slice(body);
}

/// OTLP protobuf as senders before OTLP 0.19 wrote it: `ResourceSpans.instrumentation_library_spans`
/// (field 1000, the messages laid out as `ScopeSpans`), alone or beside `scope_spans`, in a single
/// request and in a length-delimited stream. Decodes to the same rows as the current field.
#[tokio::test]
async fn legacy_instrumentation_library_spans_in_protobuf() {
    let span = |id: u8, parent: Option<u8>, name: &str| Span {
        trace_id: vec![7; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(id),
        end_time_unix_nano: 1_700_000_000_100_000_000,
        attributes: vec![kv("http.route", "/x")],
        ..Default::default()
    };
    let resource = Resource {
        attributes: vec![kv("service.name", "legacy")],
        ..Default::default()
    };
    let scope = |name: &str, spans: Vec<Span>| ScopeSpans {
        scope: Some(InstrumentationScope {
            name: name.into(),
            version: "0.9".into(),
            ..Default::default()
        }),
        spans,
        ..Default::default()
    };
    let (a, b) = (
        scope("lib.a", vec![span(1, None, "root"), span(2, Some(1), "child")]),
        scope("lib.b", vec![span(3, Some(1), "other")]),
    );
    let current = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource.clone()),
            scope_spans: vec![a.clone(), b.clone()],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    // The legacy field written by hand: scope_spans (2) for `a`, field 1000 for `b`; and all in 1000.
    let legacy = |both: bool| {
        let mut rs = Vec::new();
        len_field(1, &resource.encode_to_vec(), &mut rs);
        len_field(if both { 2 } else { 1000 }, &a.encode_to_vec(), &mut rs);
        len_field(1000, &b.encode_to_vec(), &mut rs);
        let mut req = Vec::new();
        len_field(1, &rs, &mut req);
        req
    };
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let base = write("current.pb", &current);
    let mut delimited = Vec::new();
    for _ in 0..2 {
        let one = legacy(false);
        varint(one.len() as u64, &mut delimited);
        delimited.extend_from_slice(&one);
    }
    for file in [
        write("legacy.pb", &legacy(false)),
        write("both.pb", &legacy(true)),
        // The same request twice: exact duplicates are kept once, so the rows are the same.
        write("legacy-delimited.pb", &delimited),
    ] {
        assert_same_rows(&base, &file).await;
    }
    let ctx = engine::open(&[write("check.pb", &legacy(false))]).await.unwrap();
    let scopes = column_strings(
        &ctx,
        "SELECT name || ' ' || scope_name || ' ' || scope_version FROM spans ORDER BY 1",
    )
    .await;
    assert_eq!(scopes, ["child lib.a 0.9", "other lib.b 0.9", "root lib.a 0.9"]);
}

/// JSON of ten shapes that are not traces: exit 2, the file named, and what it holds said.
#[test]
fn foreign_json_is_refused_with_the_file_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "tempo-search.json",
            r#"{"traces":[{"traceID":"2f3e0cee77ae5dc9c17ade3689eb2e54","rootServiceName":"shop","spanSet":{"spans":[{"spanID":"563d623c76514f8e"}],"matched":1}}],"metrics":{"inspectedBytes":"1"}}"#,
            r#"a JSON object with keys "traces", "metrics""#,
        ),
        (
            "prometheus.json",
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            r#"keys "status", "data""#,
        ),
        ("empty-object.json", "{}", "an empty JSON object"),
        ("numbers.json", "[1, 2, 3]", "a JSON array of numbers"),
        ("strings.json", r#"["a", "b"]"#, "a JSON array of strings"),
        ("arrays.json", "[[1], [2]]", "a JSON array of arrays"),
        (
            "objects.json",
            r#"[{"id": 1, "login": "octocat"}]"#,
            r#"a JSON array of objects with keys "id", "login""#,
        ),
        (
            "string.json",
            r#""resourceSpans""#,
            "not a trace format: starts with byte 0x22",
        ),
        (
            "grafana-frame.json",
            r#"{"results":{"A":{"frames":[{"schema":{"fields":[]},"data":{"values":[]}}]}}}"#,
            r#"keys "results""#,
        ),
        (
            "zipkin-v1.json",
            r#"[{"traceId":"a","id":"b","name":"get","annotations":[{"timestamp":1,"value":"cs","endpoint":{"serviceName":"x"}}],"binaryAnnotations":[]}]"#,
            "Zipkin v1",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, text, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = tracecheck(
            &[
                "ingest",
                path.to_str().unwrap(),
                "-o",
                dir.path().join("ds").to_str().unwrap(),
            ],
            dir.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(&*path.to_string_lossy()), "{name} not named: {stderr}");
        assert!(stderr.contains(says), "{name}: expected {says:?} in: {stderr}");
    }
    // A line of another shape in JSON lines is placed by document and line.
    let path = dir.path().join("lines.jsonl");
    std::fs::write(&path, "{\"resourceSpans\": []}\n{\"traces\": []}\n").unwrap();
    let out = tracecheck(
        &[
            "ingest",
            path.to_str().unwrap(),
            "-o",
            dir.path().join("ds2").to_str().unwrap(),
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("document 2 (line 2)"), "{stderr}");
    assert!(stderr.contains(r#"a JSON object with keys "traces""#), "{stderr}");
}

/// A recognisable trace file that holds no spans is not an error.
#[test]
fn recognisable_files_without_spans_ingest_as_zero_spans() {
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in [
        r#"{"resourceSpans": []}"#,
        r#"{"batches": []}"#,
        r#"{"trace": {}}"#,
        r#"{"result": {"resourceSpans": []}}"#,
        r#"{"data": [], "total": 0, "limit": 0, "offset": 0, "errors": null}"#,
        r#"{"batch": {"spans": [], "process": {"serviceName": "x"}}}"#,
        "[]",
    ]
    .iter()
    .enumerate()
    {
        let path = dir.path().join(format!("empty-{i}.json"));
        std::fs::write(&path, text).unwrap();
        let ds = dir.path().join(format!("ds-{i}"));
        let out = tracecheck(
            &["ingest", path.to_str().unwrap(), "-o", ds.to_str().unwrap()],
            dir.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{text}: {stderr}");
        let said = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
        assert!(said.contains("ingested 0 spans"), "{text}: {said}");
    }
}
