//! `tracecheck watch`: rules of `check` blocks over sliding windows, and the bound on the spans held
//! for open windows.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use datafusion::arrow::array::{AsArray, TimestampNanosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use serde_json::Value as J;
use tracecheck::ingest::Span;
use tracecheck::workload::{generate_bank, BankOptions};

use super::common::eventually;
use super::watch::{scrape, WatchProc};

/// A window start as events print it (a UTC timestamp as text).
fn label(t: i64) -> String {
    let a = TimestampNanosecondArray::from(vec![t]).with_timezone("UTC");
    cast(&a, &DataType::Utf8)
        .unwrap()
        .as_string::<i32>()
        .value(0)
        .to_string()
}

/// How many traces `spans` hold.
fn traces(spans: &[Span]) -> f64 {
    spans.iter().map(|s| s.trace_id).collect::<BTreeSet<_>>().len() as f64
}

/// Metrics of `proc` once it has checked `traces` traces (all it was sent); `each` must hold of
/// every scrape on the way.
fn when_all_checked(
    proc: &WatchProc,
    traces: f64,
    mut each: impl FnMut(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    eventually("every trace sent checked", Duration::from_secs(60), || {
        let m = runtime.block_on(scrape(&proc.metrics));
        (each(&m) && m["tracecheck_traces_checked_total"] >= traces).then_some(m)
    })
}

fn bank(traces: usize) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    generate_bank(&BankOptions::new(traces).with_seed(5).with_fault_rate(0.2), &mut spans).unwrap();
    spans
}

#[test]
fn sliding_windows_count_what_each_window_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("rate.model");
    // Always fails, so every evaluated window with a withdrawal reports its count.
    std::fs::write(
        &models,
        "check \"Busy\" {\n    count(span(name = \"withdrawal\")) per 2s >= 1000000\n}\n",
    )
    .unwrap();
    let spans = bank(1500);
    // By hand: the windows [a, a+2s) on the 500 ms grid from the first span, that end by the
    // last span's end (a window extending past the data is not evaluated: it would count too
    // little), each with the withdrawals that start in it.
    let (w, step) = (2_000_000_000i64, 500_000_000i64);
    let first = spans.iter().filter_map(|s| s.start_ns).min().unwrap();
    let last_end = spans.iter().filter_map(|s| s.end_ns).max().unwrap();
    assert!(last_end - first > 2 * w, "the stream spans several windows");
    let mut expected = BTreeMap::new();
    let mut a = first.div_euclid(step) * step;
    while a + w <= last_end {
        let n = spans
            .iter()
            .filter(|s| s.name == "withdrawal")
            .filter(|s| s.start_ns.is_some_and(|t| t >= a && t < a + w))
            .count();
        if n > 0 {
            expected.insert(label(a), n as f64);
        }
        a += step;
    }
    assert!(expected.len() >= 4, "{expected:?}");

    let proc = WatchProc::start_with(&models, "300ms", &["--check-every", "500ms"]);
    proc.send(&spans);
    // The stream is checked (traces completed by idleness) while running, before the shutdown.
    when_all_checked(&proc, traces(&spans), |_| true);
    let (code, events) = proc.stop();
    assert_eq!(code, Some(1));
    let got: BTreeMap<String, f64> = events
        .iter()
        .map(|(_, e)| {
            assert_eq!(e["event"], "check", "{e}");
            assert_eq!(e["window_seconds"], J::from(2.0), "{e}");
            assert!(e.get("early").is_none(), "{e}");
            (
                e["window_start"].as_str().unwrap().to_string(),
                e["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), events.len(), "one event per window");
    assert_eq!(got, expected);
}

#[test]
fn held_window_spans_stay_under_the_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("slow.model");
    std::fs::write(
        &models,
        "check \"Slow\" {\n    p99(span(name = \"withdrawal\").duration) per 1s < 1ms\n}\n",
    )
    .unwrap();
    let spans = bank(1500);
    // A lateness longer than the data: no window would close before shutdown if the bound did not
    // close them early.
    let proc = WatchProc::start_with(
        &models,
        "200ms",
        &["--check-lateness", "1h", "--max-window-spans", "2000"],
    );
    proc.send(&spans);
    // Under the bound at every scrape while the stream is checked, and after all of it is.
    let m = when_all_checked(&proc, traces(&spans), |m| {
        assert!(m["tracecheck_window_spans"] <= 2000.0, "{m:?}");
        m["tracecheck_windows_closed_early_total"] >= 1.0
    });
    assert!(m["tracecheck_window_spans"] <= 2000.0, "{m:?}");
    assert!(m["tracecheck_windows_closed_early_total"] >= 1.0, "{m:?}");
    let (code, events) = proc.stop();
    assert_eq!(code, Some(1));
    let early = events.iter().filter(|(_, e)| e["early"] == J::Bool(true)).count();
    assert!(early >= 1, "{events:?}");
}
