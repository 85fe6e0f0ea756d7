//! Finished SDK spans → [`Span`]s, through the OTLP types: the SDK's own OTLP conversion
//! (`opentelemetry-proto`, which the OTLP exporter uses to build what it sends) and then the ingest
//! code that decodes OTLP files and requests. A captured span and the same span sent to
//! `tracecheck collect` therefore give identical rows: there is no second mapping of kinds, statuses,
//! events, links, flags or dropped counts to keep in step.

use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use crate::error::Error;
use crate::ingest::test_sink::CollectSink;
use crate::ingest::{convert_resource_spans, Span};

/// The resource of one tracer provider, in OTLP form (converted once, when the provider is built).
#[derive(Debug, Default)]
pub(crate) struct OtlpResource(ResourceAttributesWithSchema);

impl OtlpResource {
    pub(crate) fn new(resource: &Resource) -> OtlpResource {
        OtlpResource(ResourceAttributesWithSchema::from(resource))
    }
}

/// Spans that converted, and what was wrong with those that did not.
#[derive(Default)]
pub(crate) struct Converted {
    pub(crate) spans: Vec<Span>,
    pub(crate) rejected: Vec<String>,
}

/// Converts one export batch, grouped by scope exactly as the OTLP exporter groups it.
pub(crate) fn convert(batch: Vec<SpanData>, resource: &OtlpResource) -> Converted {
    // Keeps going: one bad span must not lose the others; the capture reports the rejects.
    let mut out = CollectSink {
        spans: Vec::with_capacity(batch.len()),
        keep_going: true,
        ..CollectSink::default()
    };
    for (i, rs) in group_spans_by_resource_and_scope(batch, &resource.0)
        .into_iter()
        .enumerate()
    {
        // The sink never returns an error, so neither does the conversion.
        let _ = convert_resource_spans("<capture>", &format!("resource_spans[{i}]"), rs, &mut out);
    }
    Converted {
        spans: out.spans,
        // The position in the batch means nothing to the test; the reason does.
        rejected: out
            .rejects
            .into_iter()
            .map(|err| match err {
                Error::Decode { message, .. } => message,
                other => other.to_string(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;
    use crate::ingest::{Attr, RefType, SpanKind as Kind, StatusCode, Value};

    fn span_data() -> SpanData {
        let mut events = SpanEvents::default();
        events.events = vec![Event::new(
            "exception",
            UNIX_EPOCH + Duration::from_nanos(1_500),
            vec![KeyValue::new("handled", false)],
            3,
        )];
        events.dropped_count = 4;
        let mut links = SpanLinks::default();
        links.links = vec![Link::new(
            SpanContext::new(
                TraceId::from(0x22),
                SpanId::from(0x33),
                TraceFlags::SAMPLED,
                true,
                "vendor=link".parse().unwrap(),
            ),
            vec![KeyValue::new("link.attr", "linked")],
            5,
        )];
        links.dropped_count = 6;
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x1122),
                SpanId::from(0x1020),
                TraceFlags::SAMPLED,
                false,
                TraceState::from_key_value([("vendor", "span")]).unwrap(),
            ),
            parent_span_id: SpanId::from(0x8877),
            parent_span_is_remote: true,
            span_kind: SpanKind::Server,
            name: Cow::Borrowed("withdraw"),
            start_time: UNIX_EPOCH + Duration::from_nanos(1_000),
            end_time: UNIX_EPOCH + Duration::from_nanos(2_500),
            attributes: vec![KeyValue::new("amount", 500_i64), KeyValue::new("ok", true)],
            dropped_attributes_count: 2,
            events,
            links,
            status: Status::error("overdrawn"),
            instrumentation_scope: InstrumentationScope::builder("bank")
                .with_version("1.2")
                .with_attributes([KeyValue::new("scope.attr", "s")])
                .build(),
        }
    }

    #[test]
    fn every_otlp_field_reaches_the_span() {
        let resource = Resource::builder_empty().with_service_name("bank").build();
        let out = convert(vec![span_data()], &OtlpResource::new(&resource));
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let s = &out.spans[0];
        assert_eq!(
            (s.trace_id, s.span_id, s.parent_span_id),
            (0x1122, 0x1020, Some(0x8877))
        );
        assert_eq!(
            (s.name.as_str(), s.service.as_str(), s.kind),
            ("withdraw", "bank", Kind::Server)
        );
        assert_eq!((s.start_ns, s.end_ns), (Some(1_000), Some(2_500)));
        assert_eq!(
            (s.status, s.status_message.as_deref()),
            (StatusCode::Error, Some("overdrawn"))
        );
        assert_eq!(
            (s.scope_name.as_deref(), s.scope_version.as_deref()),
            (Some("bank"), Some("1.2"))
        );
        assert_eq!(*s.scope_attributes, [Attr::new("scope.attr", Value::Str("s".into()))]);
        assert_eq!(*s.resource, [Attr::new("service.name", Value::Str("bank".into()))]);
        assert_eq!(s.trace_state.as_deref(), Some("vendor=span"));
        // Sampled, plus the OTLP bits "parent remoteness known" and "parent is remote".
        assert_eq!(s.flags, Some(0x301));
        assert_eq!(s.attributes[0], Attr::new("amount", Value::Int(500)));
        assert_eq!(
            (
                s.dropped_attributes_count,
                s.dropped_events_count,
                s.dropped_links_count
            ),
            (2, 4, 6)
        );
        assert_eq!(
            (s.events[0].name.as_str(), s.events[0].time_ns),
            ("exception", Some(1_500))
        );
        assert_eq!(s.events[0].dropped_attributes_count, 3);
        let link = &s.refs[0];
        assert_eq!(
            (link.ref_type, link.trace_id, link.span_id),
            (RefType::Link, 0x22, 0x33)
        );
        assert_eq!(
            (link.trace_state.as_deref(), link.dropped_attributes_count),
            (Some("vendor=link"), 5)
        );
    }

    #[test]
    fn invalid_spans_are_reported_and_the_rest_kept() {
        let mut bad = span_data();
        bad.span_context = SpanContext::new(
            TraceId::INVALID,
            SpanId::from(1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let out = convert(vec![bad, span_data()], &OtlpResource::default());
        assert_eq!(out.spans.len(), 1);
        assert_eq!(out.spans[0].service, "unknown_service");
        assert!(out.rejected[0].contains("trace id"), "{:?}", out.rejected);
    }

    #[tokio::test]
    async fn a_capture_with_a_rejected_span_fails_every_read() {
        use opentelemetry_sdk::trace::SpanExporter as _;
        let capture = crate::testing::SpanCapture::new();
        let mut bad = span_data();
        bad.span_context = SpanContext::new(
            TraceId::from(1),
            SpanId::INVALID,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        capture.export(vec![span_data(), bad]).await.unwrap();
        let err = capture.spans().unwrap_err().to_string();
        assert!(
            err.contains("<capture>: 1 rejected span(s), the first: missing or all-zero span id"),
            "{err}"
        );
        capture.clear();
        assert!(capture.spans().unwrap().is_empty());
    }
}
