//! Tables → `ExportTraceServiceRequest` (see the module docs of [`crate::export`] for the mapping):
//! encoding and splitting requests. The tables are turned into a request by
//! [`parts_to_request`](crate::store::parts_to_request), which lives in `store` (`compact` uses it).

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1 as pb;
use prost::Message;

/// Protobuf bytes (prost `encode_to_vec`) of a request.
///
/// ```
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// let bytes = tracecheck::export::request_to_proto(&ExportTraceServiceRequest::default());
/// assert!(bytes.is_empty());
/// ```
pub fn request_to_proto(req: &ExportTraceServiceRequest) -> Vec<u8> {
    req.encode_to_vec()
}

#[cfg(test)]
mod tests;

/// Splits a request into requests of at most `traces` traces each (traces in order of first
/// appearance), keeping the resource and scope of every span; empty groups are left out.
///
/// ```
/// use tracecheck::ingest::{RawTables, Span, SpanSink};
/// let mut raw = RawTables::new(false);
/// for t in 1..=5 {
///     raw.push(Span { trace_id: t, span_id: 1, name: "a".into(), ..Default::default() }).unwrap();
/// }
/// let (parts, _) = tracecheck::store::assemble(raw, usize::MAX).unwrap();
/// let req = tracecheck::export::parts_to_request(&parts).unwrap();
/// let split = tracecheck::export::split_by_trace(&req, 2);
/// assert_eq!(split.len(), 3);
/// ```
pub fn split_by_trace(req: &ExportTraceServiceRequest, traces: usize) -> Vec<ExportTraceServiceRequest> {
    let traces = traces.max(1);
    let mut group_of: HashMap<&[u8], usize> = HashMap::new();
    let mut out: Vec<ExportTraceServiceRequest> = Vec::new();
    for rs in &req.resource_spans {
        // Per group, the index of this resource's and scope's copy in that group's request.
        let mut resource_at: HashMap<usize, usize> = HashMap::new();
        for ss in &rs.scope_spans {
            let mut scope_at: HashMap<usize, usize> = HashMap::new();
            for s in &ss.spans {
                let next = group_of.len();
                let g = *group_of.entry(&s.trace_id).or_insert(next) / traces;
                if g == out.len() {
                    out.push(ExportTraceServiceRequest::default());
                }
                let group = &mut out[g];
                let r = *resource_at.entry(g).or_insert_with(|| {
                    group.resource_spans.push(pb::ResourceSpans {
                        resource: rs.resource.clone(),
                        scope_spans: Vec::new(),
                        schema_url: rs.schema_url.clone(),
                    });
                    group.resource_spans.len() - 1
                });
                let scopes = &mut group.resource_spans[r].scope_spans;
                let k = *scope_at.entry(g).or_insert_with(|| {
                    scopes.push(pb::ScopeSpans {
                        scope: ss.scope.clone(),
                        spans: Vec::new(),
                        schema_url: ss.schema_url.clone(),
                    });
                    scopes.len() - 1
                });
                scopes[k].spans.push(s.clone());
            }
        }
    }
    out
}
