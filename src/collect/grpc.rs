//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, served with tonic.
//!
//! Answers as the OTLP specification asks: `OK` with `partial_success` when some spans were invalid,
//! `UNAUTHENTICATED` without the token, `RESOURCE_EXHAUSTED` with a `RetryInfo` detail when the buffer
//! is full (retryable because of the detail), `UNAVAILABLE` while shutting down (retryable), and
//! `INVALID_ARGUMENT` (not retryable) for a message that does not decode or is over the size limit —
//! tonic itself answers `INTERNAL` and `OUT_OF_RANGE` there, which OTLP clients retry forever, so
//! [`OtlpCodes`] rewrites them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::{self, HeaderMap, HeaderValue};
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use prost::Message;

use super::{Accepted, Kind, Refusal, Shared};
use crate::error::{Error, Result};

/// How long a refused client is told to wait.
pub(crate) const RETRY_DELAY: Duration = Duration::from_secs(1);

struct Receiver(Arc<Shared>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> std::result::Result<Response<ExportTraceServiceResponse>, Status> {
        let auth = request.metadata().get("authorization").map(|v| v.as_bytes());
        if !self.0.authorized(auth) {
            return Err(Status::unauthenticated("missing or wrong bearer token"));
        }
        let req = request.into_inner();
        // The log keeps the request as protobuf; encoding it again costs far less than decoding.
        let encoded = self.0.log.get().is_some().then(|| req.encode_to_vec());
        let mut acc = Accepted::from_request(req);
        match self
            .0
            .admit(&mut acc, Kind::Proto, || encoded.unwrap_or_default())
            .await
        {
            Ok(()) => Ok(Response::new(ExportTraceServiceResponse {
                partial_success: partial_success(&acc),
            })),
            Err(Refusal::Full) => Err(Status::with_error_details(
                Code::ResourceExhausted,
                "the collector's buffer is full; retry later",
                ErrorDetails::with_retry_info(Some(RETRY_DELAY)),
            )),
            Err(Refusal::ShuttingDown) => Err(Status::unavailable("the collector is shutting down")),
            Err(Refusal::LogFailed) => Err(Status::unavailable(
                "the collector cannot write its log (see its output); retry later",
            )),
        }
    }
}

/// The longest a call may take, from its first byte to the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The generated service, with tonic's own errors for bad input mapped to OTLP's
/// `INVALID_ARGUMENT`: `OUT_OF_RANGE` (message over the size limit) and `INTERNAL` from the protobuf
/// decoder. Both are answered before the handler runs, as trailers-only responses, so the status
/// is in the response headers.
#[derive(Clone)]
struct OtlpCodes<S>(S);

impl<S, B> Service<http::Request<B>> for OtlpCodes<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::result::Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let answer = self.0.call(req);
        Box::pin(async move {
            let mut response = answer.await?;
            otlp_code(response.headers_mut());
            Ok(response)
        })
    }
}

impl<S: NamedService> NamedService for OtlpCodes<S> {
    const NAME: &'static str = S::NAME;
}

/// Rewrites a trailers-only `grpc-status` of 11 (`OUT_OF_RANGE`), or 13 (`INTERNAL`) from the
/// decoder, to 3 (`INVALID_ARGUMENT`).
fn otlp_code(headers: &mut HeaderMap) {
    let code = headers.get("grpc-status").map(HeaderValue::as_bytes);
    let message = headers.get("grpc-message").map_or(&b""[..], HeaderValue::as_bytes);
    let bad_input = match code {
        Some(b"11") => true,
        Some(b"13") => message.windows(6).any(|w| w == b"decode"),
        _ => false,
    };
    if bad_input {
        headers.insert("grpc-status", HeaderValue::from_static("3"));
    }
}

/// OTLP's partial success: set only when something was rejected.
pub(crate) fn partial_success(acc: &Accepted) -> Option<ExportTracePartialSuccess> {
    (acc.rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: acc.rejected,
        error_message: acc.first_error.clone().unwrap_or_default(),
    })
}

/// Serves until `stop` completes; in-flight calls finish first.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: impl Future<Output = ()>) -> Result<()> {
    let addr = listener.local_addr().ok();
    let limit = shared.max_message_bytes;
    let service = TraceServiceServer::new(Receiver(shared))
        .max_decoding_message_size(limit)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    tonic::transport::Server::builder()
        // A client that starts a call and never finishes sending it is cut off.
        .timeout(REQUEST_TIMEOUT)
        .add_service(OtlpCodes(service))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), stop)
        .await
        .map_err(|e| Error::Usage(format!("OTLP/gRPC receiver on {addr:?} failed: {e}")))
}
