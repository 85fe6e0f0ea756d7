//! `/metrics` in the Prometheus text format: intake, completion, checking, violations per model
//! and clause, check lag, late spans, webhook delivery.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::collect::Intake;
use crate::error::{Error, Result};

/// Counters of the checker (the intake's come from [`Intake`]).
#[derive(Default)]
pub struct Metrics {
    traces_completed: AtomicU64,
    traces_checked: AtomicU64,
    late_spans: AtomicU64,
    late_unchecked: AtomicU64,
    late_for_window: AtomicU64,
    windows: AtomicU64,
    windows_early: AtomicU64,
    window_spans: AtomicU64,
    check_failures: AtomicU64,
    webhook_sent: AtomicU64,
    webhook_retries: AtomicU64,
    webhook_dropped: AtomicU64,
    /// Seconds from completion to report, of the last checked trace, as f64 bits.
    check_lag_bits: AtomicU64,
    violations: Mutex<BTreeMap<(String, usize), u64>>,
}

impl Metrics {
    pub(crate) fn add_completed(&self, n: u64) {
        self.traces_completed.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_checked(&self, n: u64, lag_secs: f64) {
        self.traces_checked.fetch_add(n, Ordering::Relaxed);
        self.check_lag_bits.store(lag_secs.to_bits(), Ordering::Relaxed);
    }
    pub(crate) fn add_late_spans(&self, n: u64) {
        self.late_spans.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_late_unchecked(&self, n: u64) {
        self.late_unchecked.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_late_for_window(&self, n: u64) {
        self.late_for_window.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_window(&self) {
        self.windows.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_window_closed_early(&self) {
        self.windows_early.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn set_window_spans(&self, n: u64) {
        self.window_spans.store(n, Ordering::Relaxed);
    }
    pub(crate) fn add_check_failures(&self, n: u64) {
        self.check_failures.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_violation(&self, model: &str, clause: usize) {
        *self
            .violations
            .lock()
            .expect("metrics lock")
            .entry((model.to_string(), clause))
            .or_default() += 1;
    }
    pub(crate) fn add_webhook_sent(&self, n: u64) {
        self.webhook_sent.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_webhook_retry(&self) {
        self.webhook_retries.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_webhook_dropped(&self, n: u64) {
        self.webhook_dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Failing groups of closed check windows so far.
    pub fn check_failures(&self) -> u64 {
        self.check_failures.load(Ordering::Relaxed)
    }

    /// Violations reported so far, per (model, clause).
    pub fn violations(&self) -> BTreeMap<(String, usize), u64> {
        self.violations.lock().expect("metrics lock").clone()
    }

    /// The Prometheus text exposition of these counters and the intake's.
    ///
    /// ```
    /// let m = tracecheck::watch::Metrics::default();
    /// let text = m.render(None);
    /// assert!(text.contains("tracecheck_traces_checked_total 0"));
    /// ```
    pub fn render(&self, intake: Option<&Intake>) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        if let Some(i) = intake {
            let s = i.stats();
            metric(
                "tracecheck_spans_received_total",
                "counter",
                "Spans acknowledged by the OTLP receivers.",
                s.spans_accepted.to_string(),
            );
            metric(
                "tracecheck_spans_invalid_total",
                "counter",
                "Spans rejected as invalid (OTLP partial success).",
                s.spans_invalid.to_string(),
            );
            metric(
                "tracecheck_requests_refused_total",
                "counter",
                "Export requests refused because the buffer was full (retryable).",
                s.requests_refused.to_string(),
            );
            metric(
                "tracecheck_buffered_spans",
                "gauge",
                "Spans held in memory: receiving, or complete and not yet checked.",
                s.held_spans.to_string(),
            );
            metric(
                "tracecheck_open_traces",
                "gauge",
                "Traces still receiving spans.",
                s.open_traces.to_string(),
            );
        }
        metric(
            "tracecheck_traces_completed_total",
            "counter",
            "Traces completed (idle or too old); a trace completed again by late spans counts again.",
            load(&self.traces_completed),
        );
        metric(
            "tracecheck_traces_checked_total",
            "counter",
            "Traces checked against every model (re-checks included).",
            load(&self.traces_checked),
        );
        metric(
            "tracecheck_late_spans_total",
            "counter",
            "Spans that arrived after their trace was checked; the trace was re-checked.",
            load(&self.late_spans),
        );
        metric(
            "tracecheck_late_spans_unchecked_total",
            "counter",
            "Spans that arrived after the late window; counted, not checked.",
            load(&self.late_unchecked),
        );
        metric(
            "tracecheck_windows_evaluated_total",
            "counter",
            "Windows of check rules closed and evaluated.",
            load(&self.windows),
        );
        metric(
            "tracecheck_windows_closed_early_total",
            "counter",
            "Windows evaluated before the watermark passed them because the spans held for open windows reached their limit.",
            load(&self.windows_early),
        );
        metric(
            "tracecheck_window_spans",
            "gauge",
            "Spans of complete traces held for check windows not closed yet.",
            load(&self.window_spans),
        );
        metric(
            "tracecheck_check_failures_total",
            "counter",
            "Failing groups of closed windows of check rules.",
            load(&self.check_failures),
        );
        metric(
            "tracecheck_late_for_window_total",
            "counter",
            "Traces that arrived after a window they start in had closed.",
            load(&self.late_for_window),
        );
        metric(
            "tracecheck_check_lag_seconds",
            "gauge",
            "Time from a trace's completion to its report, for the last checked trace.",
            f64::from_bits(self.check_lag_bits.load(Ordering::Relaxed)).to_string(),
        );
        metric(
            "tracecheck_webhook_sent_total",
            "counter",
            "Event batches delivered to the webhook.",
            load(&self.webhook_sent),
        );
        metric(
            "tracecheck_webhook_retries_total",
            "counter",
            "Webhook attempts that were retried.",
            load(&self.webhook_retries),
        );
        metric(
            "tracecheck_webhook_dropped_total",
            "counter",
            "Event batches not delivered (queue full or retries exhausted).",
            load(&self.webhook_dropped),
        );
        let _ = writeln!(
            out,
            "# HELP tracecheck_violations_total Violations reported, per model and failing clause.\n# TYPE tracecheck_violations_total counter"
        );
        for ((model, clause), n) in self.violations() {
            let _ = writeln!(
                out,
                "tracecheck_violations_total{{model=\"{}\",clause=\"{clause}\"}} {n}",
                label(&model)
            );
        }
        out
    }
}

/// A label value: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves `GET /metrics` (this and the intake's counters) on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: std::sync::Arc<Metrics>,
    intake: Intake,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = metrics.render(Some(&intake));
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                    text,
                )
                    .into_response()
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| Error::Usage(format!("metrics endpoint failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_render_with_escaped_labels() {
        let m = Metrics::default();
        m.add_violation("say \"hi\"\\now", 2);
        m.add_violation("say \"hi\"\\now", 2);
        let text = m.render(None);
        assert!(
            text.contains("tracecheck_violations_total{model=\"say \\\"hi\\\"\\\\now\",clause=\"2\"} 2"),
            "{text}"
        );
    }
}
