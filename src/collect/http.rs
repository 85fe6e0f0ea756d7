//! OTLP/HTTP: `POST /v1/traces` with a protobuf (`application/x-protobuf`) or JSON
//! (`application/json`) body, optionally gzip-compressed.
//!
//! Status codes follow the OTLP specification: 200 (with `partial_success` when some spans were
//! invalid), 400 for a body that is not OTLP, 401 without the token, 404 for other paths, 405 for
//! other methods, 408 for a body not sent within [`BODY_TIMEOUT`], 413 for a body over the limit
//! (a declared `Content-Length` over it is refused before any byte is read, so no `100 Continue`
//! invites a client to send it; an inflated body over it is refused too), 415 for another content
//! type or encoding, 503 with `Retry-After` when the buffer is full, the log cannot be written or
//! the collector is stopping (all retryable). Error bodies are a `google.rpc.Status`, encoded like
//! the request. A connection that does not send its request headers within [`HEADER_TIMEOUT`] is
//! closed, so slow clients cannot hold connections open.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use prost::Message;
use tokio::net::TcpListener;

use super::grpc::{partial_success, RETRY_DELAY};
use super::{gunzip, Accepted, BodyError, Kind, Refusal, Shared};
use crate::error::Result;

/// The longest a client may take to send its request headers.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a client may take to send a request body.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(30);

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// `google.rpc.Status`, the body of every OTLP/HTTP error response.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

// gRPC status codes used in error bodies.
const INVALID_ARGUMENT: i32 = 3;
const NOT_FOUND: i32 = 5;
const RESOURCE_EXHAUSTED: i32 = 8;
const UNIMPLEMENTED: i32 = 12;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Proto,
    Json,
}

/// Serves until `stop` completes; requests in flight finish first.
///
/// Connections are served by hyper directly rather than `axum::serve`, which sets no timer and so
/// no header read timeout.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = Router::new()
        .route("/v1/traces", post(export))
        .fallback(|| async {
            error(
                Encoding::Proto,
                StatusCode::NOT_FOUND,
                NOT_FOUND,
                "unknown path; OTLP traces go to POST /v1/traces".into(),
            )
        })
        .with_state(shared);
    // Every connection task holds a receiver: `closed()` below waits for the last one.
    let (closing, connections) = tokio::sync::watch::channel(());
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut closed = connections.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = closed.changed() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = closing.send(());
    drop(connections);
    closing.closed().await;
    Ok(())
}

async fn export(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let content_type = header_text(&headers, header::CONTENT_TYPE);
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let enc = match media.as_str() {
        PROTOBUF => Encoding::Proto,
        JSON => Encoding::Json,
        _ => {
            return error(
                Encoding::Proto,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                UNIMPLEMENTED,
                format!("Content-Type {content_type:?} is not supported; use {PROTOBUF} or {JSON}"),
            )
        }
    };
    if !shared.authorized(headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes)) {
        return error(
            enc,
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            "missing or wrong bearer token".into(),
        );
    }
    let limit = shared.max_message_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return error(
            enc,
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_ARGUMENT,
            format!("the body is larger than the {limit}-byte limit"),
        );
    }
    let body: Bytes = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(b)) => b,
        Err(_) => {
            return error(
                enc,
                StatusCode::REQUEST_TIMEOUT,
                INVALID_ARGUMENT,
                format!("the body did not arrive within {BODY_TIMEOUT:?}"),
            )
        }
        // `to_bytes` reports the limit only in its message (a boxed http-body-util error).
        Ok(Err(e)) if e.to_string().contains("length limit") => {
            return error(
                enc,
                StatusCode::PAYLOAD_TOO_LARGE,
                INVALID_ARGUMENT,
                format!("the body is larger than the {limit}-byte limit"),
            )
        }
        Ok(Err(e)) => {
            return error(
                enc,
                StatusCode::BAD_REQUEST,
                INVALID_ARGUMENT,
                format!("cannot read the body: {e}"),
            )
        }
    };
    let inflated;
    let bytes: &[u8] = match header_text(&headers, header::CONTENT_ENCODING)
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "identity" => &body,
        "gzip" => match gunzip(&body, limit) {
            Ok(b) => {
                inflated = b;
                &inflated
            }
            Err(e) => return body_error(enc, e),
        },
        other => {
            return error(
                enc,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                UNIMPLEMENTED,
                format!("Content-Encoding {other:?} is not supported; use gzip or none"),
            )
        }
    };
    let decoded = match enc {
        Encoding::Proto => Accepted::from_proto(bytes),
        Encoding::Json => Accepted::from_json(bytes),
    };
    let mut acc = match decoded {
        Ok(a) => a,
        Err(e) => return body_error(enc, e),
    };
    let kind = match enc {
        Encoding::Proto => Kind::Proto,
        Encoding::Json => Kind::Json,
    };
    match shared.admit(&mut acc, kind, || bytes.to_vec()).await {
        Ok(()) => success(enc, &acc),
        Err(refusal) => {
            let (code, message) = match refusal {
                Refusal::Full => (RESOURCE_EXHAUSTED, "the collector's buffer is full; retry later"),
                Refusal::ShuttingDown => (UNAVAILABLE, "the collector is shutting down"),
                Refusal::LogFailed => (
                    UNAVAILABLE,
                    "the collector cannot write its log (see its output); retry later",
                ),
            };
            let mut r = error(enc, StatusCode::SERVICE_UNAVAILABLE, code, message.into());
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_DELAY.as_secs()));
            r
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

fn body_error(enc: Encoding, e: BodyError) -> Response {
    match e {
        BodyError::Invalid(m) => error(enc, StatusCode::BAD_REQUEST, INVALID_ARGUMENT, m),
        BodyError::TooLarge(limit) => error(
            enc,
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_ARGUMENT,
            format!("the body inflates to more than the {limit}-byte limit"),
        ),
    }
}

fn success(enc: Encoding, acc: &Accepted) -> Response {
    let partial = partial_success(acc);
    match enc {
        Encoding::Proto => {
            let resp = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse {
                partial_success: partial,
            };
            ([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response()
        }
        Encoding::Json => {
            // proto3 JSON: 64-bit integers are strings.
            let body = match partial {
                Some(p) => serde_json::json!({"partialSuccess": {
                    "rejectedSpans": p.rejected_spans.to_string(),
                    "errorMessage": p.error_message,
                }}),
                None => serde_json::json!({}),
            };
            ([(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
        }
    }
}

fn error(enc: Encoding, status: StatusCode, code: i32, message: String) -> Response {
    match enc {
        Encoding::Proto => {
            let body = RpcStatus { code, message }.encode_to_vec();
            (status, [(header::CONTENT_TYPE, PROTOBUF)], body).into_response()
        }
        Encoding::Json => {
            let body = serde_json::json!({"code": code, "message": message}).to_string();
            (status, [(header::CONTENT_TYPE, JSON)], body).into_response()
        }
    }
}
