//! `tracecheck show`: one trace as a waterfall in the terminal.

use std::path::Path;

use super::common::{fixtures, tracecheck, tracecheck_ok};
use super::fixtures::{raw_counts, raw_spans, zipkin_json};
use super::html_escape::{hostile_zipkin, HOSTILE_TRACE};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn smartthings() -> String {
    fixtures()
        .join("zipkin/smartthings-mobile-web-install.json")
        .to_str()
        .unwrap()
        .to_string()
}

/// The one value `tracecheck sql QUERY --data DATA` returns.
fn sql_value(data: &str, query: &str) -> String {
    let csv = tracecheck_ok(&["sql", query, "--data", data, "--format", "csv"], repo());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one row: {csv:?}");
    lines[1].to_string()
}

/// The bar column of a waterfall line (between the two `|`).
fn bar(line: &str) -> &str {
    let start = line.find('|').unwrap() + 1;
    &line[start..start + line[start..].find('|').unwrap()]
}

#[test]
fn show_draws_every_span_of_the_smartthings_trace() {
    let data = smartthings();
    let short = tracecheck_ok(&["show", "14B60FD9AE504820", "--data", &data], repo());
    let full = tracecheck_ok(&["show", "000000000000000014b60fd9ae504820", "--data", &data], repo());
    assert_eq!(short, full, "case and leading zeros do not matter");
    // Spans and services counted in the raw JSON; errors are the spans with an `error` tag, the
    // root the span without a parent; the depth is the one the data's `depth` column holds.
    let (spans, _, services) = raw_counts(&raw_spans(Path::new(&data)));
    let raw = zipkin_json(Path::new(&data));
    let errors = raw.iter().filter(|s| s["tags"].get("error").is_some()).count();
    let roots: Vec<&str> = raw
        .iter()
        .filter(|s| s.get("parentId").is_none())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(roots.len(), 1, "one root: {roots:?}");
    let deepest = sql_value(&data, "SELECT max(depth) FROM spans");
    let lines: Vec<&str> = short.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "trace 000000000000000014b60fd9ae504820: {spans} spans, {services} services, "
        )),
        "{}",
        lines[0]
    );
    let rows = &lines[2..lines.len() - 1];
    assert_eq!(rows.len() as i64, spans);
    assert_eq!(
        rows.iter().filter(|l| l.starts_with(" !")).count(),
        errors,
        "the error spans"
    );
    assert!(
        rows[0].starts_with(&format!("   {} ", roots[0])),
        "the root first: {}",
        rows[0]
    );
    assert!(rows.iter().all(|l| bar(l).chars().count() == 40), "default width 40");
    assert!(rows.iter().all(|l| l.ends_with("ms") || l.ends_with('-')));
    assert!(
        rows.iter().any(|l| l.contains(&format!("[depth {deepest}]"))),
        "the deepest span keeps its depth"
    );

    let marked = tracecheck_ok(
        &[
            "show",
            "14b60fd9ae504820",
            "--data",
            &data,
            "--width",
            "12",
            "--mark",
            "71687CB74971C333",
        ],
        repo(),
    );
    let rows: Vec<&str> = marked.lines().skip(2).filter(|l| l.contains('|')).collect();
    assert!(rows.iter().all(|l| bar(l).chars().count() == 12), "--width 12");
    let starred: Vec<&&str> = rows.iter().filter(|l| l.starts_with('*')).collect();
    assert_eq!(starred.len(), 1, "--mark names one span");
    assert!(
        starred[0].starts_with("*!"),
        "the marked span is an error span: {}",
        starred[0]
    );
}

#[test]
fn show_on_the_bank_dataset_scales_bars_to_the_trace() {
    let trace = "0d2ffd6c5426166ecdad25b8788bbc88";
    let spans = sql_value(
        "datasets/bank",
        &format!("SELECT count(*) FROM spans WHERE trace_id = '{trace}'"),
    );
    let out = tracecheck_ok(&["show", trace, "--data", "datasets/bank", "--width", "20"], repo());
    let rows: Vec<&str> = out.lines().skip(2).filter(|l| l.contains('|')).collect();
    assert_eq!(rows.len().to_string(), spans, "one row per span of the trace");
    // The root spans the whole trace, so its bar fills the column.
    assert_eq!(bar(rows[0]), "█".repeat(20));
    assert!(
        rows.iter().skip(1).all(|l| l[3..].starts_with("  ")),
        "children are indented"
    );
}

#[test]
fn show_fails_clearly_on_unknown_or_malformed_ids() {
    let data = smartthings();
    let missing = tracecheck(&["show", "abcdef", "--data", &data], repo());
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("trace 00000000000000000000000000abcdef is not in the data"),
        "{err}"
    );
    for bad in ["x' OR 1=1 --", "0000", &"f".repeat(33)] {
        let out = tracecheck(&["show", bad, "--data", &data], repo());
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("trace id"), "{bad}");
    }
    let out = tracecheck(&["show", "a1", "--data", &data, "--mark", "zz"], repo());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("span id \"zz\" is not hexadecimal"));
}

#[test]
fn show_escapes_control_characters_from_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = hostile_zipkin(dir.path());
    let out = tracecheck_ok(&["show", HOSTILE_TRACE, "--data", data.to_str().unwrap()], repo());
    assert!(!out.contains('\u{1b}'), "no raw escape sequence reaches the terminal");
    assert!(out.contains("evil\\u{1b}[2J\\u{1b}[31mred"), "{out}");
}
