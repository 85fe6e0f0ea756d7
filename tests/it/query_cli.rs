//! `tracecheck query` and `tracecheck explain --traceql` as a user runs them: formats, --limit,
//! metrics ranges, exit codes and the errors a bad query gets.

use std::collections::BTreeSet;
use std::path::Path;

use super::common::{tracecheck, tracecheck_ok};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sql_count(sql: &str) -> usize {
    let out = tracecheck_ok(&["sql", sql, "--data", "datasets/bank", "--format", "csv"], repo());
    out.lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn query_prints_the_matching_spans_in_every_format() {
    let q = r#"{ name = "withdrawal" && span.amount > 900 }"#;
    let csv = tracecheck_ok(&["query", q, "--data", "datasets/bank", "--format", "csv"], repo());
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("trace_id,span_id"));
    let rows: Vec<&str> = lines.collect();
    let expected = sql_count(
        "SELECT count(*) FROM spans s JOIN tags t ON t.trace_id = s.trace_id AND t.span_id = s.span_id \
         WHERE s.name = 'withdrawal' AND t.key = 'amount' AND t.scope = 'span' \
         AND COALESCE(CAST(t.int_value AS DOUBLE), t.double_value) > 900",
    );
    assert!(expected > 10, "the bank has large withdrawals: {expected}");
    assert_eq!(rows.len(), expected);
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(rows, sorted, "rows come sorted by trace and span id");

    let json = tracecheck_ok(&["query", q, "--data", "datasets/bank", "--format", "json"], repo());
    let objects: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), expected);
    assert_eq!(objects[0]["trace_id"].as_str().unwrap().len(), 32);
    assert_eq!(objects[0]["span_id"].as_str().unwrap().len(), 16);

    let table = tracecheck_ok(&["query", q, "--data", "datasets/bank"], repo());
    assert!(table.contains("| trace_id"), "{table}");
}

#[test]
fn query_limit_by_select_and_no_match() {
    let out = tracecheck_ok(
        &[
            "query",
            "{ } | select(name, resource.service.name)",
            "--data",
            "datasets/bank",
            "--format",
            "csv",
            "--limit",
            "3",
        ],
        repo(),
    );
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("trace_id,span_id,span:name,resource.service.name"));
    let rows: Vec<&str> = lines.collect();
    let traces: BTreeSet<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(traces.len(), 3, "{out}");
    assert!(
        rows.iter().any(|r| r.contains(r#""""withdrawal""""#)),
        "names print quoted: {out}"
    );

    let out = tracecheck_ok(
        &[
            "query",
            "{ status = error } | by(resource.service.name)",
            "--data",
            "datasets/bank",
            "--format",
            "json",
        ],
        repo(),
    );
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(first["by"].as_str().unwrap().starts_with('"'), "{first}");

    let none = tracecheck(
        &[
            "query",
            r#"{ name = "no such span" }"#,
            "--data",
            "datasets/bank",
            "--format",
            "csv",
        ],
        repo(),
    );
    assert_eq!(none.status.code(), Some(0), "no match is not an error");
    assert_eq!(String::from_utf8_lossy(&none.stdout).trim(), "");
}

#[test]
fn metrics_query_gives_one_row_per_series_and_step() {
    let out = tracecheck_ok(
        &[
            "query",
            "{ kind = server } | count_over_time() by (resource.service.name)",
            "--data",
            "datasets/bank",
            "--format",
            "csv",
            "--start",
            "2025-12-31T23:00:00Z",
            "--end",
            "2026-01-01T01:00:00Z",
            "--step",
            "10m",
        ],
        repo(),
    );
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("resource.service.name,step_start,value"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let series: BTreeSet<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        rows.len(),
        series.len() * 12,
        "12 steps of 10 minutes, zero-filled: {out}"
    );
    let total: f64 = rows.iter().map(|r| r[2].parse::<f64>().unwrap()).sum();
    assert_eq!(
        total as usize,
        sql_count("SELECT count(*) FROM spans WHERE kind = 'server'")
    );

    // Without a range: the data's, in 60 steps.
    let out = tracecheck_ok(
        &["query", "{ } | rate()", "--data", "datasets/bank", "--format", "csv"],
        repo(),
    );
    let rows = out.lines().count() - 1;
    assert!((60..=61).contains(&rows), "{out}");
}

#[test]
fn bad_queries_exit_2_with_the_position() {
    let out = tracecheck(&["query", r#"{ name = "x" && }"#, "--data", "datasets/bank"], repo());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("query:1:17"), "{err}");
    assert!(err.contains("expected"), "{err}");

    let out = tracecheck(&["query", "{ } | rate() | topk(3)", "--data", "datasets/bank"], repo());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not supported"),
        "{out:?}"
    );

    let out = tracecheck(&["query", "{ }", "--data", "no/such/dataset"], repo());
    assert_eq!(out.status.code(), Some(2));

    let out = tracecheck(&["explain", "--traceql", "{ } | rate()"], repo());
    assert_eq!(out.status.code(), Some(2), "a metrics query needs a range or data");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--start"), "{out:?}");
}

#[test]
fn explain_traceql_prints_sql_and_with_data_the_plan() {
    let q = r#"{ name = "withdrawal" } >> { name = "rollback" }"#;
    let sql = tracecheck_ok(&["explain", "--traceql", q], repo());
    assert!(sql.starts_with(&format!("-- TraceQL: {q}\nWITH ")), "{sql}");
    assert!(sql.contains("EXISTS"), "{sql}");
    let planned = tracecheck_ok(&["explain", "--traceql", q, "--data", "datasets/bank"], repo());
    assert!(planned.contains("-- plan on local:"), "{planned}");
    assert!(planned.contains("HashJoinExec"), "{planned}");
}
