//! The trace formats tracecheck reads, named once for detection (`detect`, `shape`) and decoding.

/// The trace formats tracecheck reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One OTLP `ExportTraceServiceRequest` protobuf message.
    OtlpProto,
    /// A stream of length-delimited (varint length prefix) OTLP protobuf messages.
    OtlpProtoDelimited,
    /// OTLP JSON: a request `{"resourceSpans": [...]}` (hex or base64 ids, enums as numbers or
    /// names, camelCase or snake_case fields, the legacy `instrumentationLibrarySpans`).
    OtlpJson,
    /// Grafana Tempo's trace by id: `{"batches": [...]}` (API v1) or `{"trace": {...}}` (API v2),
    /// OTLP resource spans inside.
    TempoJson,
    /// Jaeger's api_v3 answer `{"result": {"resourceSpans": [...]}}`: OTLP inside.
    JaegerV3Json,
    /// Jaeger JSON of the query API and UI: `{"data":[...]}`, one trace object, or a list of spans
    /// with embedded `process`.
    JaegerJson,
    /// Jaeger api_v2 protobuf JSON: `{"batch": {"spans", "process"}}`, a `Batch` or a
    /// `SpansResponseChunk` (`{"result": {"spans": [...]}}` from the gRPC gateway).
    JaegerProtoJson,
    /// Zipkin v2 JSON: a list of spans.
    ZipkinJson,
}

impl Format {
    /// A short name for summaries.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::Format::ZipkinJson.name(), "zipkin-json");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Format::OtlpProto => "otlp-proto",
            Format::OtlpProtoDelimited => "otlp-proto-delimited",
            Format::OtlpJson => "otlp-json",
            Format::TempoJson => "tempo-json",
            Format::JaegerV3Json => "jaeger-v3-json",
            Format::JaegerJson => "jaeger-json",
            Format::JaegerProtoJson => "jaeger-proto-json",
            Format::ZipkinJson => "zipkin-json",
        }
    }
}
