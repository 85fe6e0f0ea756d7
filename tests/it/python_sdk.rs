//! Spans from a client no one here wrote: the official OpenTelemetry Python SDK exports over
//! OTLP/gRPC and OTLP/HTTP to `tracecheck collect`; every span arrives with all its attributes,
//! events, links, status, resource and scope (`tests/python/otlp_export.py` prints what it sent).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value as J;

use super::collect::CollectorProc;
use super::common::tracecheck_ok;

/// Rows of a query as JSON objects (nulls left out).
fn rows(dir: &Path, sql: &str) -> Vec<J> {
    let out = tracecheck_ok(
        &["sql", "--data", dir.to_str().unwrap(), "--format", "json", sql],
        dir.parent().unwrap(),
    );
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn export(protocol: &str, endpoint: &str, extra: &[&str]) -> J {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/otlp_export.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["--protocol", protocol, "--endpoint", endpoint])
        .args(extra)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "otlp_export.py failed (is .ci/requirements.txt installed?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// The tags of one owner, keyed by attribute key.
type Tags = HashMap<String, J>;

fn tags(dir: &Path) -> HashMap<(String, String, i64), Tags> {
    let mut out: HashMap<(String, String, i64), Tags> = HashMap::new();
    for r in rows(dir, "SELECT * FROM tags") {
        let owner = (
            r["span_id"].as_str().unwrap().to_string(),
            r["scope"].as_str().unwrap().to_string(),
            r.get("position").and_then(J::as_i64).unwrap_or(-1),
        );
        out.entry(owner)
            .or_default()
            .insert(r["key"].as_str().unwrap().to_string(), r);
    }
    out
}

/// Asserts that every sent attribute is a tag of the right type and value.
fn assert_attrs(sent: &J, got: Option<&Tags>, what: &str) {
    let sent = sent.as_array().unwrap();
    let empty = Tags::new();
    let got = got.unwrap_or(&empty);
    assert_eq!(
        got.len(),
        sent.len(),
        "{what}: tag keys {:?}",
        got.keys().collect::<Vec<_>>()
    );
    for a in sent {
        let key = a["key"].as_str().unwrap();
        let row = got.get(key).unwrap_or_else(|| panic!("{what}: no tag {key}"));
        let (ty, v) = (a["type"].as_str().unwrap(), &a["value"]);
        assert_eq!(row["type"], *ty, "{what}.{key}");
        match ty {
            "string" => assert_eq!(
                row.get("str_value").unwrap_or(&J::String(String::new())),
                v,
                "{what}.{key}"
            ),
            "bool" => assert_eq!(row["bool_value"], *v, "{what}.{key}"),
            "int" => assert_eq!(row["int_value"].as_i64(), v.as_i64(), "{what}.{key}"),
            "double" => assert_eq!(row["double_value"].as_f64(), v.as_f64(), "{what}.{key}"),
            "array" => {
                let stored: J = serde_json::from_str(row["value"].as_str().unwrap()).unwrap();
                let (s, e) = (stored.as_array().unwrap(), v.as_array().unwrap());
                assert_eq!(s.len(), e.len(), "{what}.{key}");
                for (x, y) in s.iter().zip(e) {
                    match (x.as_f64(), y.as_f64()) {
                        (Some(a), Some(b)) => assert_eq!(a, b, "{what}.{key}"),
                        _ => assert_eq!(x, y, "{what}.{key}"),
                    }
                }
            }
            other => panic!("unexpected attribute type {other}"),
        }
    }
}

fn check_dataset(dir: &Path, sent: &J) {
    let spans = rows(
        dir,
        "SELECT trace_id, span_id, parent_span_id, name, service, kind, status, status_message, scope_name, \
         scope_version, CAST(start_time AS BIGINT) AS start_ns, CAST(end_time AS BIGINT) AS end_ns FROM spans",
    );
    let by_id: HashMap<&str, &J> = spans.iter().map(|r| (r["span_id"].as_str().unwrap(), r)).collect();
    let sent_spans = sent["spans"].as_array().unwrap();
    assert_eq!(spans.len(), sent_spans.len());
    let tags = tags(dir);
    let logs = rows(
        dir,
        "SELECT span_id, position, name, CAST(time AS BIGINT) AS t FROM logs",
    );
    let refs = rows(
        dir,
        "SELECT span_id, position, ref_type, ref_trace_id, ref_span_id FROM refs",
    );
    let scope = &sent["scope"];
    for s in sent_spans {
        let id = s["span_id"].as_str().unwrap();
        let row = by_id.get(id).unwrap_or_else(|| panic!("span {id} missing"));
        let name = s["name"].as_str().unwrap();
        assert_eq!(row["trace_id"], s["trace_id"], "{name}");
        assert_eq!(
            row.get("parent_span_id").unwrap_or(&J::Null),
            &s["parent_span_id"],
            "{name}"
        );
        assert_eq!(row["name"], s["name"]);
        assert_eq!(row["kind"], s["kind"], "{name}");
        assert_eq!(row["service"], "py-client");
        assert_eq!(row["start_ns"].as_i64(), s["start_time_unix_nano"].as_i64(), "{name}");
        assert_eq!(row["end_ns"].as_i64(), s["end_time_unix_nano"].as_i64(), "{name}");
        assert_eq!(row["status"], s["status"]["code"], "{name}");
        assert_eq!(
            row.get("status_message").unwrap_or(&J::Null),
            &s["status"]["message"],
            "{name}"
        );
        assert_eq!(row["scope_name"], scope["name"]);
        assert_eq!(row["scope_version"], scope["version"]);
        let owner = |scope: &str, pos: i64| tags.get(&(id.to_string(), scope.to_string(), pos));
        assert_attrs(&s["attributes"], owner("span", -1), &format!("{name} attributes"));
        assert_attrs(
            &sent["resource"]["attributes"],
            owner("resource", -1),
            &format!("{name} resource"),
        );
        assert_attrs(&scope["attributes"], owner("scope", -1), &format!("{name} scope"));
        let events = s["events"].as_array().unwrap();
        let mut got_logs: Vec<&J> = logs.iter().filter(|l| l["span_id"] == id).collect();
        got_logs.sort_by_key(|l| l["position"].as_i64());
        assert_eq!(got_logs.len(), events.len(), "{name} events");
        for (i, (e, l)) in events.iter().zip(&got_logs).enumerate() {
            assert_eq!(l["name"], e["name"], "{name} event {i}");
            assert_eq!(l["t"].as_i64(), e["time_unix_nano"].as_i64(), "{name} event {i}");
            let pos = l["position"].as_i64().unwrap();
            assert_attrs(&e["attributes"], owner("event", pos), &format!("{name} event {i}"));
        }
        let links = s["links"].as_array().unwrap();
        let got_links: Vec<&J> = refs
            .iter()
            .filter(|r| r["span_id"] == id && r["ref_type"] == "link")
            .collect();
        assert_eq!(got_links.len(), links.len(), "{name} links");
        for (i, (l, r)) in links.iter().zip(&got_links).enumerate() {
            assert_eq!(r["ref_trace_id"], l["trace_id"], "{name} link {i}");
            assert_eq!(r["ref_span_id"], l["span_id"], "{name} link {i}");
            let pos = r["position"].as_i64().unwrap();
            assert_attrs(&l["attributes"], owner("link", pos), &format!("{name} link {i}"));
        }
    }
}

fn python_sdk_export(protocol: &str, extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let c = CollectorProc::start(&dir, &["--trace-idle", "60s", "--auth-token", "py-secret"]);
    let endpoint = if protocol == "grpc" {
        c.grpc.clone()
    } else {
        c.http.clone()
    };
    let mut args = vec!["--header", "authorization=Bearer py-secret"];
    args.extend_from_slice(extra);
    let sent = export(protocol, &endpoint, &args);
    let stderr = c.stop();
    let n = sent["spans"].as_array().unwrap().len();
    assert!(stderr.contains(&format!("collected {n} spans")), "{stderr}");
    check_dataset(&dir, &sent);
}

#[test]
fn python_sdk_over_grpc_arrives_whole() {
    python_sdk_export("grpc", &[]);
}

#[test]
fn python_sdk_over_http_arrives_whole() {
    python_sdk_export("http", &[]);
}

#[test]
fn python_sdk_over_http_gzip_arrives_whole() {
    python_sdk_export("http", &["--compression", "gzip"]);
}

#[test]
fn python_sdk_over_grpc_gzip_arrives_whole() {
    python_sdk_export("grpc", &["--compression", "gzip"]);
}
