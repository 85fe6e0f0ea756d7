//! `tracecheck::testing`: spans captured in process from the OpenTelemetry SDK and from `tracing`,
//! their rows compared with the same spans sent as OTLP, parallel captures, and the failure
//! messages of the assertions.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer, TracerProvider as _,
};
use opentelemetry::{Array, Context, InstrumentationScope, KeyValue, StringValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use prost::Message;
use tracecheck::ingest::{Span, Value};
use tracecheck::testing::{check, try_assert_holds, try_assert_violates, Models, SpanCapture};
use tracing::instrument::WithSubscriber;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// Every row of `table`, one line each, sorted (the input order of spans may differ).
async fn rows(ctx: &SessionContext, table: &str) -> Vec<String> {
    let batches = ctx
        .sql(&format!("SELECT * FROM {table}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = pretty_format_batches(&batches).unwrap().to_string();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// Spans with every OTLP feature: scopes with versions and attributes, kinds, statuses, events and
/// links (over the limits, so some are dropped), attribute types, a remote parent with trace state.
fn rich_spans(provider: &SdkTracerProvider) {
    let scope = InstrumentationScope::builder("bank-db")
        .with_version("2.1")
        .with_attributes([KeyValue::new("scope.kind", "db")])
        .build();
    let db = provider.tracer_with_scope(scope);
    let web = provider.tracer("bank-web");
    let remote = SpanContext::new(
        TraceId::from(0xabcdef),
        opentelemetry::trace::SpanId::from(0x42),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "x")]).unwrap(),
    );
    let parent = Context::new().with_remote_span_context(remote.clone());
    let server = web
        .span_builder("/:account/withdraw")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.response.status_code", 500),
            KeyValue::new("ratio", 0.25),
            KeyValue::new("retried", true),
            KeyValue::new(
                "tags",
                opentelemetry::Value::Array(Array::String(vec![StringValue::from("a"), StringValue::from("b")])),
            ),
            KeyValue::new("dropped", "over the limit of 4"),
        ])
        .with_links(vec![
            Link::with_context(remote.clone()),
            Link::new(remote, vec![KeyValue::new("link.reason", "retry")], 0),
        ])
        .start_with_context(&web, &parent);
    let cx = parent.with_span(server);
    let mut commit = db
        .span_builder("commit")
        .with_kind(SpanKind::Client)
        .with_attributes([KeyValue::new("db.query.text", "COMMIT")])
        .start_with_context(&db, &cx);
    use opentelemetry::trace::Span as _;
    commit.add_event(
        "exception",
        vec![KeyValue::new("exception.message", "database is locked")],
    );
    commit.add_event("dropped event", vec![]);
    commit.set_status(Status::error("database is locked"));
    commit.end();
    cx.span().set_status(Status::Ok);
    cx.span().end();
    web.in_span("render", |_| {});
}

#[tokio::test]
async fn capture_rows_equal_those_of_the_same_spans_sent_as_otlp() {
    let resource = Resource::builder_empty()
        .with_service_name("bank")
        .with_attribute(KeyValue::new("host.name", "h1"))
        .build();
    let capture = SpanCapture::new();
    let memory = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(capture.clone())
        .with_simple_exporter(memory.clone())
        .with_resource(resource.clone())
        .with_max_attributes_per_span(4)
        .with_max_events_per_span(1)
        .with_max_links_per_span(1)
        .build();
    rich_spans(&provider);

    // What the OTLP exporter sends for the same spans, as a file of one request.
    let request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            memory.get_finished_spans().unwrap(),
            &ResourceAttributesWithSchema::from(&resource),
        ),
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.pb");
    std::fs::write(&file, request.encode_to_vec()).unwrap();
    let over_otlp = tracecheck::engine::open(&[file]).await.unwrap();
    let captured = capture.context().await.unwrap();

    for table in ["spans", "tags", "refs", "logs"] {
        let (a, b) = (rows(&captured, table).await, rows(&over_otlp, table).await);
        // Four lines are the table's frame and header.
        assert!(a.len() > 4, "{table} has rows");
        assert_eq!(a, b, "{table}");
    }
    let spans = capture.spans().unwrap();
    let commit = spans.iter().find(|s| s.name == "commit").unwrap();
    assert_eq!((commit.events.len(), commit.dropped_events_count), (1, 1));
    assert_eq!(commit.scope_version.as_deref(), Some("2.1"));
    let server = spans.iter().find(|s| s.name == "/:account/withdraw").unwrap();
    assert_eq!((server.dropped_attributes_count, server.dropped_links_count), (1, 1));
    assert_eq!(server.trace_state.as_deref(), Some("vendor=x"));
    assert_eq!((server.trace_id, server.parent_span_id), (0xabcdef, Some(0x42)));
}

// Code instrumented with `tracing`: the span names are the function names; tracing-opentelemetry
// maps `otel.kind` to the span kind and the recorded fields to attributes.

#[tracing::instrument(fields(otel.kind = "server"))]
fn withdraw(account: &str, amount: i64) -> u16 {
    let balance = fetch_balance(account);
    if amount > balance {
        refuse();
        return 500;
    }
    200
}

#[tracing::instrument(fields(amount = tracing::field::Empty))]
fn fetch_balance(account: &str) -> i64 {
    tracing::Span::current().record("amount", 300);
    300
}

#[tracing::instrument]
fn refuse() {}

#[tokio::test]
async fn capture_tracing_spans_through_tracing_opentelemetry() {
    let capture = SpanCapture::new().with_service_name("bank");
    let layer = tracing_opentelemetry::layer().with_tracer(capture.tracer_provider().tracer("bank"));
    {
        let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        assert_eq!(withdraw("acct-1", 500), 500);
    }
    let spans = capture.spans().unwrap();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["fetch_balance", "refuse", "withdraw"]);
    let model = Models::parse(
        r#"model "tracing: overdrafts are refused" {
            let w = span(name = "withdraw", kind = server, service = "bank")
            when span(name = "fetch_balance").tag("amount") < w.tag("amount")
            expect span(name = "refuse") child of w
            expect span(name = "fetch_balance", tag("account") = "acct-1") child of w
        }"#,
    )
    .unwrap();
    let report = tracecheck::assert_holds!(&model, &capture);
    assert_eq!(report.files[0].models[0].traces, 1);
}

const TASKS: usize = 8;

/// Task `i`'s spans: `i + 1` traces of a root `task-i` and two `step` children, all tagged `task = i`,
/// yielding between spans so the tasks interleave. Odd tasks go through `tracing`, even ones through
/// the OpenTelemetry API.
async fn task_spans(i: usize, provider: &SdkTracerProvider) {
    let tracer = provider.tracer("tasks");
    let task = KeyValue::new("task", i as i64);
    for _ in 0..=i {
        if i.is_multiple_of(2) {
            let root = tracer
                .span_builder(format!("task-{i}"))
                .with_attributes([task.clone()])
                .start(&tracer);
            let cx = Context::new().with_span(root);
            for _ in 0..2 {
                tokio::task::yield_now().await;
                let mut step = tracer.start_with_context("step", &cx);
                opentelemetry::trace::Span::set_attribute(&mut step, task.clone());
            }
            cx.span().end();
        } else {
            let subscriber =
                tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer.clone()));
            // Spans are made while the subscriber is the default: inside the future it wraps.
            async {
                let root = tracing::info_span!("task", otel.name = format!("task-{i}"), task = i as i64);
                async {
                    for _ in 0..2 {
                        tokio::task::yield_now()
                            .instrument(tracing::info_span!("step", task = i as i64))
                            .await;
                    }
                }
                .instrument(root)
                .await
            }
            .with_subscriber(subscriber)
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capture_parallel_captures_stay_separate() {
    let text: String = (0..TASKS)
        .map(|i| format!("model \"task {i}\" {{ expect span(name = \"task-{i}\") }}\n"))
        .collect();
    let models = Models::parse(&text).unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            let (barrier, models) = (barrier.clone(), models.clone());
            tokio::spawn(async move {
                let capture = SpanCapture::new().with_service_name(format!("svc-{i}"));
                let provider = capture.tracer_provider();
                barrier.wait().await;
                task_spans(i, &provider).await;
                // Every task checks while others may still be making spans.
                let report = check(&models, &capture).await.unwrap();
                (capture.spans().unwrap(), report)
            })
        })
        .collect();
    let mut all_traces = HashSet::new();
    for (i, handle) in handles.into_iter().enumerate() {
        let (spans, report) = handle.await.unwrap();
        assert_eq!(spans.len(), (i + 1) * 3, "task {i}");
        for s in &spans {
            assert_eq!(s.service, format!("svc-{i}"));
            let task = s.attributes.iter().find(|a| a.key == "task").map(|a| &a.value);
            assert_eq!(task, Some(&Value::Int(i as i64)), "task {i}: {}", s.name);
        }
        let traces: HashSet<u128> = spans.iter().map(|s: &Span| s.trace_id).collect();
        assert_eq!(traces.len(), i + 1);
        for t in traces {
            assert!(all_traces.insert(t), "trace {t:x} of task {i} seen by another capture");
        }
        for (j, m) in report.files[0].models.iter().enumerate() {
            assert_eq!(m.traces, i as u64 + 1, "task {i}, model {j}");
            if i == j {
                assert!(m.holds(), "task {i}'s own model");
            } else {
                assert_eq!(m.violating_traces(), i + 1, "task {i}, model {j}");
            }
        }
    }
}

const NO_COMMIT: &str = r#"model "no commit" { when span(name = "withdrawal") expect no span(name = "commit") }"#;

#[tokio::test]
async fn capture_nothing_captured_fails_assert_holds_and_says_why() {
    let capture = SpanCapture::new();
    let failure = try_assert_holds(Models::parse(NO_COMMIT).unwrap(), &capture)
        .await
        .unwrap_err();
    let message = failure.message();
    assert!(
        message.starts_with(
            "tracecheck: no model applied to the captured spans, so nothing was checked (<text>; 0 spans in 0 traces)"
        ),
        "{message}"
    );
    assert!(
        message.contains("vacuous \"no commit\": `when` never held"),
        "{message}"
    );
    assert!(message.contains("No span was captured."), "{message}");
    assert!(failure.report().unwrap().holds());
}

#[tokio::test]
async fn capture_assert_violates_fails_when_every_rule_holds() {
    let capture = SpanCapture::new().with_service_name("bank");
    let tracer = capture.tracer_provider().tracer("bank");
    tracer.in_span("withdrawal", |cx| {
        cx.span().set_attribute(KeyValue::new("amount", 5));
        tracer.in_span("rollback", |_| {});
    });
    let failure = try_assert_violates(Models::parse(NO_COMMIT).unwrap(), &capture)
        .await
        .unwrap_err();
    let message = failure.message();
    assert!(
        message.starts_with("tracecheck: expected a violation, but the rule holds"),
        "{message}"
    );
    assert!(
        message.contains("ok      \"no commit\" (applied to 1 trace)"),
        "{message}"
    );
    // The captured trace is drawn, so the reader sees what the code did.
    assert!(message.contains("    withdrawal  bank"), "{message}");
    assert!(message.contains("      rollback  bank"), "{message}");

    tracer.in_span("withdrawal", |_| tracer.in_span("commit", |_| {}));
    let report = tracecheck::assert_violates!(Models::parse(NO_COMMIT).unwrap(), &capture);
    assert_eq!(report.violation_count(), 1);
}

#[tokio::test]
async fn capture_failing_checks_and_model_errors_are_reported() {
    let capture = SpanCapture::new();
    capture.tracer_provider().tracer("t").in_span("step", |_| {});
    let checks = Models::parse(r#"check "no steps" { count(span(name = "step")) < 1 }"#).unwrap();
    let message = try_assert_holds(&checks, &capture).await.unwrap_err().message();
    assert!(message.contains("FAIL check \"no steps\""), "{message}");
    assert!(message.contains("count(span(name = \"step\")) < 1"), "{message}");

    let missing = try_assert_holds("queries/nope.model", &capture).await.unwrap_err();
    assert!(missing.report().is_none());
    assert!(
        missing.message().contains("queries/nope.model"),
        "{}",
        missing.message()
    );
    // A model that does not parse fails the assertion with the offending text underlined.
    let typo = try_assert_holds(Models::parse(r#"model "m" { expect span(nmae = "x") }"#), &capture)
        .await
        .unwrap_err()
        .message();
    assert!(
        typo.contains("<text>:1:25") && typo.contains("did you mean `name`?"),
        "{typo}"
    );
    let text_as_path = check(NO_COMMIT, &capture).await.unwrap_err();
    assert!(
        text_as_path.to_string().contains("use Models::parse(text)"),
        "{text_as_path}"
    );
    let unknown = Models::load("queries/bank.model").unwrap().only("nope").unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("\"Accounts cannot withdraw more than their balance\""),
        "{unknown}"
    );
}
