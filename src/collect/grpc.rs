//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, served with tonic.
//!
//! Answers as the OTLP specification asks: `OK` with `partial_success` when some spans were invalid,
//! `UNAUTHENTICATED` without the token, `RESOURCE_EXHAUSTED` with a `RetryInfo` detail when the buffer
//! is full (retryable because of the detail), `UNAVAILABLE` while shutting down (retryable).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{Accepted, Refusal, Shared};
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
        let mut acc = Accepted::from_request(request.into_inner());
        match self.0.admit(&mut acc) {
            Ok(()) => Ok(Response::new(ExportTraceServiceResponse {
                partial_success: partial_success(&acc),
            })),
            Err(Refusal::Full) => Err(Status::with_error_details(
                Code::ResourceExhausted,
                "the collector's buffer is full; retry later",
                ErrorDetails::with_retry_info(Some(RETRY_DELAY)),
            )),
            Err(Refusal::ShuttingDown) => Err(Status::unavailable("the collector is shutting down")),
        }
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
        .add_service(service)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), stop)
        .await
        .map_err(|e| Error::Usage(format!("OTLP/gRPC receiver on {addr:?} failed: {e}")))
}
