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

    fn json_span(i: usize, name: &str) -> String {
        format!(
            r#"{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{:016x}","name":{name},"startTimeUnixNano":"1","endTimeUnixNano":"2"}}"#,
            i + 1
        )
    }

    /// A span of the wrong shape (its name a number) is rejected alone: the ten others are kept and
    /// the count says one (the whole resource used to be dropped while one span was reported).
    #[test]
    fn a_json_span_of_the_wrong_shape_is_rejected_alone() {
        let mut spans: Vec<String> = (0..10).map(|i| json_span(i, "\"ok\"")).collect();
        spans.insert(4, json_span(10, "17"));
        let body = format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
            spans.join(",")
        );
        let acc = Accepted::from_json(body.as_bytes()).unwrap();
        assert_eq!((acc.spans.len(), acc.rejected), (10, 1));
        let err = acc.first_error.unwrap();
        assert!(
            err.contains("scopeSpans[0].spans[4]") && err.contains("invalid type: integer `17`"),
            "{err}"
        );
    }

    /// A resource or scope that cannot be read rejects each of its spans: the count is exact.
    #[test]
    fn an_unreadable_resource_or_scope_counts_each_of_its_spans() {
        let three = (0..3).map(|i| json_span(i, "\"ok\"")).collect::<Vec<_>>().join(",");
        let two = (3..5).map(|i| json_span(i, "\"ok\"")).collect::<Vec<_>>().join(",");
        let body = format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":7}},"scopeSpans":[{{"spans":[{three}]}}]}},
                {{"scopeSpans":[{{"scope":{{"name":5}},"spans":[{two}]}},{{"spans":[{}]}}]}}]}}"#,
            json_span(6, "\"kept\"")
        );
        let acc = Accepted::from_json(body.as_bytes()).unwrap();
        assert_eq!((acc.spans.len(), acc.rejected), (1, 5));
        assert_eq!(acc.spans[0].name, "kept");
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
