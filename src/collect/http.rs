//! OTLP/HTTP: `POST /v1/traces` with a protobuf (`application/x-protobuf`) or JSON
//! (`application/json`) body, optionally gzip-compressed.
//!
//! Status codes follow the OTLP specification: 200 (with `partial_success` when some spans were
//! invalid), 400 for a body that is not OTLP, 401 without the token, 404 for other paths, 405 for
//! other methods, 413 for a body over the limit (before or after inflation), 415 for another content
//! type or encoding, 503 with `Retry-After` when the buffer is full or the collector is stopping
//! (both retryable). Error bodies are a `google.rpc.Status`, encoded like the request.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use prost::Message;
use tokio::net::TcpListener;

use super::grpc::{partial_success, RETRY_DELAY};
use super::{gunzip, Accepted, BodyError, Refusal, Shared};
use crate::error::{Error, Result};

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
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().ok();
    let limit = shared.max_message_bytes;
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
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| Error::Usage(format!("OTLP/HTTP receiver on {addr:?} failed: {e}")))
}

async fn export(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
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
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                enc,
                e.status(),
                INVALID_ARGUMENT,
                format!("cannot read the body: {}", e.body_text()),
            )
        }
    };
    let limit = shared.max_message_bytes;
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
    match shared.admit(&mut acc) {
        Ok(()) => success(enc, &acc),
        Err(refusal) => {
            let (code, message) = match refusal {
                Refusal::Full => (RESOURCE_EXHAUSTED, "the collector's buffer is full; retry later"),
                Refusal::ShuttingDown => (UNAVAILABLE, "the collector is shutting down"),
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
