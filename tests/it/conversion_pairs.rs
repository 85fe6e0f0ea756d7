//! The OTLP → Jaeger conversion pairs in the fixtures (produced by Jaeger itself): our tables from the
//! OTLP input and from Jaeger's output agree field by field, at Jaeger's microsecond precision.

use tracecheck::engine;

use super::common::{column_strings, fixtures};

const SPAN_FIELDS: &str = "SELECT trace_id || '|' || span_id || '|' || coalesce(parent_span_id, '-') || '|' || name \
    || '|' || service || '|' || kind || '|' || status || '|' || coalesce(scope_name, '-') || '|' \
    || coalesce(scope_version, '-') || '|' || CAST(CAST(start_time AS BIGINT) / 1000 AS VARCHAR) || '|' \
    || CAST(duration / 1000 AS VARCHAR) || '|' || CAST(depth AS VARCHAR) FROM spans ORDER BY 1";

/// Span attributes, without the tags Jaeger adds for fields it has no place for (`span.kind`,
/// `otel.library.*` / `otel.scope.*`), which we promote into columns compared above.
const SPAN_TAGS: &str = "SELECT span_id || ' ' || key || '=' || value FROM tags WHERE scope = 'span' \
    AND key NOT IN ('span.kind', 'otel.library.name', 'otel.library.version', 'otel.scope.name', 'otel.scope.version') \
    ORDER BY 1";

/// Resource attributes other than `service.name` (Jaeger moves it to `serviceName`).
const RESOURCE_TAGS: &str =
    "SELECT DISTINCT key || '=' || value FROM tags WHERE scope = 'resource' AND key <> 'service.name' ORDER BY 1";

#[tokio::test]
async fn otlp_inputs_and_jaeger_outputs_agree() {
    for (otlp, jaeger, spans) in [
        ("jaeger/otlp2jaeger-in.json", "jaeger/otlp2jaeger-out.json", 1),
        (
            "jaeger-ui/otlp2jaeger-multi-in-combined.json",
            "jaeger-ui/oltp2jaeger-multi-out.json",
            4,
        ),
    ] {
        let a = engine::open(&[fixtures().join(otlp)]).await.unwrap();
        let b = engine::open(&[fixtures().join(jaeger)]).await.unwrap();
        for sql in [SPAN_FIELDS, SPAN_TAGS, RESOURCE_TAGS] {
            let (x, y) = (column_strings(&a, sql).await, column_strings(&b, sql).await);
            assert_eq!(x, y, "{otlp} vs {jaeger}: {sql}");
        }
        assert_eq!(column_strings(&a, SPAN_FIELDS).await.len(), spans, "{otlp}");
    }
}
