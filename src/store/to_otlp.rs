//! Assembled tables → `ExportTraceServiceRequest` (see the module docs of [`crate::export`] for the
//! mapping). Here in `store`, not in `export`, because `compact` merges parts through it and `export`
//! builds on `store`: it is re-exported as `tracecheck::export::parts_to_request`.

mod columns;

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as pb;
use prost::Message;

use super::Part;
use crate::error::Result;
use crate::ingest::{SpanKind, StatusCode};
use crate::schema::REF_TYPE_KEY;
use columns::{count, id_bytes, nanos, opt_int, opt_str, Groups, LogCols, RefCols, SpanCols, TagCols};

/// The service of spans whose input named none; not turned into a `service.name`.
const UNKNOWN_SERVICE: &str = "unknown_service";

/// Rebuilds OTLP requests from assembled tables: spans grouped by identical resource (its
/// resource-scope tags) and scope (scope_name, scope_version, scope-scope tags).
///
/// ```no_run
/// use tracecheck::ingest::{decode_file, RawTables};
/// let mut raw = RawTables::new(false);
/// decode_file("traces.json".as_ref(), &mut raw)?;
/// let (parts, _) = tracecheck::store::assemble(raw, usize::MAX)?;
/// let req = tracecheck::export::parts_to_request(&parts)?;
/// println!("{} resources", req.resource_spans.len());
/// # Ok::<(), tracecheck::Error>(())
/// ```
pub fn parts_to_request(parts: &[Part]) -> Result<ExportTraceServiceRequest> {
    let mut out = Grouper::default();
    for part in parts {
        export_part(part, &mut out)?;
    }
    Ok(ExportTraceServiceRequest {
        resource_spans: out.resources,
    })
}

/// Collects spans into `ResourceSpans` / `ScopeSpans`, keyed by the encoded resource and scope.
#[derive(Default)]
struct Grouper {
    resources: Vec<pb::ResourceSpans>,
    by_resource: HashMap<Vec<u8>, usize>,
    by_scope: HashMap<(usize, Vec<u8>), usize>,
}

impl Grouper {
    fn add(&mut self, resource: Option<Resource>, scope: Option<InstrumentationScope>, span: pb::Span) {
        let rkey = resource.as_ref().map(Message::encode_to_vec).unwrap_or_default();
        let resources = &mut self.resources;
        let ri = *self.by_resource.entry(rkey).or_insert_with(|| {
            resources.push(pb::ResourceSpans {
                resource,
                ..Default::default()
            });
            resources.len() - 1
        });
        let skey = scope.as_ref().map(Message::encode_to_vec).unwrap_or_default();
        let scopes = &mut self.resources[ri].scope_spans;
        let si = *self.by_scope.entry((ri, skey)).or_insert_with(|| {
            scopes.push(pb::ScopeSpans {
                scope,
                ..Default::default()
            });
            scopes.len() - 1
        });
        scopes[si].spans.push(span);
    }
}

fn export_part(part: &Part, out: &mut Grouper) -> Result<()> {
    let s = SpanCols::new(&part.spans)?;
    let n = part.spans.num_rows();
    let mut index: HashMap<(&str, &str), u32> = HashMap::with_capacity(n);
    for i in 0..n {
        index
            .entry((s.trace_id.value(i), s.span_id.value(i)))
            .or_insert(i as u32);
    }
    let tags = TagCols::new(&part.tags)?;
    let refs = RefCols::new(&part.refs)?;
    let logs = LogCols::new(&part.logs)?;
    let tag_groups = Groups::new(&part.tags, "tags", &index, n)?;
    let ref_groups = Groups::new(&part.refs, "refs", &index, n)?;
    let log_groups = Groups::new(&part.logs, "logs", &index, n)?;
    for i in 0..n {
        let ctx = SpanRows {
            tags: tag_groups.of(i),
            refs: ref_groups.of(i),
            logs: log_groups.of(i),
        };
        let (resource, scope, span) = export_span(&s, &tags, &refs, &logs, &ctx, i)?;
        out.add(resource, scope, span);
    }
    Ok(())
}

/// The child rows of one span.
struct SpanRows<'a> {
    tags: &'a [u32],
    refs: &'a [u32],
    logs: &'a [u32],
}

fn export_span(
    s: &SpanCols,
    tags: &TagCols,
    refs: &RefCols,
    logs: &LogCols,
    rows: &SpanRows,
    i: usize,
) -> Result<(Option<Resource>, Option<InstrumentationScope>, pb::Span)> {
    let mut attributes = Vec::new();
    let mut resource = Vec::new();
    let mut scope_attrs = Vec::new();
    let mut event_attrs: HashMap<i64, Vec<KeyValue>> = HashMap::new();
    let mut link_attrs: HashMap<i64, Vec<KeyValue>> = HashMap::new();
    for &r in rows.tags {
        let r = r as usize;
        let position = opt_int(&tags.position, r).unwrap_or(0);
        match tags.scope.value(r) {
            "span" => attributes.push(tags.key_value(r)),
            "resource" => resource.push(tags.key_value(r)),
            "scope" => scope_attrs.push(tags.key_value(r)),
            "event" => event_attrs.entry(position).or_default().push(tags.key_value(r)),
            "link" => link_attrs.entry(position).or_default().push(tags.key_value(r)),
            _ => {}
        }
    }

    let service = s.service.value(i);
    if service != UNKNOWN_SERVICE && !service.is_empty() && !resource.iter().any(|kv| kv.key == "service.name") {
        resource.insert(0, string_kv("service.name", service));
    }
    let resource = (!resource.is_empty()).then(|| Resource {
        attributes: resource,
        ..Default::default()
    });
    let scope_name = opt_str(&s.scope_name, i).unwrap_or_default();
    let scope_version = opt_str(&s.scope_version, i).unwrap_or_default();
    let scope = (!scope_name.is_empty() || !scope_version.is_empty() || !scope_attrs.is_empty()).then(|| {
        InstrumentationScope {
            name: scope_name.to_string(),
            version: scope_version.to_string(),
            attributes: scope_attrs,
            ..Default::default()
        }
    });

    let mut log_rows: Vec<usize> = rows.logs.iter().map(|&r| r as usize).collect();
    log_rows.sort_by_key(|&r| logs.position.value(r));
    let events = log_rows
        .into_iter()
        .map(|r| pb::span::Event {
            time_unix_nano: nanos(&logs.time, r),
            name: logs.name.value(r).to_string(),
            attributes: event_attrs.remove(&logs.position.value(r)).unwrap_or_default(),
            dropped_attributes_count: 0,
        })
        .collect();

    let mut ref_rows: Vec<usize> = rows.refs.iter().map(|&r| r as usize).collect();
    ref_rows.sort_by_key(|&r| refs.position.value(r));
    let mut links = Vec::with_capacity(ref_rows.len());
    for r in ref_rows {
        let (position, ref_type) = (refs.position.value(r), refs.ref_type.value(r));
        if position == 0 && ref_type == "child_of" {
            continue; // the parent: `parent_span_id`
        }
        let mut attributes = link_attrs.remove(&position).unwrap_or_default();
        if ref_type != "link" {
            attributes.push(string_kv(REF_TYPE_KEY, ref_type));
        }
        links.push(pb::span::Link {
            trace_id: id_bytes(Some(refs.ref_trace_id.value(r)), 16)?,
            span_id: id_bytes(Some(refs.ref_span_id.value(r)), 8)?,
            trace_state: opt_str(&refs.trace_state, r).unwrap_or_default().to_string(),
            attributes,
            dropped_attributes_count: 0,
            flags: 0,
        });
    }

    let code = StatusCode::parse(s.status.value(i)).unwrap_or_default().otlp_code();
    let message = opt_str(&s.status_message, i).unwrap_or_default();
    let status = (code != 0 || !message.is_empty()).then(|| pb::Status {
        code,
        message: message.to_string(),
    });
    let span = pb::Span {
        trace_id: id_bytes(Some(s.trace_id.value(i)), 16)?,
        span_id: id_bytes(Some(s.span_id.value(i)), 8)?,
        trace_state: opt_str(&s.trace_state, i).unwrap_or_default().to_string(),
        parent_span_id: id_bytes(opt_str(&s.parent, i), 8)?,
        flags: opt_int(&s.flags, i).and_then(|f| u32::try_from(f).ok()).unwrap_or(0),
        name: s.name.value(i).to_string(),
        kind: SpanKind::parse(s.kind.value(i)).unwrap_or_default().otlp_code(),
        start_time_unix_nano: nanos(&s.start, i),
        end_time_unix_nano: nanos(&s.end, i),
        attributes,
        dropped_attributes_count: count(&s.dropped_attributes, i),
        events,
        dropped_events_count: count(&s.dropped_events, i),
        links,
        dropped_links_count: count(&s.dropped_links, i),
        status,
    };
    Ok((resource, scope, span))
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    let value = AnyValue {
        value: Some(any_value::Value::StringValue(value.to_string())),
    };
    KeyValue {
        key: key.to_string(),
        value: Some(value),
        ..Default::default()
    }
}
