//! Format detection from the first bytes of an input.

use super::format::Format;

/// Detects the format from the first bytes of an (uncompressed) input.
///
/// JSON formats are told apart by the structure of the document's first bytes (which keys sit at
/// its top levels: see `shape.rs`); JSON of another shape is an error that says what it holds.
/// Anything that does not start like JSON is taken as protobuf, whose framing (one message, or
/// varint-length-prefixed messages) is told apart by the first bytes.
///
/// ```
/// use tracecheck::ingest::{detect_format, Format};
/// assert_eq!(detect_format(br#"{"resourceSpans":[]}"#), Ok(Format::OtlpJson));
/// assert_eq!(detect_format(br#"{"batches":[]}"#), Ok(Format::TempoJson));
/// assert_eq!(detect_format(br#"{"data":[{"traceID":"1","spans":[]}]}"#), Ok(Format::JaegerJson));
/// assert_eq!(detect_format(br#"[{"traceId":"1","id":"2"}]"#), Ok(Format::ZipkinJson));
/// let err = detect_format(br#"{"traces":[{"traceID":"1"}]}"#).unwrap_err();
/// assert!(err.starts_with(r#"a JSON object with keys "traces" is not a trace"#));
/// assert!(detect_format(b"").is_err());
/// ```
pub fn detect_format(head: &[u8]) -> Result<Format, String> {
    let first = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Err("the input is empty: expected OTLP (protobuf or JSON), Jaeger JSON or Zipkin JSON".into());
    };
    match head[first] {
        b'{' | b'[' => super::shape::json_format(&head[first..]),
        _ => detect_proto(head),
    }
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
    if let Some((len, n)) = read_varint(head)
        && head.get(n) == Some(&0x0a)
        && len > 0
        && head[0] != 0x0a
    {
        return Ok(Format::OtlpProtoDelimited);
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
