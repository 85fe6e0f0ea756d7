//! Export: assembled tables back to OpenTelemetry (OTLP) requests, as protobuf or canonical OTLP/JSON.
//!
//! [`parts_to_request`] rebuilds one `ExportTraceServiceRequest` from [`Part`](crate::store::Part)s;
//! [`request_to_proto`] and [`request_to_json`] encode it. Ingesting an export gives back the same
//! tables, so `tracecheck` datasets can be handed to any OTLP consumer (a collector, Jaeger, Tempo).
//!
//! # Mapping
//!
//! | OTLP                                   | from                                                       |
//! |----------------------------------------|------------------------------------------------------------|
//! | `ResourceSpans.resource.attributes`    | `tags` rows with `scope = 'resource'`, in table order      |
//! | `ScopeSpans.scope`                     | `spans.scope_name`, `scope_version`, `tags` `scope = 'scope'` |
//! | span ids, parent, trace state, flags   | `spans` columns (hex → bytes)                              |
//! | `kind`, `status.code`                  | `spans.kind`, `spans.status` (text → enum number)          |
//! | times                                  | `spans.start_time`, `end_time` (ns)                        |
//! | dropped counts                         | `spans.dropped_*_count`                                    |
//! | span attributes                        | `tags` `scope = 'span'`, in table order                    |
//! | events                                 | `logs` rows in `position` order, with `tags` `scope = 'event'` of that position |
//! | links                                  | `refs` rows other than the parent, in `position` order, with `tags` `scope = 'link'` of that position |
//!
//! Spans are grouped into one `ResourceSpans` per distinct resource (its attributes) and, within it,
//! one `ScopeSpans` per distinct scope (name, version, attributes), in order of first appearance.
//!
//! # What changes on the way
//!
//! - Jaeger references other than the parent (`follows_from`, a second `child_of`) have no OTLP
//!   equivalent: they become links carrying an extra attribute `tracecheck.ref_type` whose value is
//!   the reference type (`follows_from` or `child_of`); ingest turns such links back into references of
//!   that type.
//! - Spans from Jaeger or Zipkin keep their service in `spans.service` only; when a span's resource has
//!   no `service.name`, the export adds `service.name` = `spans.service` as the resource's first
//!   attribute (unless the service is `unknown_service`, the placeholder for "none").
//! - Not stored by ingest, hence not exported: `schemaUrl` (resource and scope), the
//!   `droppedAttributesCount` of resources, scopes, events and links, and the `flags` of links.
//! - Array and map values come back from their JSON rendering (`tags.value`): map keys come back in
//!   sorted order (duplicates keep the last value), and bytes or non-finite doubles nested inside an
//!   array or map come back as strings.
//!
//! ```no_run
//! # fn demo(parts: Vec<tracecheck::store::Part>) -> tracecheck::Result<()> {
//! let req = tracecheck::export::parts_to_request(&parts)?;
//! std::fs::write("traces.pb", tracecheck::export::request_to_proto(&req)).unwrap();
//! std::fs::write("traces.json", tracecheck::export::request_to_json(&req).to_string()).unwrap();
//! # Ok(()) }
//! ```

mod json;
mod otlp;

pub use crate::store::parts_to_request;
pub use json::request_to_json;
pub use otlp::{request_to_proto, split_by_trace};
