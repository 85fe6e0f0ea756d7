//! Format detection from the first bytes of an input.

/// The trace formats tracecheck reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One OTLP `ExportTraceServiceRequest` protobuf message.
    OtlpProto,
    /// A stream of length-delimited (varint length prefix) OTLP protobuf messages.
    OtlpProtoDelimited,
    /// OTLP JSON: one request, or JSON lines of requests (the collector's file exporter).
    OtlpJson,
    /// Jaeger JSON: `{"data":[...]}`, one trace object, or a list of spans with embedded `process`.
    JaegerJson,
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
            Format::JaegerJson => "jaeger-json",
            Format::ZipkinJson => "zipkin-json",
        }
    }
}

/// Detects the format from the first bytes of an (uncompressed) input.
///
/// JSON formats are told apart by the keys they use (`resourceSpans`; `operationName`/`traceID`;
/// `traceId` with `id`); anything that does not start like JSON is taken as protobuf, whose framing
/// (one message, or varint-length-prefixed messages) is told apart by the first bytes.
///
/// ```
/// use tracecheck::ingest::{detect_format, Format};
/// assert_eq!(detect_format(br#"{"resourceSpans":[]}"#), Ok(Format::OtlpJson));
/// assert_eq!(detect_format(br#"{"data":[{"traceID":"1","spans":[]}]}"#), Ok(Format::JaegerJson));
/// assert_eq!(detect_format(br#"[{"traceId":"1","id":"2"}]"#), Ok(Format::ZipkinJson));
/// assert!(detect_format(b"").is_err());
/// ```
pub fn detect_format(head: &[u8]) -> Result<Format, String> {
    let first = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Err("the input is empty: expected OTLP (protobuf or JSON), Jaeger JSON or Zipkin JSON".into());
    };
    let text = &head[first..];
    match text[0] {
        b'{' | b'[' => detect_json(text),
        _ => detect_proto(head),
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn detect_json(text: &[u8]) -> Result<Format, String> {
    if contains(text, "\"resourceSpans\"") || contains(text, "\"resource_spans\"") {
        return Ok(Format::OtlpJson);
    }
    if contains(text, "\"operationName\"") || contains(text, "\"traceID\"") || contains(text, "\"processes\"") {
        return Ok(Format::JaegerJson);
    }
    if contains(text, "\"traceId\"") && (contains(text, "\"id\"") || contains(text, "\"localEndpoint\"")) {
        return Ok(Format::ZipkinJson);
    }
    if text[0] == b'[' && text[1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b']') {
        // An empty list: Zipkin's and Jaeger's span lists look alike; both mean "no spans".
        return Ok(Format::ZipkinJson);
    }
    if text[0] == b'{' && contains(text, "\"data\"") {
        return Ok(Format::JaegerJson);
    }
    Err(
        "JSON that is neither OTLP (no \"resourceSpans\"), Jaeger (no \"traceID\"/\"operationName\") \
         nor Zipkin v2 (no \"traceId\" and \"id\")"
            .into(),
    )
}

/// Reads a protobuf varint at the start of `b`: (value, length in bytes).
pub(crate) fn read_varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn detect_proto(head: &[u8]) -> Result<Format, String> {
    // A single ExportTraceServiceRequest starts with field 1 (resource_spans), wire type 2: byte 0x0a.
    // A delimited stream starts with a varint length, then a message starting with 0x0a.
    if let Some((len, n)) = read_varint(head) {
        if head.get(n) == Some(&0x0a) && len > 0 && head[0] != 0x0a {
            return Ok(Format::OtlpProtoDelimited);
        }
    }
    if head[0] == 0x0a {
        // Ambiguous only when the first resource_spans is exactly 10 bytes long; one message is the
        // common case (what `collect` and SDK file exporters write).
        return Ok(Format::OtlpProto);
    }
    Err(format!(
        "not a trace format: starts with byte 0x{:02x}; expected JSON ('{{' or '[') or an OTLP protobuf \
         ExportTraceServiceRequest (0x0a), optionally length-delimited",
        head[0]
    ))
}
