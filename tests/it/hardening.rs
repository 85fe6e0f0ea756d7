//! Regressions of the hardening probe (inputs that were slow or wrong), run through the real binary.

use super::common::tracecheck_ok;

/// 40,000 spans of one trace sharing one span id (a broken tracer): each is kept under an id of
/// its own, and ingest is linear in them (exact duplicates were found by comparing every pair, and
/// each new id was searched from the shared id up, both N²: 64 s for 40,000 in a debug build).
#[test]
fn forty_thousand_spans_sharing_one_id_ingest_and_keep_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let n = 40_000;
    let spans: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"00000000000000aa","name":"s","startTimeUnixNano":"{}","endTimeUnixNano":"{}"}}"#,
                1_000 + i,
                2_000 + i
            )
        })
        .collect();
    // One exact duplicate, dropped.
    let mut all = spans.clone();
    all.push(spans[7].clone());
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        all.join(",")
    );
    std::fs::write(dir.path().join("same-id.json"), body).unwrap();
    tracecheck_ok(&["ingest", "same-id.json", "-o", "ds", "-q"], dir.path());
    let csv = tracecheck_ok(
        &[
            "sql",
            "--data",
            "ds",
            "--format",
            "csv",
            "SELECT count(*) AS n, count(DISTINCT span_id) AS ids FROM spans",
        ],
        dir.path(),
    );
    assert_eq!(csv.lines().nth(1), Some(format!("{n},{n}").as_str()), "{csv}");
}

/// 300 MB of whitespace inside an OTLP document's span list (one line): ingest streams it (the probe's 1 GB took 2.1 GB
/// resident when the first line was read whole to detect JSON lines). Peak memory is measured by
/// a Python parent, whose `RUSAGE_CHILDREN` holds only this one child.
#[test]
fn a_huge_single_line_of_whitespace_streams_in_bounded_memory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blank.json");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(br#"{"resourceSpans": ["#).unwrap();
    let block = vec![b' '; 1 << 20];
    for _ in 0..300 {
        f.write_all(&block).unwrap();
    }
    f.write_all(b"]}").unwrap();
    f.into_inner().unwrap().sync_all().unwrap();
    let script = "import resource, subprocess, sys\n\
                  r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n\
                  print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
                  print(r.stderr)";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(super::common::bin())
        .args(["ingest", "blank.json", "-o", "ds", "-q"])
        .current_dir(dir.path())
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut first = text.lines().next().unwrap_or("").split_whitespace();
    let code: i32 = first.next().and_then(|c| c.parse().ok()).unwrap_or(-1);
    let max_rss_kib: u64 = first.next().and_then(|c| c.parse().ok()).unwrap_or(u64::MAX);
    assert_eq!(code, 0, "{text}");
    assert!(
        max_rss_kib < 200 * 1024,
        "peak {max_rss_kib} KiB for 300 MB of whitespace: {text}"
    );
}

/// Every input fuzzing ever crashed or hung is kept in `fuzz/regressions/` (a panic on a scalar
/// after a JSON document, `[]1`; an endless loop in shape detection on `[0}`): each is now a clear
/// error that names the file, exit 2.
#[test]
fn inputs_fuzzing_found_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let found = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&found).unwrap() {
        let path = entry.unwrap().path();
        let input = dir.path().join("input.json");
        std::fs::copy(&path, &input).unwrap();
        let out = super::common::tracecheck(&["ingest", "input.json", "-o", "ds", "-q"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(
            stderr.contains("input.json") && !stderr.contains("panicked"),
            "{}: {stderr}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 3, "the reproducers are missing from {}", found.display());
}
