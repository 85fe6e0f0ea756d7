//! `check` blocks: every aggregate, with groups and windows, against values computed directly from
//! the generated spans; percentiles against DuckDB's `quantile_cont`; faults that trip the SLO rules;
//! the baseline gate.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use datafusion::prelude::SessionContext;
use tracecheck::check::{run_check, CheckReport};
use tracecheck::compile::compile_check;
use tracecheck::ingest::{RawTables, Span, Value};
use tracecheck::model::{parse_file, Item};
use tracecheck::workload::{generate_bank, BankOptions};

use super::common::{tracecheck, tracecheck_ok};

/// The generated spans, and a session over the same spans.
fn bank(traces: usize, seed: u64) -> (Vec<Span>, SessionContext) {
    let opts = BankOptions::new(traces).with_seed(seed);
    let mut spans: Vec<Span> = Vec::new();
    generate_bank(&opts, &mut spans).unwrap();
    let mut raw = RawTables::new(false);
    generate_bank(&opts, &mut raw).unwrap();
    let ctx = tracecheck::engine::session();
    tracecheck::engine::register_raw(&ctx, raw).unwrap();
    (spans, ctx)
}

async fn run(text: &str, ctx: &SessionContext) -> CheckReport {
    let file = parse_file(text).unwrap();
    let Item::Check(c) = &file.items[0] else {
        panic!("a check block")
    };
    run_check(&compile_check(c).unwrap(), ctx, None).await.unwrap()
}

/// Measured value per group label (group values joined by `|`, then the window).
fn values(report: &CheckReport, rule: usize) -> BTreeMap<String, f64> {
    report.rules[rule]
        .measurements
        .iter()
        .map(|m| {
            let mut key: Vec<String> = m.group.iter().map(|(_, v)| v.clone()).collect();
            if let Some(w) = &m.window_start {
                key.push(w.clone());
            }
            (key.join("|"), m.value.unwrap_or(f64::NAN))
        })
        .collect()
}

/// Linear interpolation between the closest ranks (DuckDB's quantile_cont, NumPy's default).
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

fn duration(s: &Span) -> f64 {
    s.duration_ns().unwrap() as f64
}

fn int_attr(s: &Span, key: &str) -> Option<i64> {
    s.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value {
        Value::Int(i) => Some(i),
        _ => None,
    })
}

/// Equal up to float rounding. Percentiles get a looser bound: DataFusion rounds the interpolation
/// fraction to 1e-6, so between two neighbouring ranks x and y the result may be off by
/// `(y - x) * 1e-6` (well under a nanosecond here); see docs/LANGUAGE.md.
fn assert_close(got: &BTreeMap<String, f64>, want: &BTreeMap<String, f64>, what: &str) {
    let tolerance = if what.starts_with('p') { 1e-7 } else { 1e-9 };
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: groups"
    );
    for (k, w) in want {
        let g = got[k];
        assert!(
            (g - w).abs() <= tolerance * w.abs().max(1.0),
            "{what} {k}: got {g}, want {w}"
        );
    }
}

fn group_by<K: Ord, F: Fn(&Span) -> Option<K>>(spans: &[Span], key: F) -> BTreeMap<K, Vec<&Span>> {
    let mut out: BTreeMap<K, Vec<&Span>> = BTreeMap::new();
    for s in spans {
        if let Some(k) = key(s) {
            out.entry(k).or_default().push(s);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aggregate_matches_a_direct_computation() {
    let (spans, ctx) = bank(3000, 3);
    let report = run(
        r#"check "all" {
            count(span(service = "bank")) by name > 0
            avg(span().duration) by service > 0ms
            min(span().duration) by service, kind > 0ms
            max(span().duration) by service < 1h
            sum(span(service = "bank").duration) by name > 0ms
            p90(span(service = "bank").duration) by name < 1h
            p99(span().duration) < 1h
            error_rate(span()) by name per 1m < 100%
            rate(span(name = "POST /withdraw")) per 1m > 0/s
            avg(span(name = "withdrawal").tag("amount")) by tag("account.id") > 0
            p50(trace.duration) by trace.root.name < 1h
            max(trace.span_count) > 0
        }"#,
        &ctx,
    )
    .await;
    let by_name = group_by(&spans, |s| (s.service == "bank").then(|| s.name.clone()));
    let by_service = group_by(&spans, |s| Some(s.service.clone()));

    let want = by_name.iter().map(|(k, v)| (k.clone(), v.len() as f64)).collect();
    assert_close(&values(&report, 0), &want, "count by name");
    let want = by_service
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|s| duration(s)).sum::<f64>() / v.len() as f64))
        .collect();
    assert_close(&values(&report, 1), &want, "avg by service");
    let by_service_kind = group_by(&spans, |s| Some(format!("{}|{}", s.service, s.kind.as_str())));
    let want = by_service_kind
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|s| duration(s)).fold(f64::INFINITY, f64::min)))
        .collect();
    assert_close(&values(&report, 2), &want, "min by service, kind");
    let want = by_service
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|s| duration(s)).fold(0.0, f64::max)))
        .collect();
    assert_close(&values(&report, 3), &want, "max by service");
    let want = by_name
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|s| duration(s)).sum()))
        .collect();
    assert_close(&values(&report, 4), &want, "sum by name");
    let want = by_name
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                quantile(&mut v.iter().map(|s| duration(s)).collect::<Vec<_>>(), 0.9),
            )
        })
        .collect();
    assert_close(&values(&report, 5), &want, "p90 by name");
    let want = [(
        String::new(),
        quantile(&mut spans.iter().map(duration).collect::<Vec<_>>(), 0.99),
    )]
    .into();
    assert_close(&values(&report, 6), &want, "p99");

    // error_rate per name and minute: status error, or a server span answering 5xx.
    let minute = |s: &Span| {
        let m = s.start_ns.unwrap().div_euclid(60_000_000_000);
        let t = rfc3339_seconds(m * 60);
        format!("{}|{t}", s.name)
    };
    let windows = group_by(&spans, |s| Some(minute(s)));
    let is_error = |s: &Span| {
        s.status.as_str() == "error"
            || (s.kind.as_str() == "server" && int_attr(s, "http.response.status_code").is_some_and(|c| c >= 500))
    };
    let want = windows
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.iter().filter(|s| is_error(s)).count() as f64 / v.len() as f64,
            )
        })
        .collect();
    assert_close(&values(&report, 7), &want, "error_rate by name per 1m");
    let posts = group_by(&spans, |s| (s.name == "POST /withdraw").then(|| minute(s)));
    let want = posts
        .iter()
        .map(|(k, v)| {
            (
                k.trim_start_matches("POST /withdraw|").to_string(),
                v.len() as f64 / 60.0,
            )
        })
        .collect();
    assert_close(&values(&report, 8), &want, "rate per 1m");

    let withdrawals = group_by(&spans, |s| {
        (s.name == "withdrawal").then(|| {
            s.attributes
                .iter()
                .find(|a| a.key == "account.id")
                .map(|a| match &a.value {
                    Value::Str(x) => x.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap()
        })
    });
    let want = withdrawals
        .iter()
        .map(|(k, v)| {
            let sum: f64 = v.iter().map(|s| int_attr(s, "amount").unwrap() as f64).sum();
            (k.clone(), sum / v.len() as f64)
        })
        .collect();
    assert_close(&values(&report, 9), &want, "avg tag by tag");

    let traces = group_by(&spans, |s| Some(s.trace_id));
    let mut trace_durations: Vec<f64> = traces
        .values()
        .map(|v| {
            let start = v.iter().map(|s| s.start_ns.unwrap()).min().unwrap();
            let end = v.iter().map(|s| s.end_ns.unwrap()).max().unwrap();
            (end - start) as f64
        })
        .collect();
    let want = [("POST /withdraw".to_string(), quantile(&mut trace_durations, 0.5))].into();
    assert_close(&values(&report, 10), &want, "p50 trace.duration by root name");
    let want = [(String::new(), traces.values().map(|v| v.len()).max().unwrap() as f64)].into();
    assert_close(&values(&report, 11), &want, "max trace.span_count");
    assert!(report.holds());
}

/// `2026-01-01T00:01:00Z` for 1767225660, as DataFusion prints a UTC timestamp cast to text.
fn rfc3339_seconds(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("a time in range")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

const DUCKDB_QUANTILES: &str = r#"
import duckdb, json, sys
con = duckdb.connect()
rows = con.execute(f"""
  SELECT service, quantile_cont(CAST(duration AS DOUBLE), 0.99), quantile_cont(CAST(duration AS DOUBLE), 0.9)
  FROM read_parquet('{sys.argv[1]}/spans/*.parquet') GROUP BY service""").fetchall()
print(json.dumps({s: [p99, p90] for s, p99, p90 in rows}))
"#;

#[tokio::test]
async fn percentiles_agree_with_duckdb_on_the_same_parquet() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ctx = tracecheck::engine::open(&[repo.join("datasets/bank")]).await.unwrap();
    let report = run(
        r#"check "q" {
            p99(span().duration) by service < 1h
            p90(span().duration) by service < 1h
        }"#,
        &ctx,
    )
    .await;
    let out = Command::new("python3")
        .args(["-c", DUCKDB_QUANTILES, repo.join("datasets/bank").to_str().unwrap()])
        .output()
        .expect("python3 with duckdb");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let duck: BTreeMap<String, [f64; 2]> = serde_json::from_slice(&out.stdout).unwrap();
    for (i, what) in ["p99", "p90"].iter().enumerate() {
        let want = duck.iter().map(|(k, v)| (k.clone(), v[i])).collect();
        assert_close(&values(&report, i), &want, what);
    }
}

#[test]
fn slo_rules_trip_on_faults_and_hold_on_clean_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let slo = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/slo.model");
    let slo = slo.to_str().unwrap();
    tracecheck_ok(&["gen", "bank", "-o", "faulty", "--traces", "3000", "--seed", "9"], p);
    tracecheck_ok(
        &[
            "gen",
            "bank",
            "-o",
            "clean",
            "--traces",
            "3000",
            "--seed",
            "9",
            "--fault-rate",
            "0",
        ],
        p,
    );
    let clean = tracecheck(&["check", slo, "--data", "clean"], p);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let faulty = tracecheck(&["check", slo, "--data", "faulty", "--format", "json"], p);
    assert_eq!(faulty.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&faulty.stdout).unwrap();
    let failing: Vec<String> = report["files"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["rules"].as_array().unwrap().iter().any(|r| {
                r["measurements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["holds"] == false)
            })
        })
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failing, ["Withdrawals stay fast", "The database never fails"]);
}

#[test]
fn baseline_gate_fails_on_a_20_percent_slower_build_and_passes_on_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("gate.model"),
        "check \"Withdrawal latency does not regress\" {\n    p90(span(name = \"withdrawal\").duration) by name < baseline * 1.1\n}\n",
    )
    .unwrap();
    let generate = |out: &str, slow: &str| {
        tracecheck_ok(
            &[
                "gen",
                "bank",
                "-o",
                out,
                "--traces",
                "2000",
                "--seed",
                "4",
                "--slow-factor",
                slow,
            ],
            p,
        );
    };
    generate("old", "1.0");
    generate("same", "1.0");
    generate("slower", "1.2");
    let same = tracecheck(&["check", "gate.model", "--data", "same", "--baseline", "old"], p);
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stdout));
    let slower = tracecheck(&["check", "gate.model", "--data", "slower", "--baseline", "old"], p);
    assert_eq!(
        slower.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&slower.stdout)
    );
    let text = String::from_utf8_lossy(&slower.stdout);
    assert!(text.contains("[baseline "), "{text}");
    let missing = tracecheck(&["check", "gate.model", "--data", "slower"], p);
    assert_eq!(missing.status.code(), Some(2));
    // The library names the setting ("the baseline data"); the command line names its flag.
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("--baseline was not given"), "{stderr}");
}

#[tokio::test]
async fn error_rate_definition_on_real_fixtures() {
    // Zipkin marks failures with an `error` tag: 7 of the 1,283 spans of the Zipkin fixtures carry
    // one (counted in the raw JSON files).
    let zipkin = super::common::fixtures().join("zipkin");
    let ctx = tracecheck::engine::open(&[zipkin]).await.unwrap();
    let report = run(r#"check "e" { error_rate(span()) < 100% }"#, &ctx).await;
    let want = [(String::new(), 7.0 / 1283.0)].into();
    assert_close(&values(&report, 0), &want, "zipkin error_rate");

    // A server span answering 5xx is an error even with status unset; a client span is not.
    let dir = tempfile::tempdir().unwrap();
    let otlp = dir.path().join("t.json");
    let span = |id: &str, kind: u8, code: i64| {
        format!(
            r#"{{"traceId":"000000000000000000000000000000aa","spanId":"{id}","name":"s","kind":{kind},
            "startTimeUnixNano":"1000","endTimeUnixNano":"2000",
            "attributes":[{{"key":"http.response.status_code","value":{{"intValue":"{code}"}}}}]}}"#
        )
    };
    let spans = [
        span("0000000000000001", 2, 502),
        span("0000000000000002", 3, 503),
        span("0000000000000003", 2, 200),
        span("0000000000000004", 2, 404),
    ];
    std::fs::write(
        &otlp,
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
            spans.join(",")
        ),
    )
    .unwrap();
    let ctx = tracecheck::engine::open(&[otlp]).await.unwrap();
    let report = run(r#"check "e" { error_rate(span()) by kind < 100% }"#, &ctx).await;
    let want = [("client".to_string(), 0.0), ("server".to_string(), 1.0 / 3.0)].into();
    assert_close(&values(&report, 0), &want, "5xx on server spans");
}
