//! `tracecheck collect` as a process: OTLP/gRPC and OTLP/HTTP from real clients, shutdown by
//! signal, backpressure, bad input over the wire, tokens, queries while it runs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as pb;
use prost::Message;

use super::common::{eventually, sigterm, tracecheck_ok, wait_exit};

/// A running `tracecheck collect`, killed on drop if the test did not stop it.
pub struct CollectorProc {
    child: Child,
    pub grpc: String,
    pub http: String,
}

impl CollectorProc {
    /// Starts the collector on free ports of 127.0.0.1, writing to `dir`.
    pub fn start(dir: &Path, extra: &[&str]) -> CollectorProc {
        let mut child = Command::new(super::common::bin())
            .args(["collect", "-o"])
            .arg(dir)
            .args(["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tracecheck collect");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr = |prefix: &str| {
            let line = lines.next().expect("a listening line").expect("utf-8");
            let rest = line.strip_prefix(prefix).unwrap_or_else(|| panic!("{line:?}"));
            format!("http://{rest}")
        };
        let grpc = addr("otlp/grpc listening on ");
        let http = addr("otlp/http listening on ");
        CollectorProc { child, grpc, http }
    }

    /// kill -9: no chance to write anything out.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        sigterm(&self.child);
    }

    /// SIGTERM, then waits; returns stderr. Panics unless it exits 0 within a minute.
    pub fn stop(mut self) -> String {
        self.terminate();
        self.wait_ok()
    }

    /// Waits for exit 0; returns stderr.
    pub fn wait_ok(&mut self) -> String {
        let status = wait_exit(&mut self.child, "collect", Duration::from_secs(60));
        let mut err = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "collect exited with {status:?}:\n{err}");
        err
    }
}

impl Drop for CollectorProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// One request: `traces` traces (ids from `first_trace`) of `spans` spans each (a root and children).
pub fn request(first_trace: u64, traces: u64, spans: u64) -> ExportTraceServiceRequest {
    let mut out = Vec::new();
    for t in first_trace..first_trace + traces {
        for s in 1..=spans {
            out.push(pb::Span {
                trace_id: (u128::from(t) + 1).to_be_bytes().to_vec(),
                span_id: (t * 1000 + s).to_be_bytes().to_vec(),
                parent_span_id: if s == 1 {
                    vec![]
                } else {
                    (t * 1000 + 1).to_be_bytes().to_vec()
                },
                name: if s == 1 { "root".into() } else { format!("child-{s}") },
                kind: 2,
                start_time_unix_nano: 1_700_000_000_000_000_000 + s * 1000,
                end_time_unix_nano: 1_700_000_000_000_000_000 + s * 1000 + 500,
                attributes: vec![kv("n", any_value::Value::IntValue(s as i64))],
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![pb::ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", any_value::Value::StringValue("loadgen".into()))],
                ..Default::default()
            }),
            scope_spans: vec![pb::ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "tests".into(),
                    ..Default::default()
                }),
                spans: out,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn count(dir: &Path, sql: &str) -> i64 {
    let out = tracecheck_ok(
        &["sql", "--data", dir.to_str().unwrap(), "--format", "csv", sql],
        dir.parent().unwrap(),
    );
    out.lines()
        .nth(1)
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{out}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn post(url: &str, content_type: &str, body: Vec<u8>, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut req = tracecheck::net::client_builder()
        .build()
        .unwrap()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn grpc_and_http_exports_land_whole_and_are_queryable_while_collecting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let c = CollectorProc::start(&dir, &["--trace-idle", "200ms", "--roll-interval", "100ms"]);
    rt().block_on(async {
        let mut client = TraceServiceClient::connect(c.grpc.clone()).await.unwrap();
        let resp = client.export(request(0, 3, 4)).await.unwrap().into_inner();
        assert_eq!(resp.partial_success, None);
        // Compressed gRPC too.
        let mut gz = TraceServiceClient::connect(c.grpc.clone())
            .await
            .unwrap()
            .send_compressed(tonic::codec::CompressionEncoding::Gzip);
        gz.export(request(10, 1, 2)).await.unwrap();
        let url = format!("{}/v1/traces", c.http);
        let r = post(&url, "application/x-protobuf", request(20, 2, 3).encode_to_vec(), &[]).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/x-protobuf");
        let body = r.bytes().await.unwrap();
        assert_eq!(ExportTraceServiceResponse::decode(body).unwrap().partial_success, None);
        let json = tracecheck::export::request_to_json(&request(30, 1, 5)).to_string();
        let r = post(
            &url,
            "application/json; charset=utf-8",
            gzip(json.as_bytes()),
            &[("content-encoding", "gzip")],
        )
        .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "{}");
    });
    // 12 + 2 + 6 + 5 spans in 7 traces; visible while the collector keeps running.
    eventually(
        "the 25 spans to be queryable while collecting",
        Duration::from_secs(20),
        || (count(&dir, "SELECT count(*) FROM spans") >= 25).then_some(()),
    );
    assert_eq!(count(&dir, "SELECT count(DISTINCT trace_id) FROM spans"), 7);
    assert_eq!(count(&dir, "SELECT count(*) FROM tags WHERE key = 'n'"), 25);
    assert_eq!(
        count(&dir, "SELECT count(*) FROM spans WHERE parent_span_id IS NULL"),
        7
    );
    let stderr = c.stop();
    assert!(stderr.contains("collected 25 spans in 4 requests"), "{stderr}");
    assert!(stderr.contains("wrote 25 spans in 7 traces"), "{stderr}");
    assert_eq!(count(&dir, "SELECT count(*) FROM spans"), 25);
}

#[test]
fn sigterm_mid_stream_keeps_every_acknowledged_span() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    // Traces never go idle during the test: everything acknowledged is written at shutdown.
    let c = CollectorProc::start(&dir, &["--trace-idle", "60s"]);
    let grpc = c.grpc.clone();
    let http = format!("{}/v1/traces", c.http);
    let runtime = rt();
    // Four senders (two gRPC, two HTTP) export until the collector stops answering; each counts
    // the spans acknowledged so far in `progress`.
    let progress: Vec<Arc<AtomicU64>> = (0..4).map(|_| Arc::default()).collect();
    let senders: Vec<_> = (0..4u64)
        .map(|k| {
            let (grpc, http) = (grpc.clone(), http.clone());
            let progress = progress[k as usize].clone();
            runtime.spawn(async move {
                let mut acked = 0u64;
                let mut client = TraceServiceClient::connect(grpc).await.unwrap();
                let http_client = tracecheck::net::client_builder().build().unwrap();
                for i in 0.. {
                    // Each request: 5 traces of 10 spans, ids unique per sender and request.
                    let req = request(k * 1_000_000 + i * 5, 5, 10);
                    let ok = if k < 2 {
                        client.export(req).await.is_ok()
                    } else {
                        http_client
                            .post(&http)
                            .header("content-type", "application/x-protobuf")
                            .body(req.encode_to_vec())
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == 200)
                    };
                    if !ok {
                        break;
                    }
                    acked += 50;
                    progress.store(acked, Ordering::SeqCst);
                }
                acked
            })
        })
        .collect();
    // SIGTERM mid-stream: once every sender (both protocols) has had 300 spans (6 requests)
    // acknowledged, however long that takes on this machine; they keep sending meanwhile.
    const PER_SENDER: u64 = 300;
    let before_sigterm = eventually(
        "every sender to have 300 spans acknowledged",
        Duration::from_secs(60),
        || {
            let so_far: Vec<u64> = progress.iter().map(|p| p.load(Ordering::SeqCst)).collect();
            so_far
                .iter()
                .all(|&n| n >= PER_SENDER)
                .then(|| so_far.iter().sum::<u64>())
        },
    );
    c.terminate();
    let per_sender: Vec<u64> = runtime.block_on(async {
        let mut out = Vec::new();
        for s in senders {
            out.push(s.await.unwrap());
        }
        out
    });
    let acked: u64 = per_sender.iter().sum();
    let mut c = c;
    let stderr = c.wait_ok();
    assert!(
        per_sender.iter().all(|&n| n >= PER_SENDER),
        "each sender had spans in: {per_sender:?}"
    );
    assert!(acked >= before_sigterm, "{acked} < {before_sigterm}");
    assert!(acked > 1000, "the senders got only {acked} spans in");
    // Every request that got an answer is on disk, whole; nothing else was acknowledged.
    let written = count(&dir, "SELECT count(*) FROM spans") as u64;
    assert_eq!(written, acked, "{stderr}");
    assert!(stderr.contains(&format!("collected {acked} spans")), "{stderr}");
    assert_eq!(
        count(
            &dir,
            "SELECT count(*) FROM (SELECT trace_id FROM spans GROUP BY trace_id HAVING count(*) <> 10)"
        ),
        0
    );
}

/// A request sent again after its traces were written (an exporter retrying when the answer was
/// lost) is not stored twice; a late span of one of those traces still is.
#[test]
fn spans_sent_again_after_their_trace_was_written_are_stored_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let c = CollectorProc::start(&dir, &["--trace-idle", "100ms", "--roll-interval", "100ms"]);
    let url = format!("{}/v1/traces", c.http);
    let body = request(0, 2, 3).encode_to_vec();
    let mut late = request(0, 1, 4);
    late.resource_spans[0].scope_spans[0].spans.drain(..3);
    rt().block_on(async {
        assert_eq!(
            post(&url, "application/x-protobuf", body.clone(), &[]).await.status(),
            200
        );
    });
    // Wait until the first copy is in a listed part.
    eventually("the first request to be written", Duration::from_secs(60), || {
        (count(&dir, "SELECT count(*) FROM spans") >= 6).then_some(())
    });
    rt().block_on(async {
        assert_eq!(post(&url, "application/x-protobuf", body, &[]).await.status(), 200);
        assert_eq!(
            post(&url, "application/x-protobuf", late.encode_to_vec(), &[])
                .await
                .status(),
            200
        );
    });
    c.stop();
    assert_eq!(count(&dir, "SELECT count(*) FROM spans"), 7);
    assert_eq!(count(&dir, "SELECT count(DISTINCT span_id) FROM spans"), 7);
}

/// Sends `body` as the Export call's message, as is (no protobuf encoding).
async fn grpc_raw(url: &str, body: Vec<u8>) -> Result<tonic::Response<Vec<u8>>, tonic::Status> {
    use prost::bytes::{Buf, BufMut};
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
    struct Raw;
    impl Codec for Raw {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = Raw;
        type Decoder = Raw;
        fn encoder(&mut self) -> Raw {
            Raw
        }
        fn decoder(&mut self) -> Raw {
            Raw
        }
    }
    impl Encoder for Raw {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }
    impl Decoder for Raw {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
            let bytes = src.chunk().to_vec();
            src.advance(bytes.len());
            Ok(Some(bytes))
        }
    }
    let channel = tonic::transport::Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    grpc.unary(tonic::Request::new(body), path, Raw).await
}

/// OTLP/HTTP against slow or oversized clients: a declared body over the limit is refused before
/// it is sent (no `100 Continue`), and a client that never finishes its headers is disconnected.
#[test]
fn oversized_and_slow_http_clients_are_cut_off() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let c = CollectorProc::start(&tmp.path().join("ds"), &["--max-message-bytes", "100000"]);
    let addr = c.http.strip_prefix("http://").unwrap().to_string();
    let mut huge = std::net::TcpStream::connect(&addr).unwrap();
    huge.write_all(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
          Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let mut answer = [0u8; 12];
    huge.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413", "{}", String::from_utf8_lossy(&answer));
    // Half a request line, then nothing: the collector closes the connection (EOF), not holds it.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST /v1/tra").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut rest = Vec::new();
    let read = slow.read_to_end(&mut rest);
    let timed_out =
        |e: &std::io::Error| matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
    assert!(
        !read.as_ref().is_err_and(timed_out),
        "the connection was still open after 60 s: {read:?}"
    );
    c.stop();
}

#[test]
fn bad_input_gets_clear_otlp_errors_and_the_collector_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let c = CollectorProc::start(&dir, &["--trace-idle", "60s", "--max-message-bytes", "100000"]);
    let url = format!("{}/v1/traces", c.http);
    rt().block_on(async {
        let ok = post(&url, "application/x-protobuf", request(0, 1, 3).encode_to_vec(), &[]).await;
        assert_eq!(ok.status(), 200);
        let status_of = |bytes: &[u8]| {
            // google.rpc.Status: field 2 is the message.
            #[derive(prost::Message)]
            struct S {
                #[prost(int32, tag = "1")]
                code: i32,
                #[prost(string, tag = "2")]
                message: String,
            }
            let s = S::decode(bytes).expect("a google.rpc.Status body");
            (s.code, s.message)
        };
        let r = post(
            &url,
            "application/x-protobuf",
            b"\x0a\xff\xff\xff\x0f garbage".to_vec(),
            &[],
        )
        .await;
        assert_eq!(r.status(), 400);
        let (code, msg) = status_of(&r.bytes().await.unwrap());
        assert_eq!(code, 3);
        assert!(msg.contains("ExportTraceServiceRequest"), "{msg}");
        let r = post(
            &url,
            "application/json",
            br#"{"resourceSpans": [{"scopeSpans": [}"#.to_vec(),
            &[],
        )
        .await;
        assert_eq!(r.status(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], 3);
        assert!(body["message"].as_str().unwrap().contains("request body"), "{body}");
        let r = post(&url, "text/plain", b"hello".to_vec(), &[]).await;
        assert_eq!(r.status(), 415);
        let r = post(&url, "application/x-protobuf", vec![0u8; 200_000], &[]).await;
        assert_eq!(r.status(), 413);
        // 50 MB of zeros gzip to ~50 KB: under the limit compressed, far over it inflated.
        let bomb = gzip(&vec![0u8; 50 << 20]);
        assert!(bomb.len() < 100_000);
        let r = post(&url, "application/x-protobuf", bomb, &[("content-encoding", "gzip")]).await;
        assert_eq!(r.status(), 413);
        let r = post(
            &url,
            "application/x-protobuf",
            b"not gzip".to_vec(),
            &[("content-encoding", "gzip")],
        )
        .await;
        assert_eq!(r.status(), 400);
        let r = post(&url, "application/x-protobuf", vec![], &[("content-encoding", "br")]).await;
        assert_eq!(r.status(), 415);
        let r = post(&format!("{}/v1/metrics", c.http), "application/x-protobuf", vec![], &[]).await;
        assert_eq!(r.status(), 404);
        let r = tracecheck::net::client_builder()
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        // Invalid spans inside a valid request: partial success, the valid ones kept.
        let mut req = request(5, 1, 2);
        req.resource_spans[0].scope_spans[0].spans[1].trace_id = vec![0; 16];
        let r = post(&url, "application/x-protobuf", req.encode_to_vec(), &[]).await;
        assert_eq!(r.status(), 200);
        let resp = ExportTraceServiceResponse::decode(r.bytes().await.unwrap()).unwrap();
        let partial = resp.partial_success.expect("partial success");
        assert_eq!(partial.rejected_spans, 1);
        assert!(partial.error_message.contains("trace id"), "{}", partial.error_message);
        // gRPC: a request over the size limit is refused; the server keeps serving.
        let mut client = TraceServiceClient::connect(c.grpc.clone()).await.unwrap();
        // OTLP asks for INVALID_ARGUMENT (not retryable) where tonic says OUT_OF_RANGE / INTERNAL.
        let err = client.export(request(100, 100, 30)).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
        let err = grpc_raw(&c.grpc, b"\x08\x05".to_vec()).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
        assert!(err.message().contains("decode"), "{err}");
        client.export(request(200, 1, 1)).await.unwrap();
        let r = post(&url, "application/x-protobuf", request(300, 1, 1).encode_to_vec(), &[]).await;
        assert_eq!(r.status(), 200);
    });
    c.stop();
    // 3 + 1 (partial) + 1 + 1: nothing accepted was lost, nothing refused was written.
    assert_eq!(count(&dir, "SELECT count(*) FROM spans"), 6);
}

#[test]
fn full_buffer_answers_retry_later_and_a_token_is_required_when_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let c = CollectorProc::start(
        &dir,
        &[
            "--trace-idle",
            "60s",
            "--max-buffered-spans",
            "10",
            "--auth-token",
            "s3cret",
        ],
    );
    let url = format!("{}/v1/traces", c.http);
    let auth = [("authorization", "Bearer s3cret")];
    rt().block_on(async {
        let r = post(&url, "application/x-protobuf", request(0, 1, 1).encode_to_vec(), &[]).await;
        assert_eq!(r.status(), 401);
        let r = post(
            &url,
            "application/x-protobuf",
            request(0, 1, 1).encode_to_vec(),
            &[("authorization", "Bearer wrong")],
        )
        .await;
        assert_eq!(r.status(), 401);
        let mut client = TraceServiceClient::connect(c.grpc.clone()).await.unwrap();
        let err = client.export(request(0, 1, 1)).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        // 12 spans: over the limit of 10 by one request, accepted.
        let r = post(&url, "application/x-protobuf", request(0, 3, 4).encode_to_vec(), &auth).await;
        assert_eq!(r.status(), 200);
        let r = post(&url, "application/x-protobuf", request(10, 1, 1).encode_to_vec(), &auth).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
        let mut req = tonic::Request::new(request(10, 1, 1));
        req.metadata_mut()
            .insert("authorization", "Bearer s3cret".parse().unwrap());
        let err = client.export(req).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::ResourceExhausted);
        // The RetryInfo detail makes RESOURCE_EXHAUSTED retryable for OTLP exporters.
        use tonic_types::StatusExt;
        let retry = err.get_details_retry_info().expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));
    });
    c.stop();
    assert_eq!(count(&dir, "SELECT count(*) FROM spans"), 12);
}
