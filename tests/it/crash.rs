//! kill -9 of `tracecheck collect` at random moments while real OTLP clients send: after every
//! restart, each span the collector acknowledged is in the dataset exactly once, and every table
//! reads.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use prost::Message;
use rand::{Rng, SeedableRng};

use super::collect::{request, CollectorProc};
use super::common::tracecheck_ok;

/// (trace id, span id) of every span a collector acknowledged.
type Acked = Arc<Mutex<Vec<(u128, u64)>>>;

/// Spans per trace in every request below.
const SPANS: u64 = 4;
/// Traces per request.
const TRACES: u64 = 5;

fn ids(first_trace: u64) -> Vec<(u128, u64)> {
    (first_trace..first_trace + TRACES)
        .flat_map(|t| (1..=SPANS).map(move |s| (u128::from(t) + 1, t * 1000 + s)))
        .collect()
}

/// The same spans as [`request`], as the SDK hands them to an exporter.
fn span_data(first_trace: u64) -> Vec<SpanData> {
    let at = |ns: u64| SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000 + ns);
    ids(first_trace)
        .into_iter()
        .map(|(trace, span)| {
            let s = span % 1000;
            let ctx = |id: u64| {
                SpanContext::new(
                    TraceId::from(trace),
                    SpanId::from(id),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                )
            };
            SpanData {
                span_context: ctx(span),
                parent_span_id: if s == 1 {
                    SpanId::INVALID
                } else {
                    SpanId::from(span - s + 1)
                },
                parent_span_is_remote: false,
                span_kind: SpanKind::Server,
                name: if s == 1 {
                    "root".into()
                } else {
                    format!("child-{s}").into()
                },
                start_time: at(s * 1000),
                end_time: at(s * 1000 + 500),
                attributes: vec![KeyValue::new("n", s as i64)],
                dropped_attributes_count: 0,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: Status::Unset,
                instrumentation_scope: InstrumentationScope::builder("tests").build(),
            }
        })
        .collect()
}

/// Sends until `stop`, each request with fresh trace ids; records what was acknowledged.
async fn send(client: u8, grpc: String, http: String, next: Arc<AtomicU64>, acked: Acked, stop: Arc<AtomicBool>) {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(grpc)
        .with_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let http_client = tracecheck::net::client_builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    while !stop.load(Ordering::SeqCst) {
        let first = next.fetch_add(TRACES, Ordering::SeqCst);
        let ok = match client {
            // The OpenTelemetry Rust SDK's OTLP/gRPC exporter.
            0 => exporter.export(span_data(first)).await.is_ok(),
            // OTLP/HTTP, protobuf and JSON (the JSON of the same request, as serde writes it).
            1 | 2 => {
                let req = request(first, TRACES, SPANS);
                let (content_type, body) = if client == 1 {
                    ("application/x-protobuf", req.encode_to_vec())
                } else {
                    ("application/json", otlp_json(first))
                };
                let sent = http_client
                    .post(&http)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await;
                sent.is_ok_and(|r| r.status().is_success())
            }
            _ => unreachable!(),
        };
        if ok {
            acked.lock().unwrap().extend(ids(first));
        } else {
            // Refused or cut off: not acknowledged. Wait a little, as exporters do (the load's
            // backoff, not synchronisation).
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// OTLP JSON of the spans of [`request`] (hex ids, as the specification asks).
fn otlp_json(first_trace: u64) -> Vec<u8> {
    let spans: Vec<serde_json::Value> = ids(first_trace)
        .into_iter()
        .map(|(trace, span)| {
            let s = span % 1000;
            let start = 1_700_000_000_000_000_000 + s * 1000;
            let mut v = serde_json::json!({
                "traceId": format!("{trace:032x}"),
                "spanId": format!("{span:016x}"),
                "name": if s == 1 { "root".to_string() } else { format!("child-{s}") },
                "kind": 2,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": (start + 500).to_string(),
                "attributes": [{"key": "n", "value": {"intValue": s.to_string()}}],
            });
            if s != 1 {
                v["parentSpanId"] = format!("{:016x}", span - s + 1).into();
            }
            v
        })
        .collect();
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "loadgen"}}]},
        "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
    }]})
    .to_string()
    .into_bytes()
}

/// Every (trace, span) stored, with how many times; and that each table reads.
fn stored(ds: &Path) -> HashMap<(u128, u64), u32> {
    let data = ds.to_str().unwrap();
    for table in ["tags", "refs", "logs"] {
        tracecheck_ok(
            &[
                "sql",
                "--data",
                data,
                "--format",
                "csv",
                &format!("SELECT count(*) FROM {table}"),
            ],
            ds.parent().unwrap(),
        );
    }
    let csv = tracecheck_ok(
        &[
            "sql",
            "--data",
            data,
            "--format",
            "csv",
            "SELECT trace_id, span_id FROM spans",
        ],
        ds.parent().unwrap(),
    );
    let mut out = HashMap::new();
    for line in csv.lines().skip(1) {
        let (t, s) = line.split_once(',').unwrap();
        let key = (
            u128::from_str_radix(t, 16).unwrap(),
            u64::from_str_radix(s, 16).unwrap(),
        );
        *out.entry(key).or_default() += 1;
    }
    out
}

#[test]
fn acknowledged_spans_survive_twenty_kill_9s_under_load() {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(18);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let acked: Acked = Arc::default();
    let next = Arc::new(AtomicU64::new(1));
    // Short idle and roll times: kills land before, during and after parts are written.
    let flags = [
        "--trace-idle",
        "100ms",
        "--roll-interval",
        "200ms",
        "--roll-spans",
        "400",
    ];
    // Spans the restarts took back from the log: the kills must have cut something off.
    let mut replayed = 0u64;
    for round in 0..20 {
        let collector = CollectorProc::start(&ds, &flags);
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..3u8)
            .map(|c| {
                let (g, h) = (collector.grpc.clone(), format!("{}/v1/traces", collector.http));
                rt.spawn(send(c, g, h, next.clone(), acked.clone(), stop.clone()))
            })
            .collect();
        // Anywhere from replay at start to long into the load. Not synchronisation: the kill
        // lands at a random (seeded) moment on purpose, whatever the collector is doing then.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..1500)));
        collector.kill();
        stop.store(true, Ordering::SeqCst);
        rt.block_on(async {
            for s in senders {
                let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
            }
        });
        // A restart replays the log; a clean stop writes everything out.
        let err = CollectorProc::start(&ds, &flags).stop();
        if let Some(n) = err.split("replayed ").nth(1).and_then(|r| r.split(' ').next()) {
            replayed += n.parse::<u64>().unwrap();
        }
        let stored = stored(&ds);
        let acked = acked.lock().unwrap();
        let missing = acked.iter().filter(|k| !stored.contains_key(k)).count();
        let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            missing == 0 && twice.is_empty(),
            "round {round} (seed {seed}): {missing} of {} acknowledged spans missing, {} stored more than once \
             (e.g. {:?}); collector said:\n{err}",
            acked.len(),
            twice.len(),
            twice.first()
        );
        // Nothing stored that was never sent.
        let sent: HashSet<u128> = (1..next.load(Ordering::SeqCst)).map(|t| u128::from(t) + 1).collect();
        assert!(stored.keys().all(|(t, _)| sent.contains(t)));
    }
    let acked = acked.lock().unwrap().len();
    assert!(acked > 0, "the load was never acknowledged");
    assert!(
        replayed > 0,
        "no kill left anything in the log: the test proved nothing"
    );
    eprintln!("{acked} spans acknowledged, {replayed} of them replayed after a kill");
    assert!(
        std::fs::read_dir(ds.join("wal"))
            .unwrap()
            .filter_map(|e| e.ok())
            .all(|e| !e.file_name().to_string_lossy().ends_with(".wal")),
        "a clean stop leaves no log segment"
    );
}
