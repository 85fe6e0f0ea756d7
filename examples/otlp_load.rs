//! A load generator for OTLP receivers: sends export requests over gRPC or HTTP (protobuf) from
//! several concurrent connections for a fixed time, and prints what was acknowledged.
//!
//! ```text
//! cargo run --release --example otlp_load -- --grpc http://127.0.0.1:4317 --seconds 10
//! cargo run --release --example otlp_load -- --http http://127.0.0.1:4318/v1/traces --seconds 10
//! ```
//!
//! Every request carries `--traces` whole traces of 10 spans (a server span and nine children with
//! HTTP / database attributes, ~10 attributes each); trace ids never repeat, so the receiver's count
//! of written spans must equal the acknowledged count printed here. A refused request (backpressure)
//! is retried after a short pause and counted. With `--bank N`, N traces of the bank workload
//! (with its injected faults, for `tracecheck watch`) are sent once over gRPC instead. Output: one
//! JSON line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as pb;
use prost::Message;

#[derive(Parser)]
struct Args {
    /// OTLP/gRPC endpoint, e.g. http://127.0.0.1:4317.
    #[arg(long, conflicts_with = "http")]
    grpc: Option<String>,
    /// OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces.
    #[arg(long)]
    http: Option<String>,
    /// How long to send.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    connections: u64,
    /// Traces (of 10 spans) per request.
    #[arg(long, default_value_t = 50)]
    traces: u64,
    /// Instead of synthetic traces for `--seconds`: send N traces of the bank workload
    /// (`tracecheck gen bank`, with its injected faults) once, as fast as acknowledged.
    #[arg(long, value_name = "N")]
    bank: Option<usize>,
    /// With `--bank`: send at this many spans per second (all connections together) instead of as
    /// fast as acknowledged, for a sustained-rate measurement.
    #[arg(long, value_name = "SPANS_PER_SEC")]
    rate: Option<f64>,
    /// Seed of the bank workload.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// The bank workload as requests of `traces` traces each, and its span count.
fn bank_requests(n: usize, seed: u64, traces: u64) -> (Vec<ExportTraceServiceRequest>, u64) {
    use tracecheck::ingest::RawTables;
    let mut raw = RawTables::new(false);
    let opts = tracecheck::workload::BankOptions::new(n).with_seed(seed);
    tracecheck::workload::generate_bank(&opts, &mut raw).expect("generate");
    let (parts, stats) = tracecheck::store::assemble(raw, usize::MAX).expect("assemble");
    let all = tracecheck::export::parts_to_request(&parts).expect("export");
    (
        tracecheck::export::split_by_trace(&all, traces as usize),
        stats.spans as u64,
    )
}

type Client = TraceServiceClient<tonic::transport::Channel>;

/// Connects an OTLP/gRPC client that accepts large requests.
async fn connect(url: String) -> Client {
    TraceServiceClient::connect(url)
        .await
        .expect("connect")
        .max_encoding_message_size(64 << 20)
}

/// Exports one request, retrying it after a pause while the receiver refuses with a retryable
/// code (counted); false when it failed otherwise.
async fn export_grpc(client: &mut Client, req: ExportTraceServiceRequest, totals: &Totals) -> bool {
    loop {
        match client.export(req.clone()).await {
            Ok(_) => return true,
            Err(e) if matches!(e.code(), tonic::Code::ResourceExhausted | tonic::Code::Unavailable) => {
                totals.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => {
                eprintln!("export failed: {e}");
                totals.failed.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
    }
}

/// Sends prepared requests, shared by the connections; counts acknowledged spans.
async fn send_prepared(
    url: String,
    queue: Arc<std::sync::Mutex<Vec<ExportTraceServiceRequest>>>,
    totals: Arc<Totals>,
    pace: Option<(Instant, f64)>,
) {
    let mut client = connect(url).await;
    loop {
        let Some(req) = queue.lock().expect("queue").pop() else {
            return;
        };
        let spans: u64 = req
            .resource_spans
            .iter()
            .flat_map(|rs| rs.scope_spans.iter())
            .map(|ss| ss.spans.len() as u64)
            .sum();
        if let Some((started, rate)) = pace {
            // The request is due when the spans scheduled before it have had their time.
            let before = totals.scheduled.fetch_add(spans, Ordering::Relaxed);
            tokio::time::sleep_until((started + Duration::from_secs_f64(before as f64 / rate)).into()).await;
        }
        if !export_grpc(&mut client, req, &totals).await {
            return;
        }
        totals.requests.fetch_add(1, Ordering::Relaxed);
        totals.spans_acked.fetch_add(spans, Ordering::Relaxed);
    }
}

const SPANS_PER_TRACE: u64 = 10;

#[derive(Default)]
struct Totals {
    /// Spans handed to senders so far (the pacing clock of `--rate`).
    scheduled: AtomicU64,
    requests: AtomicU64,
    spans_acked: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// Request number `n` of connection `conn`: trace ids are unique across both.
fn request(conn: u64, n: u64, traces: u64) -> ExportTraceServiceRequest {
    let base_ns = 1_750_000_000_000_000_000u64 + n * 1_000_000;
    let mut spans = Vec::with_capacity((traces * SPANS_PER_TRACE) as usize);
    for t in 0..traces {
        let trace = (u128::from(conn) << 96) | (u128::from(n) << 32) | u128::from(t + 1);
        let root = (trace as u64) ^ 0x5bd1_e995_0000_0000;
        for i in 0..SPANS_PER_TRACE {
            let id = root.wrapping_add(i);
            let (name, mut attributes) = if i == 0 {
                (
                    "POST /:account/withdraw".to_string(),
                    vec![
                        kv("http.request.method", s("POST")),
                        kv("http.route", s("/:account/withdraw")),
                        kv("url.full", s("http://bank/acct-17/withdraw")),
                        kv("http.response.status_code", any_value::Value::IntValue(200)),
                    ],
                )
            } else {
                (
                    format!("query-{i}"),
                    vec![
                        kv("db.system.name", s("sqlite")),
                        kv("db.namespace", s("bank")),
                        kv("db.operation.name", s("SELECT")),
                        kv("db.query.text", s("SELECT balance FROM accounts WHERE id = ?")),
                    ],
                )
            };
            attributes.push(kv("amount", any_value::Value::IntValue((n * 7 + i) as i64 % 1000)));
            attributes.push(kv("account.id", s("acct-17")));
            spans.push(pb::Span {
                trace_id: trace.to_be_bytes().to_vec(),
                span_id: id.to_be_bytes().to_vec(),
                parent_span_id: if i == 0 { vec![] } else { root.to_be_bytes().to_vec() },
                name,
                kind: if i == 0 { 2 } else { 3 },
                start_time_unix_nano: base_ns + i * 1000,
                end_time_unix_nano: base_ns + i * 1000 + 800,
                attributes,
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![pb::ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s("bank")),
                    kv("service.version", s("1.4.2")),
                    kv("host.name", s("bank-0")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![pb::ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "otlp_load".into(),
                    version: "0.1.0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn send_grpc(url: String, conn: u64, args: Arc<Args>, totals: Arc<Totals>, until: Instant) {
    let mut client = connect(url).await;
    let mut n = 0;
    while Instant::now() < until {
        let req = request(conn, n, args.traces);
        if !export_grpc(&mut client, req, &totals).await {
            return;
        }
        totals.requests.fetch_add(1, Ordering::Relaxed);
        totals
            .spans_acked
            .fetch_add(args.traces * SPANS_PER_TRACE, Ordering::Relaxed);
        n += 1;
    }
}

async fn send_http(url: String, conn: u64, args: Arc<Args>, totals: Arc<Totals>, until: Instant) {
    let client = tracecheck::net::client_builder().build().unwrap();
    let mut n = 0;
    while Instant::now() < until {
        let body = request(conn, n, args.traces).encode_to_vec();
        loop {
            let r = client
                .post(&url)
                .header("content-type", "application/x-protobuf")
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 200 => break,
                Ok(r) if r.status() == 429 || r.status() == 503 => {
                    totals.refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => {
                    eprintln!("export failed: {other:?}");
                    totals.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        totals.requests.fetch_add(1, Ordering::Relaxed);
        totals
            .spans_acked
            .fetch_add(args.traces * SPANS_PER_TRACE, Ordering::Relaxed);
        n += 1;
    }
}

#[tokio::main]
async fn main() {
    let args = Arc::new(Args::parse());
    let totals = Arc::new(Totals::default());
    let prepared = args.bank.map(|n| {
        let (mut reqs, spans) = bank_requests(n, args.seed, args.traces);
        reqs.reverse(); // popped from the back: sent in trace order
        eprintln!("prepared {} requests, {spans} spans of the bank workload", reqs.len());
        Arc::new(std::sync::Mutex::new(reqs))
    });
    let started = Instant::now();
    // Wall clock of the first send (after the bank's requests were prepared), for scripts that
    // time what happens after it.
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let until = started + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for conn in 0..args.connections {
        let (a, t) = (args.clone(), totals.clone());
        if let Some(queue) = &prepared {
            let url = args.grpc.clone().expect("--bank sends over --grpc");
            let pace = args.rate.map(|r| (started, r));
            tasks.push(tokio::spawn(send_prepared(url, queue.clone(), t, pace)));
            continue;
        }
        tasks.push(match (&args.grpc, &args.http) {
            (Some(url), _) => tokio::spawn(send_grpc(url.clone(), conn, a, t, until)),
            (None, Some(url)) => tokio::spawn(send_http(url.clone(), conn, a, t, until)),
            (None, None) => {
                eprintln!("give --grpc URL or --http URL");
                std::process::exit(2);
            }
        });
    }
    for t in tasks {
        t.await.expect("sender");
    }
    let secs = started.elapsed().as_secs_f64();
    let acked = totals.spans_acked.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "protocol": if args.grpc.is_some() { "grpc" } else { "http" },
            "seconds": secs,
            "started_unix": started_unix,
            "requests": totals.requests.load(Ordering::Relaxed),
            "spans_acked": acked,
            "refused_retried": totals.refused.load(Ordering::Relaxed),
            "failed": totals.failed.load(Ordering::Relaxed),
            "spans_per_second": acked as f64 / secs,
        })
    );
}
