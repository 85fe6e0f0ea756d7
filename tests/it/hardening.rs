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
