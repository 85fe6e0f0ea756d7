//! The command line end to end: real files in temporary folders, the real binary.

use std::path::Path;

use super::common::{fixtures, span_count, tracecheck, tracecheck_ok};

const BY_SERVICE: &str = "SELECT service, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1";

#[test]
fn sql_on_raw_files_and_on_the_ingested_dataset_agree() {
    let dir = tempfile::tempdir().unwrap();
    let zipkin = fixtures().join("zipkin");
    let zipkin = zipkin.to_str().unwrap();
    let raw = tracecheck_ok(&["sql", BY_SERVICE, "--data", zipkin, "--format", "csv"], dir.path());
    tracecheck_ok(&["ingest", zipkin, "-o", "ds"], dir.path());
    let stored = tracecheck_ok(&["sql", BY_SERVICE, "--data", "ds", "--format", "csv"], dir.path());
    assert_eq!(raw, stored);
    // The query after `--data` (which takes several values) is still the query.
    let after = tracecheck_ok(&["sql", "--format", "csv", "--data", "ds", BY_SERVICE], dir.path());
    assert_eq!(after, stored);
    // 16 + 8 + ... services over the seven Zipkin files; spot-check one count from the raw JSON.
    assert!(raw.starts_with("service,n\n"), "{raw}");
    let total: i64 = raw
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, 1283);
}

#[test]
fn dataset_layout_is_complete_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixtures().join("jaeger/ui_01.json");
    tracecheck_ok(&["ingest", input.to_str().unwrap(), "-o", "ds", "-q"], dir.path());
    let ds = dir.path().join("ds");
    assert!(ds.join("tracecheck.json").is_file());
    for table in ["spans", "tags", "refs", "logs"] {
        let files: Vec<_> = std::fs::read_dir(ds.join(table))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files.len(), 1, "{table}: {files:?}");
        assert!(
            files[0].to_string_lossy().ends_with(".parquet"),
            "no temporary file left: {files:?}"
        );
    }
}

#[test]
fn appending_adds_files_and_never_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixtures().join("zipkin/yelp.json");
    let b = fixtures().join("zipkin/skew.json");
    tracecheck_ok(&["ingest", a.to_str().unwrap(), "-o", "ds", "-q"], dir.path());
    let before = snapshot(&dir.path().join("ds/spans"));
    tracecheck_ok(&["ingest", b.to_str().unwrap(), "-o", "ds", "-q"], dir.path());
    let after = snapshot(&dir.path().join("ds/spans"));
    assert_eq!(after.len(), before.len() + 1);
    for (name, bytes) in &before {
        assert_eq!(
            after.iter().find(|(n, _)| n == name).map(|(_, b)| b),
            Some(bytes),
            "{name} was rewritten"
        );
    }
    assert_eq!(span_count(dir.path(), "ds"), 20);
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn other_parquet_readers_open_every_table() {
    // pyarrow and DuckDB (installed by .ci/run) read what we wrote; their row counts equal ours.
    let dir = tempfile::tempdir().unwrap();
    let ui = fixtures().join("jaeger/ui_01.json");
    let smart = fixtures().join("zipkin/smartthings-mobile-web-install.json");
    tracecheck_ok(
        &[
            "ingest",
            ui.to_str().unwrap(),
            smart.to_str().unwrap(),
            "-o",
            "ds",
            "-q",
        ],
        dir.path(),
    );
    let script = r#"
import sys, duckdb, pyarrow.dataset as pads
ds = sys.argv[1]
for t in ["spans", "tags", "refs", "logs"]:
    a = pads.dataset(f"{ds}/{t}", format="parquet").count_rows()
    d = duckdb.sql(f"SELECT count(*) FROM read_parquet('{ds}/{t}/*.parquet')").fetchall()[0][0]
    print(t, a, d)
print("ids", duckdb.sql(f"SELECT min(length(trace_id)), max(length(trace_id)), min(length(span_id)), max(length(span_id)) FROM read_parquet('{ds}/spans/*.parquet')").fetchall()[0])
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("ds"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for t in ["spans", "tags", "refs", "logs"] {
        let ours = tracecheck_ok(
            &[
                "sql",
                &format!("SELECT count(*) AS n FROM {t}"),
                "--data",
                "ds",
                "--format",
                "csv",
            ],
            dir.path(),
        );
        let ours: i64 = ours.lines().nth(1).unwrap().parse().unwrap();
        let line = text.lines().find(|l| l.starts_with(&format!("{t} "))).unwrap();
        assert_eq!(line, format!("{t} {ours} {ours}"), "{text}");
    }
    assert!(text.contains("ids (32, 32, 16, 16)"), "{text}");
    assert!(text.contains("spans 1046 1046"), "5 + 1041 spans: {text}");
}

/// Runs `ingest` on `content` and returns (exit code, stderr); the dataset must not exist afterwards.
fn ingest_bad(content: &[u8], extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.json"), content).unwrap();
    let mut args = vec!["ingest", "bad.json", "-o", "ds"];
    args.extend_from_slice(extra);
    let out = tracecheck(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(0) {
        assert!(
            !dir.path().join("ds").exists(),
            "a failed ingest left a dataset behind: {stderr}"
        );
    }
    (out.status.code(), stderr)
}

#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let span = r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","startTimeUnixNano":"2","endTimeUnixNano":"3"}"#;
    let otlp = |s: &str| format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{s}]}}]}}]}}"#);
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("empty file", b"".to_vec(), &["bad.json", "empty"]),
        (
            "truncated JSON",
            otlp(span).as_bytes()[..60].to_vec(),
            &["bad.json", "line 1, column"],
        ),
        (
            "wrong JSON type",
            otlp(&span.replace(r#""name":"x""#, r#""name":17"#)).into_bytes(),
            // Placed by JSON path: the resource is parsed on its own once the stream has found it.
            &[
                "bad.json: $.resourceSpans[0]",
                "invalid type: integer `17`, expected a string",
            ],
        ),
        (
            "end before start",
            otlp(&span.replace(r#""endTimeUnixNano":"3""#, r#""endTimeUnixNano":"1""#)).into_bytes(),
            &["spans[0]", "ends before it starts"],
        ),
        (
            "unknown kind",
            otlp(&span.replace(r#""name":"x""#, r#""name":"x","kind":9"#)).into_bytes(),
            &["spans[0]", "unknown span kind 9"],
        ),
        (
            "missing trace id",
            otlp(&span.replace(r#""traceId":"5b8efff798038103d269b633813fc60c","#, "")).into_bytes(),
            &["spans[0]", "missing traceId"],
        ),
        (
            "invalid UTF-8",
            [
                otlp(span).as_bytes()[..40].to_vec(),
                vec![0xff, 0xfe],
                otlp(span).as_bytes()[40..].to_vec(),
            ]
            .concat(),
            &["bad.json", "line 1"],
        ),
        (
            "not a trace format",
            b"hello".to_vec(),
            &["bad.json", "not a trace format"],
        ),
    ];
    for (what, content, needles) in cases {
        let (code, stderr) = ingest_bad(&content, &[]);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{what}: expected {n:?} in: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
}

#[test]
fn keep_going_skips_bad_records_and_counts_them() {
    let good = r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"ok","startTimeUnixNano":"2","endTimeUnixNano":"3"}"#;
    let bad = r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","name":"bad","startTimeUnixNano":"5","endTimeUnixNano":"3"}"#;
    let content = format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{good},{bad}]}}]}}]}}"#);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.json"), &content).unwrap();
    let out = tracecheck(&["ingest", "in.json", "-o", "ds", "--keep-going"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("skipped 1 bad records"), "{stderr}");
    assert!(stderr.contains("ends before it starts"), "{stderr}");
    let names = tracecheck_ok(
        &["sql", "SELECT name FROM spans", "--data", "ds", "--format", "csv"],
        dir.path(),
    );
    assert_eq!(names, "name\nok\n");
}

/// `--keep-going` skips one bad span, not the line or file around it: ten good spans and one whose
/// name is a number, on one line.
#[test]
fn keep_going_skips_a_bad_span_alone() {
    let span = |i: usize, name: &str| {
        format!(
            r#"{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{:016x}","name":{name},"startTimeUnixNano":"1","endTimeUnixNano":"2"}}"#,
            i + 1
        )
    };
    let mut spans: Vec<String> = (0..10).map(|i| span(i, "\"ok\"")).collect();
    spans.insert(7, span(10, "17"));
    let line = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.json"), format!("{line}\n")).unwrap();
    let out = tracecheck(&["ingest", "in.json", "-o", "ds", "--keep-going"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("skipped 1 bad records"), "{stderr}");
    assert!(stderr.contains("spans[7]"), "{stderr}");
    assert_eq!(span_count(dir.path(), "ds"), 10);
}

#[test]
fn generated_bank_in_every_format_ingests_to_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    tracecheck_ok(&["gen", "bank", "-o", "ds", "--traces", "300", "--seed", "5"], p);
    tracecheck_ok(
        &[
            "gen",
            "bank",
            "-o",
            "b.pb",
            "--traces",
            "300",
            "--seed",
            "5",
            "--format",
            "otlp-proto",
        ],
        p,
    );
    tracecheck_ok(
        &[
            "gen",
            "bank",
            "-o",
            "b.json",
            "--traces",
            "300",
            "--seed",
            "5",
            "--format",
            "otlp-json",
        ],
        p,
    );
    // gzip of the protobuf, and the same message as a length-delimited stream of one.
    let pb = std::fs::read(p.join("b.pb")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &pb).unwrap();
    std::fs::write(p.join("b.pb.gz"), gz.finish().unwrap()).unwrap();
    let mut delimited = Vec::new();
    prost::encoding::encode_varint(pb.len() as u64, &mut delimited);
    delimited.extend_from_slice(&pb);
    std::fs::write(p.join("b.delimited.pb"), delimited).unwrap();

    let digest = "SELECT trace_id, span_id, parent_span_id, name, service, kind, start_time, end_time, status, \
                  http_status_code, db_statement, depth, nested_left, nested_right FROM spans ORDER BY trace_id, span_id";
    let expected = tracecheck_ok(&["sql", digest, "--data", "ds", "--format", "csv"], p);
    // One CSV row per span, as many as the generator says it made.
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("ds/ground_truth.json")).unwrap()).unwrap();
    assert_eq!(expected.lines().count() as u64 - 1, truth["spans"].as_u64().unwrap());
    for input in ["b.pb", "b.json", "b.pb.gz", "b.delimited.pb"] {
        let got = tracecheck_ok(&["sql", digest, "--data", input, "--format", "csv"], p);
        assert_eq!(got, expected, "{input} differs from the dataset");
    }
    // Deterministic for a seed: a second run writes the same ground truth.
    tracecheck_ok(&["gen", "bank", "-o", "ds2", "--traces", "300", "--seed", "5"], p);
    assert_eq!(
        std::fs::read(p.join("ds/ground_truth.json")).unwrap(),
        std::fs::read(p.join("ds2/ground_truth.json")).unwrap()
    );
}

#[test]
fn shipped_dataset_is_small_and_opens() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let size: u64 = walk(&root.join("datasets/bank"));
    assert!(size <= 2 << 20, "datasets/bank is {size} bytes");
    let out = tracecheck_ok(
        &[
            "sql",
            "SELECT count(DISTINCT trace_id) AS t FROM spans",
            "--data",
            "datasets/bank",
            "--format",
            "csv",
        ],
        root,
    );
    assert_eq!(out, "t\n2000\n");
}

fn walk(p: &Path) -> u64 {
    if p.is_dir() {
        std::fs::read_dir(p).unwrap().map(|e| walk(&e.unwrap().path())).sum()
    } else {
        std::fs::metadata(p).unwrap().len()
    }
}

#[test]
fn interactive_prompt_runs_multi_line_statements() {
    use std::io::Write;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(super::common::bin())
        .args(["sql", "--data", "datasets/bank", "--format", "csv"])
        .current_dir(root)
        .env("HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A statement over two lines, an error that does not end the session, then a second statement.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"SELECT count(DISTINCT trace_id) AS t\nFROM spans;\nSELECT nope FROM spans;\nSELECT 1 + 1 AS two;\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("t\n2000\n"), "{stdout}");
    assert!(stdout.contains("two\n2\n"), "{stdout}");
    assert!(stderr.contains("nope"), "the failing statement is reported: {stderr}");
    assert!(home.path().join(".tracecheck_history").is_file(), "history is saved");
}

#[test]
fn fmt_checks_and_reports_model_errors_with_positions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The shipped models are canonical.
    let out = tracecheck(&["fmt", "--check", "queries/bank.model"], root);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("typo.model"),
        "model \"x\" {\n  expect span(nme = \"a\")\n}\n",
    )
    .unwrap();
    let out = tracecheck(&["fmt", "typo.model"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("typo.model:2:15") && stderr.contains("did you mean `name`?"),
        "{stderr}"
    );
    // --write rewrites a non-canonical file, after which --check passes.
    std::fs::write(
        dir.path().join("ugly.model"),
        "model \"x\" {\n  when   span(name=\"a\")\n expect no span(name=\"b\")\n}\n",
    )
    .unwrap();
    assert_eq!(
        tracecheck(&["fmt", "--check", "ugly.model"], dir.path()).status.code(),
        Some(1)
    );
    assert_eq!(
        tracecheck(&["fmt", "--write", "ugly.model"], dir.path()).status.code(),
        Some(0)
    );
    assert_eq!(
        tracecheck(&["fmt", "--check", "ugly.model"], dir.path()).status.code(),
        Some(0)
    );
}
