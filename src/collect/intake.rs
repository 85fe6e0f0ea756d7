//! Request bodies → spans, shared by the gRPC and the HTTP receiver: protobuf or JSON, gzip with a
//! limit on the inflated size, invalid spans counted for OTLP's partial success instead of failing
//! the whole request.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::error::{Error, Result};
use crate::ingest::{otlp_json_decode, otlp_request_to_spans, Span, SpanSink};

/// The spans of one request that passed validation, and what was rejected.
///
/// ```
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// let a = tracecheck::collect::Accepted::from_request(ExportTraceServiceRequest::default());
/// assert_eq!((a.spans.len(), a.rejected), (0, 0));
/// ```
#[derive(Debug, Default)]
pub struct Accepted {
    /// Valid spans.
    pub spans: Vec<Span>,
    /// Spans that were not valid (no trace id, end before start, ...).
    pub rejected: i64,
    /// Why the first rejected span was rejected (for `partial_success.error_message`).
    pub first_error: Option<String>,
}

impl SpanSink for Accepted {
    fn push(&mut self, span: Span) -> Result<()> {
        self.spans.push(span);
        Ok(())
    }

    fn reject(&mut self, err: Error) -> Result<()> {
        self.rejected += 1;
        self.first_error.get_or_insert_with(|| err.to_string());
        Ok(())
    }
}

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not valid protobuf / JSON, or not gzip although declared so: the message says where.
    Invalid(String),
    /// Larger than the limit once inflated.
    TooLarge(usize),
}

impl Accepted {
    /// Spans of a request decoded by the gRPC layer.
    pub fn from_request(req: ExportTraceServiceRequest) -> Accepted {
        let mut acc = Accepted::default();
        // The sink never fails, so neither does the conversion.
        let _ = otlp_request_to_spans("<grpc>", req, &mut acc);
        acc
    }

    /// Spans of an OTLP/HTTP protobuf body.
    pub fn from_proto(body: &[u8]) -> std::result::Result<Accepted, BodyError> {
        let req = crate::ingest::otlp_request_decode(body)
            .map_err(|e| BodyError::Invalid(format!("not a valid ExportTraceServiceRequest: {e}")))?;
        let mut acc = Accepted::default();
        let _ = otlp_request_to_spans("<http>", req, &mut acc);
        Ok(acc)
    }

    /// Spans of an OTLP/HTTP JSON body.
    pub fn from_json(body: &[u8]) -> std::result::Result<Accepted, BodyError> {
        let mut acc = Accepted::default();
        otlp_json_decode("request body", body, &mut acc).map_err(|e| BodyError::Invalid(e.to_string()))?;
        Ok(acc)
    }
}

/// Inflates a gzip body, refusing to produce more than `limit` bytes (a gzip bomb stops there).
///
/// ```
/// use std::io::Write;
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(&[0u8; 10_000]).unwrap();
/// let body = gz.finish().unwrap();
/// assert_eq!(tracecheck::collect::gunzip(&body, 20_000).unwrap().len(), 10_000);
/// assert!(tracecheck::collect::gunzip(&body, 1_000).is_err());
/// ```
pub fn gunzip(body: &[u8], limit: usize) -> std::result::Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Invalid(format!("Content-Encoding is gzip but the body is not valid gzip: {e}")))?;
    if out.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1 as pb;

    #[test]
    fn invalid_spans_are_counted_and_the_rest_kept() {
        let good = pb::Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "ok".into(),
            ..Default::default()
        };
        let bad = pb::Span {
            trace_id: vec![0; 16],
            span_id: vec![3; 8],
            ..Default::default()
        };
        let req = ExportTraceServiceRequest {
            resource_spans: vec![pb::ResourceSpans {
                scope_spans: vec![pb::ScopeSpans {
                    spans: vec![good, bad],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let acc = Accepted::from_request(req);
        assert_eq!((acc.spans.len(), acc.rejected), (1, 1));
        assert!(acc.first_error.unwrap().contains("trace id"));
    }

    #[test]
    fn bodies_that_are_not_otlp_say_so() {
        assert!(matches!(
            Accepted::from_proto(b"\xff\xff\xff"),
            Err(BodyError::Invalid(_))
        ));
        match Accepted::from_json(b"{\"resourceSpans\": [") {
            Err(BodyError::Invalid(m)) => assert!(m.contains("request body"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(gunzip(b"not gzip", 100), Err(BodyError::Invalid(_))));
    }
}
