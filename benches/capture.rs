//! The cost of capturing spans in a unit test: 10,000 spans (1,000 bank-like traces of 10 spans)
//! made through the OpenTelemetry SDK with
//!   (a) the SDK's own `InMemorySpanExporter` alone,
//!   (b) `tracecheck::testing::SpanCapture`, until the spans are ready to check (converted to the
//!       rows of every other input, which happens when they are first read),
//!   (c) `SpanCapture`, then `check` of every model of `queries/bank.model` on the captured spans.
//! Each is run `--runs N` times (default 10); the median wall time is printed.
//!
//!   cargo bench --bench capture                  # release (bench profile): the figures to compare
//!   cargo bench --bench capture -- --runs 30
//!   cargo test --bench capture -- --runs 1       # a quick debug-build run that checks it works

use std::time::{Duration, Instant};

use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracecheck::testing::{check, Models, SpanCapture};

const TRACES: usize = 1_000;
const SPANS_PER_TRACE: usize = 10;

/// One covered withdrawal, in the span tree of `examples/bank/logic.rs` (plus three spans of
/// housekeeping), with the attributes the bank's models read.
fn make_spans(provider: &SdkTracerProvider) {
    let tracer = provider.tracer("bank");
    let db = |name: &'static str, query: &'static str| {
        tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("db.system.name", "sqlite"),
                KeyValue::new("db.query.text", query),
            ])
            .start(&tracer)
            .end()
    };
    for i in 0..TRACES as i64 {
        let server = tracer
            .span_builder("/:account/withdraw")
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("http.route", "/:account/withdraw"),
                KeyValue::new("http.response.status_code", 200),
            ])
            .start(&tracer);
        let cx = opentelemetry::Context::current_with_span(server);
        let guard = cx.clone().attach();
        tracer.in_span("authenticate", |_| {});
        tracer.in_span("fetch-balance", |cx| {
            cx.span().set_attribute(KeyValue::new("amount", 300));
            db("select-balance", "SELECT balance FROM accounts WHERE id = ?");
        });
        tracer.in_span("withdrawal", |cx| {
            cx.span().set_attribute(KeyValue::new("amount", 100 + i % 50));
            db("begin", "BEGIN");
            db("update-balance", "UPDATE accounts SET balance = ? WHERE id = ?");
            db("commit", "COMMIT");
        });
        tracer.in_span("audit", |_| {});
        tracer.in_span("render", |_| {});
        drop(guard);
        cx.span().end();
    }
}

fn resource() -> Resource {
    Resource::builder_empty().with_service_name("bank").build()
}

fn in_memory() -> usize {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .with_resource(resource())
        .build();
    make_spans(&provider);
    exporter.get_finished_spans().expect("spans").len()
}

fn captured() -> (SpanCapture, usize) {
    let capture = SpanCapture::new().with_resource(resource());
    make_spans(&capture.tracer_provider());
    let n = capture.len();
    (capture, n)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    (median(times), last.expect("at least one run"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<usize>().expect("--runs N"))
        .unwrap_or(10)
        .max(1);
    let models = Models::load("queries/bank.model").expect("queries/bank.model");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let spans = TRACES * SPANS_PER_TRACE;

    let (a, n) = time(runs, in_memory);
    assert_eq!(n, spans);
    let (b, (_, n)) = time(runs, captured);
    assert_eq!(n, spans);
    let (c, report) = time(runs, || {
        let (capture, _) = captured();
        rt.block_on(check(&models, &capture)).expect("check")
    });
    // The spans are bank withdrawals the balance covers: every model holds or is vacuous.
    assert!(report.holds(), "{}", tracecheck::report::text(&report, 3));
    let (capture, _) = captured();
    let (check_only, _) = time(runs, || rt.block_on(check(&models, &capture)).expect("check"));

    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!(
        "{spans} spans ({TRACES} traces of {SPANS_PER_TRACE}), {profile} build, median of {runs} run{}",
        if runs == 1 { "" } else { "s" }
    );
    let per_span = |d: Duration| d.as_secs_f64() * 1e6 / spans as f64;
    let row = |label: &str, d: Duration| {
        println!(
            "  {label:<64} {:>9.1} ms  {:>6.2} µs/span",
            d.as_secs_f64() * 1e3,
            per_span(d)
        )
    };
    row("(a) SDK + InMemorySpanExporter", a);
    row("(b) SDK + SpanCapture", b);
    row(
        &format!(
            "(c) SDK + SpanCapture + check ({} models of queries/bank.model)",
            models.len()
        ),
        c,
    );
    row("    check alone, on the captured spans", check_only);
    println!(
        "  capture overhead over the in-memory exporter: {:+.2} µs/span ({:.2}×)",
        per_span(b) - per_span(a),
        b.as_secs_f64() / a.as_secs_f64()
    );
}
